/**
 * The SIP usage's overlay work in flight, counted against a budget (issue 14): the Stores and Fetches
 * of the registration directory (a REGISTER's Store, a call's Fetch, their withdrawals and retries)
 * pass through a counting decorator; the SIP front's admission policy refuses new work that would
 * add to it while the budget is full (stateless 503 + Retry-After), so a burst of REGISTERs queues
 * no unbounded overlay work and the peer keeps answering. The count never refuses anything itself:
 * work already admitted (a refresh, a withdrawal on shutdown, a retry) always runs.
 */
import type { WorkBudget } from '../../sip/core/admission-policy.js';
import type { RegistrationDirectory } from './registration-directory.js';

export interface OverlayWorkBudgetOptions {
  /** Overlay operations in flight at which new work is refused (default 2,000). */
  maxInFlight: number;
}

export const DEFAULT_OVERLAY_WORK_BUDGET: Readonly<OverlayWorkBudgetOptions> = Object.freeze({ maxInFlight: 2_000 });

export interface OverlayWorkStats {
  /** Operations in flight now. */
  inFlight: number;
  /** The most in flight at once so far. */
  peak: number;
  /** Operations started. */
  started: number;
}

export class OverlayWorkBudget implements WorkBudget {
  readonly maxInFlight: number;
  private current = 0;
  private peakValue = 0;
  private startedCount = 0;

  constructor(options: Partial<OverlayWorkBudgetOptions> = {}) {
    this.maxInFlight = options.maxInFlight ?? DEFAULT_OVERLAY_WORK_BUDGET.maxInFlight;
    if (!(this.maxInFlight > 0)) throw new RangeError('OverlayWorkBudget: maxInFlight must be > 0');
  }

  saturated(): boolean {
    return this.current >= this.maxInFlight;
  }

  get inFlight(): number {
    return this.current;
  }

  stats(): OverlayWorkStats {
    return { inFlight: this.current, peak: this.peakValue, started: this.startedCount };
  }

  /** Counts `work` while it runs (a synchronous throw counts as done). */
  track<T>(work: () => Promise<T>): Promise<T> {
    this.current++;
    this.startedCount++;
    if (this.current > this.peakValue) this.peakValue = this.current;
    let p: Promise<T>;
    try {
      p = work();
    } catch (e) {
      this.current--;
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    return p.finally(() => {
      this.current--;
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
