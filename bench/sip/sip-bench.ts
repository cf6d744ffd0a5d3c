/**
 * `npm run bench -- sip`: SIPp-driven REGISTER/s and calls/s (INVITE/100/180/200/ACK/BYE
 * with a SIPp UAS behind) against a p2psip peer and against Kamailio (same role, same
 * run): for each, a stepped search for the highest offered rate with < 1 % failures,
 * repeated (median and spread), with UDP receive-buffer errors beside the numbers.
 */
import { join } from 'node:path';
import { withScope } from '../../harness/process-scope.js';
import type { ProcessScope } from '../../harness/process-scope.js';
import { scenario } from '../../harness/paths.js';
import { startSipServer } from '../../harness/sip-server.js';
import type { SipServer, SutKind } from '../../harness/sip-server.js';
import { describeSippResult, runSipp, startSipp, writeInjectionFile } from '../../harness/sipp-runner.js';
import type { SippRun } from '../../harness/sipp-runner.js';
import { DEFAULT_CRITERIA, searchAround, searchMaxRate, spread } from './rate-search.js';
import type { PassCriteria, SearchResult, Spread, TrialResult } from './rate-search.js';
import { runTrial } from './sip-trial.js';
import type { TrialContext, Workload } from './sip-trial.js';
import { load1 } from './system-info.js';

export interface SipBenchOptions {
  readonly suts: readonly SutKind[];
  readonly workloads: readonly Workload[];
  /** Seconds of traffic per trial. */
  readonly durationS: number;
  /** Repetitions of each search (median and spread over them). */
  readonly reps: number;
  /** Wall-clock budget of the whole run; repetitions that would start past it are skipped. */
  readonly budgetS: number;
  readonly criteria?: PassCriteria;
  /** Progress lines. */
  readonly log: (line: string) => void;
}

/** What stopped the search above the best rate. */
export type SearchLimit = 'failures' | 'pace' | 'search-cap';

export interface RepetitionResult {
  /** Highest passing offered rate (0 if nothing passed). */
  readonly maxRate: number;
  /** Why no higher rate passed: >= 1 % failures, the generator could not keep the pace, or the search bound. */
  readonly limit: SearchLimit;
  /** What the generator achieved at that rate. */
  readonly achievedPerS: number;
  readonly trials: readonly TrialResult[];
}

export interface WorkloadResult {
  readonly workload: Workload;
  readonly repetitions: readonly RepetitionResult[];
  readonly maxRate: Spread;
  /** Sum of UdpRcvbufErrors increases over all trials of this workload. */
  readonly rcvbufErrors: number | undefined;
  readonly retransmissionsAtBest: readonly number[];
}

export interface SutResult {
  readonly sut: SutKind;
  readonly workloads: readonly WorkloadResult[];
  readonly wallMs: number;
  /** Fresh server starts after overloading trials and between workloads. */
  readonly restarts: number;
  /** Set when the server could not be benchmarked at all. */
  readonly error?: string;
}

export interface SipBenchResult {
  readonly startedAt: string;
  readonly durationS: number;
  readonly reps: number;
  readonly budgetS: number;
  readonly criteria: PassCriteria;
  readonly suts: readonly SutResult[];
  readonly load1Before: number;
  readonly load1After: number;
  readonly rcvbufErrorsTotal: number | undefined;
  readonly wallMs: number;
}

/** Search bounds per workload (offered per second). */
const BOUNDS: Readonly<Record<Workload, { start: number; min: number; max: number }>> = {
  register: { start: 1000, min: 50, max: 64000 },
  calls: { start: 250, min: 10, max: 8000 },
};
const USERS = 10_000;
const BUFFER_BYTES = 4 * 1024 * 1024;
const RECV_TIMEOUT_MS = 2000;
const KAMAILIO_SHM_MB = 1024;
const REFINE_FACTOR = 2 ** 0.25;

