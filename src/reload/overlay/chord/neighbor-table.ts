import type { Ring } from '../ring.js';

/**
 * The CHORD-RELOAD Neighbor Table (RFC 6940 §10.1, §10.7): the closest peers after this peer
 * (successors, nearest first) and before it (predecessors, nearest first). A peer never enters
 * itself (§10.7.3). Holds `size` on each side (the RFC asks for at least three).
 */
export class NeighborTable {
  private succ: bigint[] = [];
  private pred: bigint[] = [];

  constructor(
    private readonly ring: Ring,
    readonly self: bigint,
    readonly size: number,
  ) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError('neighbor table size must be a positive integer');
  }

  get successors(): readonly bigint[] {
    return this.succ;
  }

  get predecessors(): readonly bigint[] {
    return this.pred;
  }

  /** All neighbours, each once. */
  all(): bigint[] {
    const s = new Set<bigint>([...this.succ, ...this.pred]);
    return [...s];
  }

  has(id: bigint): boolean {
    return this.succ.includes(id) || this.pred.includes(id);
  }

  isEmpty(): boolean {
    return this.succ.length === 0 && this.pred.length === 0;
  }

  /** Would `id` enter the table (closer than an entry, or the table not full)? */
  wouldAccept(id: bigint): boolean {
    if (id === this.self || this.has(id)) return false;
    return this.fitsSucc(id) || this.fitsPred(id);
  }

  /** Merges `ids` in; returns true when either list changed. */
  add(ids: Iterable<bigint>): boolean {
    const before = this.signature();
    const cand = new Set<bigint>([...this.succ, ...this.pred]);
    for (const id of ids) if (id !== this.self) cand.add(id);
    this.rebuild(cand);
    return this.signature() !== before;
  }

  /** Removes `id` from both lists; true when it was present. */
  remove(id: bigint): boolean {
    if (!this.has(id)) return false;
    this.succ = this.succ.filter((x) => x !== id);
    this.pred = this.pred.filter((x) => x !== id);
    return true;
  }

  /** True when this peer is responsible for `k`: predecessor < k ≤ self (RFC 6940 §10.1). Alone: everything. */
  isResponsible(k: bigint, alive: (id: bigint) => boolean = () => true): boolean {
    // a predecessor that is not answering (suspect link) no longer covers its range (RFC 6940 §10.7.1)
    const p = this.pred.find(alive) ?? this.pred[this.pred.length - 1];
    if (p === undefined) return this.succ.length === 0;
    return this.ring.inInterval(p, k, this.self);
  }

  /**
   * The neighbour responsible for `k` when `k` falls inside the stretch of ring this table covers
   * without gaps: (self, last successor] or (last predecessor, self) — successors and predecessors
   * are each contiguous, so the owner of such a `k` is known exactly (undefined otherwise, or when
   * `k` is ours). Lets a message skip the hop to k's predecessor.
   */
  responsibleNeighbour(k: bigint): bigint | undefined {
    let lo = this.self;
    for (const s of this.succ) {
      if (this.ring.inInterval(lo, k, s)) return s;
      lo = s;
    }
    let hi = this.self;
    for (const p of this.pred) {
      // k ∈ (p, hi]: hi is responsible (hi = self means k is ours: not a neighbour's)
      if (this.ring.inInterval(p, k, hi)) return hi === this.self ? undefined : hi;
      hi = p;
    }
    return undefined;
  }

  /** Sorted successors and predecessors from a candidate set; small sets may appear on both sides. */
  private rebuild(cand: Set<bigint>): void {
    const list = [...cand];
    const bySucc = [...list].sort((a, b) => cmp(this.ring.distance(this.self, a), this.ring.distance(this.self, b)));
    const byPred = [...list].sort((a, b) => cmp(this.ring.distance(a, this.self), this.ring.distance(b, this.self)));
    this.succ = bySucc.slice(0, this.size);
    this.pred = byPred.slice(0, this.size);
  }

  private fitsSucc(id: bigint): boolean {
    if (this.succ.length < this.size) return true;
    const last = this.succ[this.succ.length - 1] as bigint;
    return this.ring.distance(this.self, id) < this.ring.distance(this.self, last);
  }

  private fitsPred(id: bigint): boolean {
    if (this.pred.length < this.size) return true;
    const last = this.pred[this.pred.length - 1] as bigint;
    return this.ring.distance(id, this.self) < this.ring.distance(last, this.self);
  }

  private signature(): string {
    return `${this.succ.join(',')}|${this.pred.join(',')}`;
  }
}

function cmp(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
