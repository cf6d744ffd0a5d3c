/**
 * The runner skips the macrotask turn after timers that touched no promise (issue 18): the real
 * overlay with storage under churn gives exactly the same run with and without the skip.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { countPromiseActivity } from '../../src/cli/sim-command.js';
import { createOverlaySimPeerFactory } from '../../src/node/overlay-sim-peer.js';
import { runSimulation } from '../../src/sim/sim-runner.js';
import type { SimRunOptions } from '../../src/sim/sim-run-options.js';
import type { SimRunStats } from '../../src/sim/sim-stats.js';
import { DEFAULT_STORAGE_WORKLOAD_OPTIONS } from '../../src/sim/storage-workload-options.js';
import { settle } from '../support/settle.js';

const options: Partial<SimRunOptions> = {
  nodes: 40,
  seed: 11,
  durationMs: 300_000,
  lookupRatePerSec: 2,
  stabilizeMs: 20_000,
  churn: { session: { kind: 'exponential', medianMs: 300_000 }, replacement: 'immediate', gracefulFraction: 0.5 },
  crashMode: 'silent',
  storage: { ...DEFAULT_STORAGE_WORKLOAD_OPTIONS, values: 200, lifetimeS: 1200, refreshMs: 300_000, auditEveryMs: 150_000, auditSample: 0, auditSpreadMs: 30_000 },
};

/** Everything but the heap measurements, which depend on the garbage collector. */
function comparable(s: SimRunStats): unknown {
  const { memoryPerNodeBytes: _m, storage, ...rest } = s;
  if (storage === undefined) return rest;
  const { loadMemoryPerNodeBytes: _l, ...st } = storage;
  return { ...rest, storage: st };
}

describe('settling only after promise activity', () => {
  test('40 peers with storage under churn: the same lookups, audits, bytes and events as settling after every timer', async (t) => {
    const every = await runSimulation(options, createOverlaySimPeerFactory(), { settle, heapUsed: () => 0 });
    const activity = countPromiseActivity();
    let settles = 0;
    const counted = (): Promise<void> => {
      settles++;
      return settle();
    };
    let skipping: SimRunStats;
    try {
      skipping = await runSimulation(options, createOverlaySimPeerFactory(), { settle: counted, promiseActivity: activity.count, heapUsed: () => 0 });
    } finally {
      activity.stop();
    }
    assert.ok(every.lookups.attempted > 500 && every.population.leaves + every.population.crashes > 20, JSON.stringify({ l: every.lookups.attempted, p: every.population }));
    assert.equal(every.storage!.finalAudit.checks, 200);
    assert.deepEqual(comparable(skipping), comparable(every));
    t.diagnostic(`${settles} settles for ${every.events} timer callbacks`);
    // the skip must actually skip: far fewer macrotask turns than timers fired
    assert.ok(settles < every.events * 0.8, `${settles} settles for ${every.events} events`);
  });
});
