/**
 * `npm run bench -- sip`: SIPp-driven new REGISTERs/s (AoRs never seen), refresh REGISTERs/s
 * and calls/s (INVITE/100/180/200/ACK/BYE with a SIPp UAS behind) against a p2psip peer alone
 * (a one-peer overlay), against a p2psip peer that is one of 3 overlay peers, and against
 * Kamailio (same role, same run): for each, a stepped search for the highest offered rate with
 * < 1 % failures, repeated (median and spread), with UDP receive-buffer errors beside the
 * numbers; then, for p2psip, an overload trial at 3× that rate (goodput, 503s, recovery); and
 * per server the latency of sequential new REGISTERs and refreshes on the idle server.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withScope } from '../../harness/process-scope.js';
import type { ProcessScope } from '../../harness/process-scope.js';
import { startOverlayPeers } from '../../harness/overlay-peers.js';
import { scenario } from '../../harness/paths.js';
import { FOUR_DIGIT_PORTS } from '../../harness/port-allocator.js';
import { startSipServer } from '../../harness/sip-server.js';
import type { SipServer, SutKind } from '../../harness/sip-server.js';
import { describeSippResult, runSipp, startSipp, writeInjectionFile } from '../../harness/sipp-runner.js';
import type { SippRun } from '../../harness/sipp-runner.js';
import { DEFAULT_CRITERIA, roundRate, searchAround, searchMaxRate, spread } from './rate-search.js';
import type { PassCriteria, SearchResult, Spread, TrialResult } from './rate-search.js';
import { RegisterClient, recoveryProbe, sequentialLatency } from './register-client.js';
import type { RecoveryResult, SequentialLatency } from './register-client.js';
import { poolRows, REFRESH_CALL_ID_FORMAT, refreshScenario, takeCseqBase } from './register-load.js';
import { runOverloadTrial, runTrial } from './sip-trial.js';
import type { OverloadTrial, RefreshSetup, TrialContext, Workload } from './sip-trial.js';
import { load1 } from './system-info.js';

export interface SipBenchOptions {
  readonly suts: readonly SutKind[];
  readonly workloads: readonly Workload[];
  /** p2psip topologies: 1 = the peer alone, 3 = the peer as one of 3 overlay peers. Default [1]. */
  readonly overlays?: readonly OverlaySize[];
  /** Seconds of traffic per trial. */
  readonly durationS: number;
  /** Repetitions of each search (median and spread over them). */
  readonly reps: number;
  /** Most repetitions at the 3-peer overlay (its restarts cost more). Default: reps. */
  readonly overlayReps?: number;
  /** Wall-clock budget of the searches; repetitions that would start past it are skipped. */
  readonly budgetS: number;
  /** After each p2psip search, a trial at 3× its rate with 503 accepted. Default false. */
  readonly overload?: boolean;
  /** Sequential new REGISTERs and refreshes on each idle server (this many of each; 0 = none). Default 0. */
  readonly latencyCount?: number;
  readonly criteria?: PassCriteria;
  /** Progress lines. */
  readonly log: (line: string) => void;
}

export type OverlaySize = 1 | 3;

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

export interface OverloadResult {
  /** The rate the overload is relative to: the median highest passing rate. */
  readonly baseRate: number;
  readonly trial: OverloadTrial;
  /** trial.goodputPerS / baseRate. */
  readonly goodputRatio: number;
  /** Sequential new REGISTERs right after the overload until one is answered 200. */
  readonly recovery: RecoveryResult | undefined;
}

export interface WorkloadResult {
  readonly workload: Workload;
  readonly repetitions: readonly RepetitionResult[];
  readonly maxRate: Spread;
  /** Sum of UdpRcvbufErrors increases over all trials of this workload. */
  readonly rcvbufErrors: number | undefined;
  readonly retransmissionsAtBest: readonly number[];
  readonly overload?: OverloadResult;
}

