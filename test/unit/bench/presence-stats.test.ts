import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLayout, presentityLane, watcherLane, watcherPresentity, watchersOf } from '../../../bench/presence/presence-layout.js';
import { groupsCpuMs, parseProcStat, ratesPerSecond, summariseRound, summariseRounds, summariseSteps, type StepResult } from '../../../bench/presence/presence-stats.js';
import { spread } from '../../../bench/sip/rate-search.js';
import { ratio, sumCounters } from '../../../bench/presence/presence-report.js';

describe('presence benchmark layout', () => {
  const layout = checkLayout({ lanes: 5, presentities: 10, watchers: 1000 });

  test('every presentity has 100 watchers, 20 at each lane, one lane being its own', () => {
    for (let j = 0; j < 10; j++) {
      const ws = watchersOf(layout, j);
      assert.equal(ws.length, 100);
      assert.ok(ws.every((k) => watcherPresentity(layout, k) === j));
      const perLane = [0, 0, 0, 0, 0];
      for (const k of ws) perLane[watcherLane(layout, k)]!++;
      assert.deepEqual(perLane, [20, 20, 20, 20, 20]);
    }
    assert.deepEqual([0, 4, 5, 9].map((j) => presentityLane(layout, j)), [0, 4, 0, 4]);
  });

  test('each lane carries 200 watchers and two presentities', () => {
    const perLane = [0, 0, 0, 0, 0];
    for (let k = 0; k < 1000; k++) perLane[watcherLane(layout, k)]!++;
    assert.deepEqual(perLane, [200, 200, 200, 200, 200]);
  });

  test('counts that are not whole numbers >= 1 are refused', () => {
    assert.throws(() => checkLayout({ lanes: 0, presentities: 10, watchers: 10 }), /lanes/);
    assert.throws(() => checkLayout({ lanes: 5, presentities: 2.5, watchers: 10 }), /presentities/);
    assert.throws(() => checkLayout({ lanes: 5, presentities: 10, watchers: NaN }), /watchers/);
  });
});

