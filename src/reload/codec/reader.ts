import { CodecError, joinPath } from './codec-error.js';
import { CodecCursor } from './codec-cursor.js';

/** Bytes of a length prefix: `<0..2^8-1>` = 1, `<0..2^16-1>` = 2, `<0..2^24-1>` = 3, `<0..2^32-1>` = 4 (RFC 6940 §6.3.1.1). */
export type LengthSize = 1 | 2 | 3 | 4;

/** RFC 6940 §11.1: max-message-size defaults to 5000 bytes when the overlay configuration is silent. */
export const DEFAULT_MAX_MESSAGE_SIZE = 5000;

/**
 * A bounds-checked reader of the RFC 6940 §6.3.1 presentation language (network byte order).
 * Every failure is a {@link CodecError} ('RELOAD_DECODE') naming the field path and the absolute
 * byte offset; no RangeError escapes. A child reader (`sub`, `take`) never reads past its
 * container. Nothing is allocated before its declared length has been checked against the bytes
 * actually present, and the whole input is refused above `maxLength`, so allocation is bounded
 * by the configured max-message-size, never by a length an attacker wrote.
 */
export class Reader extends CodecCursor {
  private readonly buf: Uint8Array;
  private readonly end: number;
  private pos: number;

  /**
   * @param bytes     the input (not copied; values read from it are copies)
   * @param path      the structure name that prefixes error paths, e.g. 'ReloadMessage'
   * @param maxLength inputs longer than this are refused (default {@link DEFAULT_MAX_MESSAGE_SIZE})
   */
  constructor(bytes: Uint8Array, path = '', maxLength: number = DEFAULT_MAX_MESSAGE_SIZE) {
    super('RELOAD_DECODE', path);
    this.buf = bytes;
    this.pos = 0;
    this.end = bytes.length;
    if (bytes.length > maxLength) this.fail('', `input of ${bytes.length} bytes exceeds the limit of ${maxLength}`, 0);
  }

  /** Absolute offset of the next byte in the root input. */
  get offset(): number {
    return this.pos;
  }

  /** Bytes left before the end of this reader's window. */
  get remaining(): number {
    return this.end - this.pos;
  }

  atEnd(): boolean {
    return this.pos >= this.end;
  }

  /** Throws a decode error for `field` (relative to this reader's path), at the current offset by default. */
  override fail(field: string, detail: string, offset: number = this.pos): never {
    return super.fail(field, detail, offset);
  }


  u8(field: string): number {
    this.need(1, field);
    return this.buf[this.pos++]!;
  }

  u16(field: string): number {
    this.need(2, field);
    const b = this.buf;
    const p = this.pos;
    this.pos += 2;
    return (b[p]! << 8) | b[p + 1]!;
  }

  u24(field: string): number {
    this.need(3, field);
    const b = this.buf;
    const p = this.pos;
    this.pos += 3;
    return (b[p]! << 16) | (b[p + 1]! << 8) | b[p + 2]!;
  }

  u32(field: string): number {
    this.need(4, field);
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return ((b[p]! << 24) >>> 0) + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
  }

  u64(field: string): bigint {
    this.need(8, field);
    const hi = this.u32(field);
    const lo = this.u32(field);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** An RFC 6940 §6.3.1.1 Boolean: exactly 0 or 1. */
  boolean(field: string): boolean {
    const at = this.pos;
    const v = this.u8(field);
    if (v > 1) this.fail(field, `Boolean must be 0 or 1, got ${v}`, at);
    return v === 1;
  }

  /** A length prefix of `size` bytes. */
  lengthField(size: LengthSize, field: string): number {
    switch (size) {
      case 1:
        return this.u8(field);
      case 2:
        return this.u16(field);
      case 3:
        return this.u24(field);
      case 4:
        return this.u32(field);
    }
  }

  /** `opaque x[n]`: exactly `n` bytes (a copy). */
  bytes(n: number, field: string): Uint8Array {
    this.need(n, field);
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** `opaque x<0..2^(8*size)-1>` (a copy); `max` is an extra limit on the content length. */
  opaque(size: LengthSize, field: string, max = Number.MAX_SAFE_INTEGER): Uint8Array {
    const at = this.pos;
    const n = this.lengthField(size, field);
    if (n > max) this.fail(field, `length ${n} exceeds the limit of ${max}`, at);
    this.needDeclared(n, field, at);
    return this.bytes(n, field);
  }

  /**
   * A child reader over the next `n` bytes, whose errors are reported under `field`. When `n`
   * came from an explicit length field (`via_list_length`, `Destination.length`), name it in
   * `lengthField` / `lengthAt` so an overrun is reported there.
   */
  take(n: number, field: string, lengthField: string = field, lengthAt: number = this.pos): Reader {
    this.needDeclared(n, lengthField, lengthAt);
    const child = new Reader(this.buf.subarray(0, this.pos + n), joinPath(this.currentPath, field), Number.MAX_SAFE_INTEGER);
    child.pos = this.pos;
    this.pos += n;
    return child;
  }

  /** A child reader over a `<..>` length-prefixed block (the prefix is `size` bytes). */
  sub(size: LengthSize, field: string): Reader {
    const at = this.pos;
    const n = this.lengthField(size, field);
    this.needDeclared(n, field, at);
    return this.take(n, field);
  }

  /**
   * Reads items until this reader's window is consumed, each under the path `[i]`.
   * An item that consumes no bytes is an error (so a list always terminates).
   */
  items<T>(readItem: (r: Reader, index: number) => T): T[] {
    const out: T[] = [];
    while (!this.atEnd()) {
      const i = out.length;
      const at = this.pos;
      out.push(this.scoped(`[${i}]`, () => readItem(this, i)));
      if (this.pos === at) this.fail(`[${i}]`, 'list item consumed no bytes', at);
    }
    return out;
  }

  /** Fails unless the window is fully consumed. */
  expectEnd(field = ''): void {
    if (this.pos < this.end) this.fail(field, `${this.end - this.pos} unexpected trailing bytes`);
  }

  private need(n: number, field: string): void {
    if (!Number.isInteger(n) || n < 0) this.fail(field, `bad byte count ${String(n)}`);
    if (n > this.end - this.pos) this.fail(field, `needs ${n} bytes, ${this.end - this.pos} remain`);
  }

  private needDeclared(n: number, field: string, at: number): void {
    if (!Number.isInteger(n) || n < 0) this.fail(field, `bad length ${String(n)}`, at);
    if (n > this.end - this.pos) this.fail(field, `declared length ${n} exceeds the ${this.end - this.pos} bytes remaining`, at);
  }
}
