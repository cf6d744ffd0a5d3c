import type { Clock, TimerHandle } from '../lib/clock.js';
import type { Random } from '../lib/random.js';
import { toHex } from './ring-oracle.js';
import type { SimFetchResult, SimPeer, SimPeerStorage, SimStoreResult } from './sim-peer.js';
import type { AuditCounts, StorageLoss, StorageWorkloadOptions, StorageWorkloadStats } from './storage-workload-options.js';

/** A peer of the run as the workload sees it. */
export interface WorkloadPeer {
  readonly index: number;
  readonly peer: SimPeer;
}

/** What the workload needs of the simulation run. */
export interface StorageWorkloadHost<P extends WorkloadPeer> {
  clock: Clock;
  random: Random;
  /** A random joined peer, if any. */
  randomLive(): P | undefined;
  isLive(p: P): boolean;
  /** Live peers holding a copy of `resourceId` and under which replica number (oracle, for loss reports). */
  holders(resourceId: Uint8Array): Array<{ nodeId: string; replicaNumber: number }>;
  /** The live peer responsible for `resourceId` (oracle), hex. */
  responsible(resourceId: Uint8Array): string | undefined;
}

interface Value {
  readonly id: number;
  readonly name: string;
  resourceId: Uint8Array | undefined;
  owner: number | undefined;
  /** Last version a Store was attempted with, last one that succeeded, and when that Store was issued. */
  version: number;
  acked: number;
  ackedAt: number;
  storing: boolean;
  timer: TimerHandle | undefined;
}

interface Seen {
  answered: boolean;
  found: number;
  error: string;
  /** Who answered the last Fetch (hex). */
  responder: string;
}

type Counts = { -readonly [K in keyof AuditCounts]: AuditCounts[K] };
const noCounts = (): Counts => ({ checks: 0, passed: 0, passedOnRetry: 0, lost: 0, unreachable: 0, expired: 0 });

/** Encodes value `id` at `version` in `size` bytes (id and version first, then filler). */
export function encodeWorkloadValue(id: number, version: number, size: number): Uint8Array {
  const b = new Uint8Array(Math.max(8, size));
  const dv = new DataView(b.buffer);
  dv.setUint32(0, id);
  dv.setUint32(4, version);
  for (let i = 8; i < b.length; i++) b[i] = (id + i) & 0xff;
  return b;
}

/** The version a fetched value carries for value `id` (0: not one of its versions). */
export function workloadValueVersion(bytes: Uint8Array, id: number): number {
  if (bytes.length < 8) return 0;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return dv.getUint32(0) === id ? dv.getUint32(4) : 0;
}

export function workloadResourceName(id: number): string {
  return `user${id}@sim.p2psip`;
}

/**
 * The storage workload of a simulation: `values` values, each written by a live peer (its
 * writer, as a phone's local peer would store its registration), refreshed by the writer before
 * its lifetime ends; a departing writer's values pass to another live peer, which keeps the
 * refresh schedule (no extra Store: the overlay alone must keep the value until the next refresh).
 * Audits Fetch values from random live peers: a value is lost when every Fetch (`fetchAttempts`,
 * each from another peer) is answered without the latest version stored successfully, while that
 * version's lifetime has not ended.
 */
export class StorageWorkload<P extends WorkloadPeer> {
  private readonly values: Value[] = [];
  private readonly owned = new Map<number, Set<number>>();
  private readonly owners = new Map<number, P>();
  private readonly timers = new Set<TimerHandle>();
  private closed = false;
  private measuring = false;
  private pendingInitial = 0;
  private pendingChecks = 0;
  private rounds = 0;
  private auditTimer: TimerHandle | undefined;
  private readonly periodic = noCounts();
  private readonly final = noCounts();
  private readonly losses: StorageLoss[] = [];
  private readonly reasons = new Map<string, number>();
  private readonly stores = { attempted: 0, succeeded: 0, failed: 0, timedOut: 0 };
  private storedInitially = 0;
  private refreshes = 0;
  private ownerHandoffs = 0;
  targetedCrashes = 0;

  constructor(
    private readonly o: StorageWorkloadOptions,
    private readonly host: StorageWorkloadHost<P>,
  ) {
    for (let id = 0; id < o.values; id++) {
      this.values.push({ id, name: workloadResourceName(id), resourceId: undefined, owner: undefined, version: 0, acked: 0, ackedAt: 0, storing: false, timer: undefined });
    }
  }

  /** Issues the initial Stores at loadRatePerSec from random live peers. */
  load(): void {
    const gap = 1000 / this.o.loadRatePerSec;
    this.pendingInitial = this.values.length;
    for (const v of this.values) v.timer = this.later(v.id * gap, () => this.store(v, true));
  }

