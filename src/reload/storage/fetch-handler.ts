import { createHash } from 'node:crypto';
import { HashAlgorithm, ReloadErrorCode } from '../codec/index.js';
import type { FetchAns, FetchReq, StatAns, StatReq, StoredData, StoredDataSpecifier, StoredDataValue, StoredMetaData } from '../codec/index.js';
import type { KindDefinition } from './kind.js';
import type { KindRecord, StoredEntry } from './kind-record.js';
import { arrayLength, entryKey } from './kind-record.js';
import type { StorageFailure } from './storage-failure.js';
import { failure, unknownKindFailure } from './storage-failure.js';

/** What {@link planFetch} needs of the engine. */
export interface FetchEnv {
  now: number;
  kinds: (kindId: number) => KindDefinition | undefined;
  /** The live (expired values purged) record of a Kind at the request's resource. */
  current: (kindId: number) => KindRecord | undefined;
}

/** One selected value: a held one, or a synthesized nonexistent one (§7.4.2.2). */
type Selected = { held: StoredEntry } | { synthetic: StoredDataValue };

interface KindSelection {
  kind: number;
  generation: bigint;
  values: Selected[];
}

const EMPTY = new Uint8Array(0);
const LAST = 0xffffffff;

/** RFC 6940 §7.4.2.2: an unsigned nonexistent value synthesized by the storing peer. */
export function syntheticStoredData(value: StoredDataValue): StoredData {
  return {
    storageTime: 0n,
    lifetime: 0,
    value,
    signature: { algorithm: { hash: HashAlgorithm.none, signature: 0 }, identity: { type: 'none' }, signatureValue: EMPTY },
  };
}

function nonexistent(model: 'single'): StoredDataValue;
function nonexistent(model: 'array', index: number): StoredDataValue;
function nonexistent(model: 'dictionary', key: Uint8Array): StoredDataValue;
function nonexistent(model: 'single' | 'array' | 'dictionary', at?: number | Uint8Array): StoredDataValue {
  const value = { exists: false, value: EMPTY };
  if (model === 'array') return { model, index: at as number, value };
  if (model === 'dictionary') return { model, key: at as Uint8Array, value };
  return { model, value };
}

/** Values a specifier selects (§7.4.2.1), in index / key order; bounded by what is held. */
function select(spec: StoredDataSpecifier, record: KindRecord | undefined): Selected[] | string {
  const entries = record?.entries ?? new Map<string, StoredEntry>();
  const at = (v: StoredDataValue): Selected => {
    const held = entries.get(entryKey(v));
    return held ? { held } : { synthetic: v };
  };
  switch (spec.model) {
    case 'single':
      return [at(nonexistent('single'))];
    case 'array': {
      const ranges = [...spec.indices].sort((a, b) => a.first - b.first);
      for (let i = 0; i < ranges.length; i++) {
        const r = ranges[i]!;
        if (r.first > r.last) return `array range ${r.first}..${r.last}: first is after last`;
        if (i > 0 && r.first <= ranges[i - 1]!.last) return 'array ranges overlap';
      }
      const len = record ? arrayLength(record) : 0;
      const out: Selected[] = [];
      for (const r of spec.indices) {
        // §7.4.2.1: 0xffffffff is the final element; nothing exists past the end.
        const last = r.last === LAST ? len - 1 : Math.min(r.last, len - 1);
        for (let i = r.first; i <= last; i++) out.push(at(nonexistent('array', i)));
      }
      return out;
    }
    case 'dictionary': {
      // §7.4.2.1: no keys is a wildcard.
      if (spec.keys.length === 0) {
        return [...entries.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, held]) => ({ held }));
      }
      return spec.keys.map((k) => at(nonexistent('dictionary', k)));
    }
    case 'unknown':
      return 'specifier of an unknown data model';
  }
}

