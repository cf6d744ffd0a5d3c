/**
 * One bounded benchmark trial: SIPp offers `rate` REGISTERs or calls per second for
 * `durationS` seconds to a server on loopback; the result says how many succeeded, how
 * fast SIPp actually managed to send them, retransmissions, and how many UDP datagrams
 * the kernel dropped for full receive buffers meanwhile. An overload trial (runOverloadTrial)
 * accepts 503 as an outcome and counts it apart from the answered requests.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoopbackHost, SippResult } from '../../harness/sipp-runner.js';
import type { ProcessScope } from '../../harness/process-scope.js';
import { scenario } from '../../harness/paths.js';
import { runSipp, writeInjectionFile } from '../../harness/sipp-runner.js';
import { creationSeconds, parseSippDuration } from '../../harness/sipp-stats.js';
import { passes } from './rate-search.js';
import type { PassCriteria, TrialResult } from './rate-search.js';
import { newUserPrefix, newUserRows, REFRESH_CALL_ID_FORMAT, refreshPlan, refreshScenario, takeCseqBase } from './register-load.js';
import { parseSippCounts, sentSeconds, summarizeCounts } from './sipp-counts.js';
import type { CountsSummary } from './sipp-counts.js';
import { udpRcvbufErrors } from './system-info.js';

/**
 * register-new: AoRs the server has never seen; register-refresh: AoRs registered before the
 * trials, again with the same Contact and Call-ID; calls: INVITE/100/180/200/ACK/BYE to a UAS.
 */
export type Workload = 'register-new' | 'register-refresh' | 'calls';

export const WORKLOADS: readonly Workload[] = ['register-new', 'register-refresh', 'calls'];

/** The refresh workload's pool (registered before the trials) and its CSeq counter. */
export interface RefreshSetup {
  /** Phones in the pool. */
  readonly pool: number;
  /** Injection file of the pool (line k: user k). */
  readonly poolFile: string;
  /** Next CSeq base (raised by every SIPp run that registers pool users). */
  readonly cseq: { value: number };
}

export interface TrialContext {
  readonly scope: ProcessScope;
  readonly workDir: string;
  readonly server: { readonly host: LoopbackHost; readonly port: number };
  /** Restarts the server (fresh state) — called after a trial that overloaded it. */
  readonly restartServer: () => Promise<void>;
  readonly workload: Workload;
  readonly durationS: number;
  /** Injection CSV of the calls workload (the callee AoR); register workloads write their own. */
  readonly injectionFile: string;
  /** Where REGISTER Contacts point (the UAS). */
  readonly contactPort: number;
  readonly criteria: PassCriteria;
  readonly nstatHistory: string;
  /** SIPp's local port for the generator. */
  readonly localPort: number;
  /** SIPp socket buffers. */
  readonly bufferSize: number;
  /** A call/REGISTER unanswered this long counts as failed. */
  readonly recvTimeoutMs: number;
  readonly trialIndex: { value: number };
  /** Required by register-refresh. */
  readonly refresh?: RefreshSetup;
}

/** An overload trial: offered, answered, refused. */
export interface OverloadTrial {
  /** Offered rate (per second). */
  readonly rate: number;
  readonly durationS: number;
  /** Requests SIPp sent (first transmissions). */
  readonly attempted: number;
  /** What the generator achieved (per second). */
  readonly achievedPerS: number;
  /** 2xx answers to the first request. */
  readonly answered2xx: number;
  /** answered2xx over the traffic's duration (the offered duration, or longer if SIPp fell behind). */
  readonly goodputPerS: number;
  /** 503 answers. */
  readonly refused503: number;
  /** 503s without Retry-After (SIPp fails those calls: FailedRegexpHdrNotFound). */
  readonly refusedWithoutRetryAfter: number;
  /** Neither 2xx nor 503: attempted - answered2xx - refused503 (timeouts, other answers). */
  readonly failed: number;
  readonly retransmissions: number;
  readonly rcvbufErrors: number | undefined;
  /** SIPp's mean time to the 2xx and to the 503 (ms, ~4 ms resolution). */
  readonly mean2xxMs: number | undefined;
  readonly mean503Ms: number | undefined;
  readonly wallMs: number;
  readonly note?: string;
}

