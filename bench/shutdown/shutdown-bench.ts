/**
 * `npm run bench -- shutdown` (issue 18): how long a peer takes to end after SIGTERM when it
 * holds thousands of values and both of its neighbours have just been killed. Each repetition
 * starts a fresh 3-peer overlay of built `p2psip up` processes on loopback, registers `values`
 * distinct AoRs through the middle peer with SIPp (every AoR is a SIP-REGISTRATION value, RFC
 * 7904; with two replicas each of the three peers ends up holding nearly all of them), waits
 * until the middle peer holds them, then `kill -9`s the other two and, `delayMs` later, sends
 * SIGTERM to the middle one. Measured: the time from SIGTERM to its exit, its exit code, the CPU
 * it used meanwhile, and the stop steps it reported as left behind.
 */
import { join } from 'node:path';
import { withScope } from '../../harness/process-scope.js';
import type { ProcessScope } from '../../harness/process-scope.js';
import { scenario } from '../../harness/paths.js';
import { startOverlayPeers } from '../../harness/overlay-peers.js';
import type { SipServer } from '../../harness/sip-server.js';
import { describeSippResult, runSipp, writeInjectionFile } from '../../harness/sipp-runner.js';
import { procCpuMs, programPid } from '../memory/proc-stats.js';

export interface ShutdownBenchOptions {
  /** Distinct AoRs registered. */
  readonly values: number;
  /**
   * Through which peers: 'all' spreads them over the three (each signs at most 5,000 resources at
   * any one storing peer: writer-quotas), 'middle' sends every one to the middle peer, which then
   * has the most registrations of its own to withdraw at stop (RFC 7904).
   */
  readonly via: 'all' | 'middle';
  /** REGISTERs per second SIPp offers (a rate the 3-peer overlay takes without failures). */
  readonly registerRate: number;
  /** One repetition per entry: ms between the kill -9 of the neighbours and the SIGTERM. */
  readonly delaysMs: readonly number[];
  /** After this long without an exit the peer is killed and the repetition counts as failed. */
  readonly giveUpMs: number;
  /** The peers' --log-level (default warn: the stop's warnings are kept). */
  readonly logLevel?: 'warn' | 'info' | 'debug';
  readonly log: (line: string) => void;
}

export interface ShutdownRepetition {
  readonly delayMs: number;
  /** Values (and resources) the middle peer held when its neighbours were killed. */
  readonly heldValues: number;
  readonly heldResources: number;
  /** REGISTERs that failed (SIPp). */
  readonly registerFailures: number;
  /** SIGTERM to exit, ms; undefined when it had not exited after `giveUpMs`. */
  readonly exitMs: number | undefined;
  readonly exitCode: number | null;
  /** CPU (user + system) the peer used between SIGTERM and exit, ms. */
  readonly cpuMs: number;
  /** The peer's log lines about its stop (steps left behind, deadline reached). */
  readonly stopLog: readonly string[];
}

export interface ShutdownBenchResult {
  readonly startedAt: string;
  readonly options: Omit<ShutdownBenchOptions, 'log'>;
  readonly repetitions: readonly ShutdownRepetition[];
  /** Largest exit time over the repetitions (giveUpMs when one did not exit). */
  readonly maxExitMs: number;
  readonly maxCpuMs: number;
  readonly wallMs: number;
}

/** The bound issue 18 sets: SIGTERM ends a peer within 10 s whatever its neighbours' state. */
export const SHUTDOWN_LIMIT_MS = 10_000;

const PEER_LIFETIME_MS = 15 * 60_000;
const HOLD_WAIT_MS = 120_000;
const CPU_SAMPLE_MS = 50;

export async function runShutdownBench(opts: ShutdownBenchOptions): Promise<ShutdownBenchResult> {
  const started = Date.now();
  const repetitions: ShutdownRepetition[] = [];
  for (const [i, delayMs] of opts.delaysMs.entries()) {
    opts.log(`== repetition ${i + 1}/${opts.delaysMs.length}: SIGTERM ${delayMs} ms after the kill -9`);
    const r = await withScope((scope) => oneRepetition(scope, opts, delayMs));
    opts.log(
      `   held ${r.heldValues} values; exit ${r.exitMs === undefined ? `none within ${opts.giveUpMs} ms` : `after ${r.exitMs} ms`}` +
        ` (code ${String(r.exitCode)}), CPU ${r.cpuMs} ms`,
    );
    for (const l of r.stopLog) opts.log(`   | ${l}`);
    repetitions.push(r);
  }
  return {
    startedAt: new Date(started).toISOString(),
    options: { logLevel: opts.logLevel ?? 'warn', via: opts.via, values: opts.values, registerRate: opts.registerRate, delaysMs: opts.delaysMs, giveUpMs: opts.giveUpMs },
    repetitions,
    maxExitMs: Math.max(0, ...repetitions.map((r) => r.exitMs ?? opts.giveUpMs)),
    maxCpuMs: Math.max(0, ...repetitions.map((r) => r.cpuMs)),
    wallMs: Date.now() - started,
  };
}

