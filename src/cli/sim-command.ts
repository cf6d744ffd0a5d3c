/**
 * `p2psip sim`: runs the overlay in the simulator (src/sim) and prints what it measured.
 * The peer factory is injected (the composition root passes the real overlay peer), so the
 * command itself knows nothing of the overlay.
 */
import { performance } from 'node:perf_hooks';
import { promiseHooks, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_PARETO_SHAPE, parseDuration, type ChurnOptions } from '../sim/churn-model.js';
import { DEFAULT_PAIR_LATENCY, formatLatency, parseLatency, type LatencyDistribution } from '../sim/latency-model.js';
import type { SimPeerFactory } from '../sim/sim-peer.js';
import { DEFAULT_STORAGE_WORKLOAD_OPTIONS, type StorageWorkloadOptions } from '../sim/storage-workload-options.js';
import type { SimStorageRunStats } from '../sim/sim-stats.js';
import type { SimProgress } from '../sim/sim-run-options.js';
import type { SimLinkMode } from '../sim/sim-network-options.js';
import { runSimulation } from '../sim/sim-runner.js';
import { runSplitHeal, type SplitHealStats } from '../sim/split-heal-run.js';
import type { SimRunStats } from '../sim/sim-stats.js';

export interface SimCommandOptions {
  nodes: number;
  churn: 'none' | 'exponential' | 'pareto';
  medianSession: number;
  paretoShape: number;
  graceful: number;
  replacement: 'immediate' | 'downtime';
  duration: number;
  lookupRate: number;
  seed: number;
  latency: LatencyDistribution;
  loss: number;
  joinRate: number;
  stabilize: number;
  crashMode: 'silent' | 'reset';
  /** How the simulated stream links carry frames (SimNetworkOptions.links); default 'stream'. */
  links?: SimLinkMode;
  /** Optional: see SimRunOptions.settleQuantumMs (default 0 = exact). */
  settleQuantum?: number;
  /** Storage workload (0 or absent = none); see StorageWorkloadOptions. */
  storeValues?: number;
  valueSize?: number;
  valueLifetime?: number;
  refresh?: number;
  auditEvery?: number;
  auditSample?: number;
  targetedCrashEvery?: number;
  /** false = replica Stores and handovers off (to see the audit catch losses). */
  replication?: boolean;
  json?: boolean;
  progress?: boolean;
  /** The split/heal scenario (issue 15) instead of the lookup run. */
  splitHeal?: boolean;
}

/** Where the command writes (stdout and stderr by default; tests capture them). */
export interface SimCommandIo {
  out(text: string): void;
  err(text: string): void;
}

const STD_IO: SimCommandIo = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
};

/** The JSON printed by `p2psip sim --json`. */
export interface SimCommandReport {
  nodes: number;
  seed: number;
  churn: { model: SimCommandOptions['churn']; medianSessionS?: number; paretoShape?: number; gracefulFraction?: number; replacement?: string };
  durationS: number;
  lookupRatePerSec: number;
  latency: string;
  loss: number;
  /** The simulated links' mode (--links). */
  links: SimLinkMode;
  lookups: SimRunStats['lookups'];
  hops: SimRunStats['hops'];
  lookupLatencyMs: SimRunStats['latencyMs'];
  maintenanceBytesPerSecPerNode: number;
  totalBytesPerSecPerNode: number;
  networkBytesPerSecPerNode: number;
  memoryPerNodeBytes: number;
  population: SimRunStats['population'];
  events: number;
  virtualTotalS: number;
  wallTimeS: number;
  /** Present with --store-values. */
  storage?: SimStorageRunStats & { options: StorageWorkloadOptions };
}

