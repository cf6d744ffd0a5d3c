import { ReloadErrorCode } from '../codec/index.js';
import type { StoreAns, StoreKindData, StoreReq, StoredData } from '../codec/index.js';
import type { AccessIdentity } from './access-identity.js';
import { checkAccessPolicy } from './access-policy.js';
import type { HashResourceName } from './access-policy.js';
import type { KindDefinition } from './kind.js';
import type { KindRecord } from './kind-record.js';
import { toHex } from './resource-id-ring.js';
import { arrayLength, copyRecord, entryKey, entrySize } from './kind-record.js';
import type { StorageFailure } from './storage-failure.js';
import { failure, generationFailure, unknownKindFailure } from './storage-failure.js';
import type { StoredDataVerifier } from './stored-data-verifier.js';
import type { GuardDecision, KindGuards } from './kind-guard.js';
import { WRITE_GRANT_KIND_ID, liveGrantUntil } from './write-grant.js';
import { bytesEqual } from '../../lib/bytes.js';

/** RFC 6940 §7.4.1.1: array index meaning "append at the end". */
export const ARRAY_APPEND = 0xffffffff;

/** Who asks: the verified signer of the StoreReq message and the replica set to report back. */
export interface StoreContext {
  /** Signer of the StoreReq (checked by the message layer). Required for original stores (§7.3). */
  requester?: AccessIdentity;
  /** Node-IDs the responsible peer replicates to (StoreKindResponse.replicas, §7.4.1.2). */
  replicas?: readonly Uint8Array[];
  /**
   * Treat as a replica / maintenance store (§7.4.1.1: per-value signatures only, generation taken
   * from the message) even with replica_number 0, e.g. the data handed over on a join (§10.5 step
   * 6). The overlay decides that the sender is plausible. replica_number > 0 is always a replica.
   */
  replica?: boolean;
  /**
   * Verifier for this request's values, instead of the engine's (e.g. one that also looks in the
   * certificates of this StoreReq's security block, RFC 6940 §6.3.4).
   */
  verifier?: StoredDataVerifier;
}

/** What {@link planStore} needs of the engine. */
export interface StorePlanEnv {
  now: number;
  kinds: (kindId: number) => KindDefinition | undefined;
  hashResourceName: HashResourceName;
  verifier?: StoredDataVerifier;
  /** The live (expired values purged) record of a Kind at the request's resource. */
  current: (kindId: number) => KindRecord | undefined;
  /** Guards of USAGE-GUARD Kinds (kind-guard.ts); without one such a Kind's original Stores are refused. */
  guards?: KindGuards;
}

/** Values a guard asked to store along (kind-guard.ts), in request order. */
type Extra = { kind: number; data: StoredData };

export type StorePlan = { ok: true; records: KindRecord[]; answer: StoreAns; changed: boolean } | StorageFailure;

/** Anonymous signatures are for values the storage synthesizes only (§7.4.1.1, §7.4.2.2). */
function isAnonymous(d: StoredData): boolean {
  const a = d.signature.algorithm;
  return d.signature.identity.type === 'none' || (a.hash === 0 && a.signature === 0);
}

function sameStoredData(a: StoredData, b: StoredData): boolean {
  const va = a.value;
  const vb = b.value;
  if (a.storageTime !== b.storageTime || va.model !== vb.model || va.value.exists !== vb.value.exists) return false;
  if (!bytesEqual(va.value.value, vb.value.value) || !bytesEqual(a.signature.signatureValue, b.signature.signatureValue)) return false;
  if (va.model === 'array' && vb.model === 'array') return va.index === vb.index;
  if (va.model === 'dictionary' && vb.model === 'dictionary') return bytesEqual(va.key, vb.key);
  return true;
}

/**
 * Checks a StoreReq against every rule of RFC 6940 §7.4.1.1–§7.4.1.2 and computes the Kind records
 * it would leave, without touching engine state (the engine commits them all or nothing: the
 * request is atomic). Replica stores: replica_number > 0 or `ctx.replica`.
 */
