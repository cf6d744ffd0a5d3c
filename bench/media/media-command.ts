/**
 * The `media` benchmark command: parses its options, runs the benchmark, writes
 * bench/results/media-<date>.json and the "Media relay" section of BENCHMARKS.md.
 * Usage: npm run bench -- media [--duration <s>] [--reps <n>] [--budget <s>] [--sut p2psip,rtpengine,direct]
 *                               [--relay-cpu <n>] [--generator-cpus <a,b>] [--max-calls <n>] [--no-write]
 * Defaults: 5 s of measured traffic per trial (after 1 s of warm-up), 3 repetitions, a 900 s budget.
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../../harness/paths.js';
import { missingTools } from '../../harness/require-tools.js';
import { machineInfo } from '../sip/system-info.js';
import { writeBenchmarksSection, writeJsonFile } from '../bench-files.js';
import { runMediaBench } from './media-bench.js';
import type { SutKind } from './media-sut.js';
import { MEDIA_SECTION_END, MEDIA_SECTION_START, mediaResultFileName, renderMediaSection } from './media-report.js';
import type { MediaReport } from './media-report.js';

export const MEDIA_USAGE =
  'usage: npm run bench -- media [--duration <s>] [--reps <n>] [--budget <s>] [--sut p2psip,rtpengine,direct] [--relay-cpu <n>] [--generator-cpus <a,b>] [--max-calls <n>] [--no-write]';

export async function mediaCommand(argv: readonly string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        duration: { type: 'string', default: '5' },
        reps: { type: 'string', default: '3' },
        budget: { type: 'string', default: '900' },
        sut: { type: 'string', default: 'direct,p2psip,rtpengine' },
        'relay-cpu': { type: 'string' },
        'generator-cpus': { type: 'string' },
        'max-calls': { type: 'string', default: '4000' },
        'no-write': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${MEDIA_USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${MEDIA_USAGE}\n`);
    return 0;
  }
  const int = (v: string, lo: number, hi: number): number | undefined => {
    const x = Number(v);
    return Number.isInteger(x) && x >= lo && x <= hi ? x : undefined;
  };
  const durationS = int(values.duration, 1, 60);
  const reps = int(values.reps, 1, 9);
  const budgetS = int(values.budget, 30, 7200);
  const maxCalls = int(values['max-calls'], 10, 4000);
  const suts = values.sut.split(',').filter((s) => s !== '');
  const cpuList = /^\d+(,\d+)*$/;
  if (durationS === undefined || reps === undefined || budgetS === undefined || maxCalls === undefined) {
    process.stderr.write(`--duration 1..60, --reps 1..9, --budget 30..7200, --max-calls 10..4000\n${MEDIA_USAGE}\n`);
    return 2;
  }
  if (suts.length === 0 || !suts.every(isSut)) {
    process.stderr.write(`--sut takes p2psip, rtpengine and direct\n${MEDIA_USAGE}\n`);
    return 2;
  }
  const relayCpu = values['relay-cpu'];
  const generatorCpus = values['generator-cpus'];
  if ((relayCpu !== undefined && !/^\d+$/.test(relayCpu)) || (generatorCpus !== undefined && !cpuList.test(generatorCpus))) {
    process.stderr.write(`--relay-cpu takes one CPU number, --generator-cpus a list (0,2,3)\n${MEDIA_USAGE}\n`);
    return 2;
  }
  const missing = missingTools(['cc', 'taskset', 'ss', ...(suts.includes('rtpengine') ? ['rtpengine'] : [])]);
  if (missing.length > 0) {
    process.stderr.write(`missing program(s): ${missing.join(', ')} — run .ci/install-interop.sh as root (rtpengine: apt-get install rtpengine-daemon)\n`);
    return 1;
  }
  const machine = machineInfo();
  const result = await runMediaBench({
    suts,
    durationS,
    reps,
    budgetS,
    maxCalls,
    ...(relayCpu === undefined ? {} : { relayCpu }),
    ...(generatorCpus === undefined ? {} : { generatorCpus: generatorCpus.split(',') }),
    log: (line) => process.stdout.write(`${line}\n`),
  });
  const command = ['npm run bench -- media', ...argv].join(' ');
  const report: MediaReport = { benchmark: 'media', command, machine, rtpengineVersion: rtpengineVersion(), result };
  const file = `bench/results/${mediaResultFileName(result.startedAt)}`;
  const section = renderMediaSection(report, file);
  process.stdout.write(`\n${section}\n`);
  if (!values['no-write']) {
    writeJsonFile(REPO_ROOT, file, report);
    writeBenchmarksSection(REPO_ROOT, MEDIA_SECTION_START, MEDIA_SECTION_END, section);
    process.stdout.write(`\nwrote ${file} and the "Media relay" section of BENCHMARKS.md\n`);
  }
  return result.suts.some((s) => s.error !== undefined) ? 1 : 0;
}

function isSut(s: string): s is SutKind {
  return s === 'p2psip' || s === 'rtpengine' || s === 'direct';
}

/** `rtpengine --version` ("10.5.3.5-1+deb12u1"), or "unknown". */
function rtpengineVersion(): string {
  const r = spawnSync('rtpengine', ['--version'], { encoding: 'utf8', timeout: 5000 });
  return /Version:\s*(\S+)/.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`)?.[1] ?? 'unknown';
}
