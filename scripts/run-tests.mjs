#!/usr/bin/env node
// Runs node's test runner over every *.test.ts below the given folders (Node 20 has no --test globs).
// Usage: node scripts/run-tests.mjs [--serial] [--only <substring>] <dir or file.test.ts>...
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
let serial = false;
let only;
const dirs = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--serial') serial = true;
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
const nodeArgs = ['--import', 'tsx', '--test', `--test-concurrency=${serial ? 1 : 2}`, ...selected];
const r = spawnSync(process.execPath, nodeArgs, { stdio: 'inherit' });
process.exit(r.status ?? 1);
