import type { Random } from '../lib/random.js';

/**
 * Session-length distributions with a given median:
 * - exponential (memoryless; Rhea et al., "Handling Churn in a DHT", USENIX 2004, used it with
 *   medians from 1.4 min up): rate λ = ln 2 / median;
 * - pareto: the shifted Pareto (Lomax) F(x) = 1 − (1 + x/β)^−α, heavy-tailed like measured P2P
 *   sessions; default shape α = 3 as in Yao, Leonard et al., "Modeling Heterogeneous User Churn
 *   and Local Resilience of Unstructured P2P Networks" (ICNP 2006); β = median / (2^(1/α) − 1).
 */
export type SessionDistribution =
  | { readonly kind: 'exponential'; readonly medianMs: number }
  | { readonly kind: 'pareto'; readonly medianMs: number; readonly shape: number };

export const DEFAULT_PARETO_SHAPE = 3;

/** A session length (ms) drawn from `d`. */
export function sampleSession(d: SessionDistribution, random: Random): number {
  const u = 1 - random.float(); // (0, 1]
  if (d.kind === 'exponential') return (-Math.log(u) * d.medianMs) / Math.LN2;
  const beta = d.medianMs / (2 ** (1 / d.shape) - 1);
  return beta * (u ** (-1 / d.shape) - 1);
}

/**
 * How the population behaves:
 * - `replacement: 'immediate'` (default): a departing peer is replaced at once by a new peer (new
 *   host, new Node-ID), so N stays constant apart from the joins in progress;
 * - `replacement: 'downtime'`: the replacement joins after a downtime drawn from the same
 *   distribution, so the population fluctuates below N (N·E[S]/(E[S]+E[D]) = N/2 on average).
 * Initial sessions are drawn from the session distribution itself (not the residual-life
 * distribution), so with Pareto sessions the first departures come a little early.
 */
export interface ChurnOptions {
  readonly session: SessionDistribution;
  readonly replacement: 'immediate' | 'downtime';
  /** Fraction of departures that are graceful Leaves; the rest are crashes (default 0.5). */
  readonly gracefulFraction: number;
}

export type Departure = 'leave' | 'crash';

/** Draws session lengths, downtimes and departure kinds for the runner. */
export class ChurnModel {
  constructor(
    readonly options: ChurnOptions,
    private readonly random: Random,
  ) {}

  /** How long a peer stays (ms). */
  nextSession(): number {
    return sampleSession(this.options.session, this.random);
  }

  /** How long until a departed peer is replaced (ms). */
  nextDowntime(): number {
    return this.options.replacement === 'immediate' ? 0 : sampleSession(this.options.session, this.random);
  }

  /** Whether the departing peer leaves gracefully or crashes. */
  nextDeparture(): Departure {
    return this.random.float() < this.options.gracefulFraction ? 'leave' : 'crash';
  }
}

/** Parses a duration: `84s`, `1.4m`, `30m`, `2h`, `500ms`, or plain seconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|min|h)?$/.exec(text.trim());
  if (m === null) return undefined;
  const v = Number(m[1]);
  const unit = m[2] ?? 's';
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'h' ? 3_600_000 : 60_000;
  return v * factor;
}
