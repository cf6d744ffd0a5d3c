/**
 * Bencode (the BitTorrent encoding, BEP 3), as rtpengine's ng control protocol carries it: integers
 * `i<n>e`, byte strings `<len>:<bytes>`, lists `l…e`, dictionaries `d…e` with keys sorted as raw
 * byte strings. Decoded strings stay bytes (Buffer); `bString()` and friends read them as text.
 * Bounded: nesting depth at most 64, input at most 1 MiB.
 */

/** A decoded value. */
export type BValue = number | Buffer | readonly BValue[] | BDict;
export interface BDict {
  readonly [key: string]: BValue;
}

/** What can be encoded: strings are encoded as UTF-8 byte strings. */
export type BInput = number | string | Buffer | readonly BInput[] | { readonly [key: string]: BInput | undefined };

export class BencodeError extends Error {
  readonly code = 'BENCODE_INVALID';
}

const MAX_DEPTH = 64;
const MAX_INPUT = 1 << 20;

/** Encodes `value`; dictionary entries whose value is undefined are left out. */
export function bencode(value: BInput): Buffer {
  const parts: Buffer[] = [];
  encodeInto(value, parts, 0);
  return Buffer.concat(parts);
}

function encodeInto(v: BInput, out: Buffer[], depth: number): void {
  if (depth > MAX_DEPTH) throw new BencodeError('nesting too deep');
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new BencodeError(`not an integer: ${v}`);
    out.push(Buffer.from(`i${v}e`));
  } else if (typeof v === 'string') {
    const b = Buffer.from(v, 'utf8');
    out.push(Buffer.from(`${b.length}:`), b);
  } else if (Buffer.isBuffer(v)) {
    out.push(Buffer.from(`${v.length}:`), v);
  } else if (Array.isArray(v)) {
    out.push(Buffer.from('l'));
    for (const item of v as readonly BInput[]) encodeInto(item, out, depth + 1);
    out.push(Buffer.from('e'));
  } else {
    const dict = v as { readonly [key: string]: BInput | undefined };
    // BEP 3: keys sorted as raw strings (byte order)
    const keys = Object.keys(dict)
      .filter((k) => dict[k] !== undefined)
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    out.push(Buffer.from('d'));
    for (const k of keys) {
      encodeInto(k, out, depth + 1);
      encodeInto(dict[k] as BInput, out, depth + 1);
    }
    out.push(Buffer.from('e'));
  }
}

/** Decodes exactly one value filling `buf`. */
export function bdecode(buf: Buffer): BValue {
  if (buf.length > MAX_INPUT) throw new BencodeError('input too large');
  const r = { pos: 0 };
  const v = decodeAt(buf, r, 0);
  if (r.pos !== buf.length) throw new BencodeError(`trailing bytes at ${r.pos}`);
  return v;
}

function decodeAt(buf: Buffer, r: { pos: number }, depth: number): BValue {
  if (depth > MAX_DEPTH) throw new BencodeError('nesting too deep');
  const c = buf[r.pos];
  if (c === undefined) throw new BencodeError('unexpected end');
  if (c === 0x69 /* i */) {
    const end = buf.indexOf(0x65 /* e */, r.pos + 1);
    if (end < 0) throw new BencodeError('unterminated integer');
    const text = buf.toString('latin1', r.pos + 1, end);
    if (!/^(0|-?[1-9]\d*)$/.test(text)) throw new BencodeError(`bad integer '${text}'`);
    const n = Number(text);
    if (!Number.isSafeInteger(n)) throw new BencodeError(`integer out of range '${text}'`);
    r.pos = end + 1;
    return n;
  }
  if (c >= 0x30 && c <= 0x39) {
    const colon = buf.indexOf(0x3a /* : */, r.pos);
    if (colon < 0 || colon - r.pos > 8) throw new BencodeError('bad string length');
    const lenText = buf.toString('latin1', r.pos, colon);
    if (!/^(0|[1-9]\d*)$/.test(lenText)) throw new BencodeError(`bad string length '${lenText}'`);
    const len = Number(lenText);
    const start = colon + 1;
    if (start + len > buf.length) throw new BencodeError('string past the end');
    r.pos = start + len;
    return Buffer.from(buf.subarray(start, start + len));
  }
  if (c === 0x6c /* l */) {
    r.pos++;
    const list: BValue[] = [];
    while (buf[r.pos] !== 0x65) {
      if (r.pos >= buf.length) throw new BencodeError('unterminated list');
      list.push(decodeAt(buf, r, depth + 1));
    }
    r.pos++;
    return list;
  }
  if (c === 0x64 /* d */) {
    r.pos++;
    const dict: Record<string, BValue> = {};
    while (buf[r.pos] !== 0x65) {
      if (r.pos >= buf.length) throw new BencodeError('unterminated dictionary');
      const k = decodeAt(buf, r, depth + 1);
      if (!Buffer.isBuffer(k)) throw new BencodeError('dictionary key is not a string');
      dict[k.toString('utf8')] = decodeAt(buf, r, depth + 1);
    }
    r.pos++;
    return dict;
  }
  throw new BencodeError(`unexpected byte 0x${c.toString(16)} at ${r.pos}`);
}

/** `v` as a dictionary, or undefined. */
export function bDict(v: BValue | undefined): BDict | undefined {
  return v !== undefined && typeof v === 'object' && !Buffer.isBuffer(v) && !Array.isArray(v) ? (v as BDict) : undefined;
}

/** `v` as UTF-8 text when it is a byte string, or undefined. */
export function bString(v: BValue | undefined): string | undefined {
  return Buffer.isBuffer(v) ? v.toString('utf8') : undefined;
}

/** `v` when it is an integer, or undefined. */
export function bNumber(v: BValue | undefined): number | undefined {
  return typeof v === 'number' ? v : undefined;
}
