/**
 * Calls per second through two overlay peers: SIPp UAC → peer A → overlay → peer B → SIPp UAS,
 * the callee registered at B and called at A (every call: location lookup in the overlay, then
 * forwarding to B's SIP front). The same stepped search as `npm run bench -- sip` (runTrial,
 * searchMaxRate, searchAround), the overlay (both peers, UAS, registration) restarted fresh after
 * a trial that overloaded it.
 */
import { join } from 'node:path';
import type { ProcessScope } from '../../harness/process-scope.js';
import { startOverlayPeers } from '../../harness/overlay-peers.js';
import { scenario } from '../../harness/paths.js';
import { FOUR_DIGIT_PORTS } from '../../harness/port-allocator.js';
import type { SipServer } from '../../harness/sip-server.js';
import { describeSippResult, runSipp, startSipp, writeInjectionFile } from '../../harness/sipp-runner.js';
import type { SippRun } from '../../harness/sipp-runner.js';
import { searchAround, searchMaxRate, spread } from '../sip/rate-search.js';
import type { PassCriteria, TrialResult } from '../sip/rate-search.js';
import { searchLimit } from '../sip/sip-bench.js';
import type { RepetitionResult, WorkloadResult } from '../sip/sip-bench.js';
import { runTrial } from '../sip/sip-trial.js';
import type { TrialContext } from '../sip/sip-trial.js';

export interface OverlayRateOptions {
  readonly durationS: number;
  readonly reps: number;
  /** Wall-clock budget of this search (repetitions that would start past it are skipped). */
  readonly budgetS: number;
  readonly criteria: PassCriteria;
  readonly log: (line: string) => void;
}

export interface OverlayRateResult {
  readonly workload: WorkloadResult | undefined;
  /** Fresh overlay starts after overloading trials. */
  readonly restarts: number;
  readonly wallMs: number;
  readonly error?: string;
}

const BOUNDS = { start: 250, min: 10, max: 8000 } as const;
const BUFFER_BYTES = 4 * 1024 * 1024;
const RECV_TIMEOUT_MS = 2000;
const REFINE_FACTOR = 2 ** 0.25;
const LIFETIME_MS = 30 * 60_000;

