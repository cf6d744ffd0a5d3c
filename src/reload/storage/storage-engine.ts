import type { Clock, TimerHandle } from '../../lib/clock.js';
import { ReloadErrorCode } from '../codec/index.js';
import type { FetchAns, FetchReq, FindAns, FindReq, StatAns, StatReq, StoreAns, StoreReq } from '../codec/index.js';
import type { HashResourceName } from './access-policy.js';
import { planFetch, planStat, remainingLifetime } from './fetch-handler.js';
import { planFind } from './find-handler.js';
import type { FindResource } from './find-handler.js';
import type { FetchEnv } from './fetch-handler.js';
import type { KindDefinition } from './kind.js';
import type { KindRecord, StoredEntry } from './kind-record.js';
import { purgeExpired, recordBytes } from './kind-record.js';
import { RECORD_PREFIX, decodeKindRecord, encodeKindRecord, parseRecordKey, recordKey } from './kind-record-codec.js';
import { clockwiseDistance, idValue, inRingInterval, toHex } from './resource-id-ring.js';
import type { StorageBackend, StorageBackendOp } from './storage-backend.js';
import { StorageError } from './storage-error.js';
import type { StorageFailure } from './storage-failure.js';
import { failure } from './storage-failure.js';
import { planStore } from './store-handler.js';
import type { StoreContext } from './store-handler.js';
import type { StoredDataVerifier } from './stored-data-verifier.js';
import { DEFAULT_WRITER_QUOTAS, WriterQuotas } from './writer-quotas.js';

/** Writers remembered by the quota purge's rate limit (then forgotten all at once). */
const MAX_QUOTA_PURGE_MEMORY = 1024;

/** What the engine needs (DESIGN rule 4). */
export interface StorageEngineDeps {
  /** Timers for the expiry sweep; also the time base unless `wallClock` is given. */
  clock: Clock;
  backend: StorageBackend;
  /** The overlay configuration's Kinds (RFC 6940 §11.1). */
  kinds: (kindId: number) => KindDefinition | undefined;
  /** The overlay hash, truncated to the Resource-ID length (RFC 6940 §5.2, §7.3). */
  hashResourceName: HashResourceName;
  /** Signatures over stored values (§7.1). Without one, each value's signer is the StoreReq's requester. */
  verifyStoredData?: StoredDataVerifier;
  /**
   * Milliseconds since the epoch, for lifetimes that must survive a restart (the persisted expiry
   * times are on this scale). Defaults to `clock.now()`: right for tests and the simulator.
   */
  wallClock?: () => number;
  /** Guards of USAGE-GUARD Kinds (kind-guard.ts, issue 15); without one such a Kind's original Stores are refused. */
  guards?: import('./kind-guard.js').KindGuards;
}

/** Limits and timing of the engine; every field has a default. */
export interface StorageEngineOptions {
  /** Most Resource-IDs held (default 10 000); a store for one more is Error_Data_Too_Large. */
  maxResources?: number;
  /** Most bytes held, values + keys + signatures + 48 per value (default 64 MiB); past it: Error_Data_Too_Large. */
  maxBytes?: number;
  /**
   * Quotas per writer on top of maxResources / maxBytes ({@link DEFAULT_WRITER_QUOTAS}: 5,000
   * Resource-IDs and 16 MiB per Node-ID and per user name; Infinity turns one off). An original Store
   * that would take a writer past one is Error_Forbidden; replica and hand-over Stores are not refused
   * (their responsible peer checked the quota) but count.
   */
  maxResourcesPerNodeId?: number;
  maxBytesPerNodeId?: number;
  maxResourcesPerUser?: number;
  maxBytesPerUser?: number;
  /** Period of the expiry sweep (default 10 s). */
  sweepIntervalMs?: number;
  /** Resources examined per sweep (default 256): bounded work per timer. */
  sweepBatch?: number;
}

export const DEFAULT_STORAGE_ENGINE_OPTIONS: Required<StorageEngineOptions> = {
  maxResources: 10_000,
  maxBytes: 64 * 1024 * 1024,
  ...DEFAULT_WRITER_QUOTAS,
  sweepIntervalMs: 10_000,
  sweepBatch: 256,
};