/** Registers `sim` on `program`; `factory` is called once per run for the peer factory. */
export function simCommand(program: Command, factory: () => SimPeerFactory | Promise<SimPeerFactory>, io: SimCommandIo = STD_IO): Command {
  return program
    .command('sim')
    .description('run a simulated overlay (virtual time, seeded) and report lookups, hops, latency, bandwidth, memory')
    .addOption(new Option('--nodes <n>', 'number of peers').default(1000).argParser(intIn(1, 1_000_000)))
    .addOption(new Option('--churn <model>', 'session model').choices(['none', 'exponential', 'pareto']).default('none'))
    .addOption(new Option('--median-session <duration>', 'median session length (e.g. 30m, 84s, 1.4m)').default(1_800_000, '30m').argParser(duration))
    .addOption(new Option('--pareto-shape <alpha>', 'shape of the Pareto (Lomax) sessions').default(DEFAULT_PARETO_SHAPE).argParser(numberIn(1.01, 100)))
    .addOption(new Option('--graceful <fraction>', 'fraction of departures that are graceful Leaves (the rest crash)').default(0.5).argParser(numberIn(0, 1)))
    .addOption(new Option('--replacement <mode>', 'a departed peer is replaced at once or after a downtime').choices(['immediate', 'downtime']).default('immediate'))
    .addOption(new Option('--duration <duration>', 'measured virtual time after the overlay is built').default(600_000, '10m').argParser(duration))
    .addOption(new Option('--lookup-rate <per-second>', 'lookups per second over the whole overlay').default(10).argParser(numberIn(0, 1e6)))
    .addOption(new Option('--seed <n>', 'seed of every random choice').default(1).argParser(intIn(0, 0xffffffff)))
    .addOption(new Option('--latency <dist>', 'one-way latency per host pair: constant:MS, uniform:MIN:MAX, lognormal:MEDIAN:SIGMA').default(DEFAULT_PAIR_LATENCY, formatLatency(DEFAULT_PAIR_LATENCY)).argParser(latency))
    .addOption(new Option('--loss <p>', 'packet loss probability on every pair').default(0).argParser(numberIn(0, 0.5)))
    .addOption(new Option('--join-rate <per-second>', 'initial joins per second').default(20).argParser(numberIn(0.001, 1e6)))
    .addOption(new Option('--stabilize <duration>', 'quiet time after the last initial join').default(60_000, '60s').argParser(duration))
    .addOption(new Option('--crash-mode <mode>', 'a crashed host is silent or resets its links').choices(['silent', 'reset']).default('silent'))
    .addOption(new Option('--links <mode>', 'simulated links: stream (one event per write, copied) or message (writes due together delivered in one event, not copied; same timing)').choices(['stream', 'message']).default('stream'))
    .addOption(new Option('--settle-quantum <ms>', 'fire timers this close together before promise continuations run (faster, less exact)').default(0).argParser(numberIn(0, 1000)))
    .addOption(new Option('--store-values <n>', 'storage workload: values stored before the window, refreshed and audited (0 = none)').default(0).argParser(intIn(0, 10_000_000)))
    .addOption(new Option('--value-size <bytes>', 'bytes of each stored value').default(DEFAULT_STORAGE_WORKLOAD_OPTIONS.valueSize).argParser(intIn(8, 1000)))
    .addOption(new Option('--value-lifetime <duration>', 'lifetime of each Store').default(DEFAULT_STORAGE_WORKLOAD_OPTIONS.lifetimeS * 1000, '1h').argParser(duration))
    .addOption(new Option('--refresh <duration>', 'each value is re-Stored by its writer this often').default(DEFAULT_STORAGE_WORKLOAD_OPTIONS.refreshMs, '30m').argParser(duration))
    .addOption(new Option('--audit-every <duration>', 'period of the audits in the window').default(DEFAULT_STORAGE_WORKLOAD_OPTIONS.auditEveryMs, '10m').argParser(duration))
    .addOption(new Option('--audit-sample <n>', 'values fetched by each periodic audit (0 = all; the final audit fetches all)').default(DEFAULT_STORAGE_WORKLOAD_OPTIONS.auditSample).argParser(intIn(0, 10_000_000)))
    .addOption(new Option('--targeted-crash-every <duration>', 'crash the peer responsible for a random value and its successor together this often').argParser(duration))
    .option('--no-replication', 'storage without replica Stores and handovers (shows the audit catching losses)')
    .option('--split-heal', 'issue 15: the network split 50/50 while the overlay forms, --store-values stored on both sides, healed after --duration; reports the time to one ring and the values lost')
    .option('--json', 'print the results as JSON')
    .option('--progress', 'report progress on stderr')
    .action(async (o: SimCommandOptions) => {
      if (o.splitHeal === true) {
        const r = await runSplitHealCommand(o, await factory());
        io.out(o.json ? `${JSON.stringify(r, null, 2)}\n` : `p2psip sim --split-heal: ${r.nodes} peers (${r.halves.join(' + ')}), ${r.valuesStored} values stored while split; one ring ${r.oneRingAfterMs === null ? 'NOT reached' : `${(r.oneRingAfterMs / 1000).toFixed(1)} s after the heal`}; ${r.lostByMigration} not found after the data migration alone, ${r.lost} lost after the writers' re-store; ${r.wallTimeS.toFixed(1)} s wall\n`);
        process.exitCode = r.oneRingAfterMs === null || r.lost > 0 ? 1 : 0;
        return;
      }
      const report = await runSimCommand(o, await factory(), io);
      io.out(o.json ? `${JSON.stringify(report, null, 2)}\n` : renderHuman(report));
    });
}

