#!/usr/bin/env node
// Runs node's test runner over every *.test.ts below the given folders (Node 20 has no --test globs).
// Usage: node scripts/run-tests.mjs [--serial | --lanes] [--only <substring>] <dir or file.test.ts>...
//
// --lanes (the interop suite): each file runs alone in its lane, and the lanes run side by side.
// A file names its lane in its header with `@test-lane <name>`; untagged files are in `loopback`.
// Files of lane `namespaces` work only inside network namespaces they create, so they share neither
// ports, loopback captures nor programs' fixed addresses with the `loopback` lane, and the two run
// at once. Files of lane `alone` (loads measured against a bound, and `npm pack`, which rebuilds dist/
// that the others run from) run after both, one at a time, with nothing else running.
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
let serial = false;
let lanes = false;
let only;
const dirs = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--serial') serial = true;
  else if (args[i] === '--lanes') lanes = true;
  else if (args[i] === '--only') only = args[++i];
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

if (!lanes) {
  const r = spawnSync(process.execPath, nodeArgs(serial ? 1 : 2, selected), { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const KNOWN_LANES = ['loopback', 'namespaces', 'alone'];
const byLane = new Map(KNOWN_LANES.map((l) => [l, []]));
for (const f of selected) {
  const m = /@test-lane\s+([a-z]+)/.exec(readFileSync(f, 'utf8').slice(0, 4000));
  const lane = m === null ? 'loopback' : m[1];
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
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, nodeArgs(1, list), { stdio: ['ignore', 'pipe', 'pipe'] });
    const counts = { pass: 0, fail: 0 };
    for (const [stream, out] of [[child.stdout, process.stdout], [child.stderr, process.stderr]]) {
      let rest = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk) => {
        const lines = (rest + chunk).split('\n');
        rest = lines.pop();
        for (const line of lines) {
          const m = /^# (pass|fail) (\d+)$/.exec(line);
          if (m !== null) counts[m[1]] += Number(m[2]);
          out.write(`[${lane}] ${line}\n`);
        }
      });
      stream.on('end', () => {
        if (rest !== '') out.write(`[${lane}] ${rest}\n`);
      });
    }
    child.on('close', (code) => resolve({ lane, code: code ?? 1, ...counts, ms: Date.now() - t0 }));
  });
}

const results = await Promise.all([runLane('loopback'), runLane('namespaces')]);
results.push(await runLane('alone'));
console.log('# lanes:');
for (const r of results) console.log(`#   ${r.lane}: ${byLane.get(r.lane).length} files, ${r.pass} passed, ${r.fail} failed, exit ${r.code}, ${Math.round(r.ms / 1000)} s`);
process.exit(results.every((r) => r.code === 0) ? 0 : 1);
