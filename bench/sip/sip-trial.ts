/**
 * One bounded benchmark trial: SIPp offers `rate` REGISTERs or calls per second for
 * `durationS` seconds to a server on loopback; the result says how many succeeded, how
 * fast SIPp actually managed to create them, retransmissions, and how many UDP datagrams
 * the kernel dropped for full receive buffers meanwhile.
 */
import type { LoopbackHost } from '../../harness/sipp-runner.js';
import type { ProcessScope } from '../../harness/process-scope.js';
import { scenario } from '../../harness/paths.js';
import { runSipp } from '../../harness/sipp-runner.js';
import { creationSeconds } from '../../harness/sipp-stats.js';
import { passes } from './rate-search.js';
import type { PassCriteria, TrialResult } from './rate-search.js';
import { udpRcvbufErrors } from './system-info.js';

export type Workload = 'register' | 'calls';

export interface TrialContext {
  readonly scope: ProcessScope;
  readonly workDir: string;
  readonly server: { readonly host: LoopbackHost; readonly port: number };
  /** Restarts the server (fresh state) — called after a trial that overloaded it. */
  readonly restartServer: () => Promise<void>;
  readonly workload: Workload;
  readonly durationS: number;
  /** Injection CSV: users for REGISTER, the callee AoR for calls. */
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
}

/** Runs one trial at `rate`. */
export async function runTrial(ctx: TrialContext, rate: number): Promise<TrialResult> {
  const calls = Math.max(1, Math.round(rate * ctx.durationS));
  const before = udpRcvbufErrors(ctx.nstatHistory);
  const name = `${ctx.workload}-${String(++ctx.trialIndex.value).padStart(3, '0')}-${rate}`;
  const r = await runSipp(ctx.scope, {
    name,
    scenario: scenario(ctx.workload === 'register' ? 'register.xml' : 'uac.xml'),
    workDir: ctx.workDir,
    localPort: ctx.localPort,
    remote: ctx.server,
    calls,
    rate,
    // At most ~1 s of traffic outstanding: a server that queues instead of answering
    // slows the generator down, which the pace criterion then catches.
    maxConcurrent: Math.max(50, rate),
    timeoutS: ctx.durationS + Math.ceil(ctx.recvTimeoutMs / 1000) * 4 + 5,
    recvTimeoutMs: ctx.recvTimeoutMs,
    injectionFile: ctx.injectionFile,
    keys: ctx.workload === 'register' ? { contact_host: '127.0.0.1', contact_port: String(ctx.contactPort) } : {},
    bufferSize: ctx.bufferSize,
    // An aborted REGISTER "call" must not be followed by SIPp's automatic BYE.
    ...(ctx.workload === 'register' ? { defaultBehaviors: 'all,-bye' } : {}),
    statsIntervalMs: 100,
  });
  const after = udpRcvbufErrors(ctx.nstatHistory);
  const s = r.stats;
  const attempted = s?.totalCallsCreated ?? 0;
  const succeeded = s?.successfulCalls ?? 0;
  const createdIn = creationSeconds(r.series, calls);
  const achievedPerS = createdIn === undefined || createdIn <= 0 ? 0 : calls / Math.max(createdIn, (calls - 1) / rate);
  const failureRatio = attempted === 0 ? 1 : (attempted - succeeded) / attempted;
  const base = {
    rate,
    attempted,
    succeeded,
    failed: attempted - succeeded,
    failureRatio,
    achievedPerS: round1(achievedPerS),
    retransmissions: s?.retransmissions ?? 0,
    rcvbufErrors: before === undefined || after === undefined ? undefined : after - before,
    wallMs: r.wallMs,
  };
  const aborted = r.exit.signal !== null || (r.exitCode ?? 0) >= 128;
  const pass = !aborted && passes(base, ctx.criteria);
  let note: string | undefined;
  if (aborted) note = `SIPp did not end by itself (${JSON.stringify(r.exit)})`;
  else if (s === undefined) note = `no SIPp statistics (exit ${String(r.exitCode)})`;
  else if (!pass) {
    note =
      failureRatio >= ctx.criteria.maxFailureRatio
        ? `${(failureRatio * 100).toFixed(2)} % failed ${JSON.stringify(s.failureCauses)}`
        : `generator only reached ${base.achievedPerS}/s`;
  }
  const result = note === undefined ? { ...base, pass } : { ...base, pass, note };
  return aborted ? { ...result, aborted } : result;
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}