/** A successful store: the StoreAns and, for an original store, the StoreReq to send to replica 1. */
export type StoreResult = { ok: true; answer: StoreAns; changed: boolean; replicate?: StoreReq } | StorageFailure;

/** For /api/status. */
export interface StorageSummary {
  resources: number;
  values: number;
  bytes: number;
}

interface ResourceState {
  id: Uint8Array;
  kinds: Map<number, KindRecord>;
}

/**
 * RFC 6940 §7 storage of one peer: Store, Fetch, Stat, Find over the three data models with
 * access control, generation counters, storage times and lifetimes; the material replication and
 * migration (§10.4, §10.5, §10.7.3) are made of. Sans-I/O: state lives in memory, mirrored to a
 * {@link StorageBackend} and rebuilt from it on construction.
 */
export class StorageEngine {
  private readonly deps: StorageEngineDeps;
  private readonly opts: Required<StorageEngineOptions>;
  private readonly resources = new Map<string, ResourceState>();
  private totalBytes = 0;
  private totalValues = 0;
  /** What each writer holds here (per-writer quotas). */
  private readonly writers: WriterQuotas;
  /** Writer → when its expired values were last purged for a quota check. */
  private readonly quotaPurgedAt = new Map<string, number>();
  private sweepCursor: Iterator<string> | undefined;
  private sweepTimer: TimerHandle | undefined;
  private closed = false;

  constructor(deps: StorageEngineDeps, options: StorageEngineOptions = {}) {
    this.deps = deps;
    this.opts = { ...DEFAULT_STORAGE_ENGINE_OPTIONS, ...options };
    for (const k of ['maxResources', 'maxBytes', 'sweepIntervalMs', 'sweepBatch', 'maxResourcesPerNodeId', 'maxBytesPerNodeId', 'maxResourcesPerUser', 'maxBytesPerUser'] as const) {
      if (!(this.opts[k] > 0)) throw new StorageError('STORAGE_BAD_OPTIONS', `${k} must be > 0`);
    }
    this.writers = new WriterQuotas(this.opts);
    this.load();
  }

  /** Rebuilds the index from the backend; damaged or expired records are deleted. */
  private load(): void {
    const now = this.now();
    const ops: StorageBackendOp[] = [];
    for (const [key, value] of this.deps.backend.entries(Uint8Array.of(RECORD_PREFIX))) {
      const parsed = parseRecordKey(key);
      let record: KindRecord | undefined;
      try {
        record = parsed ? decodeKindRecord(parsed.kind, value) : undefined;
      } catch {
        record = undefined;
      }
      if (parsed === undefined || record === undefined) {
        ops.push({ type: 'delete', key });
        continue;
      }
      if (purgeExpired(record, now)) ops.push(record.entries.size > 0 ? { type: 'put', key, value: encodeKindRecord(record) } : { type: 'delete', key });
      if (record.entries.size === 0) continue;
      const hex = toHex(parsed.resource);
      let res = this.resources.get(hex);
      if (!res) this.resources.set(hex, (res = { id: parsed.resource, kinds: new Map() }));
      res.kinds.set(record.kind, record);
      this.totalBytes += recordBytes(record);
      this.totalValues += record.entries.size;
      this.writers.add(hex, record);
    }
    if (ops.length > 0) this.deps.backend.batch(ops);
  }

  private now(): number {
    return this.deps.wallClock ? this.deps.wallClock() : this.deps.clock.now();
  }

  /** The resource with expired values dropped (persisted), or undefined when nothing is left. */
  private live(hex: string): ResourceState | undefined {
    const res = this.resources.get(hex);
    if (!res) return undefined;
    const now = this.now();
    const changed: KindRecord[] = [];
    const uncharge = (e: StoredEntry): void => this.writers.removeEntry(hex, e);
    for (const r of res.kinds.values()) {
      const before = recordBytes(r);
      const count = r.entries.size;
      if (purgeExpired(r, now, uncharge)) {
        this.totalBytes -= before - recordBytes(r);
        this.totalValues -= count - r.entries.size;
        changed.push(r);
      }
    }
    if (changed.length > 0) this.persist(res, changed);
    return this.resources.get(hex);
  }

