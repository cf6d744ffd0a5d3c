/** Byte and ring helpers for Resource-IDs (RFC 6940 §10: the Chord ring of 2^(8·len) ids). */

export { bytesEqual } from '../../lib/bytes.js';

export function toHex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += b[i]!.toString(16).padStart(2, '0');
  return s;
}

export function fromHex(s: string): Uint8Array {
  const out = new Uint8Array(s.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Unsigned big-endian value of an id. */
export function idValue(b: Uint8Array): bigint {
  let v = 0n;
  for (let i = 0; i < b.length; i++) v = (v << 8n) | BigInt(b[i]!);
  return v;
}

/**
 * True when `id` is in the ring interval (from, to] (wrapping past zero). from = to is the whole
 * ring: a lone peer is responsible for everything (RFC 6940 §10.3).
 */
export function inRingInterval(id: Uint8Array, fromExclusive: Uint8Array, toInclusive: Uint8Array): boolean {
  const x = idValue(id);
  const a = idValue(fromExclusive);
  const b = idValue(toInclusive);
  if (a === b) return true;
  return a < b ? x > a && x <= b : x > a || x <= b;
}

/** Clockwise distance from `from` to `to` on a ring of `bits` bits. */
export function clockwiseDistance(from: Uint8Array, to: Uint8Array, bits: number): bigint {
  const mod = 1n << BigInt(bits);
  return (((idValue(to) - idValue(from)) % mod) + mod) % mod;
}
