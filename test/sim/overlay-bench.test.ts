import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { overlayCommand } from '../../bench/overlay/overlay-bench.js';
import { OVERLAY_SECTION_END, OVERLAY_SECTION_START, type OverlayBenchReport } from '../../bench/overlay/overlay-report.js';
import { createOraclePeerFactory } from '../../harness/oracle-peer.js';

test('the overlay benchmark writes its JSON, its BENCHMARKS.md section (only) and the SVG plot', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'overlay-bench-'));
  try {
    writeFileSync(join(dir, 'BENCHMARKS.md'), `# Benchmarks\n\n${OVERLAY_SECTION_START}\nold\n${OVERLAY_SECTION_END}\n\n<!-- other -->\nkept\n`);
    const code = await overlayCommand(['--max-nodes', '300', '--duration', '30s', '--lookup-rate', '5', '--out-dir', dir, '--quiet', '--stand-in'], async () => createOraclePeerFactory());
    assert.equal(code, 0);
    const md = readFileSync(join(dir, 'BENCHMARKS.md'), 'utf8');
    assert.ok(md.includes('kept') && !md.includes('\nold\n'));
    assert.match(md, /\| 100 peers \| 100 \| \d+ \| 100\.00 % \|/);
    assert.match(md, /\| 300 peers \| 300 \|/);
    assert.match(md, /churn, median session 1\.4 min \| 300 \|/);
    assert.match(md, /stand-in oracle peer/);
    const date = new Date().toISOString().slice(0, 10);
    const json = JSON.parse(readFileSync(join(dir, `bench/results/overlay-${date}.json`), 'utf8')) as OverlayBenchReport;
    assert.equal(json.scenarios.length, 4);
    assert.equal(json.peer, 'stand-in');
    const svg = readFileSync(join(dir, 'docs/overlay-bench.svg'), 'utf8');
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.equal((svg.match(/<polyline /g) ?? []).length, 6, 'hops mean, p99, reference; success; two bandwidth lines');
    assert.ok(svg.trim().endsWith('</svg>'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad options are usage errors (exit 2)', async () => {
  assert.equal(await overlayCommand(['--max-nodes', 'x', '--quiet'], async () => createOraclePeerFactory()), 2);
  assert.equal(await overlayCommand(['--bogus'], async () => createOraclePeerFactory()), 2);
});
