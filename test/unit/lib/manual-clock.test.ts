import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/lib/manual-clock.js';

test('timers fire in time order, ties in registration order', () => {
  const c = new ManualClock();
  const fired: string[] = [];
  c.setTimer(20, () => fired.push('b'));
  c.setTimer(10, () => fired.push('a1'));
  c.setTimer(10, () => fired.push('a2'));
  c.advance(15);
  assert.deepEqual(fired, ['a1', 'a2']);
  assert.equal(c.now(), 15);
  c.advance(5);
  assert.deepEqual(fired, ['a1', 'a2', 'b']);
});

test('cancelled timers never fire and are compacted away when many', () => {
  const c = new ManualClock();
  const fired: number[] = [];
  const handles = Array.from({ length: 3000 }, (_, i) => c.setTimer(1000 + i, () => fired.push(i)));
  for (let i = 0; i < 3000; i++) if (i % 3 !== 0) handles[i]!.cancel();
  handles[1]!.cancel(); // twice: no effect
  assert.equal(c.pendingTimers, 1000);
  c.runUntilIdle();
  assert.equal(fired.length, 1000);
  assert.ok(fired.every((v, i) => v === i * 3), 'the live ones, in order');
  assert.equal(c.pendingTimers, 0);
});

test('a timer cancelled from inside another timer callback does not fire', () => {
  const c = new ManualClock();
  let fired = false;
  const late = c.setTimer(10, () => {
    fired = true;
  });
  c.setTimer(5, () => late.cancel());
  c.advance(20);
  assert.equal(fired, false);
});

test('cancelling a timer that already fired changes nothing', () => {
  const c = new ManualClock();
  const h = c.setTimer(1, () => {});
  c.setTimer(5, () => {});
  c.advance(2);
  h.cancel();
  assert.equal(c.pendingTimers, 1);
  c.advance(10);
  assert.equal(c.pendingTimers, 0);
});