interface Run {
  readonly r: SippResult;
  readonly planned: number;
  readonly counts: CountsSummary | undefined;
  /** Seconds until every planned request was sent (undefined if never). */
  readonly sentIn: number | undefined;
  readonly rcvbufErrors: number | undefined;
}

/** Runs SIPp for one trial of ctx.workload at `rate`; `overload`: 503 accepted and counted. */
async function runSippTrial(ctx: TrialContext, rate: number, overload: boolean): Promise<Run> {
  const index = ++ctx.trialIndex.value;
  const name = `${ctx.workload}-${String(index).padStart(3, '0')}-${rate}${overload ? '-overload' : ''}`;
  // -trace_counts writes <scenario>_<pid>_counts.csv into the working directory: one per trial
  const dir = join(ctx.workDir, name);
  mkdirSync(dir, { recursive: true });
  const contact = { contact_host: '127.0.0.1', contact_port: String(ctx.contactPort) };
  const common = {
    name,
    workDir: dir,
    localPort: ctx.localPort,
    remote: ctx.server,
    rate,
    recvTimeoutMs: ctx.recvTimeoutMs,
    bufferSize: ctx.bufferSize,
    statsIntervalMs: 100,
  } as const;
  const drainS = Math.ceil(ctx.recvTimeoutMs / 1000) * 4 + 5;
  const before = udpRcvbufErrors(ctx.nstatHistory);
  let r: SippResult;
  let planned: number;
  if (ctx.workload === 'register-refresh') {
    const refresh = ctx.refresh;
    if (refresh === undefined) throw new Error('register-refresh needs a registered pool');
    const plan = refreshPlan(rate, ctx.durationS, refresh.pool);
    const file = join(dir, 'register-refresh.xml');
    writeFileSync(file, refreshScenario({ iterations: plan.iterations, pauseMs: plan.pauseMs, accept503: overload }));
    planned = plan.total;
    r = await runSipp(ctx.scope, {
      ...common,
      scenario: file,
      calls: plan.calls,
      // every phone of the pool is a call at once; each waits for its answer before the next REGISTER
      maxConcurrent: plan.calls,
      timeoutS: ctx.durationS + Math.ceil(plan.pauseMs / 1000) + drainS,
      injectionFile: refresh.poolFile,
      keys: contact,
      defaultBehaviors: 'all,-bye',
      extraArgs: ['-cid_str', REFRESH_CALL_ID_FORMAT, '-base_cseq', String(takeCseqBase(refresh.cseq, plan.iterations)), '-trace_counts'],
    });
  } else {
    planned = Math.max(1, Math.round(rate * ctx.durationS));
    const register = ctx.workload === 'register-new';
    let injectionFile = ctx.injectionFile;
    if (register) {
      injectionFile = join(dir, 'users.csv');
      writeInjectionFile(injectionFile, newUserRows(newUserPrefix(index), planned));
    }
    const xml = register ? (overload ? 'register-overload.xml' : 'register.xml') : overload ? 'uac-overload.xml' : 'uac.xml';
    r = await runSipp(ctx.scope, {
      ...common,
      scenario: scenario(xml),
      calls: planned,
      // At most ~1 s of traffic outstanding: a server that queues instead of answering
      // slows the generator down, which the pace criterion then catches.
      maxConcurrent: Math.max(50, rate),
      timeoutS: ctx.durationS + drainS,
      injectionFile,
      keys: register ? contact : {},
      // An aborted REGISTER "call" must not be followed by SIPp's automatic BYE.
      ...(register ? { defaultBehaviors: 'all,-bye' } : {}),
      ...(overload ? { extraArgs: ['-trace_counts'] } : {}),
    });
  }
  const after = udpRcvbufErrors(ctx.nstatHistory);
  const counts = readCounts(dir);
  const perCall = ctx.workload !== 'register-refresh';
  const sentIn = perCall ? creationSeconds(r.series, planned) : counts === undefined ? undefined : sentSeconds(counts.parsed, planned);
  return {
    r,
    planned,
    counts: counts?.summary,
    sentIn,
    rcvbufErrors: before === undefined || after === undefined ? undefined : after - before,
  };
}

function readCounts(dir: string): { parsed: NonNullable<ReturnType<typeof parseSippCounts>>; summary: CountsSummary } | undefined {
  const file = readdirSync(dir).find((f) => f.endsWith('_counts.csv'));
  if (file === undefined) return undefined;
  const parsed = parseSippCounts(readFileSync(join(dir, file), 'utf8'));
  return parsed === undefined ? undefined : { parsed, summary: summarizeCounts(parsed) };
}

