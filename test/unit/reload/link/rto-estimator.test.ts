import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RtoEstimator } from '../../../../src/reload/link/rto-estimator.js';

test('RFC 6298 (2.1): 1 s before any sample; (2.2) first sample; (2.3) later samples', () => {
  const r = new RtoEstimator({ minRtoMs: 1 });
  assert.equal(r.rtoMs, 1000);
  assert.equal(r.srttMs, undefined);
  r.sample(100);
  assert.equal(r.srttMs, 100);
  assert.equal(r.rttvarMs, 50);
  assert.equal(r.rtoMs, 300); // 100 + 4·50
  r.sample(200);
  // RTTVAR = 3/4·50 + 1/4·|100−200| = 62.5; SRTT = 7/8·100 + 1/8·200 = 112.5; RTO = 112.5 + 250
  assert.equal(r.rttvarMs, 62.5);
  assert.equal(r.srttMs, 112.5);
  assert.equal(r.rtoMs, 363); // rounded up to the ms (RFC 6940 §6.6.3.1)
  assert.equal(r.lastRttMs, 200);
});

test('RTO is bounded by minRtoMs (default 1 s, RFC 6298 (2.4)) and maxRtoMs, and G for zero variance', () => {
  const r = new RtoEstimator();
  r.sample(1);
  assert.equal(r.rtoMs, 1000);
  const low = new RtoEstimator({ minRtoMs: 1 });
  for (let i = 0; i < 50; i++) low.sample(0);
  assert.equal(low.rtoMs, 1); // SRTT 0 + max(G=1, 0)
  const high = new RtoEstimator({ maxRtoMs: 5000 });
  high.sample(100_000);
  assert.equal(high.rtoMs, 5000);
  high.sample(Number.NaN); // garbage sample counts as 0, never NaN
  assert.ok(Number.isFinite(high.rtoMs));
});
