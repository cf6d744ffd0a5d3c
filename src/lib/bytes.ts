/** Byte-array helpers every layer uses. */

/** Same length and the same bytes (not constant-time: never for comparing secrets). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
