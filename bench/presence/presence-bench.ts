/**
 * `npm run bench -- presence` (issue 16): NOTIFY fan-out latency and presence updates per second
 * with 1,000 watchers, through an overlay of `p2psip up` peers and, in the same run, through
 * Kamailio's presence server (bench/kamailio/kamailio-presence.cfg), with the same generator
 * (presence-load.ts) and the same layout (presence-layout.ts). For each system, on freshly started
 * servers:
 * 1. every presentity publishes its first state (sequence number 0);
 * 2. every watcher subscribes (at a bounded rate); the run waits (bounded) until each has had a
 *    NOTIFY, and until each shows its presentity's state;
 * 3. fan-out rounds: one presentity publishes a new state; per watcher, the time from sending the
 *    PUBLISH to the first NOTIFY carrying it; rounds spaced beyond the peers' 200 ms NOTIFY pacing;
 * 4. publication rates: PUBLISHes at a fixed rate spread over the presentities for a few seconds
 *    per step; PUBLISHes answered 200 per second and their latency, NOTIFYs delivered per second,
 *    and whether every watcher ends on its presentity's last state (bounded wait).
 * CPU time of the servers (their process groups, /proc) and of this process, the event-loop delay
 * of this process and the machine's UDP receive-buffer drops are read around each step: the
 * generator shares the machine's cores with the servers.
 */