function achieved(planned: number, rate: number, sentIn: number | undefined): number {
  return sentIn === undefined || sentIn <= 0 ? 0 : planned / Math.max(sentIn, (planned - 1) / rate);
}

/** Runs one trial at `rate`. */
export async function runTrial(ctx: TrialContext, rate: number): Promise<TrialResult> {
  const { r, planned, counts, sentIn, rcvbufErrors } = await runSippTrial(ctx, rate, false);
  const s = r.stats;
  // a refresh call is many REGISTERs: count those (SIPp's per-message counts)
  const perCall = ctx.workload !== 'register-refresh';
  const attempted = perCall ? (s?.totalCallsCreated ?? 0) : counts === undefined ? 0 : planned;
  const succeeded = perCall ? (s?.successfulCalls ?? 0) : (counts?.answered2xx ?? 0);
  const achievedPerS = achieved(planned, rate, sentIn);
  const failureRatio = attempted === 0 ? 1 : Math.max(0, attempted - succeeded) / attempted;
  const base = {
    rate,
    attempted,
    succeeded,
    failed: Math.max(0, attempted - succeeded),
    failureRatio,
    achievedPerS: round1(achievedPerS),
    retransmissions: s?.retransmissions ?? 0,
    rcvbufErrors,
    wallMs: r.wallMs,
  };
  const aborted = r.exit.signal !== null || (r.exitCode ?? 0) >= 128;
  const pass = !aborted && passes(base, ctx.criteria);
  let note: string | undefined;
  if (aborted) note = `SIPp did not end by itself (${JSON.stringify(r.exit)})`;
  else if (s === undefined) note = `no SIPp statistics (exit ${String(r.exitCode)})`;
  else if (!perCall && counts === undefined) note = 'no SIPp message counts';
  else if (!pass) {
    note =
      failureRatio >= ctx.criteria.maxFailureRatio
        ? `${(failureRatio * 100).toFixed(2)} % failed ${JSON.stringify(s.failureCauses)}`
        : `generator only reached ${base.achievedPerS}/s`;
  }
  const result = note === undefined ? { ...base, pass } : { ...base, pass, note };
  return aborted ? { ...result, aborted } : result;
}

/** Offers `rate` for the trial duration with 503 accepted; counts 2xx and 503 apart. */
export async function runOverloadTrial(ctx: TrialContext, rate: number): Promise<OverloadTrial> {
  const { r, planned, counts, sentIn, rcvbufErrors } = await runSippTrial(ctx, rate, true);
  const s = r.stats;
  const attempted = counts?.sent ?? 0;
  const answered2xx = counts?.answered2xx ?? 0;
  const refused503 = counts?.refused503 ?? 0;
  const trafficS = Math.max(ctx.durationS, sentIn ?? 0);
  let note: string | undefined;
  if (r.exit.signal !== null || (r.exitCode ?? 0) >= 128) note = `SIPp did not end by itself (${JSON.stringify(r.exit)})`;
  else if (counts === undefined) note = `no SIPp message counts (exit ${String(r.exitCode)})`;
  else if (sentIn === undefined) note = `SIPp sent ${attempted} of ${planned} requests`;
  const result: OverloadTrial = {
    rate,
    durationS: ctx.durationS,
    attempted,
    achievedPerS: round1(achieved(planned, rate, sentIn)),
    answered2xx,
    goodputPerS: round1(answered2xx / trafficS),
    refused503,
    refusedWithoutRetryAfter: s?.failureCauses['FailedRegexpHdrNotFound'] ?? 0,
    failed: Math.max(0, attempted - answered2xx - refused503),
    retransmissions: s?.retransmissions ?? counts?.retransmissions ?? 0,
    rcvbufErrors,
    mean2xxMs: meanMs(s?.raw['ResponseTime1(C)'], answered2xx),
    mean503Ms: meanMs(s?.raw['ResponseTime2(C)'], refused503),
    wallMs: r.wallMs,
  };
  return note === undefined ? result : { ...result, note };
}

function meanMs(raw: string | undefined, n: number): number | undefined {
  if (n === 0) return undefined;
  const v = parseSippDuration(raw);
  return v === undefined ? undefined : round1(v);
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}
