/**
 * The routing-state trade of issue 18: hops against maintenance bandwidth for finger densities
 * (OverlayOptions.fingerDensity; 0 = Chord's log N fingers), at given overlay sizes, without churn and
 * under churn. Prints one Markdown row per run; writes nothing.
 * Usage: node --import tsx bench/overlay/overlay-trade.ts [--nodes 100,300,1000] [--density 0,0.15]
 *   [--churn none,30m] [--seed 7] [--duration 2m] [--fingers-per-range 1] [--max-fingers 192]
 */
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { runSimCommand, type SimCommandOptions, type SimCommandReport } from '../../src/cli/sim-command.js';
import { parseDuration } from '../../src/sim/churn-model.js';
import { createOverlaySimPeerFactory } from '../../src/node/overlay-sim-peer.js';
import { overlayBenchBase } from './overlay-bench.js';
import { DEFAULT_OVERLAY_OPTIONS } from '../../src/reload/overlay/overlay-types.js';

export const OVERLAY_TRADE_USAGE =
  'usage: overlay-trade [--nodes <n,n…>] [--density <d,d…>] [--churn none|<median session>,…] [--seed <n>] [--duration <d>] [--fingers-per-range <n>] [--max-fingers <n>]';

/** One run of the trade. */
export interface TradeRun {
  readonly nodes: number;
  readonly density: number;
  /** Median session in ms; undefined: no churn. */
  readonly medianSessionMs: number | undefined;
}

/** The header of {@link tradeRow}'s table. */
export const TRADE_HEADER =
  '| peers | density | churn | seed | lookups | succeeded | hops mean / median / p99 | maintenance B/s per peer | all B/s per peer | memory KiB per peer | wall s |\n|---:|---:|---|---:|---:|---:|---|---:|---:|---:|---:|';

/** A Markdown row of one run's results. */
export function tradeRow(run: TradeRun, r: SimCommandReport): string {
  const churn = run.medianSessionMs === undefined ? 'none' : `median ${(run.medianSessionMs / 60_000).toFixed(1)} min`;
  const h = r.hops;
  return `| ${r.nodes} | ${run.density} | ${churn} | ${r.seed} | ${r.lookups.attempted} | ${(r.lookups.successRate * 100).toFixed(2)} % | ${h.mean.toFixed(2)} / ${h.median} / ${h.p99} | ${r.maintenanceBytesPerSecPerNode.toFixed(0)} | ${r.totalBytesPerSecPerNode.toFixed(0)} | ${(r.memoryPerNodeBytes / 1024).toFixed(1)} | ${r.wallTimeS.toFixed(0)} |`;
}

function list(v: string, parse: (s: string) => number | undefined): number[] | undefined {
  const out = v.split(',').map((s) => parse(s.trim()));
  return out.every((x): x is number => x !== undefined) ? out : undefined;
}

/** Runs the trade; returns the process exit code (0 ok, 2 usage). */
export async function overlayTradeCommand(argv: readonly string[], out: (t: string) => void = (t) => void process.stdout.write(t)): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        nodes: { type: 'string', default: '100,300,1000' },
        density: { type: 'string', default: `0,${DEFAULT_OVERLAY_OPTIONS.fingerDensity}` },
        churn: { type: 'string', default: 'none,30m' },
        seed: { type: 'string', default: '7' },
        duration: { type: 'string', default: '2m' },
        'fingers-per-range': { type: 'string', default: String(DEFAULT_OVERLAY_OPTIONS.fingersPerRange) },
        'max-fingers': { type: 'string', default: String(DEFAULT_OVERLAY_OPTIONS.maxFingers) },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${OVERLAY_TRADE_USAGE}\n`);
    return 2;
  }
  const int = (s: string): number | undefined => (/^\d+$/.test(s) ? Number(s) : undefined);
  const nodes = list(values.nodes, (s) => { const n = int(s); return n !== undefined && n >= 2 ? n : undefined; });
  const densities = list(values.density, (s) => { const d = Number(s); return s !== '' && d >= 0 && d <= 1 ? d : undefined; });
  const churns = list(values.churn, (s) => (s === 'none' ? -1 : parseDuration(s)));
  const seed = int(values.seed);
  const duration = parseDuration(values.duration);
  const perRange = int(values['fingers-per-range']);
  const maxFingers = int(values['max-fingers']);
  if (nodes === undefined || densities === undefined || churns === undefined || seed === undefined || duration === undefined || perRange === undefined || perRange < 1 || maxFingers === undefined) {
    process.stderr.write(`bad option value\n${OVERLAY_TRADE_USAGE}\n`);
    return 2;
  }
  const base: SimCommandOptions = overlayBenchBase(duration, 10, seed);
  const quietIo = { out: () => {}, err: () => {} };
  out(`${TRADE_HEADER}\n`);
  for (const n of nodes) {
    for (const c of churns) {
      for (const density of densities) {
        const run: TradeRun = { nodes: n, density, medianSessionMs: c < 0 ? undefined : c };
        const factory = createOverlaySimPeerFactory({ overlay: { fingerDensity: density, fingersPerRange: perRange, maxFingers } });
        const opts: SimCommandOptions = run.medianSessionMs === undefined ? { ...base, nodes: n } : { ...base, nodes: n, churn: 'exponential', medianSession: run.medianSessionMs };
        const report = await runSimCommand(opts, factory, quietIo);
        out(`${tradeRow(run, report)}\n`);
      }
    }
  }
  return 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  overlayTradeCommand(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`overlay-trade failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
