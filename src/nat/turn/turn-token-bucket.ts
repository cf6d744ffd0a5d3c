/**
 * A token bucket in bytes: `rate` bytes per second refill it up to `burst` bytes; a datagram passes
 * when the bucket holds its size, and is refused (the caller drops and counts it) otherwise. Time comes
 * from the caller (the injected clock), so the bucket is deterministic under a ManualClock.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    /** Bytes per second; Infinity for no limit. */
    private readonly rate: number,
    /** Most bytes that may pass at once after an idle period. */
    private readonly burst: number,
    now: number,
  ) {
    if (!(rate > 0) || !(burst > 0)) throw new RangeError('token bucket rate and burst must be positive');
    this.tokens = burst;
    this.last = now;
  }

  /** Takes `bytes` tokens when available: true (pass) or false (over the limit, nothing taken). */
  take(bytes: number, now: number): boolean {
    if (this.rate === Infinity) return true;
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.rate) / 1000);
      this.last = now;
    }
    if (bytes > this.tokens) return false;
    this.tokens -= bytes;
    return true;
  }

  /** Returns `bytes` taken by a datagram that another limit then refused (never above `burst`). */
  giveBack(bytes: number): void {
    if (this.rate === Infinity) return;
    this.tokens = Math.min(this.burst, this.tokens + bytes);
  }
}
