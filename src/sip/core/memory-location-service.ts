import type { Clock } from '../../lib/clock.js';
import { PeriodicTask, type Lifecycle } from '../../lib/lifecycle.js';
import type { RecordStore } from '../../lib/record-store.js';
import { applyRegister, DEFAULT_APPLY_REGISTER_LIMITS, type ApplyRegisterLimits } from './apply-register.js';
import { decodeBindingRecord, encodeBindingRecord } from './binding-record.js';
import type { Binding, BindingChange, BindingObserver, BindingUpdateResult, StagedLocationService } from './location-service.js';

export interface MemoryLocationServiceOptions extends Partial<ApplyRegisterLimits> {
  /** Most AoRs held (default 1,000,000); a REGISTER for a new AoR beyond it is refused. */
  maxAors?: number;
  /** Period of the sweep of expired bindings between start() and stop() (default 30 s). */
  sweepIntervalMs?: number;
  /**
   * Where every change of an AoR's bindings is written (see binding-record.ts for what is kept);
   * restore() reads it back. None: the bindings live in memory only.
   */
  store?: RecordStore;
  /** Wall-clock ms (Date.now) for the expiries written to `store` (default: the clock's own scale). */
  wallClock?: () => number;
  /** Told of every change of an AoR's bindings (also settable later with observe()). */
  observer?: BindingObserver;
}

/** What restore() found. */
export interface RestoreReport {
  /** AoRs restored with at least one live binding, and their bindings. */
  aors: number;
  bindings: number;
  /** Bindings whose lifetime ended while the peer was down. */
  expired: number;
  /** Bindings only their lost connection could reach (WebSocket clients). */
  flowOnly: number;
  /** Records that could not be read, or AoRs beyond maxAors (removed from the store). */
  unreadable: number;
}

/** In-memory location service; expired bindings are purged lazily and by a periodic sweep. */
export class MemoryLocationService implements StagedLocationService, Lifecycle {
  private readonly table = new Map<string, Binding[]>();
  private readonly limits: ApplyRegisterLimits;
  private readonly maxAors: number;
  private readonly sweeper: PeriodicTask;
  private readonly store: RecordStore | undefined;
  private readonly wallClock: () => number;
  private observer: BindingObserver | undefined;

  constructor(
    private readonly clock: Clock,
    options: MemoryLocationServiceOptions = {},
  ) {
    this.limits = {
      maxBindingsPerAor: options.maxBindingsPerAor ?? DEFAULT_APPLY_REGISTER_LIMITS.maxBindingsPerAor,
      maxAorBytes: options.maxAorBytes ?? DEFAULT_APPLY_REGISTER_LIMITS.maxAorBytes,
    };
    this.maxAors = options.maxAors ?? 1_000_000;
    this.sweeper = new PeriodicTask(clock, options.sweepIntervalMs ?? 30_000, () => void this.sweep());
    this.store = options.store;
    this.wallClock = options.wallClock ?? (() => clock.now());
    this.observer = options.observer;
  }

  /** Sets the one observer of binding changes (undefined: none). Restored bindings are not reported. */
  observe(observer: BindingObserver | undefined): void {
    this.observer = observer;
  }

  /**
   * Reads the bindings written before a restart back (before the SIP front takes REGISTERs): each
   * with its remaining lifetime; expired and unreadable ones are dropped and removed from the store.
   */
  restore(): RestoreReport {
    const report: RestoreReport = { aors: 0, bindings: 0, expired: 0, flowOnly: 0, unreadable: 0 };
    if (this.store === undefined) return report;
    const now = this.clock.now();
    const offset = now - this.wallClock();
    const drop: string[] = [];
    const rewrite: Array<[string, Binding[]]> = [];
    for (const [aor, text] of this.store.loadAll()) {
      const d = decodeBindingRecord(aor, text, (wall) => wall + offset);
      if (d === undefined || (!this.table.has(aor) && this.table.size >= this.maxAors)) {
        report.unreadable++;
        drop.push(aor);
        continue;
      }
      const live = d.bindings.filter((b) => b.expiresAt > now);
      report.expired += d.bindings.length - live.length;
      report.flowOnly += d.flowOnly;
      if (live.length === 0) {
        drop.push(aor);
        continue;
      }
      if (live.length !== d.bindings.length || d.flowOnly > 0) rewrite.push([aor, live]);
      this.table.set(aor, live);
      report.aors++;
      report.bindings += live.length;
    }
    for (const aor of drop) this.store.delete(aor);
    for (const [aor, live] of rewrite) this.persist(aor, live);
    return report;
  }

  /** Sweeps expired bindings periodically on the injected clock. */
  start(): void {
    this.sweeper.start();
  }

  stop(): void {
    this.sweeper.stop();
  }

  update(aor: string, change: BindingChange): Promise<BindingUpdateResult> {
    const r = this.stage(aor, change);
    if (r.ok) this.commit(aor, r.bindings);
    return Promise.resolve(r);
  }

  stage(aor: string, change: BindingChange): BindingUpdateResult {
    const existing = this.table.get(aor) ?? [];
    if (existing.length === 0 && this.table.size >= this.maxAors) return { ok: false, reason: 'too-many-bindings' };
    return applyRegister(aor, existing, change, this.clock.now(), this.limits);
  }

  commit(aor: string, bindings: readonly Binding[]): void {
    const before = this.observer === undefined ? undefined : (this.table.get(aor) ?? []);
    if (bindings.length === 0) {
      if (this.table.delete(aor)) this.store?.delete(aor);
    } else {
      const list = bindings.slice();
      this.table.set(aor, list);
      this.persist(aor, list);
    }
    if (before !== undefined && (before.length > 0 || bindings.length > 0)) this.observer?.bindingsChanged(aor, before, bindings, this.clock.now());
  }

  lookup(aor: string): Promise<Binding[]> {
    return Promise.resolve(this.lookupNow(aor));
  }

  /** Synchronous lookup (the in-memory table needs no round-trip). */
  lookupNow(aor: string): Binding[] {
    const list = this.table.get(aor);
    if (list === undefined) return [];
    const now = this.clock.now();
    const live = list.filter((b) => b.expiresAt > now);
    if (live.length !== list.length) this.commit(aor, live);
    return live;
  }

  /** Drops every expired binding; returns how many AoRs were removed. */
  sweep(): number {
    let removed = 0;
    for (const aor of [...this.table.keys()]) {
      if (this.lookupNow(aor).length === 0) removed++;
    }
    return removed;
  }

  size(): number {
    return this.table.size;
  }

  /** All AoRs with their bindings (for /api/status and tests). */
  entries(): Array<[string, Binding[]]> {
    return [...this.table.keys()].map((aor) => [aor, this.lookupNow(aor)] as [string, Binding[]]).filter(([, b]) => b.length > 0);
  }

  private persist(aor: string, bindings: readonly Binding[]): void {
    if (this.store === undefined) return;
    const offset = this.wallClock() - this.clock.now();
    this.store.put(aor, encodeBindingRecord(bindings, (t) => t + offset));
  }
}
