/**
 * The `putget` benchmark (issue 5): 20 and 100 real peers in one process on loopback (TLS links,
 * signatures on), Store of a SIP-REGISTRATION-sized value at one peer and Fetch from another:
 * median/p95/p99 latency and RSS per peer, side by side with hyperdht's testnet doing mutablePut +
 * mutableGet in the same run.
 * Usage: npm run bench -- putget [--sizes 20,100] [--ops <n>] [--warmup <n>] [--value-bytes <n>] [--no-hyperdht] [--no-write] [--trace]
 * (run node with --expose-gc for RSS after a full collection). --trace adds to each p2psip result what
 * the whole overlay did while the operations ran and what the p95+ operations overlapped with.
 */
import { parseArgs } from 'node:util';
import { runHyperdht } from './putget-hyperdht.js';
import { runReload } from './putget-reload.js';
import type { PutGetRun } from './putget-reload.js';
import { putgetMachine, renderPutgetSection, writePutgetResults } from './putget-report.js';
import { settledRss } from './putget-stats.js';

export const PUTGET_USAGE = 'usage: npm run bench -- putget [--sizes 20,100] [--ops <n>] [--warmup <n>] [--value-bytes <n>] [--no-hyperdht] [--no-write] [--trace]';

export async function putgetCommand(argv: readonly string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        sizes: { type: 'string', default: '20,100' },
        ops: { type: 'string', default: '300' },
        warmup: { type: 'string', default: '30' },
        'value-bytes': { type: 'string', default: '200' },
        'no-hyperdht': { type: 'boolean', default: false },
        'no-write': { type: 'boolean', default: false },
        trace: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }));
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n${PUTGET_USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${PUTGET_USAGE}\n`);
    return 0;
  }
  const sizes = values.sizes.split(',').map(Number);
  const ops = Number(values.ops);
  const warmup = Number(values.warmup);
  const valueBytes = Number(values['value-bytes']);
  if (sizes.some((s) => !Number.isInteger(s) || s < 2 || s > 1000) || !(ops > 0) || !(warmup >= 0) || !(valueBytes > 0 && valueBytes <= 4000)) {
    process.stderr.write(`bad option values\n${PUTGET_USAGE}\n`);
    return 2;
  }
  const machine = putgetMachine();
  const startedAt = new Date().toISOString();
  const runs: PutGetRun[] = [];
  for (const n of sizes) {
    const ours = await runReload(n, ops, valueBytes, warmup, values.trace);
    runs.push(ours);
    process.stdout.write(`${JSON.stringify(ours)}\n`);
    await settledRss();
    if (!values['no-hyperdht']) {
      const theirs = await runHyperdht(n, ops, valueBytes, warmup);
      runs.push(theirs);
      process.stdout.write(`${JSON.stringify(theirs)}\n`);
    }
  }
  const report = { startedAt, command: `npm run bench -- putget ${argv.join(' ')}`.trim(), machine, runs };
  if (values['no-write']) process.stdout.write(`${renderPutgetSection(report, '(not written)')}\n`);
  else process.stdout.write(`wrote ${writePutgetResults(report).join(', ')}\n`);
  return 0;
}
