import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { ManualClock } from '../../src/lib/manual-clock.js';

test('ManualClock: nextTimerAt skips cancelled timers; advanceTo fires up to and including the time; firedCount', () => {
  const c = new ManualClock(10);
  assert.equal(c.nextTimerAt(), undefined);
  const a = c.setTimer(5, () => {});
  let fired = 0;
  c.setTimer(7.5, () => fired++);
  assert.equal(c.nextTimerAt(), 15);
  a.cancel();
  assert.equal(c.nextTimerAt(), 17.5);
  c.advanceTo(17.5);
  assert.equal(fired, 1);
  assert.equal(c.now(), 17.5);
  c.advanceTo(3);
  assert.equal(c.now(), 17.5, 'never backwards');
  assert.equal(c.firedCount, 1);
  assert.equal(c.pendingTimers, 0);
});

test('ManualClock scales: a million timers, half cancelled, fire in order in bounded time', () => {
  const c = new ManualClock();
  const t0 = performance.now();
  let last = -1;
  let ok = true;
  let n = 0;
  const handles = [];
  let x = 7;
  for (let i = 0; i < 1_000_000; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const at = x % 1_000_000;
    handles.push(
      c.setTimer(at, () => {
        if (c.now() < last) ok = false;
        last = c.now();
        n++;
      }),
    );
  }
  for (let i = 0; i < handles.length; i += 2) handles[i]!.cancel();
  assert.equal(c.pendingTimers, 500_000);
  c.runUntilIdle();
  assert.ok(ok, 'in time order');
  assert.equal(n, 500_000);
  assert.equal(c.pendingTimers, 0);
  const s = (performance.now() - t0) / 1000;
  assert.ok(s < 20, `took ${s.toFixed(1)} s`);
});
