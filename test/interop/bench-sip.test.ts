/**
 * The SIP benchmark's logic without any process: rate search, spread, what stopped a
 * search, the markdown section and its replacement in BENCHMARKS.md.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { passes, roundRate, searchAround, searchMaxRate, spread } from '../../bench/sip/rate-search.js';
import type { TrialResult } from '../../bench/sip/rate-search.js';
import { searchLimit } from '../../bench/sip/sip-bench.js';
import type { SipBenchResult } from '../../bench/sip/sip-bench.js';
import { renderSection, replaceSection, resultFileName, SECTION_END, SECTION_START } from '../../bench/sip/sip-report.js';
import { creationSeconds, parseSippStatSeries } from '../../harness/sipp-stats.js';

/** A fake server that sustains `capacity` per second. */
function fakeServer(capacity: number): { run: (rate: number) => Promise<TrialResult>; rates: number[] } {
  const rates: number[] = [];
  return {
    rates,
    run: async (rate) => {
      rates.push(rate);
      const attempted = rate * 2;
      const failed = rate <= capacity ? 0 : Math.ceil(attempted * 0.2);
      const t = {
        rate,
        attempted,
        succeeded: attempted - failed,
        failed,
        failureRatio: failed / attempted,
        achievedPerS: rate,
        retransmissions: 0,
        rcvbufErrors: 0,
        wallMs: 2000,
      };
      return { ...t, pass: passes(t) };
    },
  };
}

describe('rate search', () => {
  test('doubles until a failure, then bisects twice', async () => {
    const s = fakeServer(5000);
    const r = await searchMaxRate(s.run, { start: 1000, min: 10, max: 64000, refineSteps: 2 });
    assert.deepEqual(s.rates, [1000, 2000, 4000, 8000, 5660, 4760]);
    assert.equal(r.best?.rate, 4760);
  });

  test('halves when the first trial fails', async () => {
    const s = fakeServer(300);
    const r = await searchMaxRate(s.run, { start: 1000, min: 10, max: 64000, refineSteps: 1 });
    assert.deepEqual(s.rates, [1000, 500, 250, 350]);
    assert.equal(r.best?.rate, 250);
  });

  test('nothing passes above the minimum: no best, bounded trials', async () => {
    const s = fakeServer(0);
    const r = await searchMaxRate(s.run, { start: 1000, min: 100, max: 64000 });
    assert.equal(r.best, undefined);
    assert.ok(s.rates.length <= 12);
    assert.ok(s.rates.every((x) => x >= 100));
  });

  test('stops at the cap', async () => {
    const s = fakeServer(1e9);
    const r = await searchMaxRate(s.run, { start: 1000, min: 10, max: 5000 });
    assert.deepEqual(s.rates, [1000, 2000, 4000, 5000]);
    assert.equal(r.best?.rate, 5000);
    assert.equal(searchLimit(r.trials, 5000, { maxFailureRatio: 0.01, minPaceRatio: 0.9 }), 'search-cap');
  });

  test('repetitions walk up or down from the seed', async () => {
    const up = fakeServer(5000);
    const a = await searchAround(up.run, 4000, { factor: 1.19, maxSteps: 4, min: 10, max: 64000 });
    assert.deepEqual(up.rates, [4000, 4760, 5660]);
    assert.equal(a.best?.rate, 4760);
    assert.equal(searchLimit(a.trials, 4760, { maxFailureRatio: 0.01, minPaceRatio: 0.9 }), 'failures');
    const down = fakeServer(3000);
    const b = await searchAround(down.run, 4000, { factor: 1.19, maxSteps: 4, min: 10, max: 64000 });
    assert.deepEqual(down.rates, [4000, 3360, 2820]);
    assert.equal(b.best?.rate, 2820);
  });

  test('pass criteria: < 1 % failures and the pace kept', () => {
    const base = { rate: 1000, attempted: 2000, achievedPerS: 1000 };
    assert.equal(passes({ ...base, failureRatio: 0.0099 }), true);
    assert.equal(passes({ ...base, failureRatio: 0.01 }), false);
    assert.equal(passes({ ...base, failureRatio: 0, achievedPerS: 899 }), false);
    assert.equal(passes({ ...base, attempted: 0, failureRatio: 0 }), false);
  });

  test('spread and rounding', () => {
    assert.deepEqual(spread([3, 1, 2]), { median: 2, min: 1, max: 3, relative: 1 });
    assert.deepEqual(spread([2, 4]), { median: 3, min: 2, max: 4, relative: 2 / 3 });
    assert.deepEqual(spread([]), { median: 0, min: 0, max: 0, relative: 0 });
    assert.equal(roundRate(5656.8), 5660);
    assert.equal(roundRate(62.6), 63);
  });
});

