/**
 * The `idle-rss` benchmark (issue 17: what an idle peer's resident memory is made of): starts
 * `p2psip up` in a few configurations, leaves each idle and reads its memory from /proc; measures an
 * empty node program and the heavy modules one by one; writes bench/results/idle-rss-<date>.json and
 * the "Idle memory" section of BENCHMARKS.md.
 * Usage: npm run bench -- idle-rss [--idle <s>] [--early <s>] [--samples <n>] [--variants a,b] [--import-reps <n>]
 *                                  [--no-imports] [--cli <main.js> --label <text>] [--compare <json>] [--no-write]
 * Defaults: idle 40 s (V8 gives the start-up young generation back after about 20 s idle), a reading 5 s
 * after ready, 5 idle samples, every variant, one round of import probes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { P2PSIP_CLI, REPO_ROOT } from '../harness/paths.js';
import { ProcessScope } from '../harness/process-scope.js';
import { resultFileName, writeBenchmarksSection, writeJsonFile } from './bench-files.js';
import { machineInfo } from './sip/system-info.js';
import { IDLE_VARIANTS, load1, measureEmptyNode, measureImports, measureVariant, packagesLoadedAtStart, type VariantOutcome, type VariantResult } from './idle-rss/idle-rss-run.js';
import { IDLE_RSS_SECTION_END, IDLE_RSS_SECTION_START, renderIdleRssSection, type IdleRssReport } from './idle-rss/idle-rss-report.js';

export const IDLE_RSS_USAGE =
  'usage: npm run bench -- idle-rss [--idle <s>] [--early <s>] [--samples <n>] [--variants first-start,loopback,lan,lan-no-discovery,standalone] ' +
  '[--import-reps <n>] [--no-imports] [--cli <built main.js> --label <text>] [--compare <results json>] [--no-write]';

export async function idleRssCommand(argv: readonly string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        idle: { type: 'string', default: '40' },
        early: { type: 'string', default: '5' },
        samples: { type: 'string', default: '5' },
        variants: { type: 'string', default: IDLE_VARIANTS.map((v) => v.name).join(',') },
        'import-reps': { type: 'string', default: '1' },
        'no-imports': { type: 'boolean', default: false },
        cli: { type: 'string' },
        label: { type: 'string' },
        compare: { type: 'string' },
        'no-write': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${IDLE_RSS_USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${IDLE_RSS_USAGE}\n`);
    return 0;
  }
  const int = (v: string, lo: number, hi: number): number | undefined => {
    const x = Number(v);
    return Number.isInteger(x) && x >= lo && x <= hi ? x : undefined;
  };
  const earlyS = int(values.early, 1, 60);
  const samples = int(values.samples, 1, 20);
  const idleS = int(values.idle, 5, 600);
  const importReps = int(values['import-reps'], 1, 9);
  if (earlyS === undefined || samples === undefined || idleS === undefined || importReps === undefined || idleS - samples + 1 <= earlyS) {
    process.stderr.write(`--early 1..60, --samples 1..20, --idle 5..600 (the samples, one a second up to --idle, come after --early), --import-reps 1..9\n${IDLE_RSS_USAGE}\n`);
    return 2;
  }
  const names = values.variants.split(',').filter((s) => s !== '');
  const variants = IDLE_VARIANTS.filter((v) => names.includes(v.name));
  if (variants.length !== names.length) {
    process.stderr.write(`--variants takes ${IDLE_VARIANTS.map((v) => v.name).join(', ')}\n${IDLE_RSS_USAGE}\n`);
    return 2;
  }
  // --cli: another build of p2psip (an older tree, say): its node_modules and dist/ are used; --label says what it is
  if ((values.cli === undefined) !== (values.label === undefined)) {
    process.stderr.write(`--cli and --label go together (the label names the build in the results, the path is not recorded)\n${IDLE_RSS_USAGE}\n`);
    return 2;
  }
  const cli = values.cli === undefined ? P2PSIP_CLI : resolve(values.cli);
  if (!existsSync(cli)) {
    process.stderr.write(`${cli} does not exist: build first (npm run bench builds this tree)\n`);
    return 1;
  }
  const cliRoot = resolve(dirname(cli), '..', '..', '..');
  let before: IdleRssReport | undefined;
  if (values.compare !== undefined) {
    try {
      before = JSON.parse(readFileSync(values.compare, 'utf8')) as IdleRssReport;
      if (before.benchmark !== 'idle-rss') throw new Error('not an idle-rss result');
    } catch (err) {
      process.stderr.write(`--compare ${values.compare}: ${(err as Error).message}\n`);
      return 1;
    }
  }
  const log = (line: string): void => void process.stdout.write(`${line}\n`);
  const startedAt = new Date().toISOString();
  const t0 = Date.now();
  const load1Before = load1();
  const scope = new ProcessScope();
  const results: VariantOutcome[] = [];
  let emptyNode: VariantResult | undefined;
  let imports: IdleRssReport['imports'] = [];
  let loadedAtStart: string[] = [];
  try {
    const o = { cli, earlyS, idleS, samples, log };
    log(`idle-rss: ${variants.length} variant(s), ${idleS} s idle each`);
    for (const v of variants) {
      try {
        results.push(await measureVariant(scope, v, o));
      } catch (err) {
        log(`  ${v.name}: failed: ${(err as Error).message}`);
        results.push({ variant: v.name, args: v.args, error: (err as Error).message });
      }
    }
    emptyNode = await measureEmptyNode(scope, o);
    if (!values['no-imports']) {
      imports = await measureImports(cliRoot, idleS, importReps, log);
      loadedAtStart = await packagesLoadedAtStart(scope, IDLE_VARIANTS.find((v) => v.name === 'loopback')!, cli);
      log(`  loaded by the loopback peer: ${loadedAtStart.join(' ')}`);
    }
  } finally {
    await scope.dispose();
  }
  const command = ['npm run bench -- idle-rss', ...redactCli(argv)].join(' ');
  const report: IdleRssReport = {
    benchmark: 'idle-rss',
    command,
    label: values.label,
    machine: machineInfo(),
    startedAt,
    wallMs: Date.now() - t0,
    settings: { earlyS, idleS, samples, importReps },
    load1Before,
    load1After: load1(),
    nodeEnv: { NODE_OPTIONS: process.env['NODE_OPTIONS'], NODE_EXTRA_CA_CERTS: (process.env['NODE_EXTRA_CA_CERTS'] ?? '') !== '' },
    emptyNode,
    variants: results,
    imports,
    loadedAtStart,
  };
  const file = `bench/results/${resultFileName(values.label === undefined ? 'idle-rss' : `idle-rss-${slug(values.label)}`, startedAt)}`;
  const beforePath = values.compare === undefined ? undefined : displayPath(values.compare);
  const section = renderIdleRssSection(report, file, before, beforePath);
  process.stdout.write(`\n${section}\n`);
  if (!values['no-write']) {
    writeJsonFile(REPO_ROOT, file, report);
    // another build's run goes to its JSON only: the section describes this tree
    if (values.label === undefined) writeBenchmarksSection(REPO_ROOT, IDLE_RSS_SECTION_START, IDLE_RSS_SECTION_END, section);
    process.stdout.write(`\nwrote ${file}${values.label === undefined ? ' and the "Idle memory" section of BENCHMARKS.md' : ''}\n`);
  }
  return results.some((r) => 'error' in r) ? 1 : 0;
}

/** argv with the --cli path left out (it names a place on this machine). */
function redactCli(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--cli') {
      out.push('--cli', '<build>');
      i++;
    } else if (argv[i]!.startsWith('--cli=')) out.push('--cli=<build>');
    else out.push(argv[i]!);
  }
  return out;
}

/** A results path as the section shows it: relative to the repository when inside it. */
function displayPath(p: string): string {
  const abs = isAbsolute(p) ? p : join(process.cwd(), p);
  const rel = relative(REPO_ROOT, abs);
  return rel.startsWith('..') ? '(a results file outside the repository)' : rel;
}

function slug(label: string): string {
  return label.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40) || 'build';
}
