/**
 * `npm run bench -- memory` (issue 18): the memory of a peer that holds 10,000 registrations and
 * carries calls.
 *
 * 1. A measured `p2psip up` peer (inspector on loopback) in an overlay of three; SIPp registers
 *    `registrations` distinct AoRs at it, every binding pointing at a SIPp UAS.
 * 2. Baseline: live memory (after a forced full GC) of the idle peer holding them, after 200
 *    warm-up calls have ended (their compiled code is not a per-call cost).
 * 3. In-flight calls: `held` calls set up through the peer (SIPp, INVITE/180/200/ACK) and held for
 *    `holdS` seconds before the BYE. Live memory is read once all are up (each call's INVITE server
 *    and client transactions are then in Accepted, Timer L/M = 64·T1 = 32 s, RFC 6026 §7.1/7.2) and
 *    again once Timer L/M has ended for all of them (the proxy keeps no dialog state: RFC 3261
 *    §16, Record-Route only). (memory − baseline) / held is the cost per in-flight call.
 * 4. Sustained: `rate` calls/s (no hold) for `durationS`, RSS (/proc) and V8 heap in use (/metrics)
 *    sampled every `sampleS`; halfway, one live-memory reading (a forced GC, ~0.1 s pause) gives
 *    what the calls of the last 32 s keep (Timer L/M/J).
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withScope } from '../../harness/process-scope.js';
import type { ProcessScope } from '../../harness/process-scope.js';
import { scenario } from '../../harness/paths.js';
import { describeSippResult, runSipp, startSipp, writeInjectionFile } from '../../harness/sipp-runner.js';
import type { SippResult } from '../../harness/sipp-runner.js';
import type { MemoryUsage } from './inspector-client.js';
import { metricsMemory, startMeasuredPeer, type MeasuredPeer } from './memory-peer.js';
import { procMemory } from './proc-stats.js';

export interface MemoryBenchOptions {
  readonly registrations: number;
  readonly registerRate: number;
  readonly held: number;
  readonly heldRate: number;
  readonly holdS: number;
  readonly rate: number;
  readonly durationS: number;
  readonly sampleS: number;
  readonly log: (line: string) => void;
}

export interface MemorySample {
  /** Seconds since the sustained phase began. */
  readonly t: number;
  readonly rssBytes: number;
  readonly heapUsedBytes: number | undefined;
}

export interface LiveReading {
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  readonly externalBytes: number;
}

export interface SippOutcome {
  readonly created: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly failureCauses: Readonly<Record<string, number>>;
  readonly retransmissions: number;
  readonly summary: string;
}

export interface MemoryBenchResult {
  readonly startedAt: string;
  readonly options: Omit<MemoryBenchOptions, 'log'>;
  readonly register: SippOutcome;
  /** AoRs the peer had bindings for after the REGISTERs (/api/status localRegistrationsTotal). */
  readonly registeredAors: number;
  readonly baseline: LiveReading;
  readonly inFlight: {
    readonly calls: SippOutcome;
    /** All `held` calls up, within Timer L/M. */
    readonly during: LiveReading;
    /** All `held` calls up, Timer L/M over for every one. */
    readonly afterTimers: LiveReading;
    /** (during − baseline) / held, bytes: heap, and RSS. */
    readonly heapPerCall: number;
    readonly rssPerCall: number;
    readonly heapPerCallAfterTimers: number;
    readonly rssPerCallAfterTimers: number;
  };
  readonly sustained: {
    readonly calls: SippOutcome;
    readonly samples: readonly MemorySample[];
    readonly maxRssBytes: number;
    readonly endRssBytes: number;
    /** VmHWM at the end of the run (peak RSS over the whole run, registrations included). */
    readonly peakRssBytes: number;
    readonly midLive: LiveReading;
    /** (midLive − baseline) heap / (rate × 32 s, or the time so far): what each call of the last Timer L/M/J window keeps. */
    readonly heapPerRecentCall: number;
  };
  readonly wallMs: number;
}

/** The RSS bound issue 18 sets for this workload, and the per-in-flight-call target. */
export const RSS_LIMIT_BYTES = 150 * 1024 * 1024;
export const PER_CALL_LIMIT_BYTES = 5 * 1024;
/** Timer L/M/J: 64·T1 with T1 = 500 ms. */
const TRANSACTION_LINGER_S = 32;

/** Calls made before the baseline so that compiled code is not counted per call. */
const WARM_UP_CALLS = 200;

const HOLD_SCENARIO = fileURLToPath(new URL('./uac-hold.xml', import.meta.url));

export async function runMemoryBench(opts: MemoryBenchOptions): Promise<MemoryBenchResult> {
  return withScope((scope) => run(scope, opts));
}

