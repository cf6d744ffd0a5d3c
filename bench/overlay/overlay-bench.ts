/**
 * The `overlay` benchmark: the overlay in the simulator at N = 100 … 10,000 peers without churn,
 * and at 1,000 peers under churn (exponential sessions, medians 30 min and 1.4 min). Writes
 * bench/results/overlay-<date>.json, the BENCHMARKS.md section and docs/overlay-bench.svg.
 * Usage: npm run bench -- overlay [--max-nodes <n>] [--duration <d>] [--lookup-rate <r>] [--seed <n>] [--stand-in] [--no-write]
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { runSimCommand, type SimCommandOptions } from '../../src/cli/sim-command.js';
import { parseDuration } from '../../src/sim/churn-model.js';
import { DEFAULT_PAIR_LATENCY } from '../../src/sim/latency-model.js';
import type { SimPeerFactory } from '../../src/sim/sim-peer.js';
import { codecMachineInfo } from '../codec/codec-report.js';
import { renderOverlaySection, writeOverlayResults, type OverlayBenchReport, type OverlayScenario } from './overlay-report.js';

/** The simulator options every overlay benchmark run starts from (no churn, the default latency model, 20 joins/s, 60 s to settle). */
export function overlayBenchBase(duration: number, lookupRate: number, seed: number): SimCommandOptions {
  return {
    nodes: 0,
    churn: 'none',
    medianSession: 1_800_000,
    paretoShape: 3,
    graceful: 0.5,
    replacement: 'immediate',
    duration,
    lookupRate,
    seed,
    latency: DEFAULT_PAIR_LATENCY,
    loss: 0,
    joinRate: 20,
    stabilize: 60_000,
    crashMode: 'silent',
  };
}

export const OVERLAY_USAGE =
  'usage: npm run bench -- overlay [--max-nodes <n>] [--duration <d>] [--lookup-rate <per-s>] [--seed <n>] [--stand-in] [--no-write] [--out-dir <dir>]';

export const OVERLAY_SIZES = [100, 300, 1000, 3000, 10_000] as const;
const CHURN_NODES = 1000;
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Where the peers come from: the real overlay (default) or the stand-in oracle peer (harness/oracle-peer.ts). */
export type FactoryLoader = (standIn: boolean) => Promise<SimPeerFactory>;

/** The real overlay peer (src/node/overlay-sim-peer.ts) or, with --stand-in, the oracle peer; imported lazily. */
export async function loadPeerFactory(standIn: boolean): Promise<SimPeerFactory> {
  const spec = standIn ? '../../harness/oracle-peer.js' : '../../src/node/overlay-sim-peer.js';
  const name = standIn ? 'createOraclePeerFactory' : 'createOverlaySimPeerFactory';
  const mod = (await import(spec)) as Record<string, unknown>;
  const make = mod[name];
  if (typeof make !== 'function') throw new Error(`${spec} does not export ${name}`);
  return (make as () => SimPeerFactory)();
}

/** Runs the command; returns the process exit code (0 ok, 2 usage). */
export async function overlayCommand(argv: readonly string[], load: FactoryLoader = loadPeerFactory): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        'max-nodes': { type: 'string', default: '10000' },
        duration: { type: 'string', default: '5m' },
        'lookup-rate': { type: 'string', default: '10' },
        seed: { type: 'string', default: '1' },
        'stand-in': { type: 'boolean', default: false },
        'no-write': { type: 'boolean', default: false },
        'out-dir': { type: 'string' },
        quiet: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${OVERLAY_USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${OVERLAY_USAGE}\n`);
    return 0;
  }
  const maxNodes = Number(values['max-nodes']);
  const durationMs = parseDuration(values.duration);
  const rate = Number(values['lookup-rate']);
  const seed = Number(values.seed);
  if (!(Number.isInteger(maxNodes) && maxNodes >= 2) || durationMs === undefined || !(rate >= 0) || !Number.isInteger(seed)) {
    process.stderr.write(`--max-nodes must be an integer >= 2, --duration a duration (5m, 90s), --lookup-rate >= 0, --seed an integer\n${OVERLAY_USAGE}\n`);
    return 2;
  }
  const log = values.quiet ? () => {} : (t: string) => void process.stderr.write(t);
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const machine = codecMachineInfo();
  const standIn = values['stand-in'];
  const factory = async (): Promise<SimPeerFactory> => load(standIn);
  const base = overlayBenchBase(durationMs, rate, seed);
  const quietIo = { out: () => {}, err: () => {} };
  const scenarios: OverlayScenario[] = [];
  const sizes = OVERLAY_SIZES.filter((n) => n <= maxNodes);
  for (const nodes of sizes) {
    log(`overlay bench: ${nodes} peers, no churn…\n`);
    const report = await runSimCommand({ ...base, nodes }, await factory(), quietIo);
    log(`  ${(report.lookups.successRate * 100).toFixed(2)} % ok, ${report.hops.mean.toFixed(2)} hops, ${report.maintenanceBytesPerSecPerNode.toFixed(0)} B/s, ${report.wallTimeS.toFixed(0)} s wall\n`);
    scenarios.push({ name: `${nodes.toLocaleString('en-US')} peers`, kind: 'scale', report });
  }
  const churnNodes = Math.min(CHURN_NODES, maxNodes);
  for (const [label, median] of [
    ['30 min', 1_800_000],
    ['1.4 min', 84_000],
  ] as const) {
    log(`overlay bench: ${churnNodes} peers, exponential sessions, median ${label}…\n`);
    const report = await runSimCommand({ ...base, nodes: churnNodes, churn: 'exponential', medianSession: median }, await factory(), quietIo);
    log(`  ${(report.lookups.successRate * 100).toFixed(2)} % ok, ${report.population.leaves + report.population.crashes} departures, ${report.wallTimeS.toFixed(0)} s wall\n`);
    scenarios.push({ name: `churn, median session ${label}`, kind: 'churn', report });
  }
  const args = argv.length > 0 ? ` ${argv.join(' ')}` : '';
  const report: OverlayBenchReport = {
    startedAt,
    durationS: (performance.now() - t0) / 1000,
    command: `npm run bench -- overlay${args}`,
    peer: standIn ? 'stand-in' : 'overlay',
    machine,
    scenarios,
  };
  process.stdout.write(`${renderOverlaySection(report, 'bench/results/<file>')}\n`);
  if (!values['no-write']) {
    const written = writeOverlayResults(report, values['out-dir'] ?? REPO_ROOT);
    process.stdout.write(`wrote ${written.join(', ')}\n`);
  }
  return 0;
}
