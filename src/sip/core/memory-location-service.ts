import type { Clock } from '../../lib/clock.js';
import { PeriodicTask, type Lifecycle } from '../../lib/lifecycle.js';
import { applyRegister, type ApplyRegisterLimits } from './apply-register.js';
import type { Binding, BindingChange, BindingUpdateResult, LocationService } from './location-service.js';

export interface MemoryLocationServiceOptions extends Partial<ApplyRegisterLimits> {
  /** Most AoRs held (default 1,000,000); a REGISTER for a new AoR beyond it is refused. */
  maxAors?: number;
  /** Period of the sweep of expired bindings between start() and stop() (default 30 s). */
  sweepIntervalMs?: number;
}

/** In-memory location service; expired bindings are purged lazily and by a periodic sweep. */
export class MemoryLocationService implements LocationService, Lifecycle {
  private readonly table = new Map<string, Binding[]>();
  private readonly limits: ApplyRegisterLimits;
  private readonly maxAors: number;
  private readonly sweeper: PeriodicTask;

  constructor(
    private readonly clock: Clock,
    options: MemoryLocationServiceOptions = {},
  ) {
    this.limits = { maxBindingsPerAor: options.maxBindingsPerAor ?? 16 };
    this.maxAors = options.maxAors ?? 1_000_000;
    this.sweeper = new PeriodicTask(clock, options.sweepIntervalMs ?? 30_000, () => void this.sweep());
  }

  /** Sweeps expired bindings periodically on the injected clock. */
  start(): void {
    this.sweeper.start();
  }

  stop(): void {
    this.sweeper.stop();
  }

  update(aor: string, change: BindingChange): Promise<BindingUpdateResult> {
    const existing = this.table.get(aor) ?? [];
    if (existing.length === 0 && this.table.size >= this.maxAors) {
      return Promise.resolve({ ok: false, reason: 'too-many-bindings' });
    }
    const r = applyRegister(aor, existing, change, this.clock.now(), this.limits);
    if (r.ok) {
      if (r.bindings.length === 0) this.table.delete(aor);
      else this.table.set(aor, r.bindings);
    }
    return Promise.resolve(r);
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
    if (live.length !== list.length) {
      if (live.length === 0) this.table.delete(aor);
      else this.table.set(aor, live);
    }
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
}