describe('presence benchmark arithmetic', () => {
  test('a round: median of those reached, the last only when all were, medians by where the watcher is', () => {
    const all = summariseRound([
      { samePeer: true, ms: 4 },
      { samePeer: false, ms: 10 },
      { samePeer: false, ms: 20 },
      { samePeer: true, ms: 6 },
    ]);
    assert.deepEqual(all, { watchers: 4, reached: 4, medianMs: 8, lastMs: 20, samePeerMedianMs: 5, otherPeersMedianMs: 15 });
    const some = summariseRound([
      { samePeer: false, ms: 3 },
      { samePeer: false, ms: undefined },
    ]);
    assert.equal(some.reached, 1);
    assert.equal(some.lastMs, undefined);
    assert.equal(some.samePeerMedianMs, undefined);
    const none = summariseRound([{ samePeer: false, ms: undefined }]);
    assert.equal(none.medianMs, 0);
    assert.equal(none.lastMs, undefined);
  });

  test('rounds: medians over rounds with min and max; the last over complete rounds; missed watchers added up', () => {
    const s = summariseRounds([
      { watchers: 2, reached: 2, medianMs: 10, lastMs: 30, samePeerMedianMs: 5, otherPeersMedianMs: 12 },
      { watchers: 2, reached: 1, medianMs: 14, lastMs: undefined, samePeerMedianMs: undefined, otherPeersMedianMs: 14 },
      { watchers: 2, reached: 2, medianMs: 12, lastMs: 50, samePeerMedianMs: 7, otherPeersMedianMs: 13 },
      { watchers: 2, reached: 0, medianMs: 0, lastMs: undefined, samePeerMedianMs: undefined, otherPeersMedianMs: undefined },
    ]);
    assert.equal(s.rounds, 4);
    assert.equal(s.complete, 2);
    assert.deepEqual(s.median, { median: 12, min: 10, max: 14, relative: 4 / 12 });
    assert.deepEqual(s.last, { median: 40, min: 30, max: 50, relative: 0.5 });
    assert.equal(s.samePeerMedian?.median, 6);
    assert.equal(s.otherPeersMedian?.median, 13);
    assert.equal(s.missed, 3);
    const empty = summariseRounds([]);
    assert.equal(empty.samePeerMedian, undefined);
    assert.equal(empty.median.median, 0);
  });

  test('rates per second between counter samples (a zero interval is left out)', () => {
    assert.deepEqual(
      ratesPerSecond([
        { atMs: 0, value: 0 },
        { atMs: 1000, value: 50 },
        { atMs: 1000, value: 50 },
        { atMs: 1500, value: 100 },
      ]),
      [50, 100],
    );
    assert.deepEqual(ratesPerSecond([{ atMs: 0, value: 1 }]), []);
  });

  test('/proc/<pid>/stat: a command name with spaces and parentheses; CPU of process groups added up', () => {
    const line = '4242 (kamailio (a) b) S 4200 4200 4200 0 -1 4194560 100 0 0 0 150 50 0 0 20 0 1 0 123 456 789';
    assert.deepEqual(parseProcStat(line), { pid: 4242, ppid: 4200, pgrp: 4200, cpuMs: 2000 });
    assert.equal(parseProcStat('garbage'), undefined);
    assert.equal(parseProcStat('12 (x) S 1 2'), undefined);
    const stats = [
      { pid: 1, ppid: 0, pgrp: 10, cpuMs: 100 },
      { pid: 2, ppid: 1, pgrp: 10, cpuMs: 50 },
      { pid: 3, ppid: 0, pgrp: 20, cpuMs: 7 },
      { pid: 4, ppid: 0, pgrp: 30, cpuMs: 1000 },
    ];
    assert.equal(groupsCpuMs(stats, new Set([10, 20])), 157);
  });

  test('the peers\' counters are added up, one level deep; ratios', () => {
    const c = sumCounters([
      { subscriptions: 200, notifies: 10, overlay: { hintsSent: 3, deep: { x: 1 } }, name: 'a' },
      { subscriptions: 100, notifies: 5, overlay: { hintsSent: 4 } },
      null,
      { error: 'timeout' },
    ]);
    assert.deepEqual(c, { subscriptions: 300, notifies: 15, 'overlay.hintsSent': 7 });
    assert.equal(ratio(3, 2), '1.50');
    assert.equal(ratio(3, 0), '–');
    assert.equal(ratio(undefined, 2), '–');
  });

  test('rate steps: one summary per offered rate over its repetitions; failures and skips added up; the worst convergence kept', () => {
    const step = (rep: number, rate: number, x: Partial<StepResult>): StepResult => ({
      rep,
      rate,
      durationS: 5,
      offered: rate * 5,
      sent: rate * 5,
      skippedBusy: 0,
      ok: rate * 5,
      failed: {},
      okPerS: rate,
      okPerSecond: spread([rate]),
      publishMs: spread([2]),
      publishP90Ms: 4,
      notifiesPerS: rate * 100,
      notifiesPerSecond: spread([rate * 100]),
      notifiesPerChange: 1,
      converged: 1000,
      convergedAfterMs: 10,
      serverCores: 0.5,
      generatorCores: 0.1,
      loopDelayP99Ms: 1,
      loopDelayMaxMs: 2,
      udpRcvbufErrors: 0,
      ...x,
    });
    const [r20, r200] = summariseSteps([
      step(1, 20, {}),
      step(1, 200, { okPerS: 150, skippedBusy: 30, failed: { 500: 2 }, converged: 990, convergedAfterMs: undefined, loopDelayP99Ms: 9 }),
      step(2, 20, { okPerS: 19, convergedAfterMs: 30 }),
      step(2, 200, { okPerS: 170, skippedBusy: 10, failed: { 500: 1, 408: 4 }, udpRcvbufErrors: undefined }),
      step(3, 200, { okPerS: 160, ok: 0 }),
    ]);
    assert.ok(r20 !== undefined && r200 !== undefined);
    assert.equal(r20.rate, 20);
    assert.equal(r20.reps, 2);
    assert.equal(r20.okPerS.median, 19.5);
    assert.deepEqual(r20.convergedAfterMs, spread([10, 30]));
    assert.equal(r20.notConverged, 0);
    assert.equal(r20.udpRcvbufErrors, 0);
    assert.equal(r200.reps, 3);
    assert.deepEqual(r200.okPerS, spread([150, 170, 160]));
    assert.equal(r200.skippedBusy, 40);
    assert.deepEqual(r200.failed, { 500: 3, 408: 4 });
    assert.equal(r200.convergedMin, 990);
    assert.equal(r200.notConverged, 1);
    assert.equal(r200.loopDelayP99MaxMs, 9);
    assert.equal(r200.udpRcvbufErrors, undefined, 'one repetition could not read the counter');
    // a repetition without a PUBLISH answered 200 has no latency to give
    assert.equal(r200.publishMedianMs.median, 2);
    assert.deepEqual(summariseSteps([]), []);
  });
});