import { readFileSync, readdirSync, copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { REPO_ROOT } from '../../harness/paths.js';
import { withScope, type ProcessScope } from '../../harness/process-scope.js';
import { startOverlayPeers } from '../../harness/overlay-peers.js';
import { startKamailio, type SipServer } from '../../harness/sip-server.js';
import { percentile } from '../calls/post-dial-delay.js';
import { spread } from '../sip/rate-search.js';
import { load1, udpRcvbufErrors } from '../sip/system-info.js';
import { checkLayout, type PresenceLayout } from './presence-layout.js';
import { PresenceLoad, type LoadCounters } from './presence-load.js';
import {
  groupsCpuMs,
  parseProcStat,
  ratesPerSecond,
  summariseRound,
  summariseRounds,
  summariseSteps,
  type CounterSample,
  type ProcStat,
  type RateSummary,
  type RoundsSummary,
  type RoundSummary,
  type StepResult,
} from './presence-stats.js';

export type PresenceSystem = 'p2psip' | 'kamailio';

export interface PresenceBenchOptions {
  readonly systems: readonly PresenceSystem[];
  /** Overlay peers (and generator lanes: one socket each, on Kamailio too). */
  readonly peers: number;
  readonly presentities: number;
  readonly watchers: number;
  /** SUBSCRIBEs per second at most. */
  readonly subscribeRate: number;
  readonly rounds: number;
  /** Pause after each fan-out round, ms (beyond the peers' 200 ms NOTIFY pacing). */
  readonly roundGapMs: number;
  /** A round's bound: watchers not reached by then count as missed. */
  readonly roundTimeoutMs: number;
  /** PUBLISH/s of each rate step, over all presentities. */
  readonly rates: readonly number[];
  readonly stepS: number;
  /** Times the rate ladder is climbed (each rate once per repetition). */
  readonly reps: number;
  /** After a step: how long every watcher may take to show its presentity's last state. */
  readonly settleMs: number;
  readonly kamailioWorkers: number;
  /** Kamailio's shared memory, MiB (its tm keeps each NOTIFY transaction 5 s after the answer: 1,000 watchers need far more than its default). */
  readonly kamailioShmMb: number;
  readonly log: (line: string) => void;
}

export interface FanOutRound extends RoundSummary {
  readonly presentity: number;
  readonly seq: number;
  readonly publishStatus: number;
  readonly publishMs: number;
}

export interface SystemResult {
  readonly system: PresenceSystem;
  readonly description: string;
  /** Start of the servers until ready (the overlay: all joined), ms. */
  readonly startMs: number;
  /** SO_RCVBUF the generator's sockets got, bytes. */
  readonly receiveBufferBytes: number;
  readonly initialPublishOk: number;
  readonly subscribeOk: number;
  readonly subscribeStatuses: Readonly<Record<string, number>>;
  /** From the first SUBSCRIBE sent to the last one answered, ms. */
  readonly subscribeMs: number;
  /** Watchers with a NOTIFY, and when all had one (ms after the first SUBSCRIBE; undefined: not within the bound). */
  readonly notified: number;
  readonly allNotifiedMs: number | undefined;
  /** Watchers showing the initial state, and when all did. */
  readonly initialState: number;
  readonly allInitialStateMs: number | undefined;
  readonly rounds: readonly FanOutRound[];
  readonly latency: RoundsSummary;
  readonly steps: readonly StepResult[];
  /** The steps summed up per offered rate (over the repetitions). */
  readonly rates: readonly RateSummary[];
  /** Generator counters at the end (before the servers stop), and NOTIFYs terminated when they stopped. */
  readonly counters: LoadCounters;
  readonly terminatedAtStop: number;
  /** The peers' presence counters (GET /api/status services.presence), at the end. */
  readonly serverStatus: readonly unknown[];
  readonly load1Before: number;
  readonly load1After: number;
  readonly wallMs: number;
  readonly error?: string;
}

export interface PresenceBenchResult {
  readonly startedAt: string;
  readonly options: Omit<PresenceBenchOptions, 'log'>;
  readonly systems: readonly SystemResult[];
  readonly wallMs: number;
}

export const BENCH_DOMAIN = 'p2psip.local';
export const KAMAILIO_PRESENCE_CFG = join(REPO_ROOT, 'bench', 'kamailio', 'kamailio-presence.cfg');
/** Debian's db_text table definitions (package kamailio). */
export const DBTEXT_TABLES = '/usr/share/kamailio/dbtext/kamailio';
const KAMAILIO_TABLES = ['version', 'presentity', 'active_watchers', 'watchers', 'xcap'] as const;

const LIFETIME_MS = 10 * 60_000;
const EXPIRES_S = 1800;
const TX_TIMEOUT_MS = 8000;
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;
const FIRST_NOTIFY_BOUND_MS = 30_000;
const INITIAL_STATE_BOUND_MS = 15_000;
/** Interval of the event-loop delay histogram's timer, ms. */
const LOOP_DELAY_RESOLUTION_MS = 5;

export async function runPresenceBench(opts: PresenceBenchOptions): Promise<PresenceBenchResult> {
  const started = Date.now();
  const layout = checkLayout({ lanes: opts.peers, presentities: opts.presentities, watchers: opts.watchers });
  const systems: SystemResult[] = [];
  for (const system of opts.systems) {
    opts.log(`== ${system}`);
    const t0 = Date.now();
    const before = load1();
    try {
      systems.push(await withScope((scope) => runSystem(scope, system, layout, opts)));
    } catch (err) {
      const message = err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err);
      opts.log(`   ERROR ${message}`);
      systems.push(failedSystem(system, opts, before, Date.now() - t0, message));
    }
  }
  const { log: _log, ...options } = opts;
  return { startedAt: new Date(started).toISOString(), options, systems, wallMs: Date.now() - started };
}

function describe(system: PresenceSystem, o: PresenceBenchOptions): string {
  return system === 'p2psip'
    ? `${o.peers} \`p2psip up\` peers, open overlay, on loopback: each presentity publishes at one peer, its watchers subscribe at all ${o.peers}`
    : `one Kamailio (presence + presence_xml, ${o.kamailioWorkers} UDP workers, ${o.kamailioShmMb} MiB shared memory, db_text, subscriptions in memory): every watcher and presentity`;
}