describe('SIPp pace from the statistics series', () => {
  test('interpolates when all calls were created', () => {
    const header = 'StartTime;LastResetTime;CurrentTime;TotalCallCreated;SuccessfulCall(C);FailedCall(C)';
    const row = (t: number, created: number): string => `d\t00\t100.0;x;d\t00\t${100 + t};${created};${created};0`;
    const series = parseSippStatSeries([header, row(0, 0), row(1, 900), row(2, 1900), row(2.1, 2000)].join('\n'));
    assert.equal(series.length, 4);
    const s = creationSeconds(series, 2000);
    assert.ok(s !== undefined && Math.abs(s - 2.1) < 1e-9);
    const half = creationSeconds(series, 1400);
    assert.ok(half !== undefined && Math.abs(half - 1.5) < 1e-9);
    assert.equal(creationSeconds(series, 5000), undefined);
  });
});

describe('report', () => {
  const result: SipBenchResult = {
    startedAt: '2026-01-02T03:04:05.000Z',
    durationS: 2,
    reps: 3,
    budgetS: 270,
    criteria: { maxFailureRatio: 0.01, minPaceRatio: 0.9 },
    load1Before: 0.1,
    load1After: 0.2,
    rcvbufErrorsTotal: 0,
    wallMs: 120_000,
    suts: [
      {
        sut: 'p2psip',
        peers: 1,
        wallMs: 1,
        restarts: 0,
        workloads: [
          {
            workload: 'register-new',
            repetitions: [
              { maxRate: 900, limit: 'failures', achievedPerS: 900, trials: [] },
              { maxRate: 1000, limit: 'failures', achievedPerS: 1000, trials: [] },
              { maxRate: 1100, limit: 'pace', achievedPerS: 1100, trials: [] },
            ],
            maxRate: { median: 1000, min: 900, max: 1100, relative: 0.2 },
            rcvbufErrors: 5,
            retransmissionsAtBest: [0, 1, 2],
          },
        ],
      },
      {
        sut: 'kamailio',
        wallMs: 1,
        restarts: 0,
        workloads: [
          {
            workload: 'register-new',
            repetitions: [],
            maxRate: { median: 4000, min: 4000, max: 4000, relative: 0 },
            rcvbufErrors: 0,
            retransmissionsAtBest: [],
          },
        ],
      },
    ],
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

  test('the section has the numbers, the ratio and the machine', () => {
    const md = renderSection({ benchmark: 'sip', command: 'npm run bench -- sip', machine, result }, 'bench/results/x.json');
    assert.match(
      md,
      /\| p2psip alone \(1-peer overlay\) \| new REGISTER\/s \(AoRs never seen\) \| 1,000 \| 900–1,100 \| 20 % \| ≥ 1 % failed ×2, SIPp fell behind the pace ×1 \| 5 \| 0, 1, 2 \| 0\.25 \|/,
    );
    assert.match(md, /new REGISTER\/s \(AoRs never seen\): p2psip alone \(1-peer overlay\) 0\.25 \(1,000 \/ 4,000\)/);
    assert.match(md, /2 cores/);
    assert.equal(resultFileName(result.startedAt), 'sip-2026-01-02.json');
  });

  test('the section replaces only itself', () => {
    const other = '# Benchmarks\n\n## Other\n\nkeep me\n';
    const once = replaceSection(other, `${SECTION_START}\nA\n${SECTION_END}`);
    assert.ok(once.startsWith(other.trimEnd()));
    const twice = replaceSection(`${once}\n## After\n`, `${SECTION_START}\nB\n${SECTION_END}`);
    assert.match(twice, /keep me/);
    assert.match(twice, /## After/);
    assert.doesNotMatch(twice, /\nA\n/);
    assert.match(twice, /\nB\n/);
  });
});
