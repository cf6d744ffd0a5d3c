import type { Clock, TimerHandle } from '../../lib/clock.js';
import { ReloadErrorCode } from '../codec/index.js';
import type { FetchAns, FetchReq, FindAns, FindReq, StatAns, StatReq, StoreAns, StoreReq } from '../codec/index.js';
import type { HashResourceName } from './access-policy.js';
import { planFetch, planStat, remainingLifetime } from './fetch-handler.js';
import { planFind } from './find-handler.js';
import type { FetchEnv } from './fetch-handler.js';
import type { FindResource } from './find-handler.js';
import type { KindDefinition } from './kind.js';
import type { KindRecord } from './kind-record.js';
import { purgeExpired, recordBytes } from './kind-record.js';
import { RECORD_PREFIX, decodeKindRecord, encodeKindRecord, parseRecordKey, recordKey } from './kind-record-codec.js';
import { clockwiseDistance, fromHex, idValue, inRingInterval, toHex } from './resource-id-ring.js';
import type { StorageBackend, StorageBackendOp } from './storage-backend.js';
import { StorageError } from './storage-error.js';
import type { StorageFailure } from './storage-failure.js';
import { failure } from './storage-failure.js';
import { planStore } from './store-handler.js';
import type { StoreContext } from './store-handler.js';
import type { StoredDataVerifier } from './stored-data-verifier.js';
import { DEFAULT_WRITER_QUOTAS, WriterQuotas, writerQuotasFor } from './writer-quotas.js';

/** Writers remembered by the quota purge's rate limit (then forgotten all at once). */
const MAX_QUOTA_PURGE_MEMORY = 1024;

/** Backend writes of a start-up purge committed together. */
const LOAD_BATCH = 1024;

/** What the engine needs (DESIGN rule 4). */
export interface StorageEngineDeps {
  /** Timers for the expiry sweep; also the time base unless `wallClock` is given. */
  clock: Clock;
  /** Where the values are: the engine reads them back by key on each request (issue 18). */
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
  /** Most Resource-IDs held (default 2,000,000); a store for one more is Error_Data_Too_Large. */
  maxResources?: number;
  /** Most bytes held, values + keys + signatures + 48 per value (default 1 GiB, on disk); past it: Error_Data_Too_Large. */
  maxBytes?: number;
  /**
   * Quotas per writer on top of maxResources / maxBytes (writer-quotas.ts). Each defaults to half of
   * maxResources / maxBytes ({@link DEFAULT_WRITER_QUOTAS} with the default limits: 1,000,000
   * Resource-IDs and 512 MiB per Node-ID and per user name; Infinity turns one off). They count the
   * values stored here as responsible peer only: an original Store that would take a writer past one
   * is Error_Forbidden; replica and hand-over Stores are neither refused nor counted (their
   * responsible peer checked its quota).
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
  maxResources: 2_000_000,
  maxBytes: 1024 * 1024 * 1024,
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

/**
 * What the engine keeps in memory per Kind held at a resource (issue 18): counts and times, never the
 * values, which stay in the backend (LMDB: on disk, memory-mapped) and are read back by key when a
 * request needs them. The Kinds of one resource are a short chain (`next`): no array per resource.
 */
class KindSummary {
  constructor(
    readonly kind: number,
    /** Values held (tombstones included). */
    public values: number,
    /** Bytes charged ({@link recordBytes}). */
    public bytes: number,
    /** 0: stored as the responsible peer; n > 0: the replica_number it came with. */
    public replicaNumber: number,
    /** Earliest expiry among the values: nothing to purge before it. */
    public firstExpiry: number,
    /** Latest expiry among the values that exist (Find); -Infinity when none does. */
    public existsUntil: number,
    public next: KindSummary | undefined,
  ) {}
}

function summarize(r: KindRecord, next: KindSummary | undefined): KindSummary {
  let first = Infinity;
  let exists = -Infinity;
  let bytes = 0;
  for (const e of r.entries.values()) {
    bytes += e.size;
    if (e.expiresAt < first) first = e.expiresAt;
    if (e.data.value.value.exists && e.expiresAt > exists) exists = e.expiresAt;
  }
  return new KindSummary(r.kind, r.entries.size, bytes, r.replicaNumber, first, exists, next);
}

/**
 * RFC 6940 §7 storage of one peer: Store, Fetch, Stat, Find over the three data models with
 * access control, generation counters, storage times and lifetimes; the material replication and
 * migration (§10.4, §10.5, §10.7.3) are made of. Sans-I/O: the values live in a {@link StorageBackend}
 * (read back synchronously by key when a request needs them); in memory is only an index of what is
 * held — per Resource-ID and Kind the counts, bytes and expiry times ({@link KindSummary}) — and the
 * per-writer quota accounting, rebuilt from the backend on construction (issue 18: a peer holds a
 * million registrations at a few hundred bytes of memory each).
 */
export class StorageEngine {
  private readonly deps: StorageEngineDeps;
  private readonly opts: Required<StorageEngineOptions>;
  /** Resource-ID (hex) → the Kinds held there. */
  private readonly resources = new Map<string, KindSummary>();
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
    const limits = { maxResources: options.maxResources ?? DEFAULT_STORAGE_ENGINE_OPTIONS.maxResources, maxBytes: options.maxBytes ?? DEFAULT_STORAGE_ENGINE_OPTIONS.maxBytes };
    const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as StorageEngineOptions;
    this.opts = { ...DEFAULT_STORAGE_ENGINE_OPTIONS, ...writerQuotasFor(limits.maxResources, limits.maxBytes, given), ...given, ...limits };
    for (const k of ['maxResources', 'maxBytes', 'sweepIntervalMs', 'sweepBatch', 'maxResourcesPerNodeId', 'maxBytesPerNodeId', 'maxResourcesPerUser', 'maxBytesPerUser'] as const) {
      if (!(this.opts[k] > 0)) throw new StorageError('STORAGE_BAD_OPTIONS', `${k} must be > 0`);
    }
    this.writers = new WriterQuotas(this.opts);
    this.load();
  }

