/**
 * The calls benchmark's logic without any process: the post-dial-delay summary, the markdown
 * section (numbers, added delay, ratio, machine) and its replacement in BENCHMARKS.md; and the
 * route-set parsing of the benchmark's user agent.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CallsBenchResult } from '../../bench/calls/calls-bench.js';
import { CALLS_SECTION_END, CALLS_SECTION_START, callsResultFileName, renderCallsSection, replaceCallsSection } from '../../bench/calls/calls-report.js';
import { percentile, summarisePath } from '../../bench/calls/post-dial-delay.js';
import type { PddTrial } from '../../bench/calls/post-dial-delay.js';
import { splitList } from '../../harness/dialog-phone.js';

const trials = (first: number[], later: number[][]): PddTrial[] =>
  first.map((f, i) => ({ first: f, secondCallee: f / 2, later: later[i] ?? [], failed: 0 }));

describe('post-dial delay summary', () => {
  test('spreads over trials, median of per-trial medians, pooled p90', () => {
    const s = summarisePath('overlay', trials([30, 10, 20], [[1, 2, 3], [5, 6, 7], [2, 2, 100]]));
    assert.deepEqual(s.first, { median: 20, min: 10, max: 30, relative: 1 });
    assert.equal(s.secondCallee.median, 10);
    assert.deepEqual(s.laterMedian, { median: 2, min: 2, max: 6, relative: 2 });
    assert.equal(s.laterP90, 100, "nearest rank of 9 values: the 9th");
    assert.equal(s.failed, 0);
  });

  test('a trial that failed to run is left out, its failures counted', () => {
    const s = summarisePath('kamailio', [
      { first: undefined, secondCallee: undefined, later: [], failed: 3, error: 'boom' },
      { first: 4, secondCallee: 2, later: [1], failed: 1 },
    ]);
    assert.equal(s.first.median, 4);
    assert.equal(s.laterMedian.median, 1);
    assert.equal(s.failed, 4);
  });

  test('percentile is nearest-rank and total on empty input', () => {
    assert.equal(percentile([], 0.9), 0);
    assert.equal(percentile([5], 0.9), 5);
    assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9), 9);
  });
});

describe('calls report', () => {
  const workload = (median: number) => ({
    workload: 'calls' as const,
    repetitions: [
      { maxRate: median, limit: 'failures' as const, achievedPerS: median, trials: [] },
      { maxRate: median, limit: 'pace' as const, achievedPerS: median, trials: [] },
    ],
    maxRate: { median, min: median * 0.9, max: median * 1.1, relative: 0.2 },
    rcvbufErrors: 0,
    retransmissionsAtBest: [0, 0],
  });
  const result: CallsBenchResult = {
    startedAt: '2026-01-02T03:04:05.000Z',
    durationS: 2,
    reps: 3,
    budgetS: 240,
    criteria: { maxFailureRatio: 0.01, minPaceRatio: 0.9 },
    pdd: {
      trials: 3,
      warmCalls: 20,
      rate: 10,
      paths: [
        summarisePath('overlay', trials([60, 70, 80], [[10], [12], [14]])),
        summarisePath('kamailio', trials([1, 1, 1], [[0.5], [0.5], [0.5]])),
        summarisePath('direct', trials([0.2, 0.2, 0.2], [[0.1], [0.1], [0.1]])),
      ],
    },
    rates: [
      { system: 'p2psip-overlay', description: 'A → B', workload: workload(500), restarts: 2, wallMs: 1 },
      { system: 'kamailio', description: 'K', workload: workload(2000), restarts: 1, wallMs: 1 },
    ],
    load1Before: 1.5,
    load1Middle: 2.5,
    load1After: 3,
    wallMs: 300_000,
  };
  const machine = {
    nproc: 2,
    cpuModel: 'CPU',
    kernel: '6.1',
    node: 'v20',
    tools: { sipp: 'SIPp v3.6.1', kamailio: 'kamailio 5.6.3' },
    rmemMax: 1,
    rmemDefault: 1,
  };

  test('the section has the delays, the added delay, the rates, the ratio and the load', () => {
    const md = renderCallsSection({ benchmark: 'calls', command: 'npm run bench -- calls', machine, result }, 'bench/results/x.json');
    assert.match(md, /\| overlay: caller → peer A → overlay → peer B → callee \| 70\.00 \(60\.00–80\.00\) \| 35\.00 \(30\.00–40\.00\) \| 12\.00 \(10\.00–14\.00\) \| 14\.00 \| 0 \|/);
    assert.match(md, /overlay minus Kamailio: first call \+69\.00 ms, first call to a 2nd callee \+34\.50 ms, later calls \+11\.50 ms/);
    assert.match(md, /\| p2psip, 2 peers \| A → B \| 500 \(2 reps\) \| 450–550 \| 20 % \| ≥ 1 % failed ×1, SIPp fell behind the pace ×1 \| 0 \| 0, 0 \| 2 \|/);
    assert.match(md, /Ratio p2psip \(two peers\) \/ Kamailio \(one proxy\), medians: 0\.25 \(500 \/ 2,000\)/);
    assert.match(md, /Load average \(1 min\): 1\.50 before/);
    assert.match(md, /exceeded the 2 cores/, 'a load of 2.5 on 2 cores before the rate search is called out');
    // the reading at the end is mostly the rate search's own SIPp and servers: not a sign of other work
    const quiet = renderCallsSection({ benchmark: 'calls', command: 'c', machine, result: { ...result, load1Middle: 1, load1After: 3 } }, 'x.json');
    assert.doesNotMatch(quiet, /exceeded the 2 cores/);
    assert.equal(callsResultFileName(result.startedAt), 'calls-2026-01-02.json');
  });

  test('a system that could not be measured says why', () => {
    const md = renderCallsSection(
      { benchmark: 'calls', command: 'c', machine, result: { ...result, rates: [{ system: 'kamailio', description: 'K', workload: undefined, restarts: 0, wallMs: 0, error: 'no | kamailio\nmore' }] } },
      'x.json',
    );
    assert.match(md, /not measured: no \\\| kamailio \|/);
    assert.doesNotMatch(md, /Ratio/);
  });

  test('the section replaces only itself', () => {
    const other = '# Benchmarks\n\n## Other\n\nkeep me\n';
    const once = replaceCallsSection(other, 'A');
    assert.ok(once.startsWith(other.trimEnd()));
    assert.ok(once.includes(`${CALLS_SECTION_START}\nA\n${CALLS_SECTION_END}`));
    const twice = replaceCallsSection(`${once}\n## After\n`, 'B');
    assert.match(twice, /keep me/);
    assert.match(twice, /## After/);
    assert.doesNotMatch(twice, /\nA\n/);
    assert.match(twice, /\nB\n/);
  });
});

describe('DialogPhone route sets', () => {
  test('a header list splits at commas outside <> and quotes', () => {
    assert.deepEqual(splitList('<sip:a;lr>, <sip:b,c;lr>,"x, y" <sip:d>'), ['<sip:a;lr>', '<sip:b,c;lr>', '"x, y" <sip:d>']);
    assert.deepEqual(splitList(''), []);
  });
});
