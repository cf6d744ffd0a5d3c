/**
 * When to ask again (RFC 6762 §5.2: continuous querying with intervals that at least double, up to
 * 60 min; we stop doubling at `maxMs`, since a LAN office wants a new box found within a minute).
 * Each delay is jittered by ±`jitter` so boxes started together do not query in step.
 */
import type { Random } from '../../lib/random.js';

export interface BackoffOptions {
  /** First interval; default 1000 ms. */
  initialMs: number;
  /** Interval cap; default 60000 ms. */
  maxMs: number;
  /** Fraction of the interval added or taken at random; default 0.1. */
  jitter: number;
}

export const DEFAULT_BROWSE_BACKOFF: Readonly<BackoffOptions> = Object.freeze({ initialMs: 1000, maxMs: 60_000, jitter: 0.1 });

export class BrowseBackoff {
  private interval: number;

  constructor(
    private readonly random: Random,
    private readonly options: BackoffOptions = DEFAULT_BROWSE_BACKOFF,
  ) {
    if (!(options.initialMs > 0) || !(options.maxMs >= options.initialMs)) throw new RangeError('backoff: need 0 < initialMs <= maxMs');
    if (!(options.jitter >= 0 && options.jitter < 1)) throw new RangeError('backoff: jitter must be in [0, 1)');
    this.interval = options.initialMs;
  }

  /** The delay before the next query: 1 s, 2 s, 4 s … capped, each ±jitter. */
  next(): number {
    const base = this.interval;
    this.interval = Math.min(this.interval * 2, this.options.maxMs);
    const j = 1 + this.options.jitter * (2 * this.random.float() - 1);
    return Math.max(1, Math.round(base * j));
  }

  /** Back to the first interval (a network change). */
  reset(): void {
    this.interval = this.options.initialMs;
  }
}