  /** The backend writes that make `records` of `resource` durable (empty records are deleted). */
  private opsFor(resource: Uint8Array, records: readonly KindRecord[]): StorageBackendOp[] {
    return records.map((r): StorageBackendOp => {
      const key = recordKey(resource, r.kind);
      return r.entries.size === 0 ? { type: 'delete', key } : { type: 'put', key, value: encodeKindRecord(r) };
    });
  }

  /** Drops empty `records` (and `res` when empty) from the index. */
  private forgetEmpty(res: ResourceState, records: readonly KindRecord[]): void {
    for (const r of records) if (r.entries.size === 0) res.kinds.delete(r.kind);
    if (res.kinds.size === 0) this.resources.delete(toHex(res.id));
  }

  /** Persists maintenance changes (expiry, drop); a backend failure is only lost durability: the next open purges again. */
  private persist(res: ResourceState, records: readonly KindRecord[]): void {
    this.forgetEmpty(res, records);
    try {
      this.deps.backend.batch(this.opsFor(res.id, records));
    } catch {
      // The in-memory index stays right; the backend catches up on the next write of the record.
    }
  }

  private env(hex: string): FetchEnv {
    return { now: this.now(), kinds: this.deps.kinds, current: (k) => this.live(hex)?.kinds.get(k) };
  }

  /** RFC 6940 §7.4.1 Store. Never throws for any request: refusals are {@link StorageFailure}s. */
  /** The configuration's definition of a Kind (undefined: not in the configuration). */
  kind(kindId: number): KindDefinition | undefined {
    return this.deps.kinds(kindId);
  }