/** The split/heal scenario (issue 15) with the command's options: --duration is the time split. */
export async function runSplitHealCommand(o: SimCommandOptions, factory: SimPeerFactory): Promise<SplitHealStats & { wallTimeS: number }> {
  exposeGc();
  const t0 = performance.now();
  const s = await runSplitHeal(
    { nodes: o.nodes, seed: o.seed, values: o.storeValues === undefined || o.storeValues === 0 ? 200 : o.storeValues, splitMs: o.duration, joinRatePerSec: o.joinRate, settleQuantumMs: o.settleQuantum ?? 0 },
    factory,
    { settle: () => new Promise<void>((resolve) => setImmediate(resolve)) },
  );
  return { ...s, wallTimeS: (performance.now() - t0) / 1000 };
}

/** Runs one simulation as the command does; wall time measured here. */
export async function runSimCommand(o: SimCommandOptions, factory: SimPeerFactory, io: SimCommandIo = STD_IO): Promise<SimCommandReport> {
  const churn: ChurnOptions | undefined =
    o.churn === 'none'
      ? undefined
      : {
          session: o.churn === 'exponential' ? { kind: 'exponential', medianMs: o.medianSession } : { kind: 'pareto', medianMs: o.medianSession, shape: o.paretoShape },
          replacement: o.replacement,
          gracefulFraction: o.graceful,
        };
  const storage: StorageWorkloadOptions | undefined =
    o.storeValues === undefined || o.storeValues === 0
      ? undefined
      : {
          ...DEFAULT_STORAGE_WORKLOAD_OPTIONS,
          values: o.storeValues,
          valueSize: o.valueSize ?? DEFAULT_STORAGE_WORKLOAD_OPTIONS.valueSize,
          lifetimeS: Math.ceil((o.valueLifetime ?? DEFAULT_STORAGE_WORKLOAD_OPTIONS.lifetimeS * 1000) / 1000),
          refreshMs: o.refresh ?? DEFAULT_STORAGE_WORKLOAD_OPTIONS.refreshMs,
          auditEveryMs: o.auditEvery ?? DEFAULT_STORAGE_WORKLOAD_OPTIONS.auditEveryMs,
          auditSample: o.auditSample ?? DEFAULT_STORAGE_WORKLOAD_OPTIONS.auditSample,
          targetedCrashEveryMs: o.targetedCrashEvery ?? 0,
          replication: o.replication ?? true,
        };
  if (storage !== undefined && storage.refreshMs >= storage.lifetimeS * 1000) throw new InvalidArgumentError('--refresh must be shorter than --value-lifetime');
  exposeGc();
  const activity = countPromiseActivity();
  const t0 = performance.now();
  const s = await runSimulation(
    {
      nodes: o.nodes,
      seed: o.seed,
      durationMs: o.duration,
      lookupRatePerSec: o.lookupRate,
      churn,
      joinRatePerSec: o.joinRate,
      stabilizeMs: o.stabilize,
      crashMode: o.crashMode,
      settleQuantumMs: o.settleQuantum ?? 0,
      storage,
      network: { pairLatency: o.latency, conditions: { loss: o.loss, duplicate: 0, reorder: 0 }, links: o.links ?? 'stream' },
    },
    factory,
    {
      settle: () => new Promise<void>((resolve) => setImmediate(resolve)),
      promiseActivity: activity.count,
      ...(o.progress ? { onProgress: (p: SimProgress) => io.err(progressLine(p)) } : {}),
    },
  ).finally(activity.stop);
  const wallTimeS = (performance.now() - t0) / 1000;
  return {
    nodes: s.nodes,
    seed: s.seed,
    churn:
      churn === undefined
        ? { model: 'none' }
        : { model: o.churn, medianSessionS: o.medianSession / 1000, ...(o.churn === 'pareto' ? { paretoShape: o.paretoShape } : {}), gracefulFraction: o.graceful, replacement: o.replacement },
    durationS: s.measuredMs / 1000,
    lookupRatePerSec: o.lookupRate,
    latency: formatLatency(o.latency),
    loss: o.loss,
    links: o.links ?? 'stream',
    lookups: s.lookups,
    hops: s.hops,
    lookupLatencyMs: s.latencyMs,
    maintenanceBytesPerSecPerNode: s.maintenanceBytesPerSecPerNode,
    totalBytesPerSecPerNode: s.totalBytesPerSecPerNode,
    networkBytesPerSecPerNode: s.networkBytesPerSecPerNode,
    memoryPerNodeBytes: s.memoryPerNodeBytes,
    population: s.population,
    events: s.events,
    virtualTotalS: s.virtualTotalMs / 1000,
    wallTimeS,
    ...(s.storage === undefined || storage === undefined ? {} : { storage: { options: storage, ...s.storage } }),
  };
}