export async function benchOverlayCalls(scope: ProcessScope, opts: OverlayRateOptions): Promise<OverlayRateResult> {
  const started = Date.now();
  const dir = scope.tempDir('p2psip-bench-calls-');
  const uasPort = await scope.port();
  const genPort = await scope.port();
  const regPort = await scope.port();
  const sipPorts = [await scope.port({ range: FOUR_DIGIT_PORTS }), await scope.port({ range: FOUR_DIGIT_PORTS })];
  const callee = join(dir, 'callee.csv');
  writeInjectionFile(callee, [['callee']]);
  let starts = 0;
  let peers: SipServer[] = [];
  let uas: SippRun | undefined;

  const stopAll = async (): Promise<void> => {
    const old = peers;
    peers = [];
    await Promise.all(old.map((p) => p.stop()));
    if (uas !== undefined) await uas.stop();
    uas = undefined;
  };
  const startAll = async (): Promise<void> => {
    uas = startSipp(scope, {
      name: `uas-${starts + 1}`,
      scenario: scenario('uas.xml'),
      workDir: dir,
      localPort: uasPort,
      calls: 10_000_000,
      timeoutS: LIFETIME_MS / 1000,
      recvTimeoutMs: 10_000,
      bufferSize: BUFFER_BYTES,
    });
    peers = await startOverlayPeers(scope, { count: 2, lifetimeMs: LIFETIME_MS, logLevel: 'error', sipPorts });
    starts++;
    const b = peers[1];
    if (b === undefined) throw new Error('peer B did not start');
    const reg = await runSipp(scope, {
      name: `register-callee-${starts}`,
      scenario: scenario('register.xml'),
      workDir: dir,
      localPort: regPort,
      remote: { host: '127.0.0.1', port: b.port },
      calls: 1,
      timeoutS: 15,
      injectionFile: callee,
      keys: { contact_host: '127.0.0.1', contact_port: String(uasPort) },
    });
    if (reg.stats?.successfulCalls !== 1) throw new Error(`could not register the callee at peer B: ${describeSippResult(reg)}`);
  };
  const restart = async (): Promise<void> => {
    await stopAll();
    await startAll();
  };

  try {
    await startAll();
  } catch (err) {
    await stopAll();
    return { workload: undefined, restarts: 0, wallMs: Date.now() - started, error: (err as Error).message };
  }
  const ctx: TrialContext = {
    scope,
    workDir: dir,
    server: { host: '127.0.0.1', port: sipPorts[0] ?? 0 },
    restartServer: restart,
    workload: 'calls',
    durationS: opts.durationS,
    injectionFile: callee,
    contactPort: uasPort,
    criteria: opts.criteria,
    nstatHistory: join(dir, 'nstat.history'),
    localPort: genPort,
    bufferSize: BUFFER_BYTES,
    recvTimeoutMs: RECV_TIMEOUT_MS,
    trialIndex: { value: 0 },
  };
  const run = async (rate: number): Promise<TrialResult> => {
    let t = await runTrial(ctx, rate);
    if (t.aborted === true) {
      opts.log(`   overlay calls ${rate}/s: ${t.note ?? 'aborted'}; restarting and repeating the trial`);
      await restart();
      t = await runTrial(ctx, rate);
    }
    if (!t.pass || t.retransmissions > 0 || (t.rcvbufErrors ?? 0) > 0) await restart();
    opts.log(
      `   overlay  calls ${String(rate).padStart(6)}/s  ok ${t.succeeded}/${t.attempted}  paced ${t.achievedPerS}/s` +
        `  retrans ${t.retransmissions}  rcvbuf-err ${String(t.rcvbufErrors)}  ${t.pass ? 'PASS' : `FAIL ${t.note ?? ''}`}`,
    );
    return t;
  };
  const repetitions: RepetitionResult[] = [];
  const deadline = started + opts.budgetS * 1000;
  let error: string | undefined;
  try {
    let seed: number | undefined;
    for (let rep = 0; rep < opts.reps; rep++) {
      if (rep > 0 && Date.now() > deadline) {
        opts.log(`   overlay calls: time budget spent, ${rep} of ${opts.reps} repetitions done`);
        break;
      }
      const search =
        seed === undefined
          ? await searchMaxRate(run, { ...BOUNDS, refineSteps: 2 })
          : await searchAround(run, seed, { factor: REFINE_FACTOR, maxSteps: 8, min: BOUNDS.min, max: BOUNDS.max });
      const best = search.best;
      repetitions.push({
        maxRate: best?.rate ?? 0,
        limit: searchLimit(search.trials, best?.rate ?? 0, opts.criteria),
        achievedPerS: best?.achievedPerS ?? 0,
        trials: search.trials,
      });
      opts.log(`   overlay calls repetition ${rep + 1}: ${best === undefined ? 'nothing passed' : `${best.rate}/s`}`);
      if (seed === undefined && best !== undefined) seed = best.rate;
    }
  } catch (err) {
    error = (err as Error).message;
    opts.log(`   overlay calls aborted: ${error.split('\n')[0] ?? ''}`);
  }
  await stopAll();
  const all = repetitions.flatMap((r) => r.trials);
  const rcv = all.some((t) => t.rcvbufErrors === undefined) ? undefined : all.reduce((a, t) => a + (t.rcvbufErrors ?? 0), 0);
  const workload: WorkloadResult = {
    workload: 'calls',
    repetitions,
    maxRate: spread(repetitions.map((r) => r.maxRate)),
    rcvbufErrors: rcv,
    retransmissionsAtBest: repetitions.map((r) => r.trials.find((t) => t.pass && t.rate === r.maxRate)?.retransmissions ?? 0),
  };
  const result = { workload, restarts: Math.max(0, starts - 1), wallMs: Date.now() - started };
  return error === undefined ? result : { ...result, error };
}
