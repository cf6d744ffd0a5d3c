import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/lib/manual-clock.js';
import { DEFAULT_OVERLAY_READ_RATE, TokenBucket } from '../../../src/node/api-rate-limit.js';

test('token bucket: the default is 20/s with bursts of 40', () => {
  assert.deepEqual({ ...DEFAULT_OVERLAY_READ_RATE }, { ratePerSec: 20, burst: 40 });
});

test('token bucket: a full burst, then refused with the time until the next token; refills on the clock', () => {
  const clock = new ManualClock(0);
  const b = new TokenBucket(clock, { ratePerSec: 20, burst: 40 });
  for (let i = 0; i < 40; i++) assert.deepEqual(b.take(), { ok: true }, `take ${i}`);
  assert.deepEqual(b.take(), { ok: false, retryAfterMs: 50 });
  clock.advance(25);
  assert.deepEqual(b.take(), { ok: false, retryAfterMs: 25 });
  clock.advance(25);
  assert.deepEqual(b.take(), { ok: true });
  clock.advance(60_000);
  assert.equal(b.available(), 40, 'never more than the burst');
});

test('token bucket: a clock that goes back refills nothing', () => {
  let now = 10_000;
  const clock = { now: () => now, setTimer: () => ({ cancel: () => undefined }) };
  const b = new TokenBucket(clock, { ratePerSec: 1, burst: 1 });
  assert.equal(b.take().ok, true);
  now = 0;
  assert.equal(b.take().ok, false);
  now = 1000;
  assert.equal(b.take().ok, true, 'time counts again from where it went back to');
});

test('token bucket: nonsense options are refused when it is made', () => {
  const clock = new ManualClock(0);
  for (const o of [{ ratePerSec: 0, burst: 1 }, { ratePerSec: Number.NaN, burst: 1 }, { ratePerSec: 1, burst: 0 }, { ratePerSec: 1, burst: 1.5 }, { ratePerSec: Infinity, burst: 1 }]) {
    assert.throws(() => new TokenBucket(clock, o), RangeError, JSON.stringify(o));
  }
});
