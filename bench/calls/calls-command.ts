/**
 * The `calls` benchmark command: parses its options, runs the benchmark, writes
 * bench/results/calls-<date>.json and the calls section of BENCHMARKS.md.
 * Usage: npm run bench -- calls [--duration <s>] [--reps <n>] [--budget <s>] [--pdd-trials <n>]
 *                               [--pdd-calls <n>] [--pdd-rate <n>] [--no-rate] [--no-write]
 * Defaults: 2 s trials, 3 repetitions, a 240 s budget per calls/s search, 3 post-dial-delay
 * trials of 20 later calls at 10 calls/s.
 */
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../../harness/paths.js';
import { missingTools } from '../../harness/require-tools.js';
import { machineInfo } from '../sip/system-info.js';
import { runCallsBench } from './calls-bench.js';
import { writeBenchmarksSection, writeJsonFile } from '../bench-files.js';
import { CALLS_SECTION_END, CALLS_SECTION_START, callsResultFileName, renderCallsSection } from './calls-report.js';
import type { CallsReport } from './calls-report.js';

export const CALLS_USAGE =
  'usage: npm run bench -- calls [--duration <s>] [--reps <n>] [--budget <s>] [--pdd-trials <n>] [--pdd-calls <n>] [--pdd-rate <n>] [--no-rate] [--no-write]';

/** Runs the command; returns the process exit code (0 ok, 1 failure, 2 usage). */
export async function callsCommand(argv: readonly string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        duration: { type: 'string', default: '2' },
        reps: { type: 'string', default: '3' },
        budget: { type: 'string', default: '240' },
        'pdd-trials': { type: 'string', default: '3' },
        'pdd-calls': { type: 'string', default: '20' },
        'pdd-rate': { type: 'string', default: '10' },
        'no-rate': { type: 'boolean', default: false },
        'no-write': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${CALLS_USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${CALLS_USAGE}\n`);
    return 0;
  }
  const n = (v: string, lo: number, hi: number): number | undefined => {
    const x = Number(v);
    return Number.isInteger(x) && x >= lo && x <= hi ? x : undefined;
  };
  const durationS = n(values.duration, 1, 30);
  const reps = n(values.reps, 1, 9);
  const budgetS = n(values.budget, 10, 3600);
  const pddTrials = n(values['pdd-trials'], 1, 20);
  const pddCalls = n(values['pdd-calls'], 1, 1000);
  const pddRate = n(values['pdd-rate'], 1, 100);
  if (durationS === undefined || reps === undefined || budgetS === undefined || pddTrials === undefined || pddCalls === undefined || pddRate === undefined) {
    process.stderr.write(`--duration 1..30, --reps 1..9, --budget 10..3600, --pdd-trials 1..20, --pdd-calls 1..1000, --pdd-rate 1..100\n${CALLS_USAGE}\n`);
    return 2;
  }
  const missing = missingTools(['sipp', 'nstat', 'kamailio']);
  if (missing.length > 0) {
    process.stderr.write(`missing program(s): ${missing.join(', ')} — run .ci/install-interop.sh as root\n`);
    return 1;
  }
  const machine = machineInfo();
  const result = await runCallsBench({
    durationS,
    reps,
    budgetS,
    pddTrials,
    pddCalls,
    pddRate,
    skipRate: values['no-rate'],
    log: (line) => process.stdout.write(`${line}\n`),
  });
  const command = ['npm run bench -- calls', ...argv].join(' ');
  const report: CallsReport = { benchmark: 'calls', command, machine, result };
  const file = callsResultFileName(result.startedAt);
  const section = renderCallsSection(report, `bench/results/${file}`);
  process.stdout.write(`\n${section}\n`);
  if (!values['no-write']) {
    writeJsonFile(REPO_ROOT, `bench/results/${file}`, report);
    writeBenchmarksSection(REPO_ROOT, CALLS_SECTION_START, CALLS_SECTION_END, section);
    process.stdout.write(`\nwrote bench/results/${file} and the calls section of BENCHMARKS.md\n`);
  }
  const failed = result.rates.some((e) => e.error !== undefined) || result.pdd.paths.some((p) => p.trials.some((t) => t.error !== undefined));
  return failed ? 1 : 0;
}