async function run(scope: ProcessScope, opts: MemoryBenchOptions): Promise<MemoryBenchResult> {
  const started = Date.now();
  const log = opts.log;
  const lifetimeMs = (opts.durationS + opts.holdS + opts.registrations / opts.registerRate + 600) * 1000;
  const dir = scope.tempDir('p2psip-memory-bench-');
  const uasPort = await scope.port();
  const uacPort = await scope.port();
  // one UAS answers every call; it waits for a held call's BYE as long as the hold lasts
  const uas = startSipp(scope, {
    name: 'uas',
    scenario: scenario('uas.xml'),
    workDir: dir,
    localPort: uasPort,
    calls: 10_000_000,
    timeoutS: Math.ceil(lifetimeMs / 1000),
    recvTimeoutMs: (opts.holdS + 30) * 1000,
    bufferSize: 4 * 1024 * 1024,
  });
  log('== starting the measured peer and two more');
  const peer = await startMeasuredPeer(scope, { lifetimeMs, others: 2 });
  const target = { host: peer.server.host, port: peer.server.port } as const;

  const users = join(dir, 'users.csv');
  writeInjectionFile(users, Array.from({ length: opts.registrations }, (_, i) => [`mem${i + 1}`]));
  log(`== registering ${opts.registrations} AoRs at ${opts.registerRate}/s`);
  const reg = await runSipp(scope, {
    name: 'register',
    scenario: scenario('register.xml'),
    workDir: dir,
    localPort: uacPort,
    remote: target,
    calls: opts.registrations,
    rate: opts.registerRate,
    maxConcurrent: Math.max(50, opts.registerRate),
    timeoutS: Math.ceil(opts.registrations / opts.registerRate) + 120,
    recvTimeoutMs: 10_000,
    injectionFile: users,
    keys: { contact_host: '127.0.0.1', contact_port: String(uasPort) },
    defaultBehaviors: 'all,-bye',
    bufferSize: 4 * 1024 * 1024,
  });
  log(`   ${describeSippResult(reg)}`);
  // calls go to the AoRs the peer has bindings for (a REGISTER refused by the overlay leaves none)
  const aors = await localRegistrations(peer);
  const registeredAors = aors.length;
  log(`   the peer has bindings for ${registeredAors} AoRs`);
  if (registeredAors === 0) throw new Error('no AoR registered: nothing to call');
  const callees = join(dir, 'callees.csv');
  writeInjectionFile(callees, aors.map((a) => [a]));
  // warm-up: the call path's code is compiled (V8 keeps it: not a per-call cost) before the
  // baseline; then the warm-up calls' transactions end (Timer L/M/J) and replica traffic settles
  const warm = await runSipp(scope, {
    name: 'warm-up',
    scenario: scenario('uac.xml'),
    workDir: dir,
    localPort: uacPort,
    remote: target,
    calls: WARM_UP_CALLS,
    rate: 50,
    maxConcurrent: WARM_UP_CALLS,
    timeoutS: 60,
    recvTimeoutMs: 10_000,
    injectionFile: callees,
    bufferSize: 4 * 1024 * 1024,
  });
  log(`   ${describeSippResult(warm)}`);
  await sleep((TRANSACTION_LINGER_S + 3) * 1000);
  const baseline = await live(peer);
  log(`   baseline: ${fmt(baseline)}`);

  log(`== ${opts.held} calls held ${opts.holdS} s (set up at ${opts.heldRate}/s)`);
  const setupS = opts.held / opts.heldRate;
  if (setupS + TRANSACTION_LINGER_S + 10 > opts.holdS) throw new Error(`--hold must exceed the set-up time + ${TRANSACTION_LINGER_S + 10} s`);
  const heldRun = startSipp(scope, {
    name: 'held',
    scenario: HOLD_SCENARIO,
    workDir: dir,
    localPort: uacPort,
    remote: target,
    calls: opts.held,
    rate: opts.heldRate,
    maxConcurrent: opts.held,
    timeoutS: Math.ceil(setupS + opts.holdS + 60),
    recvTimeoutMs: 10_000,
    injectionFile: callees,
    bufferSize: 4 * 1024 * 1024,
    extraArgs: ['-d', String(opts.holdS * 1000)],
  });
  const heldStart = Date.now();
  await sleep((setupS + 3) * 1000);
  const during = await live(peer);
  log(`   all up: ${fmt(during)}`);
  await sleep(Math.max(0, heldStart + (setupS + TRANSACTION_LINGER_S + 5) * 1000 - Date.now()));
  const afterTimers = await live(peer);
  log(`   Timer L/M over: ${fmt(afterTimers)}`);
  const held = outcome(await heldRun.done, opts.held);
  log(`   ${held.summary}`);
  const perCall = (x: LiveReading, key: 'heapUsedBytes' | 'rssBytes'): number => Math.round((x[key] - baseline[key]) / opts.held);

  log(`== ${opts.rate} calls/s for ${opts.durationS} s`);
  // the held calls' BYE transactions (Timer J) end first
  await sleep(TRANSACTION_LINGER_S * 1000 + 2000);
  const samples: MemorySample[] = [];
  const t0 = Date.now();
  const sustainedRun = startSipp(scope, {
    name: 'sustained',
    scenario: scenario('uac.xml'),
    workDir: dir,
    localPort: uacPort,
    remote: target,
    calls: opts.rate * opts.durationS,
    rate: opts.rate,
    maxConcurrent: opts.rate * 10,
    timeoutS: opts.durationS + 120,
    recvTimeoutMs: 10_000,
    injectionFile: callees,
    bufferSize: 4 * 1024 * 1024,
  });
  let midLive: LiveReading | undefined;
  let midT = opts.durationS;
  let finished = false;
  void sustainedRun.done.then(() => {
    finished = true;
  });
  let lastLog = 0;
  while (!finished) {
    const t = (Date.now() - t0) / 1000;
    const m = procMemory(peer.pid);
    if (m === undefined) throw new Error('the measured peer is gone');
    let heap: number | undefined;
    try {
      heap = (await metricsMemory(peer.server)).heapUsedBytes;
    } catch {
      heap = undefined; // a busy peer may be slow to answer: RSS still counts
    }
    samples.push({ t: Math.round(t), rssBytes: m.rssBytes, heapUsedBytes: heap });
    if (midLive === undefined && t >= opts.durationS / 2) {
      midLive = await live(peer);
      midT = t;
      log(`   halfway (${Math.round(t)} s): ${fmt(midLive)}`);
    }
    if (t - lastLog >= 60) {
      lastLog = t;
      log(`   ${Math.round(t)} s: RSS ${mib(m.rssBytes)}, heap ${heap === undefined ? '?' : mib(heap)}`);
    }
    await Promise.race([sleep(opts.sampleS * 1000), sustainedRun.done]);
  }
  const sustained = outcome(await sustainedRun.done, opts.rate * opts.durationS);
  log(`   ${sustained.summary}`);
  const end = procMemory(peer.pid);
  if (end === undefined) throw new Error('the measured peer is gone');
  if (midLive === undefined) midLive = await live(peer);
  await uas.stop();
  // the calls whose transactions may still linger at the halfway reading
  const recentCalls = opts.rate * Math.min(TRANSACTION_LINGER_S, midT);
  return {
    startedAt: new Date(started).toISOString(),
    options: {
      registrations: opts.registrations,
      registerRate: opts.registerRate,
      held: opts.held,
      heldRate: opts.heldRate,
      holdS: opts.holdS,
      rate: opts.rate,
      durationS: opts.durationS,
      sampleS: opts.sampleS,
    },
    register: outcome(reg, opts.registrations),
    registeredAors,
    baseline,
    inFlight: {
      calls: held,
      during,
      afterTimers,
      heapPerCall: perCall(during, 'heapUsedBytes'),
      rssPerCall: perCall(during, 'rssBytes'),
      heapPerCallAfterTimers: perCall(afterTimers, 'heapUsedBytes'),
      rssPerCallAfterTimers: perCall(afterTimers, 'rssBytes'),
    },
    sustained: {
      calls: sustained,
      samples,
      maxRssBytes: Math.max(end.rssBytes, ...samples.map((s) => s.rssBytes)),
      endRssBytes: end.rssBytes,
      peakRssBytes: end.hwmBytes,
      midLive,
      heapPerRecentCall: Math.round((midLive.heapUsedBytes - baseline.heapUsedBytes) / recentCalls),
    },
    wallMs: Date.now() - started,
  };
}

