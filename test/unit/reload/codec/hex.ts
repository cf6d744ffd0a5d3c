/** Test helpers: hex strings to bytes. */

/** Bytes from hex digits (whitespace ignored). */
export function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}

/**
 * Bytes from an annotated dump: on each line, hex groups separated by single spaces, then two or
 * more spaces and a comment (`c0000000   fragment: last, offset 0`).
 */
export function hexdoc(doc: string): Uint8Array {
  const code = doc
    .split('\n')
    .map((line) => line.trim().split(/\s{2,}/)[0] ?? '')
    .join(' ');
  if (!/^[0-9a-fA-F\s]*$/.test(code)) throw new Error(`not hex: ${code}`);
  return hex(code);
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
