import type { BodyCodecOptions, DataModel } from './method-body.js';
import type { Reader } from './reader.js';
import { readSignature, writeSignature } from './security-block.js';
import type { Signature } from './security-block.js';
import type { Writer } from './writer.js';

/** RFC 6940 §7.2 DataValue: `exists` false marks a deleted (tombstoned) or never-set value. */
export interface DataValue {
  exists: boolean;
  value: Uint8Array;
}

/**
 * One entry of a Kind's data model (RFC 6940 §7.2): a single value, an array element (`index`,
 * uint32) or a dictionary entry (`key`, `DictionaryKey<0..2^16-1>`). StoredDataValue is
 * `ModelEntry<DataValue>`, MetaDataValue (§7.4.3.2) is `ModelEntry<MetaData>`.
 */
export type ModelEntry<V> =
  | { model: 'single'; value: V }
  | { model: 'array'; index: number; value: V }
  | { model: 'dictionary'; key: Uint8Array; value: V };

/** RFC 6940 §7.2 StoredDataValue. */
export type StoredDataValue = ModelEntry<DataValue>;

/**
 * RFC 6940 §7.2 StoredData. The uint32 `length` (the rest of the structure) is written by the
 * encoder and checked by the decoder, so it is not part of the value.
 */
export interface StoredData {
  /** Milliseconds since 1970-01-01 UTC. */
  storageTime: bigint;
  /** Seconds. */
  lifetime: number;
  value: StoredDataValue;
  signature: Signature;
}

/** The data model of `kind` from the caller's lookup; an unknown Kind is a decode error at `field`. */
export function modelOf(r: Reader, options: BodyCodecOptions, kind: number, field: string, at: number): DataModel {
  const model = options.dataModelOf?.(kind);
  if (model !== 'single' && model !== 'array' && model !== 'dictionary') {
    r.fail(field, `Kind-ID 0x${kind.toString(16)} has no known data model (Error_Unknown_Kind)`, at);
  }
  return model;
}

/** On encode: an entry's model must agree with the lookup when one is given. */
export function checkModel(w: Writer, options: BodyCodecOptions, kind: number, model: unknown, field: string): void {
  if (model !== 'single' && model !== 'array' && model !== 'dictionary') w.fail(field, 'not a data model');
  const expected = options.dataModelOf?.(kind);
  if (expected !== undefined && expected !== model) w.fail(field, `Kind-ID 0x${kind.toString(16)} is ${expected}, not ${String(model)}`);
}

/** Reads the entry of `model` (RFC 6940 §7.2.1–§7.2.3) with `readValue` for its value. */
export function readModelEntry<V>(r: Reader, model: DataModel, readValue: (r: Reader) => V): ModelEntry<V> {
  switch (model) {
    case 'single':
      return { model, value: r.scoped('single_value_entry', () => readValue(r)) };
    case 'array':
      return r.scoped('array_entry', () => ({ model, index: r.u32('index'), value: r.scoped('value', () => readValue(r)) }));
    case 'dictionary':
      return r.scoped('dictionary_entry', () => ({ model, key: r.opaque(2, 'key'), value: r.scoped('value', () => readValue(r)) }));
  }
}

export function writeModelEntry<V>(w: Writer, e: ModelEntry<V>, writeValue: (w: Writer, v: V) => void): void {
  if (typeof e !== 'object' || e === null) w.fail('', 'not a data model entry');
  switch (e.model) {
    case 'single':
      w.scoped('single_value_entry', () => writeValue(w, e.value));
      return;
    case 'array':
      w.scoped('array_entry', () => {
        w.u32(e.index, 'index');
        w.scoped('value', () => writeValue(w, e.value));
      });
      return;
    case 'dictionary':
      w.scoped('dictionary_entry', () => {
        w.opaque(2, e.key, 'key');
        w.scoped('value', () => writeValue(w, e.value));
      });
      return;
    default:
      w.fail('model', 'not a data model');
  }
}

export function readDataValue(r: Reader): DataValue {
  return { exists: r.boolean('exists'), value: r.opaque(4, 'value') };
}

export function writeDataValue(w: Writer, v: DataValue): void {
  if (typeof v !== 'object' || v === null) w.fail('', 'not a DataValue');
  w.boolean(v.exists, 'exists');
  w.opaque(4, v.value, 'value');
}

/** Reads a StoredData of a Kind whose data model is `model` (RFC 6940 §7.2). */
export function readStoredData(r: Reader, model: DataModel): StoredData {
  const lengthAt = r.offset;
  const d = r.take(r.u32('length'), '', 'length', lengthAt);
  const storageTime = d.u64('storage_time');
  const lifetime = d.u32('lifetime');
  const value = d.scoped('value', () => readModelEntry(d, model, readDataValue));
  const signature = d.scoped('signature', () => readSignature(d));
  d.expectEnd();
  return { storageTime, lifetime, value, signature };
}

/** Writes a StoredData, back-patching its length. */
export function writeStoredData(w: Writer, s: StoredData): void {
  if (typeof s !== 'object' || s === null) w.fail('', 'not a StoredData');
  w.prefixed(4, 'length', () => {
    w.u64(s.storageTime, 'storage_time');
    w.u32(s.lifetime, 'lifetime');
    w.scoped('value', () => writeModelEntry(w, s.value, writeDataValue));
    w.scoped('signature', () => writeSignature(w, s.signature));
  });
}

/** A StoredData list of one Kind (`StoredData values<0..2^32-1>`): all entries of the Kind's model. */
export function writeStoredDataList(w: Writer, values: readonly StoredData[], kind: number, options: BodyCodecOptions): void {
  if (!Array.isArray(values)) w.fail('values', 'not a list');
  const first = values[0]?.value?.model;
  w.prefixed(4, 'values', () =>
    w.scoped('values', () =>
      values.forEach((s: StoredData, i) =>
        w.scoped(`[${i}]`, () => {
          checkModel(w, options, kind, s?.value?.model, 'value.model');
          if (s.value.model !== first) w.fail('value.model', 'all values of one Kind have the same data model');
          writeStoredData(w, s);
        }),
      ),
    ),
  );
}
