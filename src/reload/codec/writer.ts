import { CodecError } from './codec-error.js';
import { CodecCursor } from './codec-cursor.js';
import type { LengthSize } from './reader.js';

const MAX_BY_SIZE: Record<LengthSize, number> = { 1: 0xff, 2: 0xffff, 3: 0xffffff, 4: 0xffffffff };

/**
 * A growable writer of the RFC 6940 §6.3.1 presentation language (network byte order), with
 * back-patched length prefixes. Values out of range for their field are a {@link CodecError}
 * ('RELOAD_ENCODE') naming the field path; so is growing past `maxLength`.
 */
export class Writer extends CodecCursor {
  private buf: Uint8Array;
  private len = 0;
  private readonly maxLength: number;

  /**
   * @param path      the structure name that prefixes error paths
   * @param maxLength output longer than this is refused (default: unlimited)
   */
  constructor(path = '', maxLength = Number.MAX_SAFE_INTEGER, initialCapacity = 256) {
    super('RELOAD_ENCODE', path);
    this.maxLength = maxLength;
    this.buf = new Uint8Array(Math.max(16, Math.min(initialCapacity, maxLength)));
  }

  /** Bytes written so far. */
  get length(): number {
    return this.len;
  }



  u8(v: number, field: string): void {
    this.check(v, 0xff, field);
    this.ensure(1, field);
    this.buf[this.len++] = v;
  }

  u16(v: number, field: string): void {
    this.check(v, 0xffff, field);
    this.ensure(2, field);
    this.put(this.len, v, 2);
    this.len += 2;
  }

  u24(v: number, field: string): void {
    this.check(v, 0xffffff, field);
    this.ensure(3, field);
    this.put(this.len, v, 3);
    this.len += 3;
  }

  u32(v: number, field: string): void {
    this.check(v, 0xffffffff, field);
    this.ensure(4, field);
    this.put(this.len, v, 4);
    this.len += 4;
  }

  u64(v: bigint, field: string): void {
    if (typeof v !== 'bigint' || v < 0n || v > 0xffffffffffffffffn) this.fail(field, `${String(v)} is not a uint64`);
    this.u32(Number(v >> 32n), field);
    this.u32(Number(v & 0xffffffffn), field);
  }

  boolean(v: boolean, field: string): void {
    if (typeof v !== 'boolean') this.fail(field, 'not a Boolean');
    this.u8(v ? 1 : 0, field);
  }

  /** A length prefix of `size` bytes. */
  lengthField(size: LengthSize, v: number, field: string): void {
    this.check(v, MAX_BY_SIZE[size], field);
    this.ensure(size, field);
    this.put(this.len, v, size);
    this.len += size;
  }

  /** `opaque x[n]`: the bytes as they are. */
  bytes(b: Uint8Array, field: string): void {
    if (!(b instanceof Uint8Array)) this.fail(field, 'not a Uint8Array');
    this.ensure(b.length, field);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** `opaque x<0..2^(8*size)-1>`; `max` is an extra limit on the content length. */
  opaque(size: LengthSize, b: Uint8Array, field: string, max = MAX_BY_SIZE[size]): void {
    if (!(b instanceof Uint8Array)) this.fail(field, 'not a Uint8Array');
    if (b.length > Math.min(max, MAX_BY_SIZE[size])) this.fail(field, `length ${b.length} exceeds ${Math.min(max, MAX_BY_SIZE[size])}`);
    this.lengthField(size, b.length, field);
    this.bytes(b, field);
  }

  /** Reserves a `size`-byte length field, returning its position for {@link patchLength}. */
  reserve(size: LengthSize, field: string): number {
    const at = this.len;
    this.lengthField(size, 0, field);
    return at;
  }

  /** Writes `v` into a field reserved at `at`. */
  patchLength(at: number, size: LengthSize, v: number, field: string): void {
    this.check(v, MAX_BY_SIZE[size], field);
    if (at < 0 || at + size > this.len) this.fail(field, 'patch outside the written bytes');
    this.put(at, v, size);
  }

  /** Writes a `<..>` block: a `size`-byte length prefix back-patched with what `fn` wrote. */
  prefixed(size: LengthSize, field: string, fn: () => void): void {
    const at = this.reserve(size, field);
    fn();
    this.patchLength(at, size, this.len - at - size, field);
  }

  /** A copy of the bytes written. */
  /** The bytes written: the buffer itself when it is exactly full (the writer is not used after), else a copy. */
  finish(): Uint8Array {
    return this.len === this.buf.length ? this.buf : this.buf.slice(0, this.len);
  }

  private check(v: number, max: number, field: string): void {
    if (!Number.isInteger(v) || v < 0 || v > max) this.fail(field, `${String(v)} is not an integer in 0..${max}`);
  }

  private ensure(n: number, field: string): void {
    const need = this.len + n;
    if (need > this.maxLength) this.fail(field, `output would exceed the limit of ${this.maxLength} bytes`);
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(Math.min(cap, Math.max(need, this.maxLength)));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  private put(at: number, v: number, size: number): void {
    for (let i = size - 1; i >= 0; i--) {
      this.buf[at + i] = v & 0xff;
      v = Math.floor(v / 256);
    }
  }
}
