/**
 * The SIP usage's overlay work in flight, counted against a budget (issue 14): the Stores and Fetches
 * of the registration directory (a REGISTER's Store, a call's Fetch, their withdrawals and retries)
 * pass through a counting decorator; the SIP front's admission policy refuses new work that would
 * add to it while the budget is full (stateless 503 + Retry-After), so a burst of REGISTERs queues
 * no unbounded overlay work and the peer keeps answering. The count never refuses anything itself:
 * work already admitted (a refresh, a withdrawal on shutdown, a retry) always runs.
 *
 * Two limits (issue 18: no collapse under overload). A count (`maxInFlight`), and the queueing delay
 * the work already suffers: once `maxLate` (64) operations have been in flight longer than `maxDelayMs` (300 ms),
 * the peer is behind — more work would only wait longer, until phones give up and retransmit — so new
 * work is refused until it catches up. The count alone cannot tell: 2,000 Stores in flight are 2 s of
 * CPU on a peer doing them at 1 ms each but nothing on one waiting 4 ms for replicas; the delay says
 * which. `maxLate` (not the single oldest operation) so that a few slow ones — a Store to a peer that
 * just died waits for its timeout — do not stop the registrar.
 */
import type { Clock } from '../../lib/clock.js';
import type { WorkBudget } from '../../sip/core/admission-policy.js';
import type { RegistrationDirectory } from './registration-directory.js';

export interface OverlayWorkBudgetOptions {
  /** Overlay operations in flight at which new work is refused (default 2,000). */
  maxInFlight: number;
  /**
   * An operation in flight longer than this is late (default 300 ms; with a clock only). A Store with
   * its replica takes ~10–20 ms on a 3-peer loopback overlay; a phone retransmits its REGISTER after
   * 500 ms (T1). With 2 s (before 2026-12-07) a 3× overload of a 3-peer overlay got no 503 at all in
   * a 2-second trial: 76 % of the REGISTERs waited past 2 s unanswered.
   */
  maxDelayMs: number;
  /** Late operations at which new work is refused (default 64). */
  maxLate: number;
}

export const DEFAULT_OVERLAY_WORK_BUDGET: Readonly<OverlayWorkBudgetOptions> = Object.freeze({ maxInFlight: 2_000, maxDelayMs: 300, maxLate: 64 });

export interface OverlayWorkStats {
  /** Operations in flight now. */
  inFlight: number;
  /** The most in flight at once so far. */
  peak: number;
  /** Operations started. */
  started: number;
  /** Times new work was refused because operations were late (the delay limit), and for the count. */
  refusedLate: number;
  refusedCount: number;
}

export class OverlayWorkBudget implements WorkBudget {
  readonly maxInFlight: number;
  readonly maxDelayMs: number;
  readonly maxLate: number;
  private current = 0;
  private peakValue = 0;
  private startedCount = 0;
  private refusedLate = 0;
  private refusedCount = 0;
  private nextId = 0;
  /** Start times of the operations in flight, oldest first (with a clock). */
  private readonly starts = new Map<number, number>();

  /** `clock`: the delay limit applies (without one only the count does). */
  constructor(options: Partial<OverlayWorkBudgetOptions> = {}, private readonly clock?: Pick<Clock, 'now'>) {
    const o = { ...DEFAULT_OVERLAY_WORK_BUDGET, ...options };
    this.maxInFlight = o.maxInFlight;
    this.maxDelayMs = o.maxDelayMs;
    this.maxLate = o.maxLate;
    if (!(this.maxInFlight > 0)) throw new RangeError('OverlayWorkBudget: maxInFlight must be > 0');
    if (!Number.isInteger(this.maxDelayMs) || this.maxDelayMs < 10 || this.maxDelayMs > 60_000) throw new RangeError('OverlayWorkBudget: maxDelayMs must be an integer in [10, 60000]');
    if (!Number.isInteger(this.maxLate) || this.maxLate < 1 || this.maxLate > 100_000) throw new RangeError('OverlayWorkBudget: maxLate must be an integer in [1, 100000]');
  }

  saturated(): boolean {
    if (this.current >= this.maxInFlight) {
      this.refusedCount++;
      return true;
    }
    if (this.clock === undefined || this.starts.size < this.maxLate) return false;
    // the oldest first: count those past the delay, stop at the first that is not (at most maxLate looked at)
    const before = this.clock.now() - this.maxDelayMs;
    let late = 0;
    for (const started of this.starts.values()) {
      if (started > before) break;
      if (++late >= this.maxLate) {
        this.refusedLate++;
        return true;
      }
    }
    return false;
  }

  get inFlight(): number {
    return this.current;
  }

  stats(): OverlayWorkStats {
    return { inFlight: this.current, peak: this.peakValue, started: this.startedCount, refusedLate: this.refusedLate, refusedCount: this.refusedCount };
  }

  /** Counts `work` while it runs (a synchronous throw counts as done). */
  track<T>(work: () => Promise<T>): Promise<T> {
    this.current++;
    this.startedCount++;
    if (this.current > this.peakValue) this.peakValue = this.current;
    const id = this.nextId++;
    if (this.clock !== undefined) this.starts.set(id, this.clock.now());
    let p: Promise<T>;
    try {
      p = work();
    } catch (e) {
      this.current--;
      this.starts.delete(id);
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    return p.finally(() => {
      this.current--;
      this.starts.delete(id);
    });
  }

  /** `inner` with each of its overlay operations (publish, withdraw, lookup) counted. */
  directory(inner: RegistrationDirectory): RegistrationDirectory {
    return {
      publish: (aor, value, lifetimeSec) => this.track(() => inner.publish(aor, value, lifetimeSec)),
      withdraw: (aor, remainingSec) => this.track(() => inner.withdraw(aor, remainingSec)),
      lookup: (aor) => this.track(() => inner.lookup(aor)),
    };
  }
}
