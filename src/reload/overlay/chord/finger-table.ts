import type { Ring } from '../ring.js';

/**
 * The CHORD-RELOAD Finger Table (RFC 6940 §10.1, §10.7.4.2): finger i (1-based) is valid when it
 * lies in [self + 2^(k-i), self + 2^(k-i+1) - 1]. Finger 1 is half-way round the ring. Each range
 * may hold up to `perRange` peers (§10.7.4.2: "MAY keep connections to multiple peers that can act
 * for a given Finger Table entry"), or more where {@link setTargets} says so (finger-density.ts: a
 * share of the overlay spread uniformly, for two-hop routes in small overlays).
 */
export class FingerTable {
  /** index i → peers in that range, nearest to the range start first. */
  private readonly ranges = new Map<number, bigint[]>();
  /** index i → peers to keep in range i (index 0 unused); empty: `perRange` everywhere. */
  private targets: readonly number[] = [];

  constructor(
    private readonly ring: Ring,
    readonly self: bigint,
    readonly perRange = 1,
    readonly maxIndex = 128,
  ) {}

  /** The finger index whose range holds `id`, or 0 for self. */
  indexOf(id: bigint): number {
    const d = this.ring.distance(this.self, id);
    if (d === 0n) return 0;
    return this.ring.bits - (d.toString(2).length - 1);
  }

  /** Start of finger range i: self + 2^(k-i). */
  rangeStart(i: number): bigint {
    return this.ring.add(this.self, 1n << BigInt(this.ring.bits - i));
  }

  /** A uniformly random point of range i (§10.7.4.2: search a random Node-ID of the range). */
  randomTarget(i: number, randomBytes: (n: number) => Uint8Array): bigint {
    const width = 1n << BigInt(this.ring.bits - i);
    const r = this.ring.random(randomBytes) % width;
    return this.ring.add(this.rangeStart(i), r);
  }

  /** Offers a peer; true when it was entered. */
  offer(id: bigint): boolean {
    const i = this.indexOf(id);
    if (i < 1 || i > this.maxIndex) return false;
    const list = this.ranges.get(i) ?? [];
    if (list.includes(id)) return false;
    if (list.length < this.capacity(i)) {
      list.push(id);
      list.sort((a, b) => (this.ring.distance(this.self, a) < this.ring.distance(this.self, b) ? -1 : 1));
      this.ranges.set(i, list);
      return true;
    }
    return false;
  }

  has(id: bigint): boolean {
    return this.ranges.get(this.indexOf(id))?.includes(id) ?? false;
  }

  /** Removes `id`; true when present (§10.7.2). */
  remove(id: bigint): boolean {
    const i = this.indexOf(id);
    const list = this.ranges.get(i);
    if (!list?.includes(id)) return false;
    const rest = list.filter((x) => x !== id);
    if (rest.length === 0) this.ranges.delete(i);
    else this.ranges.set(i, rest);
    return true;
  }

  /** Peers held in range i. */
  countIn(i: number): number {
    return this.ranges.get(i)?.length ?? 0;
  }

  /** Is range i filled to its capacity? */
  isFull(i: number): boolean {
    return (this.ranges.get(i)?.length ?? 0) >= this.capacity(i);
  }

  /** Peers kept in range i at most: its target, never below `perRange`. */
  capacity(i: number): number {
    return Math.max(this.perRange, this.targets[i] ?? 0);
  }

  /**
   * Sets the peers to keep per range (entry i for range i, e.g. from fingerTargets()). A range that
   * holds more than its new target keeps them (they go as their links fail); it takes no more.
   */
  setTargets(targets: readonly number[]): void {
    this.targets = [...targets];
  }

  /** Fingers wanted but not held over ranges 1..n. */
  missing(n: number): number {
    let m = 0;
    for (let i = 1; i <= Math.min(n, this.maxIndex); i++) m += Math.max(0, this.capacity(i) - this.countIn(i));
    return m;
  }

  /**
   * Points to search for the missing peers of range i (§10.7.4.2: a Node-ID of the range): the range
   * cut into `capacity(i)` equal slots, one point per slot that holds no finger, at a random place of
   * the slot (the first slot of an empty range at the range start, §10.5). Spreads the fingers evenly
   * over the range, which is what shortens routes; at most `limit` points.
   */
  slotTargets(i: number, randomBytes: (n: number) => Uint8Array, limit = Number.POSITIVE_INFINITY): bigint[] {
    if (i < 1 || i > this.maxIndex) return [];
    const cap = this.capacity(i);
    const held = this.ranges.get(i) ?? [];
    if (held.length >= cap) return [];
    const width = 1n << BigInt(this.ring.bits - i);
    const slots = BigInt(cap);
    const start = this.rangeStart(i);
    const taken = new Set<bigint>();
    for (const x of held) taken.add((this.ring.distance(start, x) * slots) / width);
    const empty: bigint[] = [];
    for (let j = 0n; j < slots; j++) if (!taken.has(j)) empty.push(j);
    // fewer points than empty slots (a refresh): random slots, not always the first ones
    const want = Math.min(limit, cap - held.length, empty.length);
    if (want < empty.length) {
      for (let a = 0; a < want; a++) {
        const b = a + Number(this.ring.random(randomBytes) % BigInt(empty.length - a));
        [empty[a], empty[b]] = [empty[b] as bigint, empty[a] as bigint];
      }
    }
    const out: bigint[] = [];
    for (const j of empty.slice(0, want)) {
      const lo = (width * j) / slots;
      const hi = (width * (j + 1n)) / slots;
      const off = held.length === 0 && j === 0n ? 0n : lo + (hi > lo ? this.ring.random(randomBytes) % (hi - lo) : 0n);
      out.push(this.ring.add(start, off));
    }
    return out;
  }

  /** Number of non-empty ranges. */
  get size(): number {
    return this.ranges.size;
  }

  /** Every finger, in ascending Node-ID order (the `full` Update lists them so, §10.7). */
  all(): bigint[] {
    const out: bigint[] = [];
    for (const l of this.ranges.values()) out.push(...l);
    return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Indices 1..n that have no peer. */
  emptyRanges(n: number): number[] {
    const out: number[] = [];
    for (let i = 1; i <= Math.min(n, this.maxIndex); i++) if (!this.ranges.has(i)) out.push(i);
    return out;
  }

  /** Indices 1..n that are not full. */
  openRanges(n: number): number[] {
    const out: number[] = [];
    for (let i = 1; i <= Math.min(n, this.maxIndex); i++) if (!this.isFull(i)) out.push(i);
    return out;
  }
}