export function renderHuman(r: SimCommandReport): string {
  const l = r.lookups;
  const churn = r.churn.model === 'none' ? 'no churn' : `${r.churn.model} sessions, median ${r.churn.medianSessionS} s`;
  return [
    `p2psip sim: ${r.nodes} peers, ${churn}, ${r.durationS} s measured (seed ${r.seed}, latency ${r.latency})`,
    `lookups     ${l.succeeded}/${l.attempted - l.abandoned} succeeded (${(l.successRate * 100).toFixed(2)} %); failed ${l.failed}, near churn ${l.failedNearChurn}, abandoned ${l.abandoned}`,
    ...Object.entries(l.failureReasons).map(([k, v]) => `              ${k}: ${v}`),
    `hops        mean ${r.hops.mean.toFixed(2)}, median ${r.hops.median}, p99 ${r.hops.p99}`,
    `latency     p50 ${r.lookupLatencyMs.p50.toFixed(0)} ms, p95 ${r.lookupLatencyMs.p95.toFixed(0)} ms, p99 ${r.lookupLatencyMs.p99.toFixed(0)} ms`,
    `bandwidth   maintenance ${r.maintenanceBytesPerSecPerNode.toFixed(1)} B/s per peer, all ${r.totalBytesPerSecPerNode.toFixed(1)} B/s per peer`,
    `population  ${r.population.alive} alive; ${r.population.joins} joins, ${r.population.leaves} leaves, ${r.population.crashes} crashes, ${r.population.joinFailures} failed joins`,
    `memory      ${(r.memoryPerNodeBytes / 1024).toFixed(1)} KiB per peer (heap growth while building)`,
    `wall time   ${r.wallTimeS.toFixed(1)} s for ${r.virtualTotalS.toFixed(0)} s of virtual time (${r.events} events)`,
    ...(r.storage === undefined ? [] : storageLines(r.storage)),
    '',
  ].join('\n');
}

