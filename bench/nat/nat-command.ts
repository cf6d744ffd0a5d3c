/**
 * The `nat` benchmark command: parses its options, runs the benchmark in the NAT lab (root, `ip`,
 * `nft`, python3), writes bench/results/nat-<date>.json and the NAT section of BENCHMARKS.md.
 * Usage: npm run bench -- nat [--delay <ms>] [--rounds <n>] [--later-calls <n>] [--fetches <n>] [--same-port] [--no-write]
 *        npm run bench -- nat --from bench/results/nat-<date>.json   (writes the section again from a saved run)
 * Defaults: 50 ms one way, 5 rounds, 10 calls per pair and round on the open channel, 20 Fetches per
 * peer and round (about 7 minutes on a quiet 2-core machine).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../../harness/paths.js';
import { isRoot, missingTools } from '../../harness/require-tools.js';
import { machineInfo } from '../sip/system-info.js';
import { writeBenchmarksSection, writeJsonFile } from '../bench-files.js';
import { runNatBench } from './nat-bench.js';
import { NAT_SECTION_END, NAT_SECTION_START, natResultFileName, renderNatSection } from './nat-report.js';
import { summarise } from './nat-summary.js';
import type { NatReport } from './nat-report.js';

export const NAT_USAGE = 'usage: npm run bench -- nat [--delay <ms one way>] [--rounds <n>] [--later-calls <n>] [--fetches <n>] [--same-port] [--no-write] | --from bench/results/nat-<date>.json';

export async function natCommand(argv: readonly string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        delay: { type: 'string', default: '50' },
        rounds: { type: 'string', default: '5' },
        'later-calls': { type: 'string', default: '10' },
        fetches: { type: 'string', default: '20' },
        'same-port': { type: 'boolean', default: false },
        from: { type: 'string' },
        'no-write': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${NAT_USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${NAT_USAGE}\n`);
    return 0;
  }
  const n = (v: string, lo: number, hi: number): number | undefined => {
    const x = Number(v);
    return Number.isInteger(x) && x >= lo && x <= hi ? x : undefined;
  };
  const delayMs = n(values.delay, 1, 1000);
  const rounds = n(values.rounds, 1, 20);
  const laterCalls = n(values['later-calls'], 1, 200);
  const fetches = n(values.fetches, 1, 500);
  if (delayMs === undefined || rounds === undefined || laterCalls === undefined || fetches === undefined) {
    process.stderr.write(`--delay 1..1000, --rounds 1..20, --later-calls 1..200, --fetches 1..500\n${NAT_USAGE}\n`);
    return 2;
  }
  if (values.from !== undefined) {
    const saved = JSON.parse(readFileSync(join(REPO_ROOT, values.from), 'utf8')) as NatReport;
    const again: NatReport = { ...saved, summary: summarise(saved.result) };
    const file = natResultFileName(saved.result.startedAt);
    const section = renderNatSection(again, `bench/results/${file}`);
    process.stdout.write(`${section}\n`);
    if (!values['no-write']) {
      writeJsonFile(REPO_ROOT, `bench/results/${file}`, again);
      writeBenchmarksSection(REPO_ROOT, NAT_SECTION_START, NAT_SECTION_END, section);
    }
    return 0;
  }
  const missing = missingTools(['ip', 'nft', 'python3']);
  if (missing.length > 0 || !isRoot()) {
    process.stderr.write(`the NAT lab needs root and ${missing.length > 0 ? `missing program(s): ${missing.join(', ')}` : 'ip, nft, python3'} — run .ci/install-interop.sh as root\n`);
    return 1;
  }
  const machine = machineInfo();
  const result = await runNatBench({ delayMs, rounds, laterCalls, fetches, samePort: values['same-port'], log: (line) => process.stdout.write(`${line}\n`) });
  const command = ['npm run bench -- nat', ...argv].join(' ');
  const report: NatReport = { benchmark: 'nat', command, machine, result, summary: summarise(result) };
  const file = natResultFileName(result.startedAt);
  const section = renderNatSection(report, `bench/results/${file}`);
  process.stdout.write(`\n${section}\n`);
  if (!values['no-write']) {
    writeJsonFile(REPO_ROOT, `bench/results/${file}`, report);
    writeBenchmarksSection(REPO_ROOT, NAT_SECTION_START, NAT_SECTION_END, section);
    process.stdout.write(`\nwrote bench/results/${file} and the NAT section of BENCHMARKS.md\n`);
  }
  const failedCalls = result.calls.filter((c) => c.status !== 200).length;
  return failedCalls > 0 || result.fetchFailures > 0 ? 1 : 0;
}
