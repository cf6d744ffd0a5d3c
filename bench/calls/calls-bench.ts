/**
 * `npm run bench -- calls`: in one run, (1) the post-dial delay (INVITE → 180) on the overlay
 * (two peers), through Kamailio (one proxy) and direct, at a low rate; (2) calls/s sustained
 * SIPp UAC → peer A → overlay → peer B → SIPp UAS, and SIPp UAC → Kamailio → SIPp UAS (the
 * `sip` benchmark's Kamailio calls search, same trials and criteria).
 */
import { withScope } from '../../harness/process-scope.js';
import { DEFAULT_CRITERIA } from '../sip/rate-search.js';
import type { PassCriteria } from '../sip/rate-search.js';
import { runSipBench } from '../sip/sip-bench.js';
import type { WorkloadResult } from '../sip/sip-bench.js';
import { load1 } from '../sip/system-info.js';
import { benchOverlayCalls } from './overlay-calls-rate.js';
import { measurePostDialDelay } from './post-dial-delay.js';
import type { PddResult } from './post-dial-delay.js';

export interface CallsBenchOptions {
  /** Seconds of traffic per calls/s trial. */
  readonly durationS: number;
  /** Repetitions of each calls/s search. */
  readonly reps: number;
  /** Budget of each calls/s search (seconds). */
  readonly budgetS: number;
  /** Post-dial-delay trials per path (fresh servers each). */
  readonly pddTrials: number;
  readonly pddCalls: number;
  readonly pddRate: number;
  /** Leave out the calls/s searches (post-dial delay only). */
  readonly skipRate?: boolean;
  readonly criteria?: PassCriteria;
  readonly log: (line: string) => void;
}

export interface CallsRateEntry {
  readonly system: 'p2psip-overlay' | 'kamailio';
  readonly description: string;
  readonly workload: WorkloadResult | undefined;
  readonly restarts: number;
  readonly wallMs: number;
  readonly error?: string;
}

export interface CallsBenchResult {
  readonly startedAt: string;
  readonly durationS: number;
  readonly reps: number;
  readonly budgetS: number;
  readonly criteria: PassCriteria;
  readonly pdd: PddResult;
  readonly rates: readonly CallsRateEntry[];
  readonly load1Before: number;
  readonly load1Middle: number;
  readonly load1After: number;
  readonly wallMs: number;
}

export async function runCallsBench(opts: CallsBenchOptions): Promise<CallsBenchResult> {
  const criteria = opts.criteria ?? DEFAULT_CRITERIA;
  const started = Date.now();
  const load1Before = load1();
  opts.log('== post-dial delay (INVITE -> 180)');
  const pdd = await measurePostDialDelay({ trials: opts.pddTrials, warmCalls: opts.pddCalls, rate: opts.pddRate, log: opts.log });
  const load1Middle = load1();
  const rates: CallsRateEntry[] = [];
  if (opts.skipRate !== true) {
    opts.log('== calls/s: SIPp UAC -> peer A -> overlay -> peer B -> SIPp UAS');
    const o = await withScope((scope) =>
      benchOverlayCalls(scope, { durationS: opts.durationS, reps: opts.reps, budgetS: opts.budgetS, criteria, log: opts.log }),
    );
    rates.push({ system: 'p2psip-overlay', description: 'SIPp UAC → peer A → overlay → peer B → SIPp UAS', ...o });
    opts.log('== calls/s: SIPp UAC -> Kamailio -> SIPp UAS');
    const k = await runSipBench({
      suts: ['kamailio'],
      workloads: ['calls'],
      durationS: opts.durationS,
      reps: opts.reps,
      budgetS: opts.budgetS,
      criteria,
      log: opts.log,
    });
    const ks = k.suts[0];
    rates.push({
      system: 'kamailio',
      description: 'SIPp UAC → Kamailio → SIPp UAS',
      workload: ks?.workloads.find((w) => w.workload === 'calls'),
      restarts: ks?.restarts ?? 0,
      wallMs: ks?.wallMs ?? 0,
      ...(ks?.error === undefined ? {} : { error: ks.error }),
    });
  }
  return {
    startedAt: new Date(started).toISOString(),
    durationS: opts.durationS,
    reps: opts.reps,
    budgetS: opts.budgetS,
    criteria,
    pdd,
    rates,
    load1Before,
    load1Middle,
    load1After: load1(),
    wallMs: Date.now() - started,
  };
}