  store(req: StoreReq, ctx: StoreContext = {}): StoreResult {
    if (this.closed) return failure(ReloadErrorCode.Forbidden, 'storage is closed');
    const hex = toHex(req.resource);
    const plan = planStore(req, ctx, {
      ...this.env(hex),
      hashResourceName: this.deps.hashResourceName,
      ...(this.deps.verifyStoredData ? { verifier: this.deps.verifyStoredData } : {}),
      ...(this.deps.guards ? { guards: this.deps.guards } : {}),
    });
    if (!plan.ok) return plan;
    const existing = this.live(hex);
    let oldBytes = 0;
    let oldValues = 0;
    let newBytes = 0;
    let newValues = 0;
    const oldRecords: KindRecord[] = [];
    for (const r of plan.records) {
      const old = existing?.kinds.get(r.kind);
      if (old) {
        oldRecords.push(old);
        oldBytes += recordBytes(old);
        oldValues += old.entries.size;
      }
      newBytes += recordBytes(r);
      newValues += r.entries.size;
    }
    if (existing === undefined && newValues > 0 && this.resources.size >= this.opts.maxResources) {
      return failure(ReloadErrorCode.DataTooLarge, `storage full: ${this.resources.size} resources held (max ${this.opts.maxResources})`);
    }
    const bytesAfter = this.totalBytes - oldBytes + newBytes;
    if (newBytes > oldBytes && bytesAfter > this.opts.maxBytes) {
      return failure(ReloadErrorCode.DataTooLarge, `storage full: ${bytesAfter} bytes would exceed the limit of ${this.opts.maxBytes}`);
    }
    const replica = req.replicaNumber > 0 || ctx.replica === true;
    if (!replica) {
      const over = this.quotaCheck(hex, oldRecords, plan.records);
      if (over !== undefined) return over;
    }
    const res = existing ?? { id: req.resource.slice(), kinds: new Map<number, KindRecord>() };
    try {
      this.deps.backend.batch(this.opsFor(res.id, plan.records)); // durable first, then visible
    } catch (e) {
      return failure(ReloadErrorCode.Forbidden, `storage unavailable: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (!existing) this.resources.set(hex, res);
    for (const r of oldRecords) this.writers.remove(hex, r);
    for (const r of plan.records) this.writers.add(hex, r);
    for (const r of plan.records) res.kinds.set(r.kind, r);
    this.forgetEmpty(res, plan.records);
    this.totalBytes = bytesAfter;
    this.totalValues += newValues - oldValues;
    if (replica || !plan.changed) return { ok: true, answer: plan.answer, changed: plan.changed };
    const replicate = this.storeReqFor(req.resource, 1, plan.records.map((r) => r.kind));
    return { ok: true, answer: plan.answer, changed: true, ...(replicate ? { replicate } : {}) };
  }

  /**
   * The per-writer quotas for replacing `before` by `after` at `hex`. A writer found at its quota has
   * its expired values purged first (they count until swept or touched), at most once per sweep
   * interval per writer, and is checked again.
   */
  private quotaCheck(hex: string, before: readonly KindRecord[], after: readonly KindRecord[]): StorageFailure | undefined {
    const over = this.writers.check(hex, before, after);
    if (over === undefined) return undefined;
    const now = this.deps.clock.now();
    const last = this.quotaPurgedAt.get(over.writer);
    if (last !== undefined && now - last < this.opts.sweepIntervalMs) return over.failure;
    if (this.quotaPurgedAt.size >= MAX_QUOTA_PURGE_MEMORY) this.quotaPurgedAt.clear();
    this.quotaPurgedAt.set(over.writer, now);
    // `hex` itself is live already (the plan was made on it); purging only lowers what writers hold
    for (const res of this.writers.resourcesOf(over.writer)) if (res !== hex) this.live(res);
    return this.writers.check(hex, before, after)?.failure;
  }

  /** RFC 6940 §7.4.2 Fetch. */
  fetch(req: FetchReq): { ok: true; answer: FetchAns } | StorageFailure {
    return planFetch(req, this.env(toHex(req.resource)));
  }

  /** RFC 6940 §7.4.3 Stat. */
  stat(req: StatReq): { ok: true; answer: StatAns } | StorageFailure {
    return planStat(req, this.env(toHex(req.resource)));
  }

  /** RFC 6940 §7.4.4 Find ({@link planFind}); responsibility (Error_Not_Found) is the overlay's check. */
  find(req: FindReq): FindAns {
    return planFind(req, this.findView(), this.deps.kinds, this.now());
  }

  private *findView(): Generator<FindResource> {
    for (const [hex, r] of this.resources) yield { id: r.id, hex, kinds: r.kinds };
  }

  /**
   * A StoreReq carrying everything held at `resource` (or only `kinds`), lifetimes adjusted down
   * to what is left (§7.4.1.1), generation counters as held: for replicas (§10.4), handing data
   * to a joining peer (§10.5) or re-replication (§10.7.3). Kinds the configuration no longer
   * knows are left out. Undefined when nothing is held.
   */
  storeReqFor(resource: Uint8Array, replicaNumber: number, kinds?: readonly number[]): StoreReq | undefined {
    const res = this.live(toHex(resource));
    if (!res) return undefined;
    const now = this.now();
    const kindData = [];
    for (const r of [...res.kinds.values()].sort((a, b) => a.kind - b.kind)) {
      if (kinds && !kinds.includes(r.kind)) continue;
      if (this.deps.kinds(r.kind)?.dataModel !== r.model || r.entries.size === 0) continue;
      const values = [...r.entries.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([, e]) => ({ ...e.data, lifetime: remainingLifetime(e, now) }));
      kindData.push({ kind: r.kind, generationCounter: r.generation, values });
    }
    if (kindData.length === 0) return undefined;
    return { resource: res.id.slice(), replicaNumber, kindData };
  }

  /** Resource-IDs held in the ring interval (from, to] (from = to: all), in ring order after `from`. */
  resourceIdsInRange(fromExclusive: Uint8Array, toInclusive: Uint8Array): Uint8Array[] {
    const ids = [...this.resources.values()].map((r) => r.id).filter((id) => inRingInterval(id, fromExclusive, toInclusive));
    const bits = fromExclusive.length * 8;
    return ids
      .map((id) => ({ id, d: clockwiseDistance(fromExclusive, id, bits) }))
      .sort((a, b) => (a.d < b.d ? -1 : a.d > b.d ? 1 : 0))
      .map((x) => x.id.slice());
  }

  /** One StoreReq per resource in (from, to] ({@link storeReqFor}), produced lazily. */
  *resourcesInRange(fromExclusive: Uint8Array, toInclusive: Uint8Array, replicaNumber = 1): Generator<StoreReq> {
    for (const id of this.resourceIdsInRange(fromExclusive, toInclusive)) {
      const req = this.storeReqFor(id, replicaNumber);
      if (req) yield req;
    }
  }

  /** Forgets every resource in (from, to] (§10.7.3: no longer in the replica set); returns how many. */
  dropRange(fromExclusive: Uint8Array, toInclusive: Uint8Array): number {
    const ids = this.resourceIdsInRange(fromExclusive, toInclusive);
    for (const id of ids) this.drop(id);
    return ids.length;
  }

  /** Forgets one resource; false when it was not held. */
  drop(resource: Uint8Array): boolean {
    const hex = toHex(resource);
    const res = this.resources.get(hex);
    if (!res) return false;
    for (const r of res.kinds.values()) {
      this.totalBytes -= recordBytes(r);
      this.totalValues -= r.entries.size;
      this.writers.remove(hex, r);
      r.entries.clear();
    }
    this.persist(res, [...res.kinds.values()]);
    return true;
  }

  /** The replica_number `resource` was last stored with (0: as responsible peer); undefined if not held. */
  replicaNumber(resource: Uint8Array): number | undefined {
    const res = this.resources.get(toHex(resource));
    if (!res) return undefined;
    return Math.min(...[...res.kinds.values()].map((r) => r.replicaNumber));
  }

  /** Every Resource-ID held, in id order. */
  resourceIds(): Uint8Array[] {
    return [...this.resources.values()]
      .map((r) => ({ id: r.id, key: idValue(r.id) }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map((x) => x.id.slice());
  }

  /** Resource-IDs and bytes held here for one writer (a Node-ID, hex, or a user name), values past their lifetime included until swept. */
  writerUsage(writer: { nodeId: string } | { userName: string }): { resources: number; bytes: number } {
    return 'nodeId' in writer ? this.writers.ofNodeId(writer.nodeId) : this.writers.ofUser(writer.userName);
  }

  /** Counts for /api/status (values past their lifetime count until swept or touched). */
  summary(): StorageSummary {
    return { resources: this.resources.size, values: this.totalValues, bytes: this.totalBytes };
  }

  /** Values and bytes held per Kind-ID, as {@link summary} counts them (metrics: storage by kind); one pass over the records. */
  summaryByKind(): Map<number, { values: number; bytes: number }> {
    const out = new Map<number, { values: number; bytes: number }>();
    for (const res of this.resources.values()) {
      for (const r of res.kinds.values()) {
        const s = out.get(r.kind) ?? { values: 0, bytes: 0 };
        s.values += r.entries.size;
        s.bytes += recordBytes(r);
        out.set(r.kind, s);
      }
    }
    return out;
  }

  /** One bounded step of the expiry sweep: up to `sweepBatch` resources; returns values removed. */
  sweep(): number {
    const before = this.totalValues;
    let restarted = false;
    for (let i = 0; i < this.opts.sweepBatch; ) {
      this.sweepCursor ??= this.resources.keys();
      const next = this.sweepCursor.next();
      if (next.done) {
        this.sweepCursor = undefined;
        if (restarted) break; // at most one pass per call
        restarted = true;
        continue;
      }
      this.live(next.value);
      i++;
    }
    return before - this.totalValues;
  }

  /** Starts the periodic expiry sweep on the clock. */
  start(): void {
    if (this.sweepTimer || this.closed) return;
    const tick = (): void => {
      this.sweep();
      this.sweepTimer = this.closed ? undefined : this.deps.clock.setTimer(this.opts.sweepIntervalMs, tick);
    };
    this.sweepTimer = this.deps.clock.setTimer(this.opts.sweepIntervalMs, tick);
  }

  /** Stops the sweep and waits until the backend holds every write; the backend stays open (its owner closes it). */
  async close(): Promise<void> {
    this.closed = true;
    this.sweepTimer?.cancel();
    this.sweepTimer = undefined;
    await this.deps.backend.flush();
  }
}
