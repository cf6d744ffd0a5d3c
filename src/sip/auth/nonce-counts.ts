/**
 * Replay protection for digest answers (RFC 2617 §3.2.2, RFC 7616 §3.4: "the server ... can detect
 * request replays by maintaining its own copy of this count"): per nonce, the highest nonce-count used.
 * An answer whose nc is not above it is a replay. Bounded: at most `maxNonces` nonces are remembered,
 * the least recently used forgotten first. A forgotten nonce that is still young could be replayed, so
 * a nonce not in the table that was issued no later than the newest still-live nonce ever forgotten is
 * refused as `forgotten` (the front answers with a fresh challenge, stale=true: the phone re-answers at
 * once, nothing is lost but a round trip). Answers without qop (RFC 2069) count as nc 1: such a nonce
 * serves once.
 */
export type NonceUse = 'fresh' | 'replay' | 'forgotten';

interface Entry {
  highest: number;
  issuedAt: number;
}

export class NonceCounts {
  private readonly table = new Map<string, Entry>();
  /** Issue time of the newest nonce forgotten while it was still live (−∞: none). */
  private forgottenUpTo = -Infinity;
  evictions = 0;

  constructor(
    /** Most nonces remembered. */
    readonly maxNonces: number,
    /** Nonce lifetime, ms: an entry older than this is useless (its nonce is stale) and forgetting it is harmless. */
    private readonly lifetimeMs: number,
  ) {
    if (!(Number.isInteger(maxNonces) && maxNonces >= 1)) throw new RangeError('NonceCounts: maxNonces must be an integer >= 1');
  }

  get size(): number {
    return this.table.size;
  }

  /** Records `nc` for a valid nonce issued at `issuedAt`; 'fresh' when it may be used now. */
  use(nonce: string, nc: number, issuedAt: number, now: number): NonceUse {
    const e = this.table.get(nonce);
    if (e !== undefined) {
      if (nc <= e.highest) return 'replay';
      e.highest = nc;
      // most recently used last: the oldest in use is forgotten first
      this.table.delete(nonce);
      this.table.set(nonce, e);
      return 'fresh';
    }
    if (issuedAt <= this.forgottenUpTo) return 'forgotten';
    while (this.table.size >= this.maxNonces) this.evictOne(now);
    this.table.set(nonce, { highest: nc, issuedAt });
    return 'fresh';
  }

  private evictOne(now: number): void {
    const first = this.table.entries().next();
    if (first.done === true) return;
    const [nonce, e] = first.value;
    this.table.delete(nonce);
    this.evictions++;
    if (now - e.issuedAt < this.lifetimeMs) this.forgottenUpTo = Math.max(this.forgottenUpTo, e.issuedAt);
  }
}
