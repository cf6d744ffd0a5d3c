import { Reader, Writer, readStoredData, writeStoredData } from '../codec/index.js';
import type { DataModel } from '../codec/index.js';
import type { KindRecord, StoredEntry } from './kind-record.js';
import { entryKey, entrySize } from './kind-record.js';

/**
 * The persisted form of a {@link KindRecord} in a StorageBackend (this project's own layout).
 * Version 2 adds each value's writer (Node-ID, user name) for the per-writer quotas; version 1
 * records are still read (their values have no writer).
 */
const VERSION = 2;
const WRITER_NONE = 0;
const WRITER_PRESENT = 1;
const MODELS: readonly DataModel[] = ['single', 'array', 'dictionary'];

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

/** Backend key prefix of the engine's records; other users of the same backend use other prefixes. */
export const RECORD_PREFIX = 0x73; // 's'

/** Key: prefix, resource id length, resource id, Kind-ID (uint32). Sorted by resource, then Kind. */
export function recordKey(resource: Uint8Array, kind: number): Uint8Array {
  const k = new Uint8Array(2 + resource.length + 4);
  k[0] = RECORD_PREFIX;
  k[1] = resource.length;
  k.set(resource, 2);
  new DataView(k.buffer).setUint32(2 + resource.length, kind >>> 0);
  return k;
}

export function parseRecordKey(key: Uint8Array): { resource: Uint8Array; kind: number } | undefined {
  if (key.length < 6 || key[0] !== RECORD_PREFIX || key.length !== 2 + key[1]! + 4) return undefined;
  const len = key[1]!;
  return { resource: key.slice(2, 2 + len), kind: new DataView(key.buffer, key.byteOffset).getUint32(2 + len) };
}

/** Times are engine times (ms); negative ones are clamped to 0. */
export function encodeKindRecord(r: KindRecord): Uint8Array {
  const w = new Writer('KindRecord');
  w.u8(VERSION, 'version');
  w.u8(MODELS.indexOf(r.model), 'model');
  w.u8(r.replicaNumber, 'replica_number');
  w.u64(r.generation, 'generation');
  w.u32(r.entries.size, 'count');
  for (const e of r.entries.values()) {
    w.u64(BigInt(Math.max(0, Math.floor(e.receivedAt))), 'received_at');
    w.u64(BigInt(Math.max(0, Math.floor(e.expiresAt))), 'expires_at');
    writeStoredData(w, e.data);
    if (e.writer === undefined) {
      w.u8(WRITER_NONE, 'writer');
    } else {
      w.u8(WRITER_PRESENT, 'writer');
      w.opaque(1, utf8.encode(e.writer.nodeId), 'writer.node_id');
      w.opaque(2, utf8.encode(e.writer.userName), 'writer.user_name');
    }
  }
  return w.finish();
}

/** Decodes a persisted record; a CodecError (thrown) for damaged bytes. */
export function decodeKindRecord(kind: number, bytes: Uint8Array): KindRecord {
  const r = new Reader(bytes, 'KindRecord', Number.MAX_SAFE_INTEGER);
  const version = r.u8('version');
  if (version !== 1 && version !== VERSION) r.fail('version', 'unsupported record version');
  const model = MODELS[r.u8('model')];
  if (model === undefined) return r.fail('model', 'not a data model');
  const replicaNumber = r.u8('replica_number');
  const generation = r.u64('generation');
  const count = r.u32('count');
  const entries = new Map<string, StoredEntry>();
  for (let i = 0; i < count; i++) {
    const receivedAt = Number(r.u64('received_at'));
    const expiresAt = Number(r.u64('expires_at'));
    const data = readStoredData(r, model);
    const entry: StoredEntry = { data, receivedAt, expiresAt, size: entrySize(data) };
    if (version >= 2 && r.u8('writer') === WRITER_PRESENT) {
      entry.writer = { nodeId: utf8d.decode(r.opaque(1, 'writer.node_id')), userName: utf8d.decode(r.opaque(2, 'writer.user_name')) };
    }
    entries.set(entryKey(data.value), entry);
  }
  r.expectEnd();
  return { kind, model, generation, replicaNumber, entries };
}
