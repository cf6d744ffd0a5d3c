#!/usr/bin/env node
// Runs node's test runner over every *.test.ts below the given folders (Node 20 has no --test globs).
// Usage: node scripts/run-tests.mjs [--serial | --lanes [--side-by-side]] [--only <substring>] <dir or file.test.ts>...
//
// Without --lanes (npm test): two files at a time, then the files tagged `@test-lane alone` one at a time.
// --lanes (the interop suite): each file runs alone in its lane.
// A file names its lane in its header with `@test-lane <name>`; untagged files are in `loopback`.
// The `loopback` and `namespaces` lanes run side by side on a machine with 4 or more cores (or with
// --side-by-side), else one after the other.
// Files of lane `namespaces` work only inside network namespaces they create, so they share neither
// ports, loopback captures nor programs' fixed addresses with the `loopback` lane, and the two can run
// at once. Files of lane `alone` (loads measured against a bound, and `npm pack`, which rebuilds dist/
// that the others run from) run after both, one at a time, with nothing else running.
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';

const args = process.argv.slice(2);
let serial = false;
let lanes = false;
let only;
let sideBySideAsked = false;
const dirs = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--serial') serial = true;
  else if (args[i] === '--lanes') lanes = true;
  else if (args[i] === '--only') only = args[++i];
  else if (args[i] === '--side-by-side') sideBySideAsked = true;
  else dirs.push(args[i]);
}

function walk(dir, out) {
  if (!existsSync(dir)) return;
  if (!statSync(dir).isDirectory()) {
    if (dir.endsWith('.test.ts')) out.push(dir);
    return;
  }
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
}
const files = [];
for (const d of dirs) walk(d, files);
const selected = only ? files.filter((f) => f.includes(only)) : files;
if (selected.length === 0) {
  console.error(`no test files under ${dirs.join(', ')}`);
  process.exit(1);
}

const nodeArgs = (concurrency, list) => ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...list];

/**
 * Collects the TAP blocks of failed tests (the `not ok` line and its YAML: location, error, stack),
 * so the end of the output names every failure even when only the tail of a long log is kept.
 * A parent reported failed only because a subtest failed is left out; blocks and lines are capped.
 */
const MAX_FAILURES = 12;
const MAX_BLOCK_LINES = 40;
const failures = [];
let failuresLeftOut = 0;
let open = null; // { indent, lines, lane }
function watchTap(line, lane) {
  if (open !== null && open.lane === lane) {
    open.lines.push(line);
    if (line === `${open.indent}  ...`) {
      const block = open;
      open = null;
      if (block.lines.some((l) => l.includes("failureType: 'subtestsFailed'"))) return;
      if (failures.length >= MAX_FAILURES) failuresLeftOut++;
      else failures.push(block);
    }
    return;
  }
  const m = /^(\s*)not ok \d+ - /.exec(line);
  if (m !== null) open = { indent: m[1], lines: [line], lane };
}
function printFailures() {
  if (failures.length === 0) return;
  console.log(`# failed tests (${failures.length + failuresLeftOut}):`);
  for (const f of failures) {
    const shown = f.lines.slice(0, MAX_BLOCK_LINES);
    for (const l of shown) console.log(`# ${f.lane === '' ? '' : `[${f.lane}] `}${l.slice(f.indent.length)}`);
    if (f.lines.length > shown.length) console.log(`#   … ${f.lines.length - shown.length} more lines`);
  }
  if (failuresLeftOut > 0) console.log(`# … and ${failuresLeftOut} more failed tests, not shown`);
}

/** Runs node's test runner over `list`, passing its output through (prefixed with the lane's name if given). */
function runFiles(list, concurrency, lane) {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, nodeArgs(concurrency, list), { stdio: ['ignore', 'pipe', 'pipe'] });
    const counts = { pass: 0, fail: 0 };
    const prefix = lane === '' ? '' : `[${lane}] `;
    for (const [stream, out, tap] of [[child.stdout, process.stdout, true], [child.stderr, process.stderr, false]]) {
      let rest = '';
      stream.setEncoding('utf8');
      const onLine = (line) => {
        const m = /^# (pass|fail) (\d+)$/.exec(line);
        if (m !== null) counts[m[1]] += Number(m[2]);
        if (tap) watchTap(line, lane);
        out.write(`${prefix}${line}\n`);
      };
      stream.on('data', (chunk) => {
        const lines = (rest + chunk).split('\n');
        rest = lines.pop();
        for (const line of lines) onLine(line);
      });
      stream.on('end', () => {
        if (rest !== '') onLine(rest);
      });
    }
    child.on('close', (code) => resolve({ lane, code: code ?? 1, ...counts, ms: Date.now() - t0 }));
  });
}

/** The lane a file names in its header with `@test-lane <name>` (untagged: `loopback`). */
function laneOf(file) {
  const m = /@test-lane\s+([a-z]+)/.exec(readFileSync(file, 'utf8').slice(0, 4000));
  return m === null ? 'loopback' : m[1];
}

if (!lanes) {
  // Two files at a time; files tagged `@test-lane alone` (loads judged against a bound, which a
  // CPU-hungry neighbour on a 2-core machine would decide) afterwards, one at a time.
  const alone = serial ? [] : selected.filter((f) => laneOf(f) === 'alone');
  const rest = selected.filter((f) => !alone.includes(f));
  const first = rest.length > 0 ? await runFiles(rest, serial ? 1 : 2, '') : { code: 0 };
  const second = alone.length > 0 ? await runFiles(alone, 1, '') : { code: 0 };
  printFailures();
  process.exit(first.code === 0 && second.code === 0 ? 0 : 1);
}

const KNOWN_LANES = ['loopback', 'namespaces', 'alone'];
const byLane = new Map(KNOWN_LANES.map((l) => [l, []]));
for (const f of selected) {
  const lane = laneOf(f);
  if (!byLane.has(lane)) {
    console.error(`${f}: unknown @test-lane ${lane} (known: ${KNOWN_LANES.join(', ')})`);
    process.exit(1);
  }
  byLane.get(lane).push(f);
}

/** Runs one lane's files one at a time; its output lines are prefixed with the lane's name. */
function runLane(lane) {
  const list = byLane.get(lane);
  if (list.length === 0) return Promise.resolve({ lane, code: 0, pass: 0, fail: 0, ms: 0 });
  return runFiles(list, 1, lane);
}

// Side by side only with cores to spare: on a 2-core machine the two lanes' peers starved each other
// (CI, 2026-12-07: a TCP SIPp load lost 46 of 200 calls beside the NAT lab's audio test, and NAT lab
// tests failed on timing that they pass alone). `--side-by-side` forces it.
const sideBySide = sideBySideAsked || availableParallelism() >= 4;
const results = sideBySide ? await Promise.all([runLane('loopback'), runLane('namespaces')]) : [await runLane('loopback'), await runLane('namespaces')];
results.push(await runLane('alone'));
console.log('# lanes:');
for (const r of results) console.log(`#   ${r.lane}: ${byLane.get(r.lane).length} files, ${r.pass} passed, ${r.fail} failed, exit ${r.code}, ${Math.round(r.ms / 1000)} s`);
printFailures();
process.exit(results.every((r) => r.code === 0) ? 0 : 1);
