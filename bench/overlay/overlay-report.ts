/**
 * Results of the `overlay` benchmark: bench/results/overlay-<date>.json, the overlay section of
 * BENCHMARKS.md (only the text between its markers is rewritten) and docs/overlay-bench.svg.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { resultFileName, writeBenchmarksSection, writeJsonFile } from '../bench-files.js';
import { replaceMarkedSection } from '../marked-section.js';
import { join } from 'node:path';
import type { SimCommandReport } from '../../src/cli/sim-command.js';
import type { CodecMachine } from '../codec/codec-report.js';
import { renderOverlaySvg } from './overlay-svg.js';

export interface OverlayScenario {
  readonly name: string;
  readonly kind: 'scale' | 'churn';
  readonly report: SimCommandReport;
}

export interface OverlayBenchReport {
  readonly startedAt: string;
  readonly durationS: number;
  readonly command: string;
  /** 'overlay' = the real RELOAD/CHORD-RELOAD peer; 'stand-in' = the oracle test peer (not a measurement of the overlay). */
  readonly peer: 'overlay' | 'stand-in';
  readonly machine: CodecMachine;
  readonly scenarios: readonly OverlayScenario[];
}

export const OVERLAY_SECTION_START = '<!-- overlay-bench:start (written by `npm run bench -- overlay`; edits here are overwritten) -->';
export const OVERLAY_SECTION_END = '<!-- overlay-bench:end -->';
export const OVERLAY_SVG = 'docs/overlay-bench.svg';

/** Writes the JSON, the BENCHMARKS.md section and the SVG below `root`; returns the relative paths written. */
export function writeOverlayResults(report: OverlayBenchReport, root: string): string[] {
  const file = `bench/results/${resultFileName('overlay', report.startedAt)}`;
  writeJsonFile(root, file, report);
  mkdirSync(join(root, 'docs'), { recursive: true });
  writeFileSync(join(root, OVERLAY_SVG), overlaySvg(report));
  writeBenchmarksSection(root, OVERLAY_SECTION_START, OVERLAY_SECTION_END, renderOverlaySection(report, file));
  return [file, OVERLAY_SVG, 'BENCHMARKS.md'];
}

export function replaceOverlaySection(doc: string, section: string): string {
  return replaceMarkedSection(doc, OVERLAY_SECTION_START, OVERLAY_SECTION_END, section);
}

export function overlaySvg(r: OverlayBenchReport): string {
  const scale = r.scenarios.filter((s) => s.kind === 'scale').map((s) => s.report);
  const pts = (f: (x: SimCommandReport) => number): [number, number][] => scale.map((x) => [x.nodes, f(x)]);
  return renderOverlaySvg(
    [
      {
        title: 'Lookup hops',
        yLabel: 'hops',
        series: [
          { label: 'mean', color: '#1f77b4', points: pts((x) => x.hops.mean) },
          { label: 'p99', color: '#ff7f0e', points: pts((x) => x.hops.p99) },
          { label: '½·log2 N', color: '#aaaaaa', points: pts((x) => Math.log2(x.nodes) / 2) },
        ],
      },
      { title: 'Lookup success', yLabel: 'succeeded (%)', yRange: [0, 100], series: [{ label: 'no churn', color: '#2ca02c', points: pts((x) => 100 * x.lookups.successRate) }] },
      {
        title: 'Bandwidth per peer',
        yLabel: 'bytes/s sent per peer',
        series: [
          { label: 'maintenance', color: '#d62728', points: pts((x) => x.maintenanceBytesPerSecPerNode) },
          { label: 'all (lookups too)', color: '#9467bd', points: pts((x) => x.totalBytesPerSecPerNode) },
        ],
      },
    ],
    `p2psip overlay in the simulator, no churn (${r.peer === 'overlay' ? 'RELOAD / CHORD-RELOAD peer' : 'STAND-IN oracle peer, not the overlay'}), ${r.startedAt.slice(0, 10)}`,
  );
}

export function renderOverlaySection(r: OverlayBenchReport, file: string): string {
  const m = r.machine;
  const first = r.scenarios[0]?.report;
  const row = (s: OverlayScenario): string => {
    const x = s.report;
    const l = x.lookups;
    return `| ${s.name} | ${x.nodes.toLocaleString('en-US')} | ${l.attempted - l.abandoned} | ${(100 * l.successRate).toFixed(2)} % | ${l.failedNearChurn} | ${x.hops.mean.toFixed(2)} / ${x.hops.median} / ${x.hops.p99} | ${x.lookupLatencyMs.p50.toFixed(0)} / ${x.lookupLatencyMs.p95.toFixed(0)} / ${x.lookupLatencyMs.p99.toFixed(0)} | ${x.maintenanceBytesPerSecPerNode.toFixed(0)} | ${x.totalBytesPerSecPerNode.toFixed(0)} | ${(x.memoryPerNodeBytes / 1024).toFixed(1)} | ${x.wallTimeS.toFixed(0)} |`;
  };
  const header = [
    '| scenario | peers | lookups | succeeded | failed near churn | hops mean / median / p99 | latency p50 / p95 / p99 (ms) | maintenance B/s per peer | all B/s per peer | memory KiB per peer | wall s |',
    '|---|---:|---:|---:|---:|---|---|---:|---:|---:|---:|',
  ];
  const scale = r.scenarios.filter((s) => s.kind === 'scale');
  const churn = r.scenarios.filter((s) => s.kind === 'churn');
  return [
    '## Overlay: lookups, hops and maintenance bandwidth vs N and churn (simulator)',
    '',
    r.peer === 'stand-in' ? '**These numbers come from the stand-in oracle peer of the simulator tests, not from the overlay.**\n' : '',
    `Run ${r.startedAt} with \`${r.command}\` (${r.durationS.toFixed(0)} s); raw data: \`${file}\`; plot: [${OVERLAY_SVG}](${OVERLAY_SVG}).`,
    '',
    `Machine: ${m.nproc} cores (\`nproc\`), ${m.cpuModel}, Linux ${m.kernel}, node ${m.node}. Load average (1 min) ${m.load1Before.toFixed(2)} before the run.`,
    '',
    first === undefined
      ? ''
      : `Method: \`p2psip sim\` (src/sim) in one process on virtual time. Peers join at 20 per second through 3 random joined peers, then the overlay stabilises for 60 s and is measured for ${first.durationS} s with ${first.lookupRatePerSec} lookups per second (Poisson) to random Resource-IDs from random peers. One-way latency per host pair ${first.latency} (ms), no loss. A lookup succeeds when the peer that answers is the responsible peer (first Node-ID clockwise from the key) at issue or completion; failures within 10 s of a membership change that moved the key's responsibility are counted apart ("failed near churn"); lookups whose origin departs are left out. Churn: exponential sessions with the given median; each departure (half graceful Leaves, half silent crashes) is replaced at once by a new peer. Bandwidth = bytes the peers send per second of peer uptime (maintenance = topology upkeep: Updates, pings, joins, leaves and their ACKs). Memory = heap growth while building the overlay divided by N. Wall time = the whole run (build, stabilisation, measurement) on one core; seed ${first.seed}.`,
    '',
    'Against N, no churn:',
    '',
    ...header,
    ...scale.map(row),
    '',
    ...(churn.length > 0 ? ['Under churn:', '', ...header, ...churn.map(row), ''] : []),
    `![overlay benchmark](${OVERLAY_SVG})`,
  ]
    .filter((line, i, a) => !(line === '' && a[i - 1] === ''))
    .join('\n');
}