export async function runSipBench(opts: SipBenchOptions): Promise<SipBenchResult> {
  const criteria = opts.criteria ?? DEFAULT_CRITERIA;
  const started = Date.now();
  const load1Before = load1();
  const results: SutResult[] = [];
  let rcvTotal: number | undefined = 0;
  for (const sut of opts.suts) {
    const r = await withScope((scope) => benchOneServer(scope, sut, opts, criteria));
    results.push(r);
    for (const w of r.workloads) rcvTotal = w.rcvbufErrors === undefined || rcvTotal === undefined ? undefined : rcvTotal + w.rcvbufErrors;
  }
  return {
    startedAt: new Date(started).toISOString(),
    durationS: opts.durationS,
    reps: opts.reps,
    budgetS: opts.budgetS,
    criteria,
    suts: results,
    load1Before,
    load1After: load1(),
    rcvbufErrorsTotal: rcvTotal,
    wallMs: Date.now() - started,
  };
}

async function benchOneServer(
  scope: ProcessScope,
  sut: SutKind,
  opts: SipBenchOptions,
  criteria: PassCriteria,
): Promise<SutResult> {
  const started = Date.now();
  const dir = scope.tempDir('p2psip-bench-');
  opts.log(`== ${sut}`);
  const uasPort = await scope.port();
  const genPort = await scope.port();
  const regPort = await scope.port();
  const users = join(dir, 'users.csv');
  writeInjectionFile(users, Array.from({ length: USERS }, (_, i) => [`bench${i + 1}`]));
  const callee = join(dir, 'callee.csv');
  writeInjectionFile(callee, [['callee']]);

  let starts = 0;
  // A UAS answering every call, (re)started with the server.
  const startUas = (): SippRun =>
    startSipp(scope, {
      name: `uas-${starts + 1}`,
      scenario: scenario('uas.xml'),
      workDir: dir,
      localPort: uasPort,
      calls: 10_000_000,
      timeoutS: 20 * 60,
      recvTimeoutMs: 10_000,
      bufferSize: BUFFER_BYTES,
    });
  let uas: SippRun | undefined;

  // The server, (re)started fresh with 'callee' registered at the UAS.
  let server: SipServer | undefined;
  const startServer = async (port?: number): Promise<SipServer> => {
    uas = startUas();
    const s = await startSipServer(scope, sut, {
      lifetimeMs: 20 * 60_000,
      logLevel: 'error',
      // Kamailio keeps every transaction in shared memory for its wait time (5 s): give
      // it room for several seconds of the highest rates.
      sharedMemoryMb: KAMAILIO_SHM_MB,
      ...(port === undefined ? {} : { port }),
    });
    starts++;
    const reg = await runSipp(scope, {
      name: `register-callee-${starts}`,
      scenario: scenario('register.xml'),
      workDir: dir,
      localPort: regPort,
      remote: { host: s.host, port: s.port },
      calls: 1,
      timeoutS: 10,
      injectionFile: callee,
      keys: { contact_host: '127.0.0.1', contact_port: String(uasPort) },
    });
    if (reg.stats?.successfulCalls !== 1) throw new Error(`could not register the callee: ${describeSippResult(reg)}`);
    return s;
  };
  const restart = async (): Promise<void> => {
    const old = server;
    server = undefined;
    if (old !== undefined) await old.stop();
    if (uas !== undefined) await uas.stop();
    server = await startServer(old?.port);
  };
  try {
    server = await startServer();
  } catch (err) {
    const error = (err as Error).message;
    opts.log(`   could not start ${sut}: ${error.split('\n')[0] ?? ''}`);
    if (uas !== undefined) await uas.stop();
    return { sut, workloads: [], wallMs: Date.now() - started, restarts: 0, error };
  }
  const address = { host: server.host, port: server.port } as const;

  const workloads: WorkloadResult[] = [];
  const trialIndex = { value: 0 };
  let failure: string | undefined;
  try {
    for (const [wi, workload] of opts.workloads.entries()) {
      // Every workload starts on a fresh server.
      if (wi > 0) await restart();
      const ctx: TrialContext = {
        scope,
        workDir: dir,
        server: address,
        restartServer: restart,
        workload,
        durationS: opts.durationS,
        injectionFile: workload === 'register' ? users : callee,
        contactPort: uasPort,
        criteria,
        nstatHistory: join(dir, 'nstat.history'),
        localPort: genPort,
        bufferSize: BUFFER_BYTES,
        recvTimeoutMs: RECV_TIMEOUT_MS,
        trialIndex,
      };
      const run = async (rate: number): Promise<TrialResult> => {
        let t = await runTrial(ctx, rate);
        if (t.aborted === true) {
          // Something outside killed SIPp: say so, start clean and run the trial again once.
          opts.log(`   ${workload} ${rate}/s: ${t.note ?? 'aborted'}; restarting and repeating the trial`);
          await ctx.restartServer();
          t = await runTrial(ctx, rate);
        }
        // A trial that overloaded the server leaves transactions behind (Timer J/K, up to
        // 32 s): restart it so that the next trial is not judged on this one's backlog.
        const overloaded = !t.pass || t.retransmissions > 0 || (t.rcvbufErrors ?? 0) > 0;
        if (overloaded) await ctx.restartServer();
        opts.log(
          `   ${workload.padEnd(8)} ${String(rate).padStart(6)}/s  ok ${t.succeeded}/${t.attempted}` +
            `  paced ${t.achievedPerS}/s  retrans ${t.retransmissions}  rcvbuf-err ${String(t.rcvbufErrors)}` +
            `  ${t.pass ? 'PASS' : `FAIL ${t.note ?? ''}`}`,
        );
        return t;
      };
      const bounds = BOUNDS[workload];
      const repetitions: RepetitionResult[] = [];
      // This workload's share of the time budget.
      const deadline = Date.now() + (opts.budgetS * 1000) / (opts.suts.length * opts.workloads.length);
      let seed: number | undefined;
      for (let rep = 0; rep < opts.reps; rep++) {
        if (rep > 0 && Date.now() > deadline) {
          opts.log(`   ${workload}: time budget spent, ${rep} of ${opts.reps} repetitions done`);
          break;
        }
        const search: SearchResult =
          seed === undefined
            ? await searchMaxRate(run, { ...bounds, refineSteps: 2 })
            : await searchAround(run, seed, { factor: REFINE_FACTOR, maxSteps: 5, min: bounds.min, max: bounds.max });
        const best = search.best;
        repetitions.push({
          maxRate: best?.rate ?? 0,
          limit: searchLimit(search.trials, best?.rate ?? 0, criteria),
          achievedPerS: best?.achievedPerS ?? 0,
          trials: search.trials,
        });
        opts.log(`   ${workload} repetition ${rep + 1}: ${best === undefined ? 'nothing passed' : `${best.rate}/s`}`);
        if (seed === undefined && best !== undefined) seed = best.rate;
      }
      const all = repetitions.flatMap((r) => r.trials);
      const rcv = all.some((t) => t.rcvbufErrors === undefined) ? undefined : all.reduce((a, t) => a + (t.rcvbufErrors ?? 0), 0);
      workloads.push({
        workload,
        repetitions,
        maxRate: spread(repetitions.map((r) => r.maxRate)),
        rcvbufErrors: rcv,
        retransmissionsAtBest: repetitions.map((r) => r.trials.find((t) => t.pass && t.rate === r.maxRate)?.retransmissions ?? 0),
      });
    }
  } catch (err) {
    failure = (err as Error).message;
    opts.log(`   ${sut} benchmark aborted: ${failure.split('\n')[0] ?? ''}`);
  }
  if (uas !== undefined) await uas.stop();
  const exit = server === undefined ? undefined : await server.stop();
  opts.log(`   ${sut} stopped (${JSON.stringify(exit)}), ${starts - 1} restart(s)`);
  const result = { sut, workloads, wallMs: Date.now() - started, restarts: starts - 1 };
  return failure === undefined ? result : { ...result, error: failure };
}

/** The reason given by the lowest failing trial above `best` ('search-cap' if none failed). */
export function searchLimit(trials: readonly TrialResult[], best: number, criteria: PassCriteria): SearchLimit {
  const above = trials.filter((t) => !t.pass && t.rate > best).sort((a, b) => a.rate - b.rate)[0];
  if (above === undefined) return 'search-cap';
  return above.failureRatio >= criteria.maxFailureRatio ? 'failures' : 'pace';
}