export interface SutResult {
  readonly sut: SutKind;
  /** p2psip: overlay peers (1: the peer alone); undefined for Kamailio. */
  readonly peers?: number;
  readonly workloads: readonly WorkloadResult[];
  /** Sequential REGISTERs on the idle server. */
  readonly latency?: SequentialLatency;
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
  readonly overlayReps?: number;
  readonly budgetS: number;
  readonly criteria: PassCriteria;
  /** Phones in the refresh workload's pool. */
  readonly refreshPool?: number;
  readonly latencyCount?: number;
  readonly suts: readonly SutResult[];
  readonly load1Before: number;
  readonly load1After: number;
  readonly rcvbufErrorsTotal: number | undefined;
  readonly wallMs: number;
}

/** Search bounds per workload (offered per second). */
const BOUNDS: Readonly<Record<Workload, { start: number; min: number; max: number }>> = {
  'register-new': { start: 1000, min: 20, max: 64000 },
  'register-refresh': { start: 2000, min: 20, max: 64000 },
  calls: { start: 250, min: 10, max: 8000 },
};
/** Phones of the refresh pool, registered at PRE_RATE with at most PRE_CONCURRENT outstanding. */
export const REFRESH_POOL = 2000;
const PRE_RATE = 500;
const PRE_CONCURRENT = 100;
const BUFFER_BYTES = 4 * 1024 * 1024;
const RECV_TIMEOUT_MS = 2000;
const KAMAILIO_SHM_MB = 1024;
const REFINE_FACTOR = 2 ** 0.25;
/** The overload: this times the highest passing rate. */
export const OVERLOAD_FACTOR = 3;
/** How long the recovery probe tries after an overload. */
const RECOVERY_WINDOW_MS = 10_000;
const LIFETIME_MS = 30 * 60_000;

interface Unit {
  readonly sut: SutKind;
  readonly peers: OverlaySize | undefined;
}

/** The servers to measure, in order: p2psip at each overlay size, then Kamailio. */
export function benchUnits(suts: readonly SutKind[], overlays: readonly OverlaySize[]): Unit[] {
  const out: Unit[] = [];
  for (const sut of suts) {
    if (sut === 'kamailio') out.push({ sut, peers: undefined });
    else for (const peers of overlays) out.push({ sut, peers });
  }
  return out;
}

export async function runSipBench(opts: SipBenchOptions): Promise<SipBenchResult> {
  const criteria = opts.criteria ?? DEFAULT_CRITERIA;
  const started = Date.now();
  const load1Before = load1();
  const units = benchUnits(opts.suts, opts.overlays ?? [1]);
  const results: SutResult[] = [];
  let rcvTotal: number | undefined = 0;
  // a 3-peer search starts from the 1-peer result of the same workload
  const seeds = new Map<Workload, number>();
  for (const unit of units) {
    const r = await withScope((scope) => benchOneServer(scope, unit, units.length, opts, criteria, seeds));
    results.push(r);
    if (unit.sut === 'p2psip' && unit.peers === 1) for (const w of r.workloads) if (w.maxRate.median > 0) seeds.set(w.workload, w.maxRate.median);
    for (const w of r.workloads) rcvTotal = w.rcvbufErrors === undefined || rcvTotal === undefined ? undefined : rcvTotal + w.rcvbufErrors;
  }
  return {
    startedAt: new Date(started).toISOString(),
    durationS: opts.durationS,
    reps: opts.reps,
    ...(opts.overlayReps === undefined ? {} : { overlayReps: opts.overlayReps }),
    budgetS: opts.budgetS,
    criteria,
    ...(opts.workloads.includes('register-refresh') ? { refreshPool: REFRESH_POOL } : {}),
    ...((opts.latencyCount ?? 0) > 0 ? { latencyCount: opts.latencyCount } : {}),
    suts: results,
    load1Before,
    load1After: load1(),
    rcvbufErrorsTotal: rcvTotal,
    wallMs: Date.now() - started,
  };
}