export function planStore(req: StoreReq, ctx: StoreContext, env: StorePlanEnv): StorePlan {
  const replica = req.replicaNumber > 0 || ctx.replica === true;
  const seen = new Set<number>();
  const unknown: number[] = [];
  for (const kd of req.kindData) {
    if (seen.has(kd.kind)) return failure(ReloadErrorCode.InvalidMessage, `Kind-ID 0x${kd.kind.toString(16)} appears twice in the StoreReq`);
    seen.add(kd.kind);
    if (env.kinds(kd.kind) === undefined) unknown.push(kd.kind);
  }
  if (unknown.length > 0) return unknownKindFailure(unknown);
  if (!replica && ctx.requester === undefined) return failure(ReloadErrorCode.Forbidden, 'an original store needs a verified requester');

  // §7.4.1.1, §7.4.1.2: generation counters first, so the error answer lists every Kind.
  for (const kd of req.kindData) {
    if (replica && kd.generationCounter === 0n) return failure(ReloadErrorCode.InvalidMessage, `replica store of Kind-ID 0x${kd.kind.toString(16)} with generation counter 0`);
    const current = env.current(kd.kind)?.generation ?? 0n;
    if (!replica && kd.generationCounter !== 0n && kd.generationCounter !== current) {
      const answer: StoreAns = {
        kindResponses: req.kindData.map((k) => ({ kind: k.kind, generationCounter: env.current(k.kind)?.generation ?? 0n, replicas: [] })),
      };
      return generationFailure(`Kind-ID 0x${kd.kind.toString(16)}: generation counter ${kd.generationCounter} is not the current ${current}`, answer);
    }
  }

  const records: KindRecord[] = [];
  let changed = false;
  const extras: Extra[] = [];
  for (const kd of req.kindData) {
    const def = env.kinds(kd.kind)!;
    const r = planKind(req, kd, def, replica, ctx, env, extras);
    if (!r.ok) return r;
    records.push(r.record);
    changed ||= r.changed;
  }
  if (extras.length > 0) {
    const r = applyExtras(extras, records, env);
    if (!r.ok) return r;
    changed = true;
  }
  const replicas = replica ? [] : [...(ctx.replicas ?? [])];
  return { ok: true, records, changed, answer: { kindResponses: records.map((r) => ({ kind: r.kind, generationCounter: r.generation, replicas })) } };
}

function planKind(
  req: StoreReq,
  kd: StoreKindData,
  def: KindDefinition,
  replica: boolean,
  ctx: StoreContext,
  env: StorePlanEnv,
  extras: Extra[],
): { ok: true; record: KindRecord; changed: boolean } | StorageFailure {
  const kindName = `Kind ${def.name} (0x${def.id.toString(16)})`;
  const existing = env.current(kd.kind);
  const record: KindRecord = existing
    ? copyRecord(existing)
    : { kind: kd.kind, model: def.dataModel, generation: 0n, replicaNumber: req.replicaNumber, entries: new Map() };
  if (record.model !== def.dataModel) {
    // The configuration changed the Kind's model: what is held no longer means anything.
    record.entries.clear();
    record.model = def.dataModel;
  }
  let changed = false;
  for (let i = 0; i < kd.values.length; i++) {
    const d = kd.values[i]!;
    const where = `${kindName} value ${i}`;
    if (d.value.model !== def.dataModel) return failure(ReloadErrorCode.InvalidMessage, `${where}: ${d.value.model} entry, the Kind is ${def.dataModel}`);
    if (isAnonymous(d)) return failure(ReloadErrorCode.Forbidden, `${where}: anonymous signature (identity none or algorithm {0,0})`);
    // §7.4.1.1: the signature over each value is valid, and its signer may write here (§7.3).
    let signer: AccessIdentity | undefined = ctx.requester;
    const verifier = ctx.verifier ?? env.verifier;
    if (verifier) {
      let v: ReturnType<StoredDataVerifier['verify']>;
      try {
        v = verifier.verify(req.resource, kd.kind, d);
      } catch (e) {
        v = { ok: false, info: `verifier failed: ${e instanceof Error ? e.message : String(e)}` };
      }
      if (!v.ok) return failure(ReloadErrorCode.Forbidden, `${where}: bad signature: ${v.info}`);
      signer = v.signer;
    }
    if (signer === undefined) return failure(ReloadErrorCode.Forbidden, `${where}: no verified signer`);
    const byValue = checkAccessPolicy(def, req.resource, d.value, signer, env.hashResourceName);
    if (!byValue.ok) return failure(ReloadErrorCode.Forbidden, `${where}: ${byValue.info}`);
    if (!replica) {
      // §7.3: in an original store the StoreReq's signer must conform too.
      const byRequester = checkAccessPolicy(def, req.resource, d.value, ctx.requester!, env.hashResourceName);
      if (!byRequester.ok) return failure(ReloadErrorCode.Forbidden, `${where}: the StoreReq's signer: ${byRequester.info}`);
      // issue 15: closed overlays — the signer needs a live write grant here (replicas trust the responsible
      // peer); removing its own entry (exists = false) needs none: it harms nobody
      if (def.grantedWrites === true && d.value.value.exists && !signer.nodeIds.some((n) => liveGrantUntil(env.current(WRITE_GRANT_KIND_ID), n, env.now) !== undefined)) {
        return failure(ReloadErrorCode.Forbidden, `${where}: no write grant for the signer's Node-ID at this Resource-ID (the user's password was not proven)`);
      }
    }
    if (d.value.value.value.length > def.maxSize) {
      return failure(ReloadErrorCode.DataTooLarge, `${where}: ${d.value.value.value.length} bytes, max-size is ${def.maxSize}`);
    }
    if (!replica && def.accessControl === 'USAGE-GUARD') {
      const guard = env.guards?.(kd.kind);
      if (guard === undefined) return failure(ReloadErrorCode.Forbidden, `${where}: no usage on this peer accepts Stores of this Kind`);
      let g: GuardDecision;
      try {
        g = guard.check({ resource: req.resource, kind: def, data: d, signer, requester: ctx.requester!, now: env.now, current: env.current, kinds: env.kinds });
      } catch (e) {
        g = { ok: false, info: `guard failed: ${e instanceof Error ? e.message : String(e)}` };
      }
      if (!g.ok) return failure((g.code ?? ReloadErrorCode.Forbidden) as ReloadErrorCode, `${where}: ${g.info}`);
      for (const a of g.also ?? []) extras.push(a);
      if (!g.keep) continue;
    }
    let data = d;
    if (d.value.model === 'array') {
      let index = d.value.index;
      if (index === ARRAY_APPEND) {
        index = arrayLength(record); // §7.4.1.1 append
        data = { ...d, value: { ...d.value, index } };
      }
      if (index >= def.maxCount) return failure(ReloadErrorCode.DataTooLarge, `${where}: array index ${index} is past max-count ${def.maxCount}`);
    }
    const key = entryKey(data.value);
    const old = record.entries.get(key);
    if (old !== undefined) {
      // §7: a value may only be replaced by one with a later storage_time (rollback/replay).
      if (replica && sameStoredData(old.data, data)) continue; // idempotent re-replication
      if (data.storageTime <= old.data.storageTime) {
        return failure(ReloadErrorCode.DataTooOld, `${where}: storage_time ${data.storageTime} is not after the stored ${old.data.storageTime}`);
      }
    } else if (d.value.model === 'dictionary' && record.entries.size >= def.maxCount) {
      return failure(ReloadErrorCode.DataTooLarge, `${where}: the dictionary already holds max-count ${def.maxCount} keys`);
    }
    const receivedAt = env.now;
    const writer = { nodeId: toHex(signer.nodeIds[0] ?? new Uint8Array(0)), userName: signer.userName };
    record.entries.set(key, { data, receivedAt, expiresAt: receivedAt + data.lifetime * 1000, size: entrySize(data), writer });
    changed = true;
  }
  if (replica) {
    // §7.4.1.1: a replica takes the counter of the message, unchecked.
    record.generation = kd.generationCounter;
    record.replicaNumber = req.replicaNumber;
    changed = true;
  } else if (changed) {
    record.generation += 1n; // §7.4.1.1: at least 1 per changed Kind
    record.replicaNumber = 0;
  }
  return { ok: true, record, changed };
}