  /** The limits in force (defaults and derived quotas filled in). */
  get limits(): Readonly<Required<StorageEngineOptions>> {
    return this.opts;
  }

  /** Rebuilds the index from the backend; damaged or expired records are deleted. */
  private load(): void {
    const now = this.now();
    let ops: StorageBackendOp[] = [];
    let lastHex = '';
    for (const [key, value] of this.deps.backend.entries(Uint8Array.of(RECORD_PREFIX))) {
      if (ops.length >= LOAD_BATCH) {
        this.deps.backend.batch(ops);
        ops = [];
      }
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
      let hex = toHex(parsed.resource);
      if (hex === lastHex) hex = lastHex; // one string per resource, shared with the quota accounting
      lastHex = hex;
      this.setSummary(hex, record);
      this.totalBytes += recordBytes(record);
      this.totalValues += record.entries.size;
      this.writers.add(hex, record);
    }
    if (ops.length > 0) this.deps.backend.batch(ops);
  }

  private now(): number {
    return this.deps.wallClock ? this.deps.wallClock() : this.deps.clock.now();
  }

  private summaryOf(hex: string, kind: number): KindSummary | undefined {
    for (let s = this.resources.get(hex); s !== undefined; s = s.next) if (s.kind === kind) return s;
    return undefined;
  }

  private summariesOf(hex: string): KindSummary[] {
    const out: KindSummary[] = [];
    for (let s = this.resources.get(hex); s !== undefined; s = s.next) out.push(s);
    return out;
  }

  /** Puts `record`'s summary in the index in place of the Kind's old one (removes it when empty). */
  private setSummary(hex: string, record: KindRecord): void {
    const head = this.resources.get(hex);
    let prev: KindSummary | undefined;
    let s = head;
    while (s !== undefined && s.kind !== record.kind) {
      prev = s;
      s = s.next;
    }
    if (record.entries.size === 0) {
      if (s === undefined) return;
      if (prev !== undefined) prev.next = s.next;
      else if (s.next !== undefined) this.resources.set(hex, s.next);
      else this.resources.delete(hex);
      return;
    }
    if (s === undefined) {
      this.resources.set(hex, summarize(record, head));
      return;
    }
    const replacement = summarize(record, s.next);
    if (prev !== undefined) prev.next = replacement;
    else this.resources.set(hex, replacement);
  }

