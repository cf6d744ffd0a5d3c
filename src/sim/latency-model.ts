import type { Random } from '../lib/random.js';

/**
 * A distribution of one-way latencies, in milliseconds.
 * - constant: always `ms`;
 * - uniform: between `minMs` and `maxMs`;
 * - lognormal: `medianMs · e^(sigma·Z)`, Z standard normal (wide-area latencies are close to lognormal).
 */
export type LatencyDistribution =
  | { readonly kind: 'constant'; readonly ms: number }
  | { readonly kind: 'uniform'; readonly minMs: number; readonly maxMs: number }
  | { readonly kind: 'lognormal'; readonly medianMs: number; readonly sigma: number };

/** Default pair latency: lognormal, median 40 ms one way (80 ms RTT), sigma 0.5 (p95 ≈ 91 ms one way). */
export const DEFAULT_PAIR_LATENCY: LatencyDistribution = { kind: 'lognormal', medianMs: 40, sigma: 0.5 };

/** Latencies are clamped to this range (ms), so a lognormal tail never yields absurd values. */
export const LATENCY_FLOOR_MS = 0.05;
export const LATENCY_CEILING_MS = 10_000;

/** The latency at uniform draws `u1`, `u2` in [0, 1) (u2 only used by lognormal). */
export function latencyAt(d: LatencyDistribution, u1: number, u2: number): number {
  let v: number;
  switch (d.kind) {
    case 'constant':
      v = d.ms;
      break;
    case 'uniform':
      v = d.minMs + u1 * (d.maxMs - d.minMs);
      break;
    case 'lognormal': {
      // Box–Muller: 1 − u1 is in (0, 1], so the log is finite.
      const z = Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
      v = d.medianMs * Math.exp(d.sigma * z);
      break;
    }
  }
  return Math.min(LATENCY_CEILING_MS, Math.max(LATENCY_FLOOR_MS, v));
}

/** A latency drawn from `d` with `random`. */
export function sampleLatency(d: LatencyDistribution, random: Random): number {
  if (d.kind === 'constant') return latencyAt(d, 0, 0);
  return latencyAt(d, random.float(), random.float());
}

/**
 * The fixed base latency of the pair {a, b} (symmetric): a hash of (seed, a, b) drawn through `d`.
 * Stateless, so 100,000 hosts need no N² table.
 */
export function pairLatency(d: LatencyDistribution, seed: number, a: number, b: number): number {
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  const h1 = mix32(mix32(seed ^ 0x9e3779b9) ^ lo) ^ mix32(hi + 0x632be5ab);
  const h2 = mix32(h1 ^ 0x85ebca6b);
  return latencyAt(d, (mix32(h1) >>> 0) / 0x100000000, (h2 >>> 0) / 0x100000000);
}

/** Parses `constant:20`, `uniform:10:100` or `lognormal:40:0.5` (ms); undefined when malformed. */
export function parseLatency(text: string): LatencyDistribution | undefined {
  const parts = text.split(':');
  const nums = parts.slice(1).map(Number);
  if (!nums.every((n) => Number.isFinite(n) && n >= 0)) return undefined;
  const [a, b] = nums;
  if (parts[0] === 'constant' && nums.length === 1 && a !== undefined) return { kind: 'constant', ms: a };
  if (parts[0] === 'uniform' && nums.length === 2 && a !== undefined && b !== undefined && a <= b) return { kind: 'uniform', minMs: a, maxMs: b };
  if (parts[0] === 'lognormal' && nums.length === 2 && a !== undefined && b !== undefined && a > 0) return { kind: 'lognormal', medianMs: a, sigma: b };
  return undefined;
}

/** The text form accepted by {@link parseLatency}. */
export function formatLatency(d: LatencyDistribution): string {
  switch (d.kind) {
    case 'constant':
      return `constant:${d.ms}`;
    case 'uniform':
      return `uniform:${d.minMs}:${d.maxMs}`;
    case 'lognormal':
      return `lognormal:${d.medianMs}:${d.sigma}`;
  }
}

function mix32(x: number): number {
  let z = x >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}