function storageLines(s: NonNullable<SimCommandReport['storage']>): string[] {
  const a = s.audits;
  const f = s.finalAudit;
  const b = s.bytesPerSecPerNode;
  return [
    `storage     ${s.values} values of ${s.options.valueSize} B (${s.storedInitially} stored initially), lifetime ${s.options.lifetimeS} s, refresh every ${s.options.refreshMs / 1000} s`,
    `stores      ${s.stores.succeeded}/${s.stores.attempted} succeeded (${s.stores.failed} failed, ${s.stores.timedOut} unanswered); ${s.refreshes} refreshes in the window; ${s.ownerHandoffs} writer handoffs; ${s.targetedCrashes} targeted crashes`,
    `audits      ${a.rounds} rounds, ${a.checks} checks: ${a.passed} passed (${a.passedOnRetry} on a retry), LOST ${a.lost}, unreachable ${a.unreachable}, expired ${a.expired}`,
    `final audit ${f.checks} checks: ${f.passed} passed (${f.passedOnRetry} on a retry), LOST ${f.lost}, unreachable ${f.unreachable}, expired ${f.expired}`,
    ...s.losses.slice(0, 10).map((l) => `  lost      value ${l.value} at ${(l.atMs / 1000).toFixed(0)} s (${l.audit}): stored v${l.storedVersion}, found v${l.foundVersion}, ${l.holders.length} holders: ${l.reason}`),
    `storage B/s replication ${b.replication.toFixed(1)}, workload Stores ${b.workloadStore.toFixed(1)}, audit Fetches ${b.audit.toFixed(1)} per peer (routing maintenance above)`,
    `held        ${s.held.valuesPerNodeMean.toFixed(1)} entries per peer (max ${s.held.valuesPerNodeMax}), ${(s.held.bytesPerNodeMean / 1024).toFixed(1)} KiB; ${s.held.copiesPerValue.toFixed(2)} entries per value; load heap ${(s.loadMemoryPerNodeBytes / 1024).toFixed(1)} KiB per peer`,
  ];
}

/**
 * Counts promise creations and settlements (V8 promise hooks) while a run lasts: the runner skips
 * the macrotask turn after timers that touched no promise (SimRunDeps.promiseActivity).
 */
export function countPromiseActivity(): { count: () => number; stop: () => void } {
  let n = 0;
  const bump = (): void => {
    n++;
  };
  const off = promiseHooks.createHook({ init: bump, settled: bump });
  return { count: () => n, stop: () => void off() };
}

/**
 * Makes `globalThis.gc` available (as --expose-gc would), so the runner measures memory per node
 * after full collections instead of with garbage included.
 */
function exposeGc(): void {
  const g = globalThis as { gc?: () => void };
  if (typeof g.gc === 'function') return;
  setFlagsFromString('--expose-gc');
  g.gc = runInNewContext('gc') as () => void;
}

function progressLine(p: SimProgress): string {
  // CPU seconds of this process so far: CPU per simulated second is read from two lines
  const cpu = process.cpuUsage();
  return `sim: ${p.phase} t=${(p.virtualMs / 1000).toFixed(0)}s joined=${p.joined} lookups=${p.lookupsDone}/${p.lookupsAttempted} events=${p.events} cpu=${((cpu.user + cpu.system) / 1e6).toFixed(1)}s\n`;
}

function duration(v: string): number {
  const ms = parseDuration(v);
  if (ms === undefined || ms <= 0) throw new InvalidArgumentError('expected a duration such as 30m, 84s, 1.4m, 2h or 500ms');
  return ms;
}

function latency(v: string): LatencyDistribution {
  const d = parseLatency(v);
  if (d === undefined) throw new InvalidArgumentError('expected constant:MS, uniform:MIN:MAX or lognormal:MEDIAN:SIGMA');
  return d;
}

function intIn(min: number, max: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    return n;
  };
}

function numberIn(min: number, max: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`expected a number from ${min} to ${max}`);
    return n;
  };
}
