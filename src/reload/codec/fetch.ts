import type { DecodeResult } from './codec-error.js';
import { checkObject, decodeBody, encodeBody, readResourceId, writeList, writeResourceId } from './method-body.js';
import type { BodyCodecOptions } from './method-body.js';
import type { Reader } from './reader.js';
import { writeStoredDataList } from './stored-data.js';
import type { StoredData } from './stored-data.js';
import { readKindValues } from './store.js';
import type { Writer } from './writer.js';

/**
 * RFC 6940 §7.4.2.1 ArrayRange. The RFC's struct says int32, but its text uses 0xffffffff for
 * "the last element" (§7.4.2.1), so both ends are read as uint32.
 */
export interface ArrayRange {
  first: number;
  last: number;
}

interface SpecifierBase {
  kind: number;
  generation: bigint;
}

/**
 * RFC 6940 §7.4.2.1 StoredDataSpecifier. The model comes from the Kind (options.dataModelOf);
 * a Kind the lookup does not know decodes as `unknown` with its `length` bytes, so a responder
 * can still answer Error_Unknown_Kind (§7.4.2.1: unknown Kinds SHOULD be rejected).
 */
export type StoredDataSpecifier =
  | (SpecifierBase & { model: 'single' })
  | (SpecifierBase & { model: 'array'; indices: ArrayRange[] })
  | (SpecifierBase & { model: 'dictionary'; keys: Uint8Array[] })
  | (SpecifierBase & { model: 'unknown'; data: Uint8Array });

/** RFC 6940 §7.4.2.1 FetchReq; StatReq (§7.4.3.1) is identical. */
export interface FetchReq {
  resource: Uint8Array;
  specifiers: StoredDataSpecifier[];
}

/** RFC 6940 §7.4.3.1 StatReq. */
export type StatReq = FetchReq;

/** RFC 6940 §7.4.2.2 FetchKindResponse. */
export interface FetchKindResponse {
  kind: number;
  generation: bigint;
  values: StoredData[];
}

/** RFC 6940 §7.4.2.2 FetchAns. */
export interface FetchAns {
  kindResponses: FetchKindResponse[];
}

export function readStoredDataSpecifier(r: Reader, options: BodyCodecOptions): StoredDataSpecifier {
  const kind = r.u32('kind');
  const generation = r.u64('generation');
  const lengthAt = r.offset;
  const m = r.take(r.u16('length'), 'model_specifier', 'length', lengthAt);
  const model = options.dataModelOf?.(kind);
  let s: StoredDataSpecifier;
  switch (model) {
    case 'single':
      s = { kind, generation, model };
      break;
    case 'array':
      s = { kind, generation, model, indices: m.sub(2, 'indices').items((it) => ({ first: it.u32('first'), last: it.u32('last') })) };
      break;
    case 'dictionary':
      s = { kind, generation, model, keys: m.sub(2, 'keys').items((it) => it.opaque(2, '')) };
      break;
    default:
      s = { kind, generation, model: 'unknown', data: m.bytes(m.remaining, '') };
  }
  m.expectEnd();
  return s;
}

export function writeStoredDataSpecifier(w: Writer, s: StoredDataSpecifier, options: BodyCodecOptions): void {
  checkObject(w, s, 'StoredDataSpecifier');
  w.u32(s.kind, 'kind');
  w.u64(s.generation, 'generation');
  const expected = options.dataModelOf?.(s.kind);
  if (s.model !== 'unknown' && expected !== undefined && expected !== s.model) w.fail('model_specifier', `Kind-ID 0x${s.kind.toString(16)} is ${expected}`);
  w.prefixed(2, 'length', () =>
    w.scoped('model_specifier', () => {
      switch (s.model) {
        case 'single':
          return;
        case 'array':
          writeList(w, s.indices, 2, 'indices', (a) => {
            checkObject(w, a, 'ArrayRange');
            w.u32(a.first, 'first');
            w.u32(a.last, 'last');
          });
          return;
        case 'dictionary':
          writeList(w, s.keys, 2, 'keys', (k) => w.opaque(2, k, ''));
          return;
        case 'unknown':
          w.bytes(s.data, '');
          return;
        default:
          w.fail('', 'not a data model');
      }
    }),
  );
}

export function readFetchReq(r: Reader, options: BodyCodecOptions): FetchReq {
  const resource = readResourceId(r, 'resource');
  return { resource, specifiers: r.sub(2, 'specifiers').items((it) => readStoredDataSpecifier(it, options)) };
}

export function writeFetchReq(w: Writer, v: FetchReq, options: BodyCodecOptions): void {
  writeResourceId(w, v.resource, 'resource');
  writeList(w, v.specifiers, 2, 'specifiers', (s) => writeStoredDataSpecifier(w, s, options));
}

export function readFetchAns(r: Reader, options: BodyCodecOptions): FetchAns {
  return { kindResponses: r.sub(4, 'kind_responses').items((it) => readKindValues(it, options)) };
}

export function writeFetchAns(w: Writer, v: FetchAns, options: BodyCodecOptions): void {
  writeList(w, v.kindResponses, 4, 'kind_responses', (k) => {
    checkObject(w, k, 'FetchKindResponse');
    w.u32(k.kind, 'kind');
    w.u64(k.generation, 'generation');
    writeStoredDataList(w, k.values, k.kind, options);
  });
}

export function encodeFetchReq(v: FetchReq, options: BodyCodecOptions = {}): Uint8Array {
  return encodeBody('FetchReq', v, options, (w, x) => writeFetchReq(w, x, options));
}

export function decodeFetchReq(bytes: Uint8Array, options: BodyCodecOptions = {}): DecodeResult<FetchReq> {
  return decodeBody('FetchReq', bytes, options, (r) => readFetchReq(r, options));
}

export function encodeStatReq(v: StatReq, options: BodyCodecOptions = {}): Uint8Array {
  return encodeBody('StatReq', v, options, (w, x) => writeFetchReq(w, x, options));
}

export function decodeStatReq(bytes: Uint8Array, options: BodyCodecOptions = {}): DecodeResult<StatReq> {
  return decodeBody('StatReq', bytes, options, (r) => readFetchReq(r, options));
}

export function encodeFetchAns(v: FetchAns, options: BodyCodecOptions = {}): Uint8Array {
  return encodeBody('FetchAns', v, options, (w, x) => writeFetchAns(w, x, options));
}

/** Decodes a FetchAns; `options.dataModelOf` gives each Kind's data model (an unknown Kind is an error). */
export function decodeFetchAns(bytes: Uint8Array, options: BodyCodecOptions = {}): DecodeResult<FetchAns> {
  return decodeBody('FetchAns', bytes, options, (r) => readFetchAns(r, options));
}