function unitLabel(u: Unit): string {
  return u.peers === undefined ? u.sut : `${u.sut} (${u.peers === 1 ? 'alone' : `${u.peers}-peer overlay`})`;
}

async function benchOneServer(
  scope: ProcessScope,
  unit: Unit,
  unitCount: number,
  opts: SipBenchOptions,
  criteria: PassCriteria,
  seeds: ReadonlyMap<Workload, number>,
): Promise<SutResult> {
  const { sut } = unit;
  const peers = unit.peers ?? 1;
  const started = Date.now();
  const dir = scope.tempDir('p2psip-bench-');
  const label = unitLabel(unit);
  opts.log(`== ${label}`);
  const uasPort = await scope.port();
  const genPort = await scope.port();
  const regPort = await scope.port();
  const sipPorts: number[] = [];
  for (let i = 0; i < peers; i++) sipPorts.push(await scope.port({ range: FOUR_DIGIT_PORTS }));
  const callee = join(dir, 'callee.csv');
  writeInjectionFile(callee, [['callee']]);
  const poolFile = join(dir, 'pool.csv');
  writeInjectionFile(poolFile, poolRows(REFRESH_POOL));
  const refresh: RefreshSetup = { pool: REFRESH_POOL, poolFile, cseq: { value: 1 } };

  let starts = 0;
  // A UAS answering every call, (re)started with the server.
  const startUas = (): SippRun =>
    startSipp(scope, {
      name: `uas-${starts + 1}`,
      scenario: scenario('uas.xml'),
      workDir: dir,
      localPort: uasPort,
      calls: 10_000_000,
      timeoutS: LIFETIME_MS / 1000,
      recvTimeoutMs: 10_000,
      bufferSize: BUFFER_BYTES,
    });
  let uas: SippRun | undefined;
  let current: Workload | undefined;

  // The server (and at 3 peers its 2 companions), (re)started fresh with 'callee' registered at the UAS.
  let server: SipServer | undefined;
  const launch = async (): Promise<SipServer> => {
    if (sut === 'kamailio' || peers === 1) {
      return startSipServer(scope, sut, {
        lifetimeMs: LIFETIME_MS,
        logLevel: 'error',
        // Kamailio keeps every transaction in shared memory for its wait time (5 s): give
        // it room for several seconds of the highest rates.
        sharedMemoryMb: KAMAILIO_SHM_MB,
        port: sipPorts[0] ?? 0,
      });
    }
    // the measured peer is the first; the others join it (GET /api/status says joined)
    const all = await startOverlayPeers(scope, { count: peers, lifetimeMs: LIFETIME_MS, logLevel: 'error', sipPorts });
    const first = all[0];
    if (first === undefined) throw new Error('no overlay peer started');
    return {
      ...first,
      stop: async () => {
        const exits = await Promise.all(all.map((p) => p.stop()));
        return exits[0] ?? { code: null, signal: null };
      },
    };
  };
  const startServer = async (): Promise<SipServer> => {
    uas = startUas();
    const s = await launch();
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
  // The refresh workload's pool: registered (new AoRs) once per fresh server, at a low rate.
  const registerPool = async (s: SipServer): Promise<void> => {
    for (const rate of [PRE_RATE, PRE_RATE / 4]) {
      const base = takeCseqBase(refresh.cseq, 1);
      const file = join(dir, `pool-${starts}-${rate}.xml`);
      writeFileSync(file, refreshScenario({ iterations: 1, pauseMs: 0, accept503: false }));
      const r = await runSipp(scope, {
        name: `register-pool-${starts}-${rate}`,
        scenario: file,
        workDir: dir,
        localPort: regPort,
        remote: { host: s.host, port: s.port },
        calls: REFRESH_POOL,
        rate,
        maxConcurrent: PRE_CONCURRENT,
        timeoutS: Math.ceil(REFRESH_POOL / rate) + 30,
        recvTimeoutMs: 4000,
        injectionFile: poolFile,
        keys: { contact_host: '127.0.0.1', contact_port: String(uasPort) },
        bufferSize: BUFFER_BYTES,
        defaultBehaviors: 'all,-bye',
        extraArgs: ['-cid_str', REFRESH_CALL_ID_FORMAT, '-base_cseq', String(base)],
      });
      if (r.stats?.successfulCalls === REFRESH_POOL) return;
      opts.log(`   pool registration at ${rate}/s incomplete: ${describeSippResult(r)}`);
    }
    throw new Error(`could not register the refresh pool of ${REFRESH_POOL}`);
  };
  const prepare = async (): Promise<void> => {
    if (current === 'register-refresh' && server !== undefined) await registerPool(server);
  };
  const restart = async (): Promise<void> => {
    const old = server;
    server = undefined;
    if (old !== undefined) await old.stop();
    if (uas !== undefined) await uas.stop();
    server = await startServer();
    await prepare();
  };
  try {
    server = await startServer();
  } catch (err) {
    const error = (err as Error).message;
    opts.log(`   could not start ${label}: ${error.split('\n')[0] ?? ''}`);
    if (uas !== undefined) await uas.stop();
    return { sut, ...(unit.peers === undefined ? {} : { peers }), workloads: [], wallMs: Date.now() - started, restarts: 0, error };
  }
  const address = { host: server.host, port: server.port } as const;

  const workloads: WorkloadResult[] = [];
  let latency: SequentialLatency | undefined;
  const trialIndex = { value: 0 };
  let failure: string | undefined;
  try {
    const count = opts.latencyCount ?? 0;
    if (count > 0) {
      // one after the other on the idle server: new AoRs, then a refresh of each
      const client = await RegisterClient.open(address, uasPort);
      try {
        latency = await sequentialLatency(client, 'seq', count);
      } finally {
        await client.close();
      }
      opts.log(
        `   sequential REGISTER: new median ${latency.newRegistrations.medianMs} ms p90 ${latency.newRegistrations.p90Ms} ms` +
          ` (${latency.newRegistrations.failed} failed); refresh median ${latency.refreshes.medianMs} ms p90 ${latency.refreshes.p90Ms} ms` +
          ` (${latency.refreshes.failed} failed)`,
      );
    }
    const reps = peers > 1 ? Math.min(opts.reps, opts.overlayReps ?? opts.reps) : opts.reps;
    for (const [wi, workload] of opts.workloads.entries()) {
      current = workload;
      // Every workload starts on a fresh server.
      if (wi > 0) await restart();
      else await prepare();
      const ctx: TrialContext = {
        scope,
        workDir: dir,
        server: address,
        restartServer: restart,
        workload,
        durationS: opts.durationS,
        injectionFile: callee,
        contactPort: uasPort,
        criteria,
        nstatHistory: join(dir, 'nstat.history'),
        localPort: genPort,
        bufferSize: BUFFER_BYTES,
        recvTimeoutMs: RECV_TIMEOUT_MS,
        trialIndex,
        refresh,
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
        // 32 s): restart it so that the next trial is not judged on this one's backlog. A trial
        // that only fell behind the pace, everything answered at the first try, leaves none.
        const overloaded = t.attempted === 0 || t.failed > 0 || t.retransmissions > 0 || (t.rcvbufErrors ?? 0) > 0;
        if (overloaded) await ctx.restartServer();
        opts.log(
          `   ${workload.padEnd(16)} ${String(rate).padStart(6)}/s  ok ${t.succeeded}/${t.attempted}` +
            `  paced ${t.achievedPerS}/s  retrans ${t.retransmissions}  rcvbuf-err ${String(t.rcvbufErrors)}` +
            `  ${t.pass ? 'PASS' : `FAIL ${t.note ?? ''}`}`,
        );
        return t;
      };
      const bounds = BOUNDS[workload];
      const start = peers > 1 ? (seeds.get(workload) ?? bounds.start) : bounds.start;
      const repetitions: RepetitionResult[] = [];
      // This search's share of the time budget.
      const deadline = Date.now() + (opts.budgetS * 1000) / (unitCount * opts.workloads.length);
      let seed: number | undefined;
      for (let rep = 0; rep < reps; rep++) {
        if (rep > 0 && Date.now() > deadline) {
          opts.log(`   ${workload}: time budget spent, ${rep} of ${reps} repetitions done`);
          break;
        }
        const search: SearchResult =
          seed === undefined
            ? await searchMaxRate(run, { ...bounds, start, refineSteps: 2 })
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
      const maxRate = spread(repetitions.map((r) => r.maxRate));
      let overload: OverloadResult | undefined;
      if (opts.overload === true && sut === 'p2psip' && maxRate.median > 0) {
        overload = await overloadTrial(ctx, maxRate.median, address, uasPort, opts.log);
        await restart();
      }
      workloads.push({
        workload,
        repetitions,
        maxRate,
        rcvbufErrors: rcv,
        retransmissionsAtBest: repetitions.map((r) => r.trials.find((t) => t.pass && t.rate === r.maxRate)?.retransmissions ?? 0),
        ...(overload === undefined ? {} : { overload }),
      });
    }
  } catch (err) {
    failure = (err as Error).message;
    opts.log(`   ${label} benchmark aborted: ${failure.split('\n')[0] ?? ''}`);
  }
  if (uas !== undefined) await uas.stop();
  const exit = server === undefined ? undefined : await server.stop();
  opts.log(`   ${label} stopped (${JSON.stringify(exit)}), ${starts - 1} restart(s), ${((Date.now() - started) / 1000).toFixed(0)} s`);
  const result: SutResult = {
    sut,
    ...(unit.peers === undefined ? {} : { peers }),
    workloads,
    ...(latency === undefined ? {} : { latency }),
    wallMs: Date.now() - started,
    restarts: starts - 1,
  };
  return failure === undefined ? result : { ...result, error: failure };
}

/** 3× `baseRate` with 503 accepted, then new REGISTERs until one is answered 200. */
async function overloadTrial(
  ctx: TrialContext,
  baseRate: number,
  address: { readonly host: '127.0.0.1' | '::1'; readonly port: number },
  contactPort: number,
  log: (line: string) => void,
): Promise<OverloadResult> {
  const rate = roundRate(baseRate * OVERLOAD_FACTOR);
  const trial = await runOverloadTrial(ctx, rate);
  // right after the generator ended (every request answered or given up)
  const client = await RegisterClient.open(address, contactPort);
  let recovery: RecoveryResult;
  try {
    recovery = await recoveryProbe(client, `rec${ctx.trialIndex.value}`, RECOVERY_WINDOW_MS);
  } finally {
    await client.close();
  }
  const goodputRatio = baseRate === 0 ? 0 : trial.goodputPerS / baseRate;
  log(
    `   ${ctx.workload.padEnd(16)} overload ${rate}/s (${OVERLOAD_FACTOR}× ${baseRate}): 2xx ${trial.answered2xx} (${trial.goodputPerS}/s, ` +
      `${(goodputRatio * 100).toFixed(0)} %), 503 ${trial.refused503}, failed ${trial.failed}, paced ${trial.achievedPerS}/s; ` +
      `first 200 after ${recovery.msToFirst200 === undefined ? 'none' : `${recovery.msToFirst200} ms`} (${recovery.probes} probe(s))` +
      `${trial.note === undefined ? '' : `; ${trial.note}`}`,
  );
  return { baseRate, trial, goodputRatio: Math.round(goodputRatio * 1000) / 1000, recovery };
}

/** The reason given by the lowest failing trial above `best` ('search-cap' if none failed). */
export function searchLimit(trials: readonly TrialResult[], best: number, criteria: PassCriteria): SearchLimit {
  const above = trials.filter((t) => !t.pass && t.rate > best).sort((a, b) => a.rate - b.rate)[0];
  if (above === undefined) return 'search-cap';
  return above.failureRatio >= criteria.maxFailureRatio ? 'failures' : 'pace';
}
