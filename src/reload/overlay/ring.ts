/**
 * Identifier arithmetic on the RELOAD ring (RFC 6940 §10.1: all math modulo 2^k, k the Node-ID
 * length in bits). Identifiers are unsigned big-endian on the wire; inside the overlay they are
 * bigints, which compare and add exactly.
 */

/** The identifier space of one overlay: NodeIdLength bytes (16 by default, RFC 6940 §11.1). */
export class Ring {
  readonly bytes: number;
  readonly bits: number;
  readonly size: bigint;
  /** The wildcard Node-ID (all ones, RFC 6940 §6.1.1). */
  readonly wildcard: bigint;

  constructor(idLengthBytes = 16) {
    if (!Number.isInteger(idLengthBytes) || idLengthBytes < 16 || idLengthBytes > 20) {
      throw new RangeError(`NodeIdLength ${idLengthBytes} is outside 16..20 (RFC 6940 §11.1)`);
    }
    this.bytes = idLengthBytes;
    this.bits = idLengthBytes * 8;
    this.size = 1n << BigInt(this.bits);
    this.wildcard = this.size - 1n;
  }

  /** `(x + d) mod 2^k`. */
  add(x: bigint, d: bigint): bigint {
    return (((x + d) % this.size) + this.size) % this.size;
  }

  /** Clockwise distance from `a` to `b`: `(b - a) mod 2^k`. */
  distance(a: bigint, b: bigint): bigint {
    const d = b - a;
    return d >= 0n ? d : d + this.size;
  }

  /** True when `x` lies in the half-open clockwise interval (a, b]; (a, a] is the whole ring. */
  inInterval(a: bigint, x: bigint, b: bigint): boolean {
    if (a === b) return true;
    return a < b ? x > a && x <= b : x > a || x <= b;
  }

  /** True when `x` lies in the open interval (a, b). */
  inOpenInterval(a: bigint, x: bigint, b: bigint): boolean {
    if (a === b) return x !== a;
    return a < b ? x > a && x < b : x > a || x < b;
  }

  /** Reads an identifier; throws RangeError when `bytes` has the wrong length. */
  fromBytes(bytes: Uint8Array): bigint {
    if (bytes.length !== this.bytes) throw new RangeError(`an identifier of this overlay has ${this.bytes} bytes, got ${bytes.length}`);
    return idFromBytes(bytes);
  }

  /** Reads an identifier; undefined when `bytes` has the wrong length (input from the network). */
  tryFromBytes(bytes: Uint8Array): bigint | undefined {
    return bytes.length === this.bytes ? idFromBytes(bytes) : undefined;
  }

  toBytes(id: bigint): Uint8Array {
    const out = new Uint8Array(this.bytes);
    // 32 bits at a time: a third of the bigint intermediates of a byte-by-byte loop (every message
    // routed converts several identifiers; the garbage shows up as scavenge pauses)
    let v = id;
    let i = this.bytes;
    for (; i >= 4; i -= 4) {
      const w = Number(BigInt.asUintN(32, v));
      out[i - 1] = w & 0xff;
      out[i - 2] = (w >>> 8) & 0xff;
      out[i - 3] = (w >>> 16) & 0xff;
      out[i - 4] = w >>> 24;
      v >>= 32n;
    }
    for (; i > 0; i--) {
      out[i - 1] = Number(v & 0xffn);
      v >>= 8n;
    }
    return out;
  }

  /** Lower-case hex of an identifier, zero-padded (dashboard, logs, map keys). */
  hex(id: bigint): string {
    return id.toString(16).padStart(this.bytes * 2, '0');
  }

  /** A uniformly random identifier from `bytes` random bytes. */
  random(randomBytes: (n: number) => Uint8Array): bigint {
    return idFromBytes(randomBytes(this.bytes));
  }
}

/** Big-endian unsigned bytes → bigint (any length). */
export function idFromBytes(bytes: Uint8Array): bigint {
  let v = 0n;
  let i = 0;
  // leading bytes one at a time, then 32 bits at a time (fewer bigint intermediates)
  for (const head = bytes.length % 4; i < head; i++) v = (v << 8n) | BigInt(bytes[i]!);
  for (; i < bytes.length; i += 4) v = (v << 32n) | BigInt(((bytes[i]! << 24) | (bytes[i + 1]! << 16) | (bytes[i + 2]! << 8) | bytes[i + 3]!) >>> 0);
  return v;
}
