/**
 * The `sip` benchmark command: parses its options, runs the benchmark, writes
 * bench/results/sip-<date>.json and the SIP section of BENCHMARKS.md.
 * Usage: npm run bench -- sip [--duration <s>] [--reps <n>] [--budget <s>] [--sut p2psip,kamailio]
 *                             [--workload register-new,register-refresh,calls] [--overlay 1,3]
 *                             [--no-overload] [--latency <n>] [--no-write]
 * Defaults: 2 s trials, 3 repetitions (2 at the 3-peer overlay), a 390 s budget for the searches
 * (repetitions past it are skipped), every workload, both topologies, an overload trial per p2psip
 * search, 200 sequential REGISTERs (and refreshes) per server. `register` is kept as another name
 * of register-new.
 */
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../../harness/paths.js';
import { missingTools } from '../../harness/require-tools.js';
import type { SutKind } from '../../harness/sip-server.js';
import { runSipBench } from './sip-bench.js';
import type { OverlaySize, SipBenchOptions } from './sip-bench.js';
import { writeBenchmarksSection, writeJsonFile } from '../bench-files.js';
import { SECTION_END, SECTION_START, renderSection, resultFileName } from './sip-report.js';
import type { SipReport } from './sip-report.js';
import type { Workload } from './sip-trial.js';
import { machineInfo } from './system-info.js';

export const SIP_USAGE =
  'usage: npm run bench -- sip [--duration <s>] [--reps <n>] [--budget <s>] [--sut p2psip,kamailio] ' +
  '[--workload register-new,register-refresh,calls] [--overlay 1,3] [--no-overload] [--latency <n>] [--no-write]';

/** Most repetitions at the 3-peer overlay by default. */
export const DEFAULT_OVERLAY_REPS = 2;

export type SipArgs = Omit<SipBenchOptions, 'log' | 'criteria'> & { readonly write: boolean; readonly help: boolean };

/** The options of `argv`, or the message for a usage error. */
export function parseSipArgs(argv: readonly string[]): SipArgs | { readonly error: string } {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        duration: { type: 'string', default: '2' },
        reps: { type: 'string', default: '3' },
        budget: { type: 'string', default: '390' },
        sut: { type: 'string', default: 'p2psip,kamailio' },
        workload: { type: 'string', default: 'register-new,register-refresh,calls' },
        overlay: { type: 'string', default: '1,3' },
        'no-overload': { type: 'boolean', default: false },
        latency: { type: 'string', default: '200' },
        'no-write': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    return { error: (err as Error).message };
  }
  const durationS = Number(values.duration);
  const reps = Number(values.reps);
  const budgetS = Number(values.budget);
  const latencyCount = Number(values.latency);
  if (
    !(Number.isInteger(durationS) && durationS >= 1 && durationS <= 30) ||
    !(Number.isInteger(reps) && reps >= 1 && reps <= 9) ||
    !(Number.isFinite(budgetS) && budgetS >= 10 && budgetS <= 3600) ||
    !(Number.isInteger(latencyCount) && latencyCount >= 0 && latencyCount <= 10_000)
  ) {
    return { error: '--duration must be 1..30, --reps 1..9, --budget 10..3600 (s), --latency 0..10000' };
  }
  const suts = unique(list(values.sut));
  const workloads = unique(list(values.workload).map((w) => (w === 'register' ? 'register-new' : w)));
  const overlays = unique(list(values.overlay));
  if (!suts.every(isSut) || suts.length === 0) return { error: '--sut takes p2psip,kamailio' };
  if (!workloads.every(isWorkload) || workloads.length === 0) return { error: '--workload takes register-new (or register),register-refresh,calls' };
  if (!overlays.every((o) => o === '1' || o === '3') || overlays.length === 0) return { error: '--overlay takes 1,3 (peers)' };
  return {
    suts,
    workloads,
    overlays: overlays.map((o) => (o === '1' ? 1 : 3) as OverlaySize).sort((a, b) => a - b),
    durationS,
    reps,
    overlayReps: Math.min(reps, DEFAULT_OVERLAY_REPS),
    budgetS,
    overload: !values['no-overload'],
    latencyCount,
    write: !values['no-write'],
    help: values.help,
  };
}

/** Runs the command; returns the process exit code (0 ok, 1 failure, 2 usage). */
export async function sipCommand(argv: readonly string[]): Promise<number> {
  const args = parseSipArgs(argv);
  if ('error' in args) {
    process.stderr.write(`${args.error}\n${SIP_USAGE}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${SIP_USAGE}\n`);
    return 0;
  }
  const needed = ['sipp', 'nstat', ...(args.suts.includes('kamailio') ? ['kamailio'] : [])];
  const missing = missingTools(needed);
  if (missing.length > 0) {
    process.stderr.write(`missing program(s): ${missing.join(', ')} — run .ci/install-interop.sh as root\n`);
    return 1;
  }

  const machine = machineInfo();
  const { write: doWrite, help: _help, ...options } = args;
  const result = await runSipBench({ ...options, log: (line) => process.stdout.write(`${line}\n`) });
  const command = ['npm run bench -- sip', ...argv].join(' ');
  const report: SipReport = { benchmark: 'sip', command, machine, result };
  const section = renderSection(report, `bench/results/${resultFileName(result.startedAt)}`);
  process.stdout.write(`\n${section}\n`);
  if (doWrite) {
    const file = `bench/results/${resultFileName(result.startedAt)}`;
    writeJsonFile(REPO_ROOT, file, report);
    writeBenchmarksSection(REPO_ROOT, SECTION_START, SECTION_END, section);
    process.stdout.write(`\nwrote ${file} and the SIP section of BENCHMARKS.md\n`);
  }
  return result.suts.some((s) => s.error !== undefined) ? 1 : 0;
}

function list(s: string): string[] {
  return s.split(',').map((x) => x.trim()).filter((x) => x !== '');
}

function unique<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)];
}

function isSut(s: string): s is SutKind {
  return s === 'p2psip' || s === 'kamailio';
}

function isWorkload(s: string): s is Workload {
  return s === 'register-new' || s === 'register-refresh' || s === 'calls';
}
