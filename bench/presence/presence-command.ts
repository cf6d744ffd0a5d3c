/**
 * The `presence` benchmark command (issue 16): parses its options, runs the benchmark, writes
 * bench/results/presence-<date>.json and the presence section of BENCHMARKS.md.
 * Usage: npm run bench -- presence [--systems p2psip,kamailio] [--peers <n>] [--presentities <n>] [--watchers <n>]
 *                                  [--subscribe-rate <n>] [--rounds <n>] [--rates <n,n,...>] [--step <s>] [--reps <n>]
 *                                  [--kamailio-shm <MiB>] [--no-write]
 *        npm run bench -- presence --from bench/results/presence-<date>.json   (the section again from a saved run)
 * Defaults: both systems, 5 peers, 10 presentities, 1,000 watchers subscribing at 200/s, 20 fan-out
 * rounds, rate steps of 20, 50, 100 and 200 PUBLISH/s for 5 s each, the ladder climbed 3 times,
 * Kamailio with 2,048 MiB of shared memory (with its default 128 MiB its NOTIFY transactions run
 * out of it from about 30 PUBLISH/s with 1,000 watchers, and it answers PUBLISH 500).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../../harness/paths.js';
import { missingTools } from '../../harness/require-tools.js';
import { publishBenchResult } from '../bench-files.js';
import { machineInfo } from '../sip/system-info.js';
import { runPresenceBench, type PresenceSystem } from './presence-bench.js';
import { PRESENCE_SECTION_END, PRESENCE_SECTION_START, renderPresenceSection, type PresenceReport } from './presence-report.js';

export const PRESENCE_USAGE =
  'usage: npm run bench -- presence [--systems p2psip,kamailio] [--peers <n>] [--presentities <n>] [--watchers <n>] [--subscribe-rate <n>] [--rounds <n>] [--rates <n,n,...>] [--step <s>] [--reps <n>] [--kamailio-shm <MiB>] [--no-write] | --from <saved result.json> [--no-write]';

/** Runs the command; returns the process exit code (0 ok, 1 a system failed, 2 usage). */
export async function presenceCommand(argv: readonly string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        systems: { type: 'string', default: 'p2psip,kamailio' },
        peers: { type: 'string', default: '5' },
        presentities: { type: 'string', default: '10' },
        watchers: { type: 'string', default: '1000' },
        'subscribe-rate': { type: 'string', default: '200' },
        rounds: { type: 'string', default: '20' },
        rates: { type: 'string', default: '20,50,100,200' },
        step: { type: 'string', default: '5' },
        reps: { type: 'string', default: '3' },
        'kamailio-shm': { type: 'string', default: '2048' },
        from: { type: 'string' },
        'no-write': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${PRESENCE_USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${PRESENCE_USAGE}\n`);
    return 0;
  }
  if (values.from !== undefined) return renderSaved(values.from, !values['no-write']);
  const n = (v: string, lo: number, hi: number): number | undefined => {
    const x = Number(v);
    return v.trim() !== '' && Number.isInteger(x) && x >= lo && x <= hi ? x : undefined;
  };
  const systems = values.systems.split(',').filter((s) => s !== '');
  const peers = n(values.peers, 2, 10);
  const presentities = n(values.presentities, 1, 100);
  const watchers = n(values.watchers, 1, 4000);
  const subscribeRate = n(values['subscribe-rate'], 1, 2000);
  const rounds = n(values.rounds, 1, 200);
  const step = n(values.step, 1, 60);
  const reps = n(values.reps, 1, 9);
  const kamailioShmMb = n(values['kamailio-shm'], 64, 8192);
  const rates = values.rates.split(',').filter((r) => r !== '').map((r) => n(r, 1, 2000));
  if (
    systems.length === 0 ||
    !systems.every((s): s is PresenceSystem => s === 'p2psip' || s === 'kamailio') ||
    new Set(systems).size !== systems.length ||
    peers === undefined ||
    presentities === undefined ||
    watchers === undefined ||
    subscribeRate === undefined ||
    rounds === undefined ||
    step === undefined ||
    reps === undefined ||
    kamailioShmMb === undefined ||
    rates.length === 0 ||
    rates.length > 10 ||
    !rates.every((r): r is number => r !== undefined)
  ) {
    process.stderr.write(
      '--systems: p2psip and/or kamailio, --peers 2..10, --presentities 1..100, --watchers 1..4000, --subscribe-rate 1..2000, --rounds 1..200, ' +
        `--rates: 1 to 10 values of 1..2000, --step 1..60, --reps 1..9, --kamailio-shm 64..8192 (MiB)\n${PRESENCE_USAGE}\n`,
    );
    return 2;
  }
  // a peer serves at most 256 subscriptions to one presentity (subscription-limits.ts)
  if (Math.ceil(watchers / presentities / peers) > 256) {
    process.stderr.write(`at most 256 watchers of one presentity at one peer: raise --presentities or --peers\n${PRESENCE_USAGE}\n`);
    return 2;
  }
  // nstat (UDP drops) is read when present
  const missing = missingTools(systems.includes('kamailio') ? ['kamailio'] : []);
  if (missing.length > 0) {
    process.stderr.write(`missing program(s): ${missing.join(', ')} — run .ci/install-interop.sh as root\n`);
    return 1;
  }
  const machine = machineInfo();
  const result = await runPresenceBench({
    systems,
    peers,
    presentities,
    watchers,
    subscribeRate,
    rounds,
    roundGapMs: 300,
    roundTimeoutMs: 5000,
    rates,
    stepS: step,
    reps,
    settleMs: 5000,
    kamailioWorkers: 4,
    kamailioShmMb,
    log: (line) => process.stdout.write(`${line}\n`),
  });
  const report: PresenceReport = { benchmark: 'presence', command: ['npm run bench -- presence', ...argv].join(' '), machine, result };
  publishBenchResult(REPO_ROOT, {
    name: 'presence',
    startedAt: result.startedAt,
    report,
    render: (file) => renderPresenceSection(report, file),
    markers: { start: PRESENCE_SECTION_START, end: PRESENCE_SECTION_END },
    write: !values['no-write'],
  });
  return result.systems.some((s) => s.error !== undefined) ? 1 : 0;
}

/** Writes the section again from a saved result (after the report's wording changed), without running anything. */
function renderSaved(file: string, write: boolean): number {
  let report: PresenceReport;
  try {
    report = JSON.parse(readFileSync(resolve(REPO_ROOT, file), 'utf8')) as PresenceReport;
  } catch (err) {
    process.stderr.write(`cannot read ${file}: ${(err as Error).message}\n`);
    return 1;
  }
  if (report.benchmark !== 'presence' || report.result?.systems === undefined) {
    process.stderr.write(`${file} is not a presence benchmark result\n`);
    return 1;
  }
  publishBenchResult(REPO_ROOT, {
    name: 'presence',
    startedAt: report.result.startedAt,
    report,
    render: (f) => renderPresenceSection(report, f),
    markers: { start: PRESENCE_SECTION_START, end: PRESENCE_SECTION_END },
    write,
  });
  return 0;
}
