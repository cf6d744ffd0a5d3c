/**
 * The `shutdown` benchmark command (issue 18): parses its options, runs the benchmark, writes
 * bench/results/shutdown-<date>.json and the shutdown section of BENCHMARKS.md.
 * Usage: npm run bench -- shutdown [--values <n>] [--via all|middle] [--register-rate <n>] [--delays <ms,ms,...>] [--no-write]
 * Defaults: 8,700 values (the case) registered through all three peers, REGISTERs at 150/s,
 * three repetitions with SIGTERM 0, 0 and 1,000 ms after the kill -9.
 */
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../../harness/paths.js';
import { missingTools } from '../../harness/require-tools.js';
import { publishBenchResult } from '../bench-files.js';
import { load1, machineInfo } from '../sip/system-info.js';
import { runShutdownBench, SHUTDOWN_LIMIT_MS } from './shutdown-bench.js';
import { renderShutdownSection, SHUTDOWN_SECTION_END, SHUTDOWN_SECTION_START, type ShutdownReport } from './shutdown-report.js';

export const SHUTDOWN_USAGE = 'usage: npm run bench -- shutdown [--values <n>] [--via all|middle] [--register-rate <n>] [--delays <ms,ms,...>] [--no-write]';

/** Most values a run may register (a peer signs at most 5,000 resources per storing peer: see writer-quotas). */
const MAX_VALUES = 14_000;
/** After this long without an exit the peer is killed and the repetition fails. */
const GIVE_UP_MS = 60_000;

/** Runs the command; returns the process exit code (0 within the target, 1 over it or failed, 2 usage). */
export async function shutdownCommand(argv: readonly string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        values: { type: 'string', default: '8700' },
        via: { type: 'string', default: 'all' },
        'register-rate': { type: 'string', default: '150' },
        delays: { type: 'string', default: '0,0,1000' },
        'no-write': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${SHUTDOWN_USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${SHUTDOWN_USAGE}\n`);
    return 0;
  }
  const count = Number(values.values);
  const rate = Number(values['register-rate']);
  const delays = values.delays.split(',').filter((d) => d !== '').map(Number);
  if (
    !(Number.isInteger(count) && count >= 1 && count <= MAX_VALUES) ||
    !(Number.isInteger(rate) && rate >= 1 && rate <= 2000) ||
    (values.via !== 'all' && values.via !== 'middle') ||
    delays.length < 1 ||
    delays.length > 10 ||
    !delays.every((d) => Number.isInteger(d) && d >= 0 && d <= 30_000)
  ) {
    process.stderr.write(`--values 1..${MAX_VALUES}, --register-rate 1..2000, --via all|middle, --delays: 1 to 10 values of 0..30000 ms\n${SHUTDOWN_USAGE}\n`);
    return 2;
  }
  const missing = missingTools(['sipp']);
  if (missing.length > 0) {
    process.stderr.write(`missing program(s): ${missing.join(', ')} — run .ci/install-interop.sh as root\n`);
    return 1;
  }
  const machine = machineInfo();
  const load1Before = load1();
  const result = await runShutdownBench({
    values: count,
    via: values.via === 'middle' ? 'middle' : 'all',
    registerRate: rate,
    delaysMs: delays,
    giveUpMs: GIVE_UP_MS,
    log: (line) => process.stdout.write(`${line}\n`),
  });
  const report: ShutdownReport = { benchmark: 'shutdown', command: ['npm run bench -- shutdown', ...argv].join(' '), machine, load1Before, load1After: load1(), result };
  publishBenchResult(REPO_ROOT, {
    name: 'shutdown',
    startedAt: result.startedAt,
    report,
    render: (file) => renderShutdownSection(report, file),
    markers: { start: SHUTDOWN_SECTION_START, end: SHUTDOWN_SECTION_END },
    write: !values['no-write'],
  });
  return result.maxExitMs < SHUTDOWN_LIMIT_MS ? 0 : 1;
}
