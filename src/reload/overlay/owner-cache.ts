import type { Ring } from './ring.js';

/** Peers whose ranges are remembered at most (least recently confirmed forgotten first). */
export const DEFAULT_OWNER_CACHE_ENTRIES = 128;

/**
 * What this node learned from the answers to its own requests about who is responsible for what
 * (RFC 6940 §10.1: a peer is responsible for (predecessor, self]). When R answers a request sent
 * to Resource-ID k, R's range contains k, so it contains the whole stretch [k, R]: a later request
 * for any key in that stretch can go straight to R (one hop) instead of to k's closest preceding
 * peer and on from there (§10.3). A hint, never a delivery decision: R delivers only when its own
 * table says it is responsible, else routes on (a peer joined before R meanwhile: one hop more).
 * Answers that contradict an entry shrink or drop it.
 */
export class OwnerCache {
  /** owner → the largest clockwise distance from a key it answered for to itself, in LRU order. */
  private readonly spans = new Map<bigint, bigint>();

  constructor(
    private readonly ring: Ring,
    private readonly maxEntries = DEFAULT_OWNER_CACHE_ENTRIES,
  ) {}

  get size(): number {
    return this.spans.size;
  }

  /** `owner` answered a request sent to Resource-ID `k`. */
  learn(k: bigint, owner: bigint): void {
    const d = this.ring.distance(k, owner);
    // (deleting or updating entries while iterating a Map is safe: no entry is added here)
    for (const [o, span] of this.spans) {
      if (o === owner) continue;
      const dk = this.ring.distance(k, o);
      // a peer inside [k, owner) cannot own anything there: stale
      if (dk < d) this.spans.delete(o);
      // o was thought to own k, but owner (inside (k, o)) does: o's range starts after owner
      else if (dk <= span) this.spans.set(o, dk - d - 1n);
    }
    const prev = this.spans.get(owner);
    this.spans.delete(owner);
    this.spans.set(owner, prev !== undefined && prev > d ? prev : d);
    while (this.spans.size > this.maxEntries) this.spans.delete(this.spans.keys().next().value as bigint);
  }

  /** The remembered owner of `k` (the nearest one at or after it whose stretch covers it), if any. */
  ownerOf(k: bigint, usable: (id: bigint) => boolean = () => true): bigint | undefined {
    let best: bigint | undefined;
    let bestD = 0n;
    for (const [o, span] of this.spans) {
      const d = this.ring.distance(k, o);
      if (d > span || !usable(o)) continue;
      if (best === undefined || d < bestD) {
        best = o;
        bestD = d;
      }
    }
    return best;
  }

  /** Forgets a peer (it left, failed, or turned out not to be responsible). */
  forget(id: bigint): void {
    this.spans.delete(id);
  }
}