function failedSystem(system: PresenceSystem, o: PresenceBenchOptions, load1Before: number, wallMs: number, error: string): SystemResult {
  return {
    system,
    description: describe(system, o),
    startMs: 0,
    receiveBufferBytes: 0,
    initialPublishOk: 0,
    subscribeOk: 0,
    subscribeStatuses: {},
    subscribeMs: 0,
    notified: 0,
    allNotifiedMs: undefined,
    initialState: 0,
    allInitialStateMs: undefined,
    rounds: [],
    latency: summariseRounds([]),
    steps: [],
    rates: [],
    counters: { notifies: 0, notifiesInOrder: 0, notifiesUnknown: 0, notifiesTerminated: 0, publishOk: 0, stray: 0, retransmissions: 0 },
    terminatedAtStop: 0,
    serverStatus: [],
    load1Before,
    load1After: load1(),
    wallMs,
    error,
  };
}

async function startServers(scope: ProcessScope, system: PresenceSystem, o: PresenceBenchOptions): Promise<SipServer[]> {
  if (system === 'p2psip') return startOverlayPeers(scope, { count: o.peers, lifetimeMs: LIFETIME_MS, logLevel: 'error', overlay: BENCH_DOMAIN });
  const db = join(scope.tempDir('kamailio-presence-db-'), 'db');
  mkdirSync(db);
  for (const table of KAMAILIO_TABLES) copyFileSync(join(DBTEXT_TABLES, table), join(db, table));
  const k = await startKamailio(scope, { lifetimeMs: LIFETIME_MS, workers: o.kamailioWorkers, sharedMemoryMb: o.kamailioShmMb, configPath: KAMAILIO_PRESENCE_CFG, defines: { DBURL: `"text://${db}"` } });
  return [k];
}

