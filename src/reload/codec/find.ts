import type { DecodeResult } from './codec-error.js';
import type { CodecOptions } from './codec-options.js';
import { checkObject, decodeBody, encodeBody, readResourceId, writeList, writeResourceId } from './method-body.js';
import type { Reader } from './reader.js';
import type { Writer } from './writer.js';

/** RFC 6940 §7.4.4.1 FindReq: a Resource-ID and the Kind-IDs (each at most once). */
export interface FindReq {
  resource: Uint8Array;
  kinds: number[];
}

/** RFC 6940 §7.4.4.2 FindKindData: the closest Resource-ID the peer holds for a Kind (empty: none). */
export interface FindKindData {
  kind: number;
  closest: Uint8Array;
}

/** RFC 6940 §7.4.4.2 FindAns. */
export interface FindAns {
  results: FindKindData[];
}

export function readFindReq(r: Reader): FindReq {
  const resource = readResourceId(r, 'resource');
  const list = r.sub(1, 'kinds');
  const kinds = list.items((it) => it.u32(''));
  // RFC 6940 §7.4.4.1: each value MUST appear only once
  if (new Set(kinds).size !== kinds.length) list.fail('', 'a Kind-ID appears more than once');
  return { resource, kinds };
}

export function writeFindReq(w: Writer, v: FindReq): void {
  writeResourceId(w, v.resource, 'resource');
  if (Array.isArray(v.kinds) && new Set(v.kinds).size !== v.kinds.length) w.fail('kinds', 'a Kind-ID appears more than once');
  writeList(w, v.kinds, 1, 'kinds', (k) => w.u32(k, ''));
}

export function readFindAns(r: Reader): FindAns {
  return { results: r.sub(2, 'results').items((it) => ({ kind: it.u32('kind'), closest: readResourceId(it, 'closest') })) };
}

export function writeFindAns(w: Writer, v: FindAns): void {
  writeList(w, v.results, 2, 'results', (k) => {
    checkObject(w, k, 'FindKindData');
    w.u32(k.kind, 'kind');
    writeResourceId(w, k.closest, 'closest');
  });
}

export function encodeFindReq(v: FindReq, options: CodecOptions = {}): Uint8Array {
  return encodeBody('FindReq', v, options, writeFindReq);
}

export function decodeFindReq(bytes: Uint8Array, options: CodecOptions = {}): DecodeResult<FindReq> {
  return decodeBody('FindReq', bytes, options, readFindReq);
}

export function encodeFindAns(v: FindAns, options: CodecOptions = {}): Uint8Array {
  return encodeBody('FindAns', v, options, writeFindAns);
}

export function decodeFindAns(bytes: Uint8Array, options: CodecOptions = {}): DecodeResult<FindAns> {
  return decodeBody('FindAns', bytes, options, readFindAns);
}
