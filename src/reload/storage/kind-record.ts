import type { DataModel, StoredData, StoredDataValue } from '../codec/index.js';
import { toHex } from './resource-id-ring.js';

/** Who signed a stored value: the Node-ID its signature names (hex) and the certificate's user name. */
export interface ValueWriter {
  nodeId: string;
  userName: string;
}

/** One value held by the engine (RFC 6940 §7): the StoredData as stored and its local timing. */
export interface StoredEntry {
  /** As stored: an array append (index 0xffffffff) carries its real index here (§7.4.1.1). */
  data: StoredData;
  /** Engine time (ms) the StoreReq was received; lifetime runs from here (§7). */
  receivedAt: number;
  /** receivedAt + lifetime; at or after this the value is gone. */
  expiresAt: number;
  /** Bytes charged against the engine's byte limit. */
  size: number;
  /**
   * Who signed the value (the verified signer: the Node-ID its signature names, its certificate's
   * user name), charged for it by the per-writer quotas. Absent in records persisted before writers
   * were recorded: such values are not charged.
   */
  writer?: ValueWriter;
}

/** All values of one Kind at one Resource-ID, with its generation counter (§7.4.1). */
export interface KindRecord {
  kind: number;
  model: DataModel;
  generation: bigint;
  /** 0: stored as the responsible peer; n > 0: the replica_number it came with (§7.4.1.1). */
  replicaNumber: number;
  /** By {@link entryKey}. */
  entries: Map<string, StoredEntry>;
}

/** Fixed per-value overhead charged on top of value, key and signature bytes. */
export const ENTRY_OVERHEAD = 48;

/** The location of a value within its Kind: '' (single), 'i<index>' (array), 'k<hex key>' (dictionary). */
export function entryKey(v: StoredDataValue): string {
  switch (v.model) {
    case 'single':
      return '';
    case 'array':
      return `i${v.index}`;
    case 'dictionary':
      return `k${toHex(v.key)}`;
  }
}

export function entrySize(d: StoredData): number {
  const v = d.value;
  const key = v.model === 'dictionary' ? v.key.length : 0;
  return ENTRY_OVERHEAD + v.value.value.length + key + d.signature.signatureValue.length;
}

export function copyRecord(r: KindRecord): KindRecord {
  return { ...r, entries: new Map(r.entries) };
}

/** Bytes held by a record. */
export function recordBytes(r: KindRecord): number {
  let n = 0;
  for (const e of r.entries.values()) n += e.size;
  return n;
}

/** Array length: highest index + 1 over the values held (sparse arrays, §7.2.2). */
export function arrayLength(r: KindRecord): number {
  let len = 0;
  for (const e of r.entries.values()) if (e.data.value.model === 'array') len = Math.max(len, e.data.value.index + 1);
  return len;
}

/** Drops values expired at `now` (each told to `onDropped`); true when any was dropped. */
export function purgeExpired(r: KindRecord, now: number, onDropped?: (e: StoredEntry) => void): boolean {
  let changed = false;
  for (const [k, e] of r.entries) {
    if (e.expiresAt <= now) {
      r.entries.delete(k);
      onDropped?.(e);
      changed = true;
    }
  }
  return changed;
}