async function runSystem(scope: ProcessScope, system: PresenceSystem, layout: PresenceLayout, o: PresenceBenchOptions): Promise<SystemResult> {
  const t0 = Date.now();
  const load1Before = load1();
  const servers = await startServers(scope, system, o);
  const startMs = Date.now() - t0;
  o.log(`   started in ${startMs} ms`);
  const groups = new Set(servers.map((s) => s.process.pid));
  const nstatHistory = join(scope.tempDir('presence-nstat-'), 'nstat.history');
  const targets = Array.from({ length: layout.lanes }, (_, i) => {
    const s = servers[i % servers.length]!;
    return { host: '127.0.0.1', port: s.port };
  });
  const load = await PresenceLoad.open({ layout, targets, domain: BENCH_DOMAIN, subscribeExpiresS: EXPIRES_S, publishExpiresS: EXPIRES_S, transactionTimeoutMs: TX_TIMEOUT_MS, socketBufferBytes: SOCKET_BUFFER_BYTES });
  try {
    // 1. first states
    const initial = await Promise.all(Array.from({ length: layout.presentities }, (_, j) => load.publish(j)));
    const initialPublishOk = initial.filter((r) => r.status === 200).length;
    o.log(`   initial PUBLISH: ${initialPublishOk}/${layout.presentities} answered 200 (${histogram(initial.map((r) => r.status))})`);
    // 2. subscriptions
    const subStart = performance.now();
    const statuses = await load.subscribeAll(o.subscribeRate);
    const subscribeMs = performance.now() - subStart;
    const subscribeOk = statuses.filter((s) => s >= 200 && s < 300).length;
    o.log(`   SUBSCRIBE: ${subscribeOk}/${layout.watchers} answered 2xx in ${subscribeMs.toFixed(0)} ms (${histogram(statuses)})`);
    const allNotified = await load.until(() => load.notifiedCount() === layout.watchers, FIRST_NOTIFY_BOUND_MS);
    const allNotifiedMs = allNotified ? performance.now() - subStart : undefined;
    const allInitial = await load.until(() => load.convergedCount() === layout.watchers, INITIAL_STATE_BOUND_MS);
    const allInitialStateMs = allInitial ? performance.now() - subStart : undefined;
    const notified = load.notifiedCount();
    const initialState = load.convergedCount();
    o.log(`   ${notified} watchers notified${allNotifiedMs === undefined ? '' : ` (all after ${allNotifiedMs.toFixed(0)} ms)`}; ${initialState} show the initial state`);
    // 3. fan-out rounds
    const rounds: FanOutRound[] = [];
    for (let r = 0; r < o.rounds; r++) {
      const j = r % layout.presentities;
      const { publish, latencies } = await load.probe(j, o.roundTimeoutMs, system === 'p2psip');
      const s = summariseRound(latencies);
      rounds.push({ ...s, presentity: j, seq: publish.seq, publishStatus: publish.status, publishMs: publish.ms });
      o.log(
        `   round ${r + 1}: pres${j} PUBLISH ${publish.status} in ${publish.ms.toFixed(1)} ms; ${s.reached}/${s.watchers} reached, ` +
          `median ${s.medianMs.toFixed(1)} ms, last ${s.lastMs === undefined ? '—' : `${s.lastMs.toFixed(1)} ms`}`,
      );
      await sleep(o.roundGapMs);
    }
    const latency = summariseRounds(rounds);
    // 4. rate steps
    const steps: StepResult[] = [];
    for (let rep = 1; rep <= o.reps; rep++) {
      for (const rate of o.rates) {
        const step = await rateStep(load, layout, groups, nstatHistory, rate, rep, o);
        steps.push(step);
        o.log(
          `   [${rep}] ${rate} PUBLISH/s: ${step.ok}/${step.offered} answered 200 (${step.okPerS.toFixed(1)}/s, skipped ${step.skippedBusy}, failed ${histogram(Object.entries(step.failed).flatMap(([k, n]) => Array<string>(n).fill(k)))}), ` +
            `PUBLISH median ${step.publishMs.median.toFixed(1)} ms, ${step.notifiesPerS.toFixed(0)} NOTIFY/s, ${step.converged}/${layout.watchers} on the last state` +
            `${step.convergedAfterMs === undefined ? '' : ` after ${step.convergedAfterMs.toFixed(0)} ms`}; servers ${step.serverCores.toFixed(2)} cores, generator ${step.generatorCores.toFixed(2)}`,
        );
        await sleep(500);
      }
    }
    const counters = { ...load.counters };
    const serverStatus = system === 'p2psip' ? await Promise.all(servers.map((s) => presenceStatus(s))) : [];
    // the servers end their subscriptions at stop (terminated NOTIFYs): the generator answers them
    const terminatedBefore = load.counters.notifiesTerminated;
    await Promise.all(servers.map((s) => s.stop()));
    const terminatedAtStop = load.counters.notifiesTerminated - terminatedBefore;
    return {
      system,
      description: describe(system, o),
      startMs,
      receiveBufferBytes: load.receiveBufferBytes(),
      initialPublishOk,
      subscribeOk,
      subscribeStatuses: countBy(statuses),
      subscribeMs,
      notified,
      allNotifiedMs,
      initialState,
      allInitialStateMs,
      rounds,
      latency,
      steps,
      rates: summariseSteps(steps),
      counters,
      terminatedAtStop,
      serverStatus,
      load1Before,
      load1After: load1(),
      wallMs: Date.now() - t0,
    };
  } finally {
    load.close();
  }
}