  /**
   * The record of `kind` at `hex` as the backend holds it. A record the index lists but the backend
   * no longer has (or cannot decode: a failed write, damage) is forgotten from the index; the writers
   * it charged stay charged until the next start.
   */
  private readRecord(hex: string, kind: number): KindRecord | undefined {
    const s = this.summaryOf(hex, kind);
    if (s === undefined) return undefined;
    let record: KindRecord | undefined;
    try {
      const bytes = this.deps.backend.get(recordKey(fromHex(hex), kind));
      record = bytes === undefined ? undefined : decodeKindRecord(kind, bytes);
    } catch {
      record = undefined;
    }
    if (record === undefined || record.entries.size === 0) {
      this.totalBytes -= s.bytes;
      this.totalValues -= s.values;
      this.setSummary(hex, { kind, model: 'single', generation: 0n, replicaNumber: 0, entries: new Map() });
      return undefined;
    }
    return record;
  }

  /** Drops the expired values at `hex` (persisted): true when anything is still held there. */
  private live(hex: string, now: number): boolean {
    const head = this.resources.get(hex);
    if (head === undefined) return false;
    let ops: StorageBackendOp[] | undefined;
    for (let s: KindSummary | undefined = head; s !== undefined; s = s.next) {
      if (s.firstExpiry > now) continue;
      const r = this.readRecord(hex, s.kind);
      if (r === undefined) continue;
      const before = recordBytes(r);
      const count = r.entries.size;
      if (!purgeExpired(r, now, (e) => this.writers.removeEntry(hex, r, e))) {
        this.setSummary(hex, r); // the index was stale: nothing expired after all
        continue;
      }
      this.totalBytes -= before - recordBytes(r);
      this.totalValues -= count - r.entries.size;
      (ops ??= []).push(...this.opsFor(hex, [r]));
      this.setSummary(hex, r);
    }
    if (ops !== undefined) {
      try {
        this.deps.backend.batch(ops);
      } catch {
        // Only lost durability: the values are gone from the index, the next open purges them again.
      }
    }
    return this.resources.has(hex);
  }

  /** The backend writes that make `records` of resource `hex` durable (empty records are deleted). */
  private opsFor(hex: string, records: readonly KindRecord[]): StorageBackendOp[] {
    const id = fromHex(hex);
    return records.map((r): StorageBackendOp => {
      const key = recordKey(id, r.kind);
      return r.entries.size === 0 ? { type: 'delete', key } : { type: 'put', key, value: encodeKindRecord(r) };
    });
  }

  /**
   * The live records of `hex`, read from the backend once per Kind for one request (the planners
   * ask several times); expired values are purged first, at `now`.
   */
  private reader(hex: string, now: number): (kind: number) => KindRecord | undefined {
    const cache = new Map<number, KindRecord | undefined>();
    let purged = false;
    return (kind) => {
      if (!purged) {
        this.live(hex, now);
        purged = true;
      }
      if (cache.has(kind)) return cache.get(kind);
      const r = this.readRecord(hex, kind);
      cache.set(kind, r);
      return r;
    };
  }

  private env(hex: string): FetchEnv {
    const now = this.now();
    return { now, kinds: this.deps.kinds, current: this.reader(hex, now) };
  }

  /** The configuration's definition of a Kind (undefined: not in the configuration). */
  kind(kindId: number): KindDefinition | undefined {
    return this.deps.kinds(kindId);
  }

