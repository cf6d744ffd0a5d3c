import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runSimulation } from '../../src/sim/sim-runner.js';
import type { SimRunOptions } from '../../src/sim/sim-run-options.js';
import type { SimRunStats } from '../../src/sim/sim-stats.js';
import { RingOracle, onArc } from '../../src/sim/ring-oracle.js';
import { createOraclePeerFactory } from '../../harness/oracle-peer.js';
import { settle } from '../support/settle.js';

const base: Partial<SimRunOptions> = { nodes: 60, seed: 42, durationMs: 120_000, lookupRatePerSec: 5, stabilizeMs: 20_000, joinRatePerSec: 20 };

function withoutMemory(s: SimRunStats): Omit<SimRunStats, 'memoryPerNodeBytes'> {
  const { memoryPerNodeBytes: _m, ...rest } = s;
  return rest;
}

describe('runSimulation with the oracle stand-in peer', () => {
  test('no churn: every lookup succeeds; hops, latency and bytes are measured', async () => {
    const s = await runSimulation(base, createOraclePeerFactory(), { settle });
    assert.equal(s.population.initial, 60);
    assert.equal(s.population.alive, 60);
    assert.ok(s.lookups.attempted > 450 && s.lookups.attempted < 750, `Poisson count ${s.lookups.attempted}`);
    assert.equal(s.lookups.succeeded, s.lookups.attempted);
    assert.equal(s.lookups.successRate, 1);
    assert.ok(s.hops.mean >= 1 && s.hops.p99 <= 4);
    // A lookup over h hops takes h one-way latencies plus the answer, plus handshakes on new links.
    assert.ok(s.latencyMs.p50 > 40 && s.latencyMs.p99 < 5000, JSON.stringify(s.latencyMs));
    assert.ok(s.maintenanceBytesPerSecPerNode > 5 && s.maintenanceBytesPerSecPerNode < 30, `${s.maintenanceBytesPerSecPerNode}`);
    assert.ok(s.totalBytesPerSecPerNode > s.maintenanceBytesPerSecPerNode);
    assert.ok(s.networkBytesPerSecPerNode >= s.totalBytesPerSecPerNode * 0.99);
    assert.ok(s.events > 1000);
  });

  test('the same seed gives identical statistics; another seed does not', async () => {
    const a = await runSimulation(base, createOraclePeerFactory(), { settle });
    const b = await runSimulation(base, createOraclePeerFactory(), { settle });
    const c = await runSimulation({ ...base, seed: 43 }, createOraclePeerFactory(), { settle });
    assert.deepEqual(withoutMemory(a), withoutMemory(b));
    assert.notDeepEqual(withoutMemory(a), withoutMemory(c));
  });

  test('churn: departures are replaced, crashes and leaves counted, lookups from departed peers abandoned', async () => {
    const progress: string[] = [];
    const s = await runSimulation(
      { ...base, seed: 7, lookupRatePerSec: 10, churn: { session: { kind: 'exponential', medianMs: 30_000 }, replacement: 'immediate', gracefulFraction: 0.5 }, progressEveryMs: 30_000 },
      createOraclePeerFactory(),
      { settle, onProgress: (p) => progress.push(p.phase) },
    );
    const departures = s.population.leaves + s.population.crashes;
    // 60 peers × 120 s / (30 s / ln 2) ≈ 166 departures expected.
    assert.ok(departures > 110 && departures < 230, `departures ${departures}`);
    assert.ok(s.population.leaves > 30 && s.population.crashes > 30);
    assert.ok(s.population.joins >= departures - 5, `joins ${s.population.joins}`);
    assert.ok(s.population.alive >= 50 && s.population.alive <= 60);
    assert.ok(s.lookups.succeeded / s.lookups.attempted > 0.8, JSON.stringify(s.lookups));
    assert.equal(s.lookups.attempted, s.lookups.succeeded + s.lookups.failed + s.lookups.failedNearChurn + s.lookups.abandoned);
    assert.ok(progress.includes('build') && progress.includes('measure'));
  });

  test('a settle quantum batches timers but stays deterministic and correct', async () => {
    const a = await runSimulation({ ...base, settleQuantumMs: 5 }, createOraclePeerFactory(), { settle });
    const b = await runSimulation({ ...base, settleQuantumMs: 5 }, createOraclePeerFactory(), { settle });
    assert.deepEqual(withoutMemory(a), withoutMemory(b));
    assert.equal(a.lookups.successRate, 1);
  });

  test('wrong answers are failures, reported by reason', async () => {
    const s = await runSimulation({ ...base, durationMs: 60_000 }, createOraclePeerFactory({ wrongFraction: 0.2 }), { settle });
    assert.ok(s.lookups.failed > 20, JSON.stringify(s.lookups));
    assert.equal(s.lookups.failureReasons['wrong-responder'], s.lookups.failed + s.lookups.failedNearChurn);
    assert.ok(Math.abs(s.lookups.successRate - 0.8) < 0.1);
  });
});

describe('RingOracle', () => {
  test('responsibility: predecessor < k <= self, wrapping', () => {
    const o = new RingOracle();
    for (const h of ['40', 'c0', '80']) o.add(h);
    assert.equal(o.responsible('40'), '40');
    assert.equal(o.responsible('41'), '80');
    assert.equal(o.responsible('c1'), '40');
    assert.equal(o.responsible('00'), '40');
    o.remove('40');
    assert.equal(o.responsible('00'), '80');
    assert.ok(onArc('f0', 'c0', '10') && onArc('05', 'c0', '10') && !onArc('50', 'c0', '10'));
  });
});
