/**
 * The `memory` benchmark command (issue 18): parses its options, runs the benchmark, writes
 * bench/results/memory-<date>.json and the memory section of BENCHMARKS.md.
 * Usage: npm run bench -- memory [--duration <s>] [--rate <n>] [--registrations <n>] [--held <n>] [--hold <s>] [--no-write]
 * Defaults: 600 s at 100 calls/s, 10,000 registrations, 2,000 calls held 60 s.
 */
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../../harness/paths.js';
import { missingTools } from '../../harness/require-tools.js';
import { publishBenchResult } from '../bench-files.js';
import { load1, machineInfo } from '../sip/system-info.js';
import { runMemoryBench } from './memory-bench.js';
import { MEMORY_SECTION_END, MEMORY_SECTION_START, renderMemorySection, type MemoryReport } from './memory-report.js';

export const MEMORY_USAGE =
  'usage: npm run bench -- memory [--duration <s>] [--rate <n>] [--registrations <n>] [--held <n>] [--hold <s>] [--no-write]';

/** REGISTERs/s and held-call set-ups/s the benchmark offers (rates the peer takes on a loaded 2-core machine). */
const REGISTER_RATE = 150;
const HELD_RATE = 200;
const SAMPLE_S = 5;

/** Runs the command; returns the process exit code (0 ok, 1 failure, 2 usage). */
export async function memoryCommand(argv: readonly string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        duration: { type: 'string', default: '600' },
        rate: { type: 'string', default: '100' },
        registrations: { type: 'string', default: '10000' },
        held: { type: 'string', default: '2000' },
        hold: { type: 'string', default: '60' },
        'no-write': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${MEMORY_USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${MEMORY_USAGE}\n`);
    return 0;
  }
  const n = (v: string, lo: number, hi: number): number | undefined => {
    const x = Number(v);
    return Number.isInteger(x) && x >= lo && x <= hi ? x : undefined;
  };
  const durationS = n(values.duration, 10, 3600);
  const rate = n(values.rate, 1, 1000);
  const registrations = n(values.registrations, 1, 14_000);
  const held = n(values.held, 1, 10_000);
  const holdS = n(values.hold, 45, 600);
  if (durationS === undefined || rate === undefined || registrations === undefined || held === undefined || holdS === undefined) {
    process.stderr.write(`--duration 10..3600, --rate 1..1000, --registrations 1..14000, --held 1..10000, --hold 45..600\n${MEMORY_USAGE}\n`);
    return 2;
  }
  if (held / HELD_RATE + 42 > holdS) {
    process.stderr.write(`--hold must exceed the held calls' set-up (${held / HELD_RATE} s) + 42 s\n`);
    return 2;
  }
  const missing = missingTools(['sipp']);
  if (missing.length > 0) {
    process.stderr.write(`missing program(s): ${missing.join(', ')} — run .ci/install-interop.sh as root\n`);
    return 1;
  }
  const machine = machineInfo();
  const load1Before = load1();
  const result = await runMemoryBench({
    registrations,
    registerRate: REGISTER_RATE,
    held,
    heldRate: HELD_RATE,
    holdS,
    rate,
    durationS,
    sampleS: SAMPLE_S,
    log: (line) => process.stdout.write(`${line}\n`),
  });
  const report: MemoryReport = { benchmark: 'memory', command: ['npm run bench -- memory', ...argv].join(' '), machine, load1Before, load1After: load1(), result };
  publishBenchResult(REPO_ROOT, {
    name: 'memory',
    startedAt: result.startedAt,
    report,
    render: (file) => renderMemorySection(report, file),
    markers: { start: MEMORY_SECTION_START, end: MEMORY_SECTION_END },
    write: !values['no-write'],
  });
  return 0;
}