async function oneRepetition(scope: ProcessScope, opts: ShutdownBenchOptions, delayMs: number): Promise<ShutdownRepetition> {
  const peers = await startOverlayPeers(scope, { count: 3, lifetimeMs: PEER_LIFETIME_MS, logLevel: opts.logLevel ?? 'warn' });
  const [left, middle, right] = peers as [SipServer, SipServer, SipServer];
  const dir = scope.tempDir('p2psip-shutdown-');
  // the bindings point at a port nobody calls: only the stored values matter here
  const contactPort = await scope.port();
  const through = opts.via === 'all' ? peers : [middle];
  const share = Math.ceil(opts.values / through.length);
  const rate = Math.max(1, Math.round(opts.registerRate / through.length));
  const regs = await Promise.all(
    through.map(async (p, k) => {
      const users = join(dir, `users-${k}.csv`);
      writeInjectionFile(users, Array.from({ length: share }, (_, i) => [`held${k}x${i + 1}`]));
      const r = await runSipp(scope, {
        name: `register-${k}`,
        scenario: scenario('register.xml'),
        workDir: dir,
        localPort: await scope.port(),
        remote: { host: p.host, port: p.port },
        calls: share,
        rate,
        maxConcurrent: Math.max(50, rate),
        timeoutS: Math.ceil(share / rate) + 60,
        recvTimeoutMs: 5000,
        injectionFile: users,
        keys: { contact_host: '127.0.0.1', contact_port: String(contactPort) },
        defaultBehaviors: 'all,-bye',
        bufferSize: 4 * 1024 * 1024,
      });
      opts.log(`   ${describeSippResult(r)}`);
      return r;
    }),
  );
  const registered = regs.reduce((a, r) => a + (r.stats?.successfulCalls ?? 0), 0);
  const held = await waitHeld(middle, Math.floor(registered * 0.95));
  opts.log(`   middle peer holds ${held.values} values in ${held.resources} resources`);

  const pid = await programPid(middle.process.pid);
  const sinceLine = middle.process.lineCount();
  await Promise.all([left.process.stop('SIGKILL', 1000), right.process.stop('SIGKILL', 1000)]);
  if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
  const cpu0 = procCpuMs(pid) ?? 0;
  let cpuLast = cpu0;
  const sampler = setInterval(() => {
    const c = procCpuMs(pid);
    if (c !== undefined) cpuLast = c;
  }, CPU_SAMPLE_MS);
  const t0 = Date.now();
  process.kill(pid, 'SIGTERM');
  const exit = await Promise.race([
    middle.process.exited.then((e) => ({ e, ms: Date.now() - t0 })),
    new Promise<undefined>((r) => setTimeout(() => r(undefined), opts.giveUpMs)),
  ]);
  clearInterval(sampler);
  if (exit === undefined) await middle.process.stop('SIGKILL', 1000);
  const stopLog = middle.process
    .lines()
    .slice(sinceLine)
    .filter((l) => /stop|deadline|leave|hand/i.test(l))
    .slice(-20)
    .map((l) => l.slice(0, 300));
  return {
    delayMs,
    heldValues: held.values,
    heldResources: held.resources,
    registerFailures: share * through.length - registered,
    exitMs: exit?.ms,
    exitCode: exit?.e.code ?? null,
    cpuMs: Math.round(cpuLast - cpu0),
    stopLog,
  };
}

/** Polls the peer's /api/storage until it holds `want` values (or the count stops growing for 5 s). */
async function waitHeld(peer: SipServer, want: number): Promise<{ values: number; resources: number }> {
  const deadline = Date.now() + HOLD_WAIT_MS;
  let last = { values: -1, resources: 0 };
  let stableSince = Date.now();
  for (;;) {
    const s = await storageSummary(peer);
    if (s.values !== last.values) stableSince = Date.now();
    last = s;
    if (s.values >= want || Date.now() - stableSince > 5000 || Date.now() > deadline) return s;
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function storageSummary(peer: SipServer): Promise<{ values: number; resources: number }> {
  const res = await fetch(`http://127.0.0.1:${String(peer.httpPort)}/api/storage`, { signal: AbortSignal.timeout(5000) });
  const s = (await res.json()) as { values?: number; resources?: number };
  return { values: s.values ?? 0, resources: s.resources ?? 0 };
}
