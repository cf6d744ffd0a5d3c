/**
 * `p2psip sim`: runs the overlay in the simulator (src/sim) and prints what it measured.
 * The peer factory is injected (the composition root passes the real overlay peer), so the
 * command itself knows nothing of the overlay.
 */
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_PARETO_SHAPE, parseDuration, type ChurnOptions } from '../sim/churn-model.js';
import { DEFAULT_PAIR_LATENCY, formatLatency, parseLatency, type LatencyDistribution } from '../sim/latency-model.js';
import type { SimPeerFactory } from '../sim/sim-peer.js';
import type { SimProgress } from '../sim/sim-run-options.js';
import { runSimulation } from '../sim/sim-runner.js';
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
  /** Optional: see SimRunOptions.settleQuantumMs (default 0 = exact). */
  settleQuantum?: number;
  json?: boolean;
  progress?: boolean;
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
    .addOption(new Option('--settle-quantum <ms>', 'fire timers this close together before promise continuations run (faster, less exact)').default(0).argParser(numberIn(0, 1000)))
    .option('--json', 'print the results as JSON')
    .option('--progress', 'report progress on stderr')
    .action(async (o: SimCommandOptions) => {
      const report = await runSimCommand(o, await factory(), io);
      io.out(o.json ? `${JSON.stringify(report, null, 2)}\n` : renderHuman(report));
    });
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
  exposeGc();
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
      network: { pairLatency: o.latency, conditions: { loss: o.loss, duplicate: 0, reorder: 0 } },
    },
    factory,
    {
      settle: () => new Promise<void>((resolve) => setImmediate(resolve)),
      ...(o.progress ? { onProgress: (p: SimProgress) => io.err(progressLine(p)) } : {}),
    },
  );
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
    '',
  ].join('\n');
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
  return `sim: ${p.phase} t=${(p.virtualMs / 1000).toFixed(0)}s joined=${p.joined} lookups=${p.lookupsDone}/${p.lookupsAttempted}\n`;
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