async function live(peer: MeasuredPeer): Promise<LiveReading> {
  const m: MemoryUsage = await peer.inspector.liveMemory();
  return { rssBytes: m.rss, heapUsedBytes: m.heapUsed, externalBytes: m.external };
}

/** The user parts of the AoRs the peer has bindings for (/api/status, paged). */
async function localRegistrations(peer: MeasuredPeer): Promise<string[]> {
  const out: string[] = [];
  for (let offset = 0; ; offset += STATUS_PAGE) {
    const url = `http://127.0.0.1:${String(peer.server.httpPort)}/api/status?offset=${offset}&limit=${STATUS_PAGE}`;
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    const s = (await res.json()) as { localRegistrations?: { aor: string }[]; localRegistrationsTotal?: number };
    for (const r of s.localRegistrations ?? []) {
      const user = /^sips?:([^@;]+)@/.exec(r.aor)?.[1];
      if (user !== undefined) out.push(user);
    }
    if (offset + STATUS_PAGE >= (s.localRegistrationsTotal ?? 0)) return out;
  }
}

/** Entries per /api/status page (its largest). */
const STATUS_PAGE = 1000;

function outcome(r: SippResult, planned: number): SippOutcome {
  const s = r.stats;
  const created = s?.totalCallsCreated ?? 0;
  const succeeded = s?.successfulCalls ?? 0;
  return {
    created,
    succeeded,
    // calls never created (SIPp stopped early) count as failed
    failed: planned - succeeded,
    failureCauses: s?.failureCauses ?? {},
    retransmissions: s?.retransmissions ?? 0,
    summary: describeSippResult(r),
  };
}

function fmt(x: LiveReading): string {
  return `RSS ${mib(x.rssBytes)}, heap ${mib(x.heapUsedBytes)}, external ${mib(x.externalBytes)}`;
}

export function mib(b: number): string {
  return `${(b / (1024 * 1024)).toFixed(1)} MiB`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