  /** RFC 6940 §7.4.1 Store. Never throws for any request: refusals are {@link StorageFailure}s. */
  store(req: StoreReq, ctx: StoreContext = {}): StoreResult {
    if (this.closed) return failure(ReloadErrorCode.Forbidden, 'storage is closed');
    const hex = toHex(req.resource);
    const now = this.now();
    const current = this.reader(hex, now);
    const plan = planStore(req, ctx, {
      now,
      kinds: this.deps.kinds,
      current,
      hashResourceName: this.deps.hashResourceName,
      ...(this.deps.verifyStoredData ? { verifier: this.deps.verifyStoredData } : {}),
      ...(this.deps.guards ? { guards: this.deps.guards } : {}),
    });
    if (!plan.ok) return plan;
    const existing = this.live(hex, now);
    let oldBytes = 0;
    let oldValues = 0;
    let newBytes = 0;
    let newValues = 0;
    const oldRecords: KindRecord[] = [];
    for (const r of plan.records) {
      const old = this.summaryOf(hex, r.kind) === undefined ? undefined : current(r.kind);
      if (old) {
        oldRecords.push(old);
        oldBytes += recordBytes(old);
        oldValues += old.entries.size;
      }
      newBytes += recordBytes(r);
      newValues += r.entries.size;
    }
    if (!existing && newValues > 0 && this.resources.size >= this.opts.maxResources) {
      return failure(ReloadErrorCode.DataTooLarge, `storage full: ${this.resources.size} resources held (max ${this.opts.maxResources})`);
    }
    const bytesAfter = this.totalBytes - oldBytes + newBytes;
    if (newBytes > oldBytes && bytesAfter > this.opts.maxBytes) {
      return failure(ReloadErrorCode.DataTooLarge, `storage full: ${bytesAfter} bytes would exceed the limit of ${this.opts.maxBytes}`);
    }
    const replica = req.replicaNumber > 0 || ctx.replica === true;
    if (!replica) {
      const over = this.quotaCheck(hex, oldRecords, plan.records, now);
      if (over !== undefined) return over;
    }
    try {
      this.deps.backend.batch(this.opsFor(hex, plan.records)); // durable first, then visible
    } catch (e) {
      return failure(ReloadErrorCode.Forbidden, `storage unavailable: ${e instanceof Error ? e.message : String(e)}`);
    }
    for (const r of oldRecords) this.writers.remove(hex, r);
    for (const r of plan.records) this.writers.add(hex, r);
    for (const r of plan.records) this.setSummary(hex, r);
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
  private quotaCheck(hex: string, before: readonly KindRecord[], after: readonly KindRecord[], now: number): StorageFailure | undefined {
    const over = this.writers.check(hex, before, after);
    if (over === undefined) return undefined;
    const at = this.deps.clock.now();
    const last = this.quotaPurgedAt.get(over.writer);
    if (last !== undefined && at - last < this.opts.sweepIntervalMs) return over.failure;
    if (this.quotaPurgedAt.size >= MAX_QUOTA_PURGE_MEMORY) this.quotaPurgedAt.clear();
    this.quotaPurgedAt.set(over.writer, at);
    // `hex` itself is live already (the plan was made on it); purging only lowers what writers hold
    for (const res of this.writers.resourcesOf(over.writer)) if (res !== hex) this.live(res, now);
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

  /** RFC 6940 §7.4.4 Find ({@link planFind}) from the index; responsibility (Error_Not_Found) is the overlay's check. */
  find(req: FindReq): FindAns {
    const resources = this.resources;
    const view = function* (): Generator<FindResource> {
      for (const [hex, head] of resources) {
        yield {
          hex,
          hasLive: (kind, now) => {
            for (let s: KindSummary | undefined = head; s !== undefined; s = s.next) if (s.kind === kind) return s.existsUntil > now;
            return false;
          },
        };
      }
    };
    return planFind(req, view(), this.deps.kinds, this.now());
  }

  /**
   * A StoreReq carrying everything held at `resource` (or only `kinds`), lifetimes adjusted down
   * to what is left (§7.4.1.1), generation counters as held: for replicas (§10.4), handing data
   * to a joining peer (§10.5) or re-replication (§10.7.3). Kinds the configuration no longer
   * knows are left out. Undefined when nothing is held.
   */
  storeReqFor(resource: Uint8Array, replicaNumber: number, kinds?: readonly number[]): StoreReq | undefined {
    const hex = toHex(resource);
    const now = this.now();
    if (!this.live(hex, now)) return undefined;
    const kindData = [];
    for (const s of this.summariesOf(hex).sort((a, b) => a.kind - b.kind)) {
      if (kinds && !kinds.includes(s.kind)) continue;
      const r = this.readRecord(hex, s.kind);
      if (r === undefined) continue;
      if (this.deps.kinds(r.kind)?.dataModel !== r.model || r.entries.size === 0) continue;
      const values = [...r.entries.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([, e]) => ({ ...e.data, lifetime: remainingLifetime(e, now) }));
      kindData.push({ kind: r.kind, generationCounter: r.generation, values });
    }
    if (kindData.length === 0) return undefined;
    return { resource: resource.slice(), replicaNumber, kindData };
  }

  /** Resource-IDs held in the ring interval (from, to] (from = to: all), in ring order after `from`. */
  resourceIdsInRange(fromExclusive: Uint8Array, toInclusive: Uint8Array): Uint8Array[] {
    const from = toHex(fromExclusive);
    const to = toHex(toInclusive);
    const after: string[] = [];
    const wrapped: string[] = [];
    let mixed = false;
    for (const hex of this.resources.keys()) {
      if (hex.length !== from.length || to.length !== from.length) {
        mixed = true;
        break;
      }
      // same-length ids compare as their hex text (id order); the ring runs on past `from`, then wraps
      const inside = from === to || (from < to ? hex > from && hex <= to : hex > from || hex <= to);
      if (inside) (hex > from ? after : wrapped).push(hex);
    }
    if (!mixed) return [...after.sort(), ...wrapped.sort()].map(fromHex);
    // ids of several lengths (not in one overlay): the general ring arithmetic
    const ids = [...this.resources.keys()].map(fromHex).filter((id) => inRingInterval(id, fromExclusive, toInclusive));
    const bits = fromExclusive.length * 8;
    return ids
      .map((id) => ({ id, d: clockwiseDistance(fromExclusive, id, bits) }))
      .sort((a, b) => (a.d < b.d ? -1 : a.d > b.d ? 1 : 0))
      .map((x) => x.id);
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
    const kinds = this.summariesOf(hex);
    if (kinds.length === 0) return false;
    const emptied: KindRecord[] = [];
    for (const s of kinds) {
      const r = this.readRecord(hex, s.kind);
      if (r === undefined) continue;
      this.totalBytes -= s.bytes;
      this.totalValues -= s.values;
      this.writers.remove(hex, r);
      r.entries.clear();
      emptied.push(r);
    }
    this.resources.delete(hex);
    try {
      this.deps.backend.batch(this.opsFor(hex, emptied));
    } catch {
      // Only lost durability: the index forgot the resource; the next open may see it again.
    }
    return true;
  }

  /** The replica_number `resource` was last stored with (0: as responsible peer); undefined if not held. */
  replicaNumber(resource: Uint8Array): number | undefined {
    let min: number | undefined;
    for (let s = this.resources.get(toHex(resource)); s !== undefined; s = s.next) min = min === undefined ? s.replicaNumber : Math.min(min, s.replicaNumber);
    return min;
  }

  /** Every Resource-ID held, in id order. */
  resourceIds(): Uint8Array[] {
    const keys = [...this.resources.keys()];
    // same-length ids sort as their hex text; ids of several lengths by value
    keys.sort((a, b) => (a.length === b.length ? (a < b ? -1 : a > b ? 1 : 0) : idValue(fromHex(a)) < idValue(fromHex(b)) ? -1 : 1));
    return keys.map(fromHex);
  }

  /**
   * Resource-IDs and bytes held here for one writer (a Node-ID, hex, or a user name) in records stored
   * as responsible peer — what its quota counts; values past their lifetime included until swept.
   */
  writerUsage(writer: { nodeId: string } | { userName: string }): { resources: number; bytes: number } {
    return 'nodeId' in writer ? this.writers.ofNodeId(writer.nodeId) : this.writers.ofUser(writer.userName);
  }

  /** Counts for /api/status (values past their lifetime count until swept or touched). */
  summary(): StorageSummary {
    return { resources: this.resources.size, values: this.totalValues, bytes: this.totalBytes };
  }

  /** Values and bytes held per Kind-ID, as {@link summary} counts them (metrics: storage by kind); one pass over the index. */
  summaryByKind(): Map<number, { values: number; bytes: number }> {
    const out = new Map<number, { values: number; bytes: number }>();
    for (const head of this.resources.values()) {
      for (let s: KindSummary | undefined = head; s !== undefined; s = s.next) {
        const o = out.get(s.kind) ?? { values: 0, bytes: 0 };
        o.values += s.values;
        o.bytes += s.bytes;
        out.set(s.kind, o);
      }
    }
    return out;
  }

  /** One bounded step of the expiry sweep: up to `sweepBatch` resources; returns values removed. */
  sweep(): number {
    const before = this.totalValues;
    const now = this.now();
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
      this.live(next.value, now);
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
