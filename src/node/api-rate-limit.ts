/**
 * A token bucket on the injected Clock (sans-I/O): `ratePerSec` tokens a second, at most `burst`
 * saved up. The HTTP API takes one per request that sends overlay traffic (issue 14).
 */
import type { Clock } from '../lib/clock.js';

export interface TokenBucketOptions {
  /** Tokens added per second (> 0). */
  ratePerSec: number;
  /** Most tokens kept (>= 1); the bucket starts full. */
  burst: number;
}

/** Default for API reads that send overlay traffic: 20 a second, bursts of 40. */
export const DEFAULT_OVERLAY_READ_RATE: Readonly<TokenBucketOptions> = Object.freeze({ ratePerSec: 20, burst: 40 });

export type TakeResult = { ok: true } | { ok: false; retryAfterMs: number };

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly clock: Clock,
    private readonly options: TokenBucketOptions,
  ) {
    if (!(options.ratePerSec > 0) || !Number.isFinite(options.ratePerSec)) throw new RangeError(`ratePerSec must be a positive number, got ${options.ratePerSec}`);
    if (!Number.isInteger(options.burst) || options.burst < 1) throw new RangeError(`burst must be an integer >= 1, got ${options.burst}`);
    this.tokens = options.burst;
    this.last = clock.now();
  }

  private refill(): void {
    const now = this.clock.now();
    // a clock that went back refills nothing (and does not drain)
    const elapsed = Math.max(0, now - this.last);
    this.last = now;
    this.tokens = Math.min(this.options.burst, this.tokens + (elapsed * this.options.ratePerSec) / 1000);
  }

  /** Takes a token, or says how long until one is there. */
  take(): TakeResult {
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterMs: Math.ceil(((1 - this.tokens) * 1000) / this.options.ratePerSec) };
  }

  /** Whole tokens available now. */
  available(): number {
    this.refill();
    return Math.floor(this.tokens);
  }
}
