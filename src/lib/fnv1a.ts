/** FNV-1a 32-bit hash of a string's UTF-16 code units. Not cryptographic. */
export function fnv1a(text: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** {@link fnv1a} as 8 hex digits. */
export function fnv1a32(text: string): string {
  return fnv1a(text).toString(16).padStart(8, '0');
}
