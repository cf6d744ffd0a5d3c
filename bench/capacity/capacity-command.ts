/**
 * The `capacity` benchmark command (issue 18): how many registrations one peer holds and what each
 * costs. Runs bench/capacity/capacity-peer.ts twice in child processes (node --expose-gc): `store`
 * fills a fresh LMDB data directory, `reopen` restarts on it. Writes
 * bench/results/capacity-<date>.json and the capacity section of BENCHMARKS.md.
 * Usage: npm run bench -- capacity [--registrations <n>] [--writers own|proxy] [--fetches <n>] [--no-write]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../../harness/paths.js';
import { publishBenchResult } from '../bench-files.js';
import { machineInfo } from '../sip/system-info.js';
import type { ReopenPhase, StorePhase, Writers } from './capacity-peer.js';
import { CAPACITY_SECTION_END, CAPACITY_SECTION_START, renderCapacitySection } from './capacity-report.js';
import type { CapacityReport } from './capacity-report.js';

export const CAPACITY_USAGE = 'usage: npm run bench -- capacity [--registrations <n>] [--writers own|proxy] [--fetches <n>] [--no-write]';

const PEER = fileURLToPath(new URL('./capacity-peer.ts', import.meta.url));

/** Runs one phase in its own process; its one JSON line. */
function runPhase(args: readonly string[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--max-old-space-size=4096', '--import', 'tsx', PEER, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`capacity ${args[0]} phase exited with ${code}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? ''));
      } catch (e) {
        reject(new Error(`capacity ${args[0]} phase printed no result: ${String(e)}`));
      }
    });
  });
}

function dirBytes(dir: string): number {
  let n = 0;
  for (const f of readdirSync(dir, { withFileTypes: true })) n += f.isFile() ? statSync(join(dir, f.name)).size : f.isDirectory() ? dirBytes(join(dir, f.name)) : 0;
  return n;
}

/** Runs the command; returns the process exit code (0 ok, 1 failure, 2 usage). */
export async function capacityCommand(argv: readonly string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        registrations: { type: 'string', default: '1000000' },
        writers: { type: 'string', default: 'own' },
        fetches: { type: 'string', default: '10000' },
        'no-write': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${CAPACITY_USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${CAPACITY_USAGE}\n`);
    return 0;
  }
  const registrations = Number(values.registrations);
  const fetches = Number(values.fetches);
  const writers = values.writers;
  if (!Number.isInteger(registrations) || registrations < 1 || registrations > 5_000_000 || !Number.isInteger(fetches) || fetches < 1 || fetches > 1_000_000 || (writers !== 'own' && writers !== 'proxy')) {
    process.stderr.write(`--registrations 1..5000000, --fetches 1..1000000, --writers own|proxy\n${CAPACITY_USAGE}\n`);
    return 2;
  }
  const w: Writers = writers;
  const root = mkdtempSync(join(tmpdir(), 'p2psip-capacity-'));
  const dir = join(root, 'store');
  try {
    const startedAt = new Date().toISOString();
    process.stdout.write(`capacity: storing ${registrations} registrations (${w} writers)\n`);
    const store = (await runPhase(['store', dir, String(registrations), '0', w])) as StorePhase;
    process.stdout.write(`capacity: ${store.stored} stored in ${store.storeSeconds.toFixed(1)} s; re-opening\n`);
    const reopen = (await runPhase(['reopen', dir, String(registrations), String(fetches), w])) as ReopenPhase;
    const report: CapacityReport = {
      benchmark: 'capacity',
      command: ['npm run bench -- capacity', ...argv].join(' '),
      machine: machineInfo(),
      startedAt,
      registrations,
      writers: w,
      diskBytes: dirBytes(dir),
      store,
      reopen,
    };
    publishBenchResult(REPO_ROOT, {
      name: 'capacity',
      startedAt,
      report,
      render: (file) => renderCapacitySection(report, file),
      markers: { start: CAPACITY_SECTION_START, end: CAPACITY_SECTION_END },
      write: !values['no-write'],
    });
    return 0;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
