/**
 * How many peers to keep per finger range, by overlay size (RFC 6940 §10.7.4.2: a peer MAY keep several
 * peers per finger range; §10.7.4.3: the finger table's size follows the overlay's). Chord keeps one per
 * range (about log2 N fingers, log2 N / 2 hops). A peer that knows a uniform fraction `density` of the
 * overlay has, for a random key, a known peer within its last few successors' reach of the key with
 * probability 1 - (1 - density)^s (s successors), and such a peer hands the message straight to the
 * owner: with s = 5 and density 0.15, more than half the lookups take two hops. Uniform means range i,
 * which holds about N / 2^i peers, keeps about density · N / 2^i of them. The total is capped
 * (`maxFingers`): past maxFingers / density peers the table thins out and hops grow again, the cost per
 * peer staying bounded whatever the overlay's size. Pure functions: no clock, no I/O.
 */
import type { Ring } from '../ring.js';

/** Settings of the finger table's size. */
export interface FingerDensityOptions {
  /** Peers kept per finger range at least (Chord: 1). */
  readonly perRange: number;
  /** Fraction of the (estimated) overlay kept as fingers, spread uniformly over the ring; 0: Chord. */
  readonly density: number;
  /** Fingers kept at most over all ranges for the density (the per-range floor may add a few). */
  readonly maxFingers: number;
}

/** Upper bound of `maxFingers` (the Connection Table holds 512 links by default). */
export const MAX_FINGERS_LIMIT = 4096;

/** Throws RangeError when an option is out of range (a configuration error, said clearly). */
export function checkFingerDensityOptions(o: FingerDensityOptions): void {
  if (!Number.isInteger(o.perRange) || o.perRange < 1 || o.perRange > MAX_FINGERS_LIMIT) throw new RangeError(`fingersPerRange must be an integer in 1..${MAX_FINGERS_LIMIT}, got ${o.perRange}`);
  if (!Number.isFinite(o.density) || o.density < 0 || o.density > 1) throw new RangeError(`fingerDensity must be in 0..1, got ${o.density}`);
  if (!Number.isInteger(o.maxFingers) || o.maxFingers < 0 || o.maxFingers > MAX_FINGERS_LIMIT) throw new RangeError(`maxFingers must be an integer in 0..${MAX_FINGERS_LIMIT}, got ${o.maxFingers}`);
}

/**
 * The overlay's size as this peer sees it from its Neighbor Table: s successors and p predecessors
 * spread over the arc (last predecessor, last successor) hold s + p peers besides us, so the ring holds
 * about (s + p) · 2^k / arc (the successor-spacing estimate, RFC 6940 §10.7.4.3; RFC 7363 §6.2 uses
 * the same). When the lists overlap, the ring is smaller than the table: we know every peer. Alone: 1.
 */
export function estimateOverlaySize(ring: Ring, self: bigint, successors: readonly bigint[], predecessors: readonly bigint[]): number {
  const distinct = new Set<bigint>([...successors, ...predecessors]);
  distinct.delete(self);
  if (distinct.size === 0) return 1;
  // a peer on both lists, or lists shorter than each other's reach: the whole ring is in view
  if (successors.some((x) => predecessors.includes(x))) return distinct.size + 1;
  const lastSucc = successors[successors.length - 1];
  const lastPred = predecessors[predecessors.length - 1];
  const from = lastPred ?? self;
  const to = lastSucc ?? self;
  const arc = ring.distance(from, to);
  if (arc === 0n) return distinct.size + 1;
  // peers in the arc [lastPred, lastSucc]: the neighbours and us; the arc spans (count - 1) gaps
  const count = distinct.size + 1;
  // N ≈ ring size / mean gap, the mean gap = arc / (count - 1) (doubles: 53 bits of precision are plenty)
  const n = ((count - 1) * Number(ring.size)) / Number(arc);
  return Math.max(count, n);
}

/**
 * Peers to keep in each finger range for an overlay of about `n` peers: entry i (1-based, index 0
 * unused) for range i = [self + 2^(k-i), self + 2^(k-i+1)), which holds about n / 2^i peers.
 * `maxIndex`: ranges counted (128 for 16-byte Node-IDs).
 */
export function fingerTargets(n: number, maxIndex: number, o: FingerDensityOptions): number[] {
  const out = new Array<number>(maxIndex + 1).fill(o.perRange);
  out[0] = 0;
  if (!(n > 1) || o.density <= 0 || o.maxFingers <= 0) return out;
  const density = Math.min(o.density, o.maxFingers / n);
  for (let i = 1; i <= maxIndex; i++) {
    const population = n / 2 ** i;
    if (population < 1) break;
    // never more than the range holds: the Attaches would find peers we hold already
    const want = Math.min(Math.floor(population), Math.ceil(density * population));
    out[i] = Math.max(o.perRange, want);
  }
  return out;
}

/** Sum of the targets of ranges 1..upTo. */
export function totalTarget(targets: readonly number[], upTo: number): number {
  let t = 0;
  for (let i = 1; i <= Math.min(upTo, targets.length - 1); i++) t += targets[i] ?? 0;
  return t;
}