  /** Every initial Store has been answered (or timed out). */
  get loaded(): boolean {
    return this.pendingInitial === 0;
  }

  /** The measured window starts: refreshes count, periodic audits begin. */
  startWindow(): void {
    this.measuring = true;
    if (this.o.auditEveryMs > 0) this.scheduleAudit();
  }

  /** The measured window ends: no more periodic audits. */
  endWindow(): void {
    this.measuring = false;
    this.auditTimer?.cancel();
  }

  /** Checks every value once (the final audit). */
  finalAudit(): void {
    this.audit('final', this.values);
  }

  /** No check is waiting for a Fetch or a retry. */
  get auditsDone(): boolean {
    return this.pendingChecks === 0;
  }

  /** A value's Resource-ID, for targeted crashes (undefined before anything is stored). */
  randomStoredResource(): Uint8Array | undefined {
    const stored = this.values.filter((v) => v.acked > 0 && v.resourceId !== undefined);
    if (stored.length === 0) return undefined;
    return stored[this.host.random.u32() % stored.length]!.resourceId;
  }

  /** `p` left or crashed: its values pass to other live peers, which keep their refresh schedule. */
  onDeparted(p: P): void {
    const ids = this.owned.get(p.index);
    this.owners.delete(p.index);
    if (ids === undefined) return;
    this.owned.delete(p.index);
    for (const id of ids) {
      const v = this.values[id]!;
      v.owner = undefined;
      if (this.assignOwner(v) !== undefined) this.ownerHandoffs++;
    }
  }

  stop(): void {
    this.closed = true;
    this.auditTimer?.cancel();
    for (const t of this.timers) t.cancel();
    this.timers.clear();
  }

  stats(): StorageWorkloadStats {
    return {
      values: this.values.length,
      storedInitially: this.storedInitially,
      stores: { ...this.stores },
      refreshes: this.refreshes,
      ownerHandoffs: this.ownerHandoffs,
      targetedCrashes: this.targetedCrashes,
      audits: { rounds: this.rounds, ...this.periodic },
      finalAudit: { ...this.final },
      losses: [...this.losses],
      failureReasons: Object.fromEntries(this.reasons),
    };
  }

  // ------------------------------------------------------------------------------- writing

  private later(ms: number, f: () => void): TimerHandle {
    const t = this.host.clock.setTimer(ms, () => {
      this.timers.delete(t);
      if (!this.closed) f();
    });
    this.timers.add(t);
    return t;
  }

  private assignOwner(v: Value): P | undefined {
    if (v.owner !== undefined) {
      const cur = this.owners.get(v.owner);
      if (cur !== undefined && this.host.isLive(cur)) return cur;
    }
    const p = this.host.randomLive();
    if (p === undefined) return undefined;
    v.owner = p.index;
    this.owners.set(p.index, p);
    let set = this.owned.get(p.index);
    if (set === undefined) this.owned.set(p.index, (set = new Set()));
    set.add(v.id);
    return p;
  }

  private storageOf(p: P): SimPeerStorage {
    const s = p.peer.storage;
    if (s === undefined) throw new Error('the storage workload needs peers built with storage');
    return s;
  }

  private reason(r: string): void {
    const k = r.length > 80 ? r.slice(0, 80) : r;
    if (this.reasons.size < 64 || this.reasons.has(k)) this.reasons.set(k, (this.reasons.get(k) ?? 0) + 1);
  }

  private store(v: Value, initial: boolean): void {
    v.timer = undefined;
    if (v.storing) return;
    const owner = this.assignOwner(v);
    if (owner === undefined) {
      v.timer = this.later(this.o.storeRetryMs, () => this.store(v, initial));
      return;
    }
    const storage = this.storageOf(owner);
    v.resourceId ??= storage.resourceId(v.name);
    v.storing = true;
    const version = ++v.version;
    const issuedAt = this.host.clock.now();
    this.stores.attempted++;
    let settled = false;
    const finish = (r: SimStoreResult | 'timeout'): void => {
      if (settled) return;
      settled = true;
      timeout.cancel();
      this.timers.delete(timeout);
      v.storing = false;
      if (initial) this.pendingInitial--;
      if (r !== 'timeout' && r.ok) {
        this.stores.succeeded++;
        if (version > v.acked) {
          v.acked = version;
          v.ackedAt = issuedAt;
        }
        if (initial) this.storedInitially++;
        else if (this.measuring) this.refreshes++;
        // the first refresh is jittered so that refreshes do not come in the load's waves
        const next = initial ? this.o.refreshMs * (0.5 + 0.5 * this.host.random.float()) : this.o.refreshMs;
        if (!this.closed) v.timer = this.later(next, () => this.store(v, false));
        return;
      }
      if (r === 'timeout') this.stores.timedOut++;
      else this.stores.failed++;
      this.reason(`store: ${r === 'timeout' ? 'no answer' : r.reason}`);
      if (!this.closed) v.timer = this.later(this.o.storeRetryMs, () => this.store(v, false));
    };
    const timeout = this.later(this.o.requestTimeoutMs, () => finish('timeout'));
    storage.store(v.name, encodeWorkloadValue(v.id, version, this.o.valueSize), this.o.lifetimeS).then(finish, (e: unknown) =>
      finish({ ok: false, reason: `threw: ${e instanceof Error ? e.message : String(e)}` }),
    );
  }