async function rateStep(load: PresenceLoad, layout: PresenceLayout, groups: ReadonlySet<number>, nstatHistory: string, rate: number, rep: number, o: PresenceBenchOptions): Promise<StepResult> {
  const slots = Math.max(1, Math.round(rate * o.stepS));
  const interval = 1000 / rate;
  const notifySamples: CounterSample[] = [];
  const okSamples: CounterSample[] = [];
  const sample = (): void => {
    const at = performance.now();
    notifySamples.push({ atMs: at, value: load.counters.notifiesInOrder });
    okSamples.push({ atMs: at, value: load.counters.publishOk });
  };
  const udp0 = udpRcvbufErrors(nstatHistory);
  const inOrder0 = load.counters.notifiesInOrder;
  const delay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  delay.enable();
  const cpu0 = process.cpuUsage();
  const server0 = groupsCpuMs(procStats(), groups);
  const start = performance.now();
  sample();
  const ticker = setInterval(sample, 1000);
  const sent: Array<Promise<{ status: number; ms: number }>> = [];
  let skippedBusy = 0;
  for (let i = 0; i < slots; i++) {
    const wait = start + i * interval - performance.now();
    if (wait > 1) await sleep(wait);
    const j = i % layout.presentities;
    if (load.busy[j] === 1) {
      skippedBusy++;
      continue;
    }
    sent.push(load.publish(j));
  }
  await sleep(start + o.stepS * 1000 - performance.now());
  clearInterval(ticker);
  sample();
  const windowMs = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  const serverMs = groupsCpuMs(procStats(), groups) - server0;
  delay.disable();
  const inOrderInWindow = load.counters.notifiesInOrder - inOrder0;
  const results = await Promise.all(sent);
  const answeredAt = performance.now();
  const converged = await load.until(() => load.convergedCount() === layout.watchers, o.settleMs);
  const convergedAfterMs = converged ? performance.now() - answeredAt : undefined;
  const udp1 = udpRcvbufErrors(nstatHistory);
  const okMs = results.filter((r) => r.status === 200).map((r) => r.ms);
  const failed = countBy(results.filter((r) => r.status !== 200).map((r) => r.status));
  const watchersPerPresentity = layout.watchers / layout.presentities;
  return {
    rep,
    rate,
    durationS: o.stepS,
    offered: slots,
    sent: sent.length,
    skippedBusy,
    ok: okMs.length,
    failed,
    okPerS: okMs.length / o.stepS,
    okPerSecond: spread(ratesPerSecond(okSamples.slice(0, -1))),
    publishMs: spread(okMs),
    publishP90Ms: percentile(okMs, 0.9),
    notifiesPerS: (inOrderInWindow * 1000) / windowMs,
    notifiesPerSecond: spread(ratesPerSecond(notifySamples.slice(0, -1))),
    notifiesPerChange: okMs.length === 0 ? 0 : (load.counters.notifiesInOrder - inOrder0) / (okMs.length * watchersPerPresentity),
    converged: load.convergedCount(),
    convergedAfterMs,
    serverCores: serverMs / windowMs,
    generatorCores: (cpu.user + cpu.system) / 1000 / windowMs,
    // the histogram records the interval of its own timer: its resolution is not delay
    loopDelayP99Ms: Math.max(0, delay.percentile(99) / 1e6 - LOOP_DELAY_RESOLUTION_MS),
    loopDelayMaxMs: Math.max(0, delay.max / 1e6 - LOOP_DELAY_RESOLUTION_MS),
    udpRcvbufErrors: udp0 === undefined || udp1 === undefined ? undefined : udp1 - udp0,
  };
}

/** Every process's /proc/<pid>/stat (processes that end meanwhile are left out). */
function procStats(): ProcStat[] {
  const out: ProcStat[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const s = parseProcStat(readFileSync(`/proc/${e}/stat`, 'utf8'));
      if (s !== undefined) out.push(s);
    } catch {
      // gone
    }
  }
  return out;
}

async function presenceStatus(s: SipServer): Promise<unknown> {
  try {
    const res = await fetch(`http://127.0.0.1:${String(s.httpPort)}/api/status`, { signal: AbortSignal.timeout(5000) });
    const body = (await res.json()) as { services?: { presence?: unknown } };
    return body.services?.presence ?? null;
  } catch (err) {
    return { error: (err as Error).message };
  }
}

function countBy(values: ReadonlyArray<number | string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[String(v)] = (out[String(v)] ?? 0) + 1;
  return out;
}

function histogram(values: ReadonlyArray<number | string>): string {
  const c = Object.entries(countBy(values));
  return c.length === 0 ? 'none' : c.map(([k, n]) => `${k}×${n}`).join(', ');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)));
}
