/**
 * The `codec` benchmark: encode and decode throughput of whole RELOAD messages (RFC 6940 §6.3),
 * body included, for the workloads of codec-messages.ts. Each (workload, direction) runs `runs`
 * timed runs of about `seconds` each after a short warm-up; the report gives the median with min–max.
 * Usage: npm run bench -- codec [--runs <n>] [--seconds <s>] [--no-write]
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { codecWorkloads } from './codec-messages.js';
import { codecMachineInfo, renderCodecSection, writeCodecResults } from './codec-report.js';
import type { CodecMeasurement, CodecReport, CodecRun } from './codec-report.js';

export const CODEC_USAGE = 'usage: npm run bench -- codec [--runs <n>] [--seconds <s>] [--no-write]';

const BATCH = 200;
const WARMUP_MS = 300;

/** Runs the command; returns the process exit code (0 ok, 2 usage). */
export async function codecCommand(argv: readonly string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        runs: { type: 'string', default: '5' },
        seconds: { type: 'string', default: '1' },
        'no-write': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${CODEC_USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${CODEC_USAGE}\n`);
    return 0;
  }
  const runs = Number(values.runs);
  const seconds = Number(values.seconds);
  if (!(Number.isInteger(runs) && runs >= 1 && runs <= 21) || !(Number.isFinite(seconds) && seconds >= 0.1 && seconds <= 30)) {
    process.stderr.write(`--runs must be 1..21, --seconds 0.1..30\n${CODEC_USAGE}\n`);
    return 2;
  }
  const report = runCodecBench(runs, seconds * 1000);
  process.stdout.write(`${renderCodecSection(report, 'bench/results/<file>')}\n`);
  if (!values['no-write']) {
    const written = writeCodecResults(report);
    process.stdout.write(`wrote ${written.join(', ')}\n`);
  }
  return 0;
}

export function runCodecBench(runs: number, runMs: number): CodecReport {
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const machine = codecMachineInfo();
  const measurements: CodecMeasurement[] = [];
  for (const w of codecWorkloads()) {
    const bytes = w.encode();
    if (w.decode(bytes) === undefined) throw new Error(`${w.name}: decode returned nothing`);
    for (const direction of ['encode', 'decode'] as const) {
      const op = direction === 'encode' ? () => w.encode().length : () => w.decode(bytes);
      timed(op, WARMUP_MS);
      const results: CodecRun[] = [];
      for (let i = 0; i < runs; i++) {
        const { ops, ms } = timed(op, runMs);
        const perSecond = (ops * 1000) / ms;
        results.push({ ops, ms, messagesPerSecond: perSecond, megabytesPerSecond: (perSecond * bytes.length) / 1e6 });
      }
      measurements.push({ workload: w.name, description: w.description, direction, messageBytes: bytes.length, runs: results });
    }
  }
  return { startedAt, durationS: (performance.now() - t0) / 1000, runsPerMeasurement: runs, runMs, command: 'npm run bench -- codec', machine, measurements };
}

let sink = 0;

/** Calls `op` in batches until `minMs` have passed; the batch size keeps clock reads negligible. */
function timed(op: () => number, minMs: number): { ops: number; ms: number } {
  const start = performance.now();
  let ops = 0;
  let now = start;
  do {
    for (let i = 0; i < BATCH; i++) sink = (sink + op()) | 0;
    ops += BATCH;
    now = performance.now();
  } while (now - start < minMs);
  return { ops, ms: now - start };
}

/** Exposed so the optimiser cannot prove the work unused. */
export function codecBenchSink(): number {
  return sink;
}
