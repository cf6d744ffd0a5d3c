import { CodecError } from './codec-error.js';
import type { DecodeResult } from './codec-error.js';
import type { CodecOptions } from './codec-options.js';
import { DEFAULT_NODE_ID_LENGTH, checkNodeIdLength } from './destination.js';
import { DEFAULT_MAX_MESSAGE_SIZE, Reader } from './reader.js';
import type { LengthSize } from './reader.js';
import { Writer } from './writer.js';

/** RFC 6940 §7.2 data models; the wire does not carry the model, the Kind definition does. */
export type DataModel = 'single' | 'array' | 'dictionary';

/**
 * Options of the method-body codecs: {@link CodecOptions} plus the data model of each Kind-ID
 * (RFC 6940 §7.2, §7.4), needed to decode StoredData, StoredDataSpecifier and StoredMetaData.
 * `undefined` from the lookup means the Kind is unknown to this node.
 */
export interface BodyCodecOptions extends CodecOptions {
  dataModelOf?: (kind: number) => DataModel | undefined;
}

/** RFC 6940 §6.3.1 empty structs (`struct {} ConfigUpdateAns`, LeaveAns, CHORD UpdateAns). */
export type EmptyBody = Record<string, never>;

/** Encodes one body structure with `write`; throws {@link CodecError} ('RELOAD_ENCODE'). */
export function encodeBody<T>(name: string, value: T, options: CodecOptions, write: (w: Writer, v: T) => void): Uint8Array {
  const w = new Writer(name, options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE);
  if (typeof value !== 'object' || value === null) w.fail('', `not a ${name}`);
  write(w, value);
  return w.finish();
}

/**
 * Decodes one body structure filling `bytes` with `read`. Never throws: bytes that do not follow
 * the RFC are a {@link CodecError} result (RFC 6940 §6.3.1 layouts), anything else (a bug) too.
 */
export function decodeBody<T>(name: string, bytes: Uint8Array, options: CodecOptions, read: (r: Reader) => T): DecodeResult<T> {
  try {
    const r = new Reader(bytes, name, options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE);
    const value = read(r);
    r.expectEnd();
    return { ok: true, value };
  } catch (e) {
    if (e instanceof CodecError) return { ok: false, error: e };
    return { ok: false, error: new CodecError('RELOAD_DECODE', name, `internal error: ${String(e)}`, undefined, { cause: e }) };
  }
}

/** The empty body (RFC 6940 §6.5.4.2 ConfigUpdateAns, §6.4.2.2 LeaveAns, §10.7 UpdateAns). */
export function encodeEmptyBody(): Uint8Array {
  return new Uint8Array(0);
}

/** Decodes an empty body: any byte is an error. */
export function decodeEmptyBody(name: string, bytes: Uint8Array, options: CodecOptions = {}): DecodeResult<EmptyBody> {
  return decodeBody(name, bytes, options, () => ({}));
}

/** The overlay's NodeIdLength from the options, checked (16..20). */
export function nodeIdLengthOf(options: CodecOptions, fail: (detail: string) => never): number {
  const n = options.nodeIdLength ?? DEFAULT_NODE_ID_LENGTH;
  checkNodeIdLength(n, fail);
  return n;
}

/** RFC 6940 §6.3.1.2: a NodeId is `opaque[NodeIdLength]`. */
export function readNodeId(r: Reader, length: number, field: string): Uint8Array {
  return r.bytes(length, field);
}

export function writeNodeId(w: Writer, id: Uint8Array, length: number, field: string): void {
  if (!(id instanceof Uint8Array) || id.length !== length) w.fail(field, `a Node-ID is ${length} bytes`);
  w.bytes(id, field);
}

/** `NodeId field<0..2^(8*size)-1>`. */
export function readNodeIdList(r: Reader, size: LengthSize, length: number, field: string): Uint8Array[] {
  return r.sub(size, field).items((it) => readNodeId(it, length, ''));
}

export function writeNodeIdList(w: Writer, ids: readonly Uint8Array[], size: LengthSize, length: number, field: string): void {
  writeList(w, ids, size, field, (id) => writeNodeId(w, id, length, ''));
}

/** Writes `items` as a `<..>` list with a `size`-byte length, each item under `field[i]`. */
export function writeList<T>(w: Writer, items: readonly T[], size: LengthSize, field: string, writeItem: (item: T) => void): void {
  if (!Array.isArray(items)) w.fail(field, 'not a list');
  w.prefixed(size, field, () => w.scoped(field, () => items.forEach((item: T, i) => w.scoped(`[${i}]`, () => writeItem(item)))));
}

/** RFC 6940 §6.3.1.2: `ResourceId` is `opaque<0..2^8-1>`. */
export function readResourceId(r: Reader, field: string): Uint8Array {
  return r.opaque(1, field);
}

export function writeResourceId(w: Writer, id: Uint8Array, field: string): void {
  w.opaque(1, id, field);
}

/** Fails unless `v` is a non-null object. */
export function checkObject(w: Writer, v: unknown, what: string): void {
  if (typeof v !== 'object' || v === null) w.fail('', `not a ${what}`);
}
