import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom } from '../../src/lib/random.js';
import { ChurnModel, parseDuration, sampleSession, type SessionDistribution } from '../../src/sim/churn-model.js';

function median(d: SessionDistribution, seed: number, n = 20_000): number {
  const r = new SeededRandom(seed);
  const v = Array.from({ length: n }, () => sampleSession(d, r)).sort((a, b) => a - b);
  return v[n >> 1]!;
}

test('exponential sessions have the requested median and mean median/ln 2', () => {
  const d: SessionDistribution = { kind: 'exponential', medianMs: 84_000 };
  for (const seed of [1, 2, 3]) assert.ok(Math.abs(median(d, seed) / 84_000 - 1) < 0.03, `seed ${seed}`);
  const r = new SeededRandom(9);
  let s = 0;
  for (let i = 0; i < 50_000; i++) s += sampleSession(d, r);
  assert.ok(Math.abs(s / 50_000 / (84_000 / Math.LN2) - 1) < 0.03);
});

test('pareto (Lomax) sessions have the requested median and a heavier tail', () => {
  const d: SessionDistribution = { kind: 'pareto', medianMs: 1_800_000, shape: 3 };
  for (const seed of [1, 2, 3]) assert.ok(Math.abs(median(d, seed) / 1_800_000 - 1) < 0.03, `seed ${seed}`);
  const r1 = new SeededRandom(4);
  const r2 = new SeededRandom(4);
  const e: SessionDistribution = { kind: 'exponential', medianMs: 1_800_000 };
  const p = Array.from({ length: 20_000 }, () => sampleSession(d, r1)).sort((a, b) => a - b);
  const x = Array.from({ length: 20_000 }, () => sampleSession(e, r2)).sort((a, b) => a - b);
  assert.ok(p[19_980]! > x[19_980]!, 'p99.9 of Pareto above the exponential one');
});

test('departures: graceful fraction; downtime 0 for immediate replacement', () => {
  const m = new ChurnModel({ session: { kind: 'exponential', medianMs: 1000 }, replacement: 'immediate', gracefulFraction: 0.25 }, new SeededRandom(5));
  let leaves = 0;
  for (let i = 0; i < 10_000; i++) if (m.nextDeparture() === 'leave') leaves++;
  assert.ok(Math.abs(leaves / 10_000 - 0.25) < 0.02);
  assert.equal(m.nextDowntime(), 0);
  const d = new ChurnModel({ session: { kind: 'exponential', medianMs: 1000 }, replacement: 'downtime', gracefulFraction: 0.5 }, new SeededRandom(5));
  assert.ok(d.nextDowntime() > 0);
});

test('parseDuration', () => {
  assert.equal(parseDuration('30m'), 1_800_000);
  assert.equal(parseDuration('84s'), 84_000);
  assert.equal(parseDuration('1.4m'), 84_000);
  assert.equal(parseDuration('2h'), 7_200_000);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('10'), 10_000);
  assert.equal(parseDuration('-1s'), undefined);
  assert.equal(parseDuration('1e9'), undefined);
  assert.equal(parseDuration('soon'), undefined);
});