  // ------------------------------------------------------------------------------- auditing

  private scheduleAudit(): void {
    this.auditTimer = this.host.clock.setTimer(this.o.auditEveryMs, () => {
      if (this.closed || !this.measuring) return;
      this.audit('periodic', this.sample());
      this.scheduleAudit();
    });
  }

  private sample(): Value[] {
    const k = this.o.auditSample;
    if (k <= 0 || k >= this.values.length) return this.values;
    const idx = this.values.map((_, i) => i);
    for (let i = 0; i < k; i++) {
      const j = i + (this.host.random.u32() % (idx.length - i));
      [idx[i], idx[j]] = [idx[j]!, idx[i]!];
    }
    return idx.slice(0, k).map((i) => this.values[i]!);
  }

  private audit(kind: 'periodic' | 'final', values: readonly Value[]): void {
    if (kind === 'periodic') this.rounds++;
    const gap = values.length > 0 ? this.o.auditSpreadMs / values.length : 0;
    values.forEach((v, i) => {
      this.pendingChecks++;
      this.later(i * gap, () => this.check(v, kind, 0, { answered: false, found: 0, error: '', responder: '' }));
    });
  }

  private expired(v: Value): boolean {
    return this.host.clock.now() >= v.ackedAt + this.o.lifetimeS * 1000;
  }

  private check(v: Value, kind: 'periodic' | 'final', attempt: number, seen: Seen): void {
    const counts = kind === 'final' ? this.final : this.periodic;
    const done = (): void => {
      this.pendingChecks--;
    };
    if (v.acked === 0 || v.resourceId === undefined) return done(); // never stored yet: nothing to check
    if (attempt === 0) counts.checks++;
    if (this.expired(v)) {
      counts.expired++;
      return done();
    }
    const origin = this.host.randomLive();
    if (origin === undefined) {
      counts.unreachable++;
      return done();
    }
    let settled = false;
    const finish = (r: SimFetchResult | 'timeout'): void => {
      if (settled) return;
      settled = true;
      timeout.cancel();
      this.timers.delete(timeout);
      if (this.closed) return;
      if (r !== 'timeout' && r.ok) {
        let found = 0;
        for (const b of r.values) found = Math.max(found, workloadValueVersion(b, v.id));
        if (found >= v.acked) {
          counts.passed++;
          if (attempt > 0) counts.passedOnRetry++;
          return done();
        }
        seen.answered = true;
        seen.found = Math.max(seen.found, found);
        seen.responder = r.responder === undefined ? '' : toHex(r.responder);
      } else {
        seen.error = r === 'timeout' ? 'no answer' : r.reason;
        this.reason(`fetch: ${seen.error}`);
      }
      if (attempt + 1 < this.o.fetchAttempts) {
        this.later(this.o.fetchRetryMs, () => this.check(v, kind, attempt + 1, seen));
        return;
      }
      if (this.expired(v)) counts.expired++;
      else this.verdict(v, kind, counts, seen);
      done();
    };
    const timeout = this.later(this.o.requestTimeoutMs, () => finish('timeout'));
    this.storageOf(origin)
      .fetch(v.name)
      .then(finish, (e: unknown) => finish({ ok: false, reason: `threw: ${e instanceof Error ? e.message : String(e)}` }));
  }

  private verdict(v: Value, kind: 'periodic' | 'final', counts: Counts, seen: Seen): void {
    if (seen.answered) counts.lost++;
    else counts.unreachable++;
    if (this.losses.length >= this.o.maxLossesListed) return;
    const rid = v.resourceId!;
    this.losses.push({
      value: v.id,
      resourceId: toHex(rid),
      atMs: this.host.clock.now(),
      audit: kind,
      storedVersion: v.acked,
      storedAtMs: v.ackedAt,
      foundVersion: seen.found,
      holders: this.host.holders(rid),
      responsible: this.host.responsible(rid) ?? '',
      responder: seen.responder,
      reason: seen.answered ? (seen.found === 0 ? 'not found' : 'older version') : `unreachable: ${seen.error}`,
    });
  }
}