/** Checks a FetchReq / StatReq and selects the values of each Kind (§7.4.2, §7.4.3). */
function selectAll(req: FetchReq, env: FetchEnv, statOfPrivate = false): KindSelection[] | StorageFailure {
  const seen = new Set<number>();
  const unknown: number[] = [];
  for (const s of req.specifiers) {
    if (seen.has(s.kind)) return failure(ReloadErrorCode.InvalidMessage, `Kind-ID 0x${s.kind.toString(16)} is specified twice`);
    seen.add(s.kind);
    if (env.kinds(s.kind) === undefined) unknown.push(s.kind);
  }
  // §7.4.2.1: unknown Kinds SHOULD be rejected.
  if (unknown.length > 0) return unknownKindFailure(unknown);
  // issue 15: a private Kind (user records: password hashes) is never answered, held or not; a Stat
  // of it (issue 16) says only whether a value exists — no length, no hash (planStat)
  const secret = req.specifiers.find((s) => env.kinds(s.kind)!.private === true);
  if (secret !== undefined && !statOfPrivate) return failure(ReloadErrorCode.Forbidden, `Kind-ID 0x${secret.kind.toString(16)} is private: never fetched`);
  const out: KindSelection[] = [];
  for (const s of req.specifiers) {
    const def = env.kinds(s.kind)!;
    if (s.model !== def.dataModel) return failure(ReloadErrorCode.InvalidMessage, `Kind-ID 0x${s.kind.toString(16)} is ${def.dataModel}, the specifier is ${s.model}`);
    const record = env.current(s.kind);
    const live = record !== undefined && record.model === def.dataModel ? record : undefined;
    const generation = live?.generation ?? 0n;
    // §7.4.2.1: the requester already has this generation: no values.
    if (s.generation !== 0n && s.generation === generation) {
      out.push({ kind: s.kind, generation, values: [] });
      continue;
    }
    const values = select(s, live);
    if (typeof values === 'string') return failure(ReloadErrorCode.InvalidMessage, `Kind-ID 0x${s.kind.toString(16)}: ${values}`);
    out.push({ kind: s.kind, generation, values });
  }
  return out;
}

/** Remaining lifetime in whole seconds (rounded up) at `now` (§7.4.1.1: adjusted downward). */
export function remainingLifetime(e: StoredEntry, now: number): number {
  return Math.max(0, Math.min(0xffffffff, Math.ceil((e.expiresAt - now) / 1000)));
}

function toStoredData(s: Selected, now: number): StoredData {
  if ('synthetic' in s) return syntheticStoredData(s.synthetic);
  return { ...s.held.data, lifetime: remainingLifetime(s.held, now) };
}

/** RFC 6940 §7.4.2: the FetchAns, one FetchKindResponse per specifier. */
export function planFetch(req: FetchReq, env: FetchEnv): { ok: true; answer: FetchAns } | StorageFailure {
  const sel = selectAll(req, env);
  if (!Array.isArray(sel)) return sel;
  return { ok: true, answer: { kindResponses: sel.map((k) => ({ kind: k.kind, generation: k.generation, values: k.values.map((v) => toStoredData(v, env.now)) })) } };
}

/** RFC 6940 §7.4.3.2 hash_value: SHA-256 over the DataValue's value with its 4 length bytes. */
export function valueDigest(value: Uint8Array): Uint8Array {
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, value.length);
  return new Uint8Array(createHash('sha256').update(len).update(value).digest());
}

function toMetaData(s: Selected, now: number, hidden = false): StoredMetaData {
  const d = toStoredData(s, now);
  const v = d.value;
  const meta = hidden
    ? { exists: v.value.exists, valueLength: 0, hashAlgorithm: HashAlgorithm.none, hashValue: new Uint8Array(0) }
    : { exists: v.value.exists, valueLength: v.value.value.length, hashAlgorithm: HashAlgorithm.sha256, hashValue: valueDigest(v.value.value) };
  const metadata =
    v.model === 'single'
      ? { model: v.model, value: meta }
      : v.model === 'array'
        ? { model: v.model, index: v.index, value: meta }
        : { model: v.model, key: v.key, value: meta };
  return { storageTime: d.storageTime, lifetime: d.lifetime, metadata };
}

/** RFC 6940 §7.4.3: the StatAns: Fetch's selection, metadata instead of values. */
export function planStat(req: StatReq, env: FetchEnv): { ok: true; answer: StatAns } | StorageFailure {
  const sel = selectAll(req, env, true);
  if (!Array.isArray(sel)) return sel;
  const hidden = (kind: number): boolean => env.kinds(kind)?.private === true;
  return { ok: true, answer: { kindResponses: sel.map((k) => ({ kind: k.kind, generation: k.generation, values: k.values.map((v) => toMetaData(v, env.now, hidden(k.kind))) })) } };
}