/**
 * Stores the values guards asked for (kind-guard.ts) into `records` (the request's own records of
 * their Kind, or a copy of what is held), as an original store: each replaces an older value at its
 * key, the Kind's generation goes up once. Values the guard signed are trusted (this peer signed them).
 */
function applyExtras(extras: readonly Extra[], records: KindRecord[], env: StorePlanEnv): { ok: true } | StorageFailure {
  const bumped = new Set<number>();
  for (const { kind, data } of extras) {
    const def = env.kinds(kind);
    if (def === undefined || data.value.model !== def.dataModel) return failure(ReloadErrorCode.Forbidden, `guard value of Kind-ID 0x${kind.toString(16)} does not fit the configuration`);
    let record = records.find((r) => r.kind === kind);
    if (record === undefined) {
      const existing = env.current(kind);
      record = existing ? copyRecord(existing) : { kind, model: def.dataModel, generation: 0n, replicaNumber: 0, entries: new Map() };
      records.push(record);
    }
    const key = entryKey(data.value);
    const old = record.entries.get(key);
    if (old === undefined && data.value.model === 'dictionary' && record.entries.size >= def.maxCount) {
      return failure(ReloadErrorCode.DataTooLarge, `Kind ${def.name}: already holds max-count ${def.maxCount} keys`);
    }
    const writer = { nodeId: toHex(data.value.model === 'dictionary' ? data.value.key : new Uint8Array(0)), userName: '' };
    record.entries.set(key, { data, receivedAt: env.now, expiresAt: env.now + data.lifetime * 1000, size: entrySize(data), writer });
    if (!bumped.has(kind)) {
      record.generation += 1n;
      record.replicaNumber = 0;
      bumped.add(kind);
    }
  }
  return { ok: true };
}
