import type { DecodeResult } from './codec-error.js';
import { checkObject, decodeBody, encodeBody, nodeIdLengthOf, readNodeIdList, readResourceId, writeList, writeNodeIdList, writeResourceId } from './method-body.js';
import type { BodyCodecOptions } from './method-body.js';
import type { Reader } from './reader.js';
import { modelOf, readStoredData, writeStoredDataList } from './stored-data.js';
import type { StoredData } from './stored-data.js';
import type { Writer } from './writer.js';

/** RFC 6940 §7.4.1.1 StoreKindData: the values of one Kind and the generation counter the storer saw. */
export interface StoreKindData {
  kind: number;
  generationCounter: bigint;
  values: StoredData[];
}

/** RFC 6940 §7.4.1.1 StoreReq. */
export interface StoreReq {
  resource: Uint8Array;
  replicaNumber: number;
  kindData: StoreKindData[];
}

/** RFC 6940 §7.4.1.2 StoreKindResponse: the new generation counter and the replica Node-IDs. */
export interface StoreKindResponse {
  kind: number;
  generationCounter: bigint;
  replicas: Uint8Array[];
}

/** RFC 6940 §7.4.1.2 StoreAns. */
export interface StoreAns {
  kindResponses: StoreKindResponse[];
}

/** Reads `KindId kind; uint64 generation; StoredData values<0..2^32-1>` (StoreKindData, FetchKindResponse). */
export function readKindValues(
  r: Reader,
  options: BodyCodecOptions,
  generationField = 'generation',
): { kind: number; generation: bigint; values: StoredData[] } {
  const at = r.offset;
  const kind = r.u32('kind');
  const model = modelOf(r, options, kind, 'kind', at);
  const generation = r.u64(generationField);
  const values = r.sub(4, 'values').items((it) => readStoredData(it, model));
  return { kind, generation, values };
}

export function readStoreKindData(r: Reader, options: BodyCodecOptions): StoreKindData {
  const { kind, generation, values } = readKindValues(r, options, 'generation_counter');
  return { kind, generationCounter: generation, values };
}

export function writeStoreKindData(w: Writer, k: StoreKindData, options: BodyCodecOptions): void {
  checkObject(w, k, 'StoreKindData');
  w.u32(k.kind, 'kind');
  w.u64(k.generationCounter, 'generation_counter');
  writeStoredDataList(w, k.values, k.kind, options);
}

export function readStoreReq(r: Reader, options: BodyCodecOptions): StoreReq {
  const resource = readResourceId(r, 'resource');
  const replicaNumber = r.u8('replica_number');
  const kindData = r.sub(4, 'kind_data').items((it) => readStoreKindData(it, options));
  return { resource, replicaNumber, kindData };
}

export function writeStoreReq(w: Writer, v: StoreReq, options: BodyCodecOptions): void {
  writeResourceId(w, v.resource, 'resource');
  w.u8(v.replicaNumber, 'replica_number');
  writeList(w, v.kindData, 4, 'kind_data', (k) => writeStoreKindData(w, k, options));
}

export function readStoreAns(r: Reader, options: BodyCodecOptions): StoreAns {
  const len = nodeIdLengthOf(options, (d) => r.fail('', d));
  const kindResponses = r.sub(2, 'kind_responses').items(
    (it): StoreKindResponse => ({
      kind: it.u32('kind'),
      generationCounter: it.u64('generation_counter'),
      replicas: readNodeIdList(it, 2, len, 'replicas'),
    }),
  );
  return { kindResponses };
}

export function writeStoreAns(w: Writer, v: StoreAns, options: BodyCodecOptions): void {
  const len = nodeIdLengthOf(options, (d) => w.fail('', d));
  writeList(w, v.kindResponses, 2, 'kind_responses', (k) => {
    checkObject(w, k, 'StoreKindResponse');
    w.u32(k.kind, 'kind');
    w.u64(k.generationCounter, 'generation_counter');
    writeNodeIdList(w, k.replicas, 2, len, 'replicas');
  });
}

export function encodeStoreReq(v: StoreReq, options: BodyCodecOptions = {}): Uint8Array {
  return encodeBody('StoreReq', v, options, (w, x) => writeStoreReq(w, x, options));
}

/** Decodes a StoreReq; `options.dataModelOf` gives each Kind's data model (an unknown Kind is an error). */
export function decodeStoreReq(bytes: Uint8Array, options: BodyCodecOptions = {}): DecodeResult<StoreReq> {
  return decodeBody('StoreReq', bytes, options, (r) => readStoreReq(r, options));
}

export function encodeStoreAns(v: StoreAns, options: BodyCodecOptions = {}): Uint8Array {
  return encodeBody('StoreAns', v, options, (w, x) => writeStoreAns(w, x, options));
}

export function decodeStoreAns(bytes: Uint8Array, options: BodyCodecOptions = {}): DecodeResult<StoreAns> {
  return decodeBody('StoreAns', bytes, options, (r) => readStoreAns(r, options));
}
