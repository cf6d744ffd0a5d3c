import type { DecodeResult } from './codec-error.js';
import { checkObject, decodeBody, encodeBody, writeList } from './method-body.js';
import type { BodyCodecOptions, DataModel } from './method-body.js';
import type { Reader } from './reader.js';
import { checkModel, modelOf, readModelEntry, writeModelEntry } from './stored-data.js';
import type { ModelEntry } from './stored-data.js';
import type { Writer } from './writer.js';

/** RFC 6940 §7.4.3.2 MetaData: what Stat tells about a value instead of the value. */
export interface MetaData {
  exists: boolean;
  valueLength: number;
  /** A TLS HashAlgorithm ({@link HashAlgorithm}). */
  hashAlgorithm: number;
  hashValue: Uint8Array;
}

/** RFC 6940 §7.4.3.2 MetaDataValue. */
export type MetaDataValue = ModelEntry<MetaData>;

/**
 * RFC 6940 §7.4.3.2 StoredMetaData. Its first field, `value_length`, is "the same as the
 * corresponding field in StoredData", i.e. StoredData.length: the size of the rest of the
 * structure (Wireshark's dissector reads it so too). The encoder writes it and the decoder checks
 * it, so it is not part of the value; the stored value's own length is MetaData.valueLength.
 */
export interface StoredMetaData {
  storageTime: bigint;
  lifetime: number;
  metadata: MetaDataValue;
}

/** RFC 6940 §7.4.3.2 StatKindResponse. */
export interface StatKindResponse {
  kind: number;
  generation: bigint;
  values: StoredMetaData[];
}

/** RFC 6940 §7.4.3.2 StatAns. */
export interface StatAns {
  kindResponses: StatKindResponse[];
}

function readMetaData(r: Reader): MetaData {
  return { exists: r.boolean('exists'), valueLength: r.u32('value_length'), hashAlgorithm: r.u8('hash_algorithm'), hashValue: r.opaque(1, 'hash_value') };
}

function writeMetaData(w: Writer, m: MetaData): void {
  checkObject(w, m, 'MetaData');
  w.boolean(m.exists, 'exists');
  w.u32(m.valueLength, 'value_length');
  w.u8(m.hashAlgorithm, 'hash_algorithm');
  w.opaque(1, m.hashValue, 'hash_value');
}

export function readStoredMetaData(r: Reader, model: DataModel): StoredMetaData {
  const lengthAt = r.offset;
  const d = r.take(r.u32('value_length'), '', 'value_length', lengthAt);
  const storageTime = d.u64('storage_time');
  const lifetime = d.u32('lifetime');
  const metadata = d.scoped('metadata', () => readModelEntry(d, model, readMetaData));
  d.expectEnd();
  return { storageTime, lifetime, metadata };
}

export function writeStoredMetaData(w: Writer, s: StoredMetaData): void {
  checkObject(w, s, 'StoredMetaData');
  w.prefixed(4, 'value_length', () => {
    w.u64(s.storageTime, 'storage_time');
    w.u32(s.lifetime, 'lifetime');
    w.scoped('metadata', () => writeModelEntry(w, s.metadata, writeMetaData));
  });
}

export function readStatAns(r: Reader, options: BodyCodecOptions): StatAns {
  const kindResponses = r.sub(4, 'kind_responses').items((it): StatKindResponse => {
    const at = it.offset;
    const kind = it.u32('kind');
    const model = modelOf(it, options, kind, 'kind', at);
    const generation = it.u64('generation');
    return { kind, generation, values: it.sub(4, 'values').items((v) => readStoredMetaData(v, model)) };
  });
  return { kindResponses };
}

export function writeStatAns(w: Writer, v: StatAns, options: BodyCodecOptions): void {
  writeList(w, v.kindResponses, 4, 'kind_responses', (k) => {
    checkObject(w, k, 'StatKindResponse');
    w.u32(k.kind, 'kind');
    w.u64(k.generation, 'generation');
    const first = Array.isArray(k.values) ? k.values[0]?.metadata?.model : undefined;
    writeList(w, k.values, 4, 'values', (s) => {
      checkModel(w, options, k.kind, s?.metadata?.model, 'metadata.model');
      if (s.metadata.model !== first) w.fail('metadata.model', 'all values of one Kind have the same data model');
      writeStoredMetaData(w, s);
    });
  });
}

export function encodeStatAns(v: StatAns, options: BodyCodecOptions = {}): Uint8Array {
  return encodeBody('StatAns', v, options, (w, x) => writeStatAns(w, x, options));
}

/** Decodes a StatAns; `options.dataModelOf` gives each Kind's data model (an unknown Kind is an error). */
export function decodeStatAns(bytes: Uint8Array, options: BodyCodecOptions = {}): DecodeResult<StatAns> {
  return decodeBody('StatAns', bytes, options, (r) => readStatAns(r, options));
}
