/**
 * The `sip` benchmark command: parses its options, runs the benchmark, writes
 * bench/results/sip-<date>.json and the SIP section of BENCHMARKS.md.
 * Usage: npm run bench -- sip [--duration <s>] [--reps <n>] [--budget <s>] [--sut p2psip,kamailio]
 *                             [--workload register,calls] [--no-write]
 * Defaults: 2 s trials, 3 repetitions, a 270 s budget (repetitions past it are skipped).
 */
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../../harness/paths.js';
import { missingTools } from '../../harness/require-tools.js';
import type { SutKind } from '../../harness/sip-server.js';
import { runSipBench } from './sip-bench.js';
import { writeBenchmarksSection, writeJsonFile } from '../bench-files.js';
import { SECTION_END, SECTION_START, renderSection, resultFileName } from './sip-report.js';
import type { SipReport } from './sip-report.js';
import type { Workload } from './sip-trial.js';
import { machineInfo } from './system-info.js';

export const SIP_USAGE =
  'usage: npm run bench -- sip [--duration <s>] [--reps <n>] [--budget <s>] [--sut p2psip,kamailio] [--workload register,calls] [--no-write]';

/** Runs the command; returns the process exit code (0 ok, 1 failure, 2 usage). */
export async function sipCommand(argv: readonly string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        duration: { type: 'string', default: '2' },
        reps: { type: 'string', default: '3' },
        budget: { type: 'string', default: '270' },
        sut: { type: 'string', default: 'p2psip,kamailio' },
        workload: { type: 'string', default: 'register,calls' },
        'no-write': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${SIP_USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${SIP_USAGE}\n`);
    return 0;
  }
  const durationS = Number(values.duration);
  const reps = Number(values.reps);
  const budgetS = Number(values.budget);
  const suts = values.sut.split(',').filter((s) => s !== '');
  const workloads = values.workload.split(',').filter((s) => s !== '');
  if (
    !(Number.isInteger(durationS) && durationS >= 1 && durationS <= 30) ||
    !(Number.isInteger(reps) && reps >= 1 && reps <= 9) ||
    !(Number.isFinite(budgetS) && budgetS >= 10 && budgetS <= 3600)
  ) {
    process.stderr.write(`--duration must be 1..30, --reps 1..9, --budget 10..3600 (s)\n${SIP_USAGE}\n`);
    return 2;
  }
  if (!suts.every(isSut) || !workloads.every(isWorkload) || suts.length === 0 || workloads.length === 0) {
    process.stderr.write(`--sut takes p2psip,kamailio and --workload register,calls\n${SIP_USAGE}\n`);
    return 2;
  }
  const needed = ['sipp', 'nstat', ...(suts.includes('kamailio') ? ['kamailio'] : [])];
  const missing = missingTools(needed);
  if (missing.length > 0) {
    process.stderr.write(`missing program(s): ${missing.join(', ')} — run .ci/install-interop.sh as root\n`);
    return 1;
  }

  const machine = machineInfo();
  const result = await runSipBench({
    suts,
    workloads,
    durationS,
    reps,
    budgetS,
    log: (line) => process.stdout.write(`${line}\n`),
  });
  const command = ['npm run bench -- sip', ...argv].join(' ');
  const report: SipReport = { benchmark: 'sip', command, machine, result };
  const section = renderSection(report, `bench/results/${resultFileName(result.startedAt)}`);
  process.stdout.write(`\n${section}\n`);
  if (!values['no-write']) {
    const file = `bench/results/${resultFileName(result.startedAt)}`;
    writeJsonFile(REPO_ROOT, file, report);
    writeBenchmarksSection(REPO_ROOT, SECTION_START, SECTION_END, section);
    process.stdout.write(`\nwrote ${file} and the SIP section of BENCHMARKS.md\n`);
  }
  return result.suts.some((s) => s.error !== undefined) ? 1 : 0;
}

function isSut(s: string): s is SutKind {
  return s === 'p2psip' || s === 'kamailio';
}

function isWorkload(s: string): s is Workload {
  return s === 'register' || s === 'calls';
}
