/**
 * The real RELOAD storage (StorageEngine, OverlayStorage, ReplicaMaintainer) on every simulated
 * peer under churn: values written, refreshed and audited by the simulator's storage workload.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createOverlaySimPeerFactory } from '../../src/node/overlay-sim-peer.js';
import { runSimulation } from '../../src/sim/sim-runner.js';
import type { SimRunOptions } from '../../src/sim/sim-run-options.js';
import { DEFAULT_STORAGE_WORKLOAD_OPTIONS, type StorageWorkloadOptions } from '../../src/sim/storage-workload-options.js';
import { settle } from '../support/settle.js';

const storage: StorageWorkloadOptions = {
  ...DEFAULT_STORAGE_WORKLOAD_OPTIONS,
  values: 100,
  lifetimeS: 1200,
  refreshMs: 600_000,
  auditEveryMs: 600_000,
  auditSample: 0,
  auditSpreadMs: 30_000,
  targetedCrashEveryMs: 180_000,
};

const base: Partial<SimRunOptions> = {
  nodes: 30,
  seed: 7,
  durationMs: 1_800_000,
  lookupRatePerSec: 0.1,
  stabilizeMs: 20_000,
  churn: { session: { kind: 'exponential', medianMs: 600_000 }, replacement: 'immediate', gracefulFraction: 0.5 },
  // a crashed host's links reset, so its neighbours notice at once (see the silent-crash test below)
  crashMode: 'reset',
  storage,
};

describe('storage under churn in the simulator', () => {
  test('30 peers, 10-minute sessions, the responsible peer and its successor crashed together every 3 minutes: no value lost', async () => {
    const s = await runSimulation(base, createOverlaySimPeerFactory(), { settle });
    const st = s.storage!;
    assert.ok(s.population.leaves + s.population.crashes > 60, JSON.stringify(s.population));
    assert.ok(st.targetedCrashes >= 8, `targeted crashes ${st.targetedCrashes}`);
    assert.equal(st.storedInitially, 100);
    assert.ok(st.refreshes >= 150, `refreshes ${st.refreshes}`);
    assert.ok(st.ownerHandoffs > 0);
    assert.ok(st.audits.rounds >= 2 && st.audits.checks >= 200, JSON.stringify(st.audits));
    assert.deepEqual(st.losses, []);
    assert.equal(st.audits.lost, 0);
    assert.equal(st.audits.unreachable, 0);
    assert.equal(st.finalAudit.checks, 100);
    assert.equal(st.finalAudit.passed, 100, JSON.stringify(st.finalAudit));
    assert.ok(st.replication.replicaStoresSent > 0);
    assert.ok(st.bytesPerSecPerNode.replication > 0 && st.bytesPerSecPerNode.workloadStore > 0 && st.bytesPerSecPerNode.audit > 0, JSON.stringify(st.bytesPerSecPerNode));
    assert.ok(st.held.valuesPerNodeMean > 0);
  });

  test('the audit is not vacuous: without replica Stores and handovers, losses are reported with what was stored and found', async () => {
    const s = await runSimulation({ ...base, storage: { ...storage, replication: false } }, createOverlaySimPeerFactory(), { settle });
    const st = s.storage!;
    assert.equal(st.replication.replicaStoresSent, 0);
    assert.ok(st.audits.lost + st.finalAudit.lost > 0, JSON.stringify({ audits: st.audits, final: st.finalAudit }));
    const l = st.losses[0]!;
    assert.ok(l.storedVersion >= 1 && l.foundVersion < l.storedVersion, JSON.stringify(l));
    assert.match(l.resourceId, /^[0-9a-f]{32}$/);
    assert.equal(l.responder, l.responsible, 'the Fetch reached the responsible peer, which did not have the value');
  });

  test('silent crashes (no link reset): a value is missing only when no live peer holds any copy of it', async () => {
    // A peer joining in place of a responsible peer that crashed silently used to get the data from
    // nobody (its successor counted it as the dead peer's replica): 21 of 1,200 checks and 8 of 200
    // at the end were lost with a copy still alive. Replica holders now send their copy to a new
    // owner. That left 3 periodic losses here (seeds 1–6 of this setup: 57), all from two causes:
    // a replica holder deleted data at once when a joiner put it "three predecessors away" while the
    // predecessors counted had crashed silently and not yet timed out (now deleted only after a
    // 90 s grace, re-checked), and a clean Leave of the responsible peer inside the 30 s hold-down
    // after a successor was lost (a leaving peer now hands its data to the successors that keep it).
    // Seeds 1–6: 0 losses. Audited every minute, seeds 1–12 still showed 7 of 71,800 checks missing
    // for a while (2 of them in this seed, 9): a peer that joined in place of a responsible peer that
    // crashed silently held nothing until the crash was noticed. It now asks its successor for a
    // Fetch it cannot answer in its first two minutes (fetchFallbackMs): 0 of 71,800.
    const s = await runSimulation(
      { ...base, nodes: 40, seed: 9, crashMode: 'silent', storage: { ...storage, values: 200, targetedCrashEveryMs: 0, lifetimeS: 3600, refreshMs: 1_800_000, auditEveryMs: 60_000 } },
      createOverlaySimPeerFactory(),
      { settle },
    );
    const st = s.storage!;
    const withCopy = st.losses.filter((l) => l.holders.length > 0);
    assert.deepEqual(withCopy, [], 'lost although a live peer still held a copy');
    assert.equal(st.audits.lost, 0, `periodic losses: ${JSON.stringify(st.losses.slice(0, 3))}`);
    assert.equal(st.finalAudit.lost, 0, JSON.stringify(st.losses.slice(0, 3)));
  });
});
