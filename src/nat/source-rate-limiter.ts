/**
 * A token bucket per source network for answers a peer gives without knowing who asks (the stateless
 * STUN Binding server, RFC 6940 §6.5.1.4): `ratePerS` answers per second refill each source's bucket
 * up to `burst`. Sources are counted by network (lib/ip.ts `sourceNetwork`: an IPv4 address, an IPv6
 * /64), so one host cannot multiply its share by changing ports or interface identifiers.
 *
 * The table of sources is bounded (`maxSources`): a new source past the limit evicts the one heard
 * from least recently (Map insertion order, refreshed on every use), which then starts again with a
 * full bucket — an attacker who cycles through many sources gains nothing over its own buckets, and
 * memory stays O(maxSources). Time comes from the caller (the injected clock), so a ManualClock drives
 * it deterministically.
 */
import { sourceNetwork } from '../lib/ip.js';
import { TokenBucket } from './turn/turn-token-bucket.js';

export interface SourceRateLimit {
  /** Answers per second per source network (Infinity: no limit). */
  ratePerS: number;
  /** Answers a source may get at once after being quiet. */
  burst: number;
  /** Source networks remembered at once; the least recently heard is forgotten first. */
  maxSources: number;
}

export class SourceRateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  /** Sources forgotten to make room for new ones. */
  evictions = 0;

  constructor(private readonly limit: SourceRateLimit) {
    if (!(limit.ratePerS > 0)) throw new RangeError(`rate limit: ratePerS must be > 0 (got ${limit.ratePerS})`);
    if (!(limit.burst >= 1) || !Number.isFinite(limit.burst)) throw new RangeError(`rate limit: burst must be a finite number >= 1 (got ${limit.burst})`);
    if (!Number.isInteger(limit.maxSources) || limit.maxSources < 1) throw new RangeError(`rate limit: maxSources must be a positive integer (got ${limit.maxSources})`);
  }

  /** True when `host` (an IP literal) may have one more answer at `now`; false: over its rate. */
  take(host: string, now: number): boolean {
    if (this.limit.ratePerS === Infinity) return true;
    const key = sourceNetwork(host) ?? host;
    let b = this.buckets.get(key);
    if (b === undefined) {
      if (this.buckets.size >= this.limit.maxSources) {
        const oldest = this.buckets.keys().next();
        if (!oldest.done) {
          this.buckets.delete(oldest.value);
          this.evictions++;
        }
      }
      b = new TokenBucket(this.limit.ratePerS, this.limit.burst, now);
    } else this.buckets.delete(key); // re-inserted below: most recently used last
    this.buckets.set(key, b);
    return b.take(1, now);
  }

  /** Source networks remembered now (at most `maxSources`). */
  get size(): number {
    return this.buckets.size;
  }
}
