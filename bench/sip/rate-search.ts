/**
 * Finding the highest offered rate a SIP server sustains: bounded trials at stepped
 * rates, each judged by `passes` (< 1 % failures and the generator kept the pace).
 * The trial runner is injected, so the search is tested without any process.
 */

export interface TrialResult {
  /** Offered rate (per second). */
  readonly rate: number;
  /** Calls (transactions) attempted. */
  readonly attempted: number;
  readonly succeeded: number;
  readonly failed: number;
  /** (attempted - succeeded) / attempted. */
  readonly failureRatio: number;
  /** What the generator actually achieved (per second). */
  readonly achievedPerS: number;
  readonly retransmissions: number;
  /** Machine-wide UdpRcvbufErrors increase during the trial (undefined if nstat failed). */
  readonly rcvbufErrors: number | undefined;
  readonly wallMs: number;
  readonly pass: boolean;
  /** Why it failed, when it did. */
  readonly note?: string;
  /** The generator did not end by itself (killed by a signal): the trial says nothing about the server. */
  readonly aborted?: boolean;
}

export type TrialRunner = (rate: number) => Promise<TrialResult>;

export interface PassCriteria {
  /** Largest failure ratio that still passes. Default 0.01 (< 1 %). */
  readonly maxFailureRatio: number;
  /** Smallest achieved/offered ratio that still passes. Default 0.9. */
  readonly minPaceRatio: number;
}

export const DEFAULT_CRITERIA: PassCriteria = { maxFailureRatio: 0.01, minPaceRatio: 0.9 };

/** Whether a trial passes: fewer than maxFailureRatio failures and the pace kept. */
export function passes(
  t: Pick<TrialResult, 'attempted' | 'failureRatio' | 'achievedPerS' | 'rate'>,
  c: PassCriteria = DEFAULT_CRITERIA,
): boolean {
  return t.attempted > 0 && t.failureRatio < c.maxFailureRatio && t.achievedPerS >= c.minPaceRatio * t.rate;
}

export interface SearchOptions {
  /** First rate of a search without a seed. */
  readonly start: number;
  /** Never offer more than this. */
  readonly max: number;
  /** Never go below this (the server then "sustains nothing"). */
  readonly min: number;
  /** Geometric bisection steps after the doubling phase. Default 2 (resolution 2^(1/4)). */
  readonly refineSteps?: number;
  /** Most trials in one search. Default 12. */
  readonly maxTrials?: number;
}

export interface SearchResult {
  /** The passing trial at the highest rate, undefined if nothing passed. */
  readonly best: TrialResult | undefined;
  readonly trials: readonly TrialResult[];
}

/**
 * Full search: double from `start` until a trial fails (or halve until one passes), then
 * bisect geometrically between the last pass and the first failure.
 */
export async function searchMaxRate(run: TrialRunner, opts: SearchOptions): Promise<SearchResult> {
  const trials: TrialResult[] = [];
  const maxTrials = opts.maxTrials ?? 12;
  const go = async (rate: number): Promise<TrialResult> => {
    const t = await run(roundRate(rate));
    trials.push(t);
    return t;
  };
  let lo: TrialResult | undefined;
  let hiRate: number | undefined;
  let rate = clamp(opts.start, opts.min, opts.max);
  const first = await go(rate);
  if (first.pass) {
    lo = first;
    while (rate < opts.max && trials.length < maxTrials) {
      rate = Math.min(rate * 2, opts.max);
      const t = await go(rate);
      if (!t.pass) {
        hiRate = t.rate;
        break;
      }
      lo = t;
    }
  } else {
    hiRate = first.rate;
    while (rate / 2 >= opts.min && trials.length < maxTrials) {
      rate = rate / 2;
      const t = await go(rate);
      if (t.pass) {
        lo = t;
        break;
      }
      hiRate = t.rate;
    }
  }
  if (lo !== undefined && hiRate !== undefined) {
    let loRate = lo.rate;
    for (let i = 0; i < (opts.refineSteps ?? 2) && trials.length < maxTrials; i++) {
      const mid = roundRate(Math.sqrt(loRate * hiRate));
      if (mid <= loRate || mid >= hiRate) break;
      const t = await go(mid);
      if (t.pass) {
        lo = t;
        loRate = t.rate;
      } else {
        hiRate = t.rate;
      }
    }
  }
  return { best: lo, trials };
}

/**
 * Short search around a previous result (a repetition): walk up by `factor` while trials
 * pass, or down while they fail, at most `maxSteps` trials.
 */
export async function searchAround(
  run: TrialRunner,
  seed: number,
  opts: { readonly factor: number; readonly maxSteps: number; readonly min: number; readonly max: number },
): Promise<SearchResult> {
  const trials: TrialResult[] = [];
  let rate = clamp(seed, opts.min, opts.max);
  let t = await run(roundRate(rate));
  trials.push(t);
  let best = t.pass ? t : undefined;
  const up = t.pass;
  while (trials.length < opts.maxSteps) {
    rate = up ? rate * opts.factor : rate / opts.factor;
    if (rate > opts.max * 1.0001 || rate < opts.min) break;
    t = await run(roundRate(rate));
    trials.push(t);
    if (up) {
      if (!t.pass) break;
      best = t;
    } else if (t.pass) {
      best = t;
      break;
    }
  }
  return { best, trials };
}

export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** (max - min) / median, 0 when median is 0. */
  readonly relative: number;
}

/** Median, min, max and relative spread of the values (empty -> all zero). */
export function spread(values: readonly number[]): Spread {
  if (values.length === 0) return { median: 0, min: 0, max: 0, relative: 0 };
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
  const min = s[0] ?? 0;
  const max = s[s.length - 1] ?? 0;
  return { median, min, max, relative: median === 0 ? 0 : (max - min) / median };
}

/** Rates are offered in whole tens above 100, whole units below. */
export function roundRate(rate: number): number {
  return rate >= 100 ? Math.round(rate / 10) * 10 : Math.max(1, Math.round(rate));
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(Math.max(v, lo), hi);
}
