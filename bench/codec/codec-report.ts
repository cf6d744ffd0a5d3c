/**
 * Results of the `codec` benchmark: the JSON file bench/results/codec-<date>.json and the
 * codec section of BENCHMARKS.md (only the text between its markers is rewritten).
 */
import { readFileSync } from 'node:fs';
import { resultFileName, writeBenchmarksSection, writeJsonFile } from '../bench-files.js';
import { replaceMarkedSection } from '../marked-section.js';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

export interface CodecRun {
  readonly ops: number;
  readonly ms: number;
  readonly messagesPerSecond: number;
  readonly megabytesPerSecond: number;
}

export interface CodecMeasurement {
  readonly workload: string;
  readonly description: string;
  readonly direction: 'encode' | 'decode';
  readonly messageBytes: number;
  readonly runs: readonly CodecRun[];
}

export interface CodecMachine {
  readonly nproc: number;
  readonly cpuModel: string;
  readonly kernel: string;
  readonly node: string;
  readonly load1Before: number;
}

export interface CodecReport {
  readonly startedAt: string;
  readonly durationS: number;
  readonly runsPerMeasurement: number;
  readonly runMs: number;
  readonly command: string;
  readonly machine: CodecMachine;
  readonly measurements: readonly CodecMeasurement[];
}

export const CODEC_SECTION_START = '<!-- codec-bench:start -->';
export const CODEC_SECTION_END = '<!-- codec-bench:end -->';
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export function codecMachineInfo(): CodecMachine {
  const cpuinfo = readText('/proc/cpuinfo');
  return {
    nproc: availableParallelism(),
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown',
    kernel: readText('/proc/sys/kernel/osrelease').trim() || 'unknown',
    node: process.version,
    load1Before: loadavg()[0] ?? 0,
  };
}

/** Writes the JSON and the BENCHMARKS.md section; returns the repository-relative paths written. */
export function writeCodecResults(report: CodecReport): string[] {
  const file = `bench/results/${resultFileName('codec', report.startedAt)}`;
  writeJsonFile(REPO_ROOT, file, { ...report, load1After: loadavg()[0] ?? 0 });
  writeBenchmarksSection(REPO_ROOT, CODEC_SECTION_START, CODEC_SECTION_END, renderCodecSection(report, file));
  return [file, 'BENCHMARKS.md'];
}

/** Replaces the text between the codec markers, or appends the section; nothing else changes. */
export function replaceCodecSection(doc: string, section: string): string {
  return replaceMarkedSection(doc, CODEC_SECTION_START, CODEC_SECTION_END, section);
}

export function renderCodecSection(r: CodecReport, file: string): string {
  const m = r.machine;
  const rows = r.measurements.map((x) => {
    const mps = stats(x.runs.map((y) => y.messagesPerSecond));
    const mbs = stats(x.runs.map((y) => y.megabytesPerSecond));
    return `| ${x.workload} | ${x.direction} | ${x.messageBytes} | ${int(mps.median)} | ${int(mps.min)}–${int(mps.max)} | ${pct(mps)} | ${mbs.median.toFixed(1)} | ${mbs.min.toFixed(1)}–${mbs.max.toFixed(1)} |`;
  });
  return [
    '## RELOAD codec: encode and decode throughput of whole messages',
    '',
    `Run ${r.startedAt} with \`${r.command}\` (${r.durationS.toFixed(0)} s); raw data: \`${file}\`.`,
    '',
    `Machine: ${m.nproc} cores (\`nproc\`), ${m.cpuModel}, Linux ${m.kernel}, node ${m.node}. Load average (1 min) ${m.load1Before.toFixed(2)} before the run.`,
    '',
    `Method: one thread, no I/O. Encode = the method body (StoreReq, FetchReq or ChordUpdate) and then the whole message (forwarding header, MessageContents, SecurityBlock: SHA-256 cert-hash identity, 256-byte RSA signature); decode = \`decodeReloadMessage\` and then the body. Each row is ${r.runsPerMeasurement} runs of ${(r.runMs / 1000).toFixed(1)} s after a 0.3 s warm-up (calls in batches of 200, timed with \`performance.now()\`); the table gives the median run with min–max. MB/s = messages/s × message size (10^6 bytes).`,
    '',
    '| message | direction | bytes | median msgs/s | min–max msgs/s | spread | median MB/s | min–max MB/s |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    'Workloads:',
    '',
    ...uniqueDescriptions(r),
    '',
    'Noise: the runs share the machine with whatever else runs on it (a load average well above 0 means other work competed); garbage collection falls inside the timed runs, as it would in use. Treat differences within the spread column (max−min over median) as noise.',
  ].join('\n');
}

function uniqueDescriptions(r: CodecReport): string[] {
  const seen = new Map<string, string>();
  for (const x of r.measurements) seen.set(x.workload, x.description);
  return [...seen].map(([name, d]) => `- ${name}: ${d}.`);
}

interface Stats {
  median: number;
  min: number;
  max: number;
}

function stats(values: readonly number[]): Stats {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
  return { median, min: s[0] ?? 0, max: s[s.length - 1] ?? 0 };
}

function int(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function pct(s: Stats): string {
  return s.median === 0 ? '–' : `${Math.round(((s.max - s.min) / s.median) * 100)} %`;
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
