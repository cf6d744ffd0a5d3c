/**
 * The two link modes of the simulated network (SimNetworkOptions.links) on the same seeds: `message`
 * delivers the chunks of a flow that are due together in one timer callback and does not copy
 * writes, `stream` gives each write its own callback. Timing (every chunk's due time) is the same
 * in both; only the order among callbacks due at the very same virtual instant can differ. So the
 * overlay must see the same outcome: lookups, hops, Stores and audits.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { simCommand, type SimCommandReport } from '../../src/cli/sim-command.js';
import { createOverlaySimPeerFactory } from '../../src/node/overlay-sim-peer.js';
import { runSimulation } from '../../src/sim/sim-runner.js';
import type { SimRunOptions } from '../../src/sim/sim-run-options.js';
import type { SimRunStats } from '../../src/sim/sim-stats.js';
import { DEFAULT_STORAGE_WORKLOAD_OPTIONS } from '../../src/sim/storage-workload-options.js';
import { settle } from '../support/settle.js';

const base: Partial<SimRunOptions> = {
  nodes: 30,
  durationMs: 120_000,
  lookupRatePerSec: 2,
  joinRatePerSec: 20,
  stabilizeMs: 20_000,
  churn: { session: { kind: 'exponential', medianMs: 300_000 }, replacement: 'immediate', gracefulFraction: 0.5 },
  storage: { ...DEFAULT_STORAGE_WORKLOAD_OPTIONS, values: 150, lifetimeS: 1200, refreshMs: 60_000, auditEveryMs: 60_000, auditSample: 0, auditSpreadMs: 10_000 },
};

async function run(seed: number, links: 'stream' | 'message'): Promise<SimRunStats> {
  return runSimulation({ ...base, seed, network: { links } }, createOverlaySimPeerFactory(), { settle });
}

describe('simulated link modes: stream and message', () => {
  for (const seed of [3, 8]) {
    test(`seed ${seed}: the same lookups, hops and storage results, with fewer clock events`, async () => {
      const s = await run(seed, 'stream');
      const m = await run(seed, 'message');
      // the churn schedule does not depend on the links
      assert.deepEqual(m.population, s.population);
      assert.ok(s.population.leaves + s.population.crashes > 0, JSON.stringify(s.population));
      // lookups: the same ones issued; successes and hops may differ only by what a different
      // order of same-instant callbacks changes (on the seeds tried they were equal)
      assert.ok(s.lookups.attempted > 200, `lookups ${s.lookups.attempted}`);
      assert.equal(m.lookups.attempted, s.lookups.attempted);
      const slack = Math.ceil(0.01 * s.lookups.attempted);
      assert.ok(Math.abs(m.lookups.succeeded - s.lookups.succeeded) <= slack, JSON.stringify({ stream: s.lookups, message: m.lookups }));
      assert.ok(s.lookups.successRate > 0.98 && m.lookups.successRate > 0.98, JSON.stringify({ stream: s.lookups, message: m.lookups }));
      assert.ok(Math.abs(m.hops.mean - s.hops.mean) <= 0.02 * s.hops.mean, JSON.stringify({ stream: s.hops, message: m.hops }));
      assert.equal(m.hops.median, s.hops.median);
      // storage: every value stored, none lost, every one found by the final audit, in both modes
      // (Store counts may differ: the run ends when its last audit is done, and refreshes go on until then)
      const values = base.storage!.values;
      for (const [mode, st] of [['stream', s.storage!], ['message', m.storage!]] as const) {
        const info = `${mode}: ${JSON.stringify({ stores: st.stores, audits: st.audits, final: st.finalAudit })}`;
        assert.equal(st.storedInitially, values, info);
        assert.ok(st.refreshes > 0, info);
        assert.ok(st.stores.succeeded >= 0.99 * st.stores.attempted, info);
        assert.equal(st.audits.checks, 2 * values, info); // two periodic audits of every value in 120 s
        assert.equal(st.audits.lost, 0, info);
        assert.equal(st.finalAudit.lost, 0, info);
        assert.equal(st.finalAudit.passed, values, info);
        assert.deepEqual(st.losses, [], info);
      }
      assert.equal(m.storage!.audits.passed, s.storage!.audits.passed);
      // a request's ACK and its answer, written at the same instant, arrive in one callback
      assert.ok(m.events < 0.85 * s.events, `events: stream ${s.events}, message ${m.events}`);
    });
  }

  test('p2psip sim --links message runs the overlay on message links and says so; stream is the default', async () => {
    for (const links of [undefined, 'message'] as const) {
      const out: string[] = [];
      const program = new Command('p2psip').exitOverride();
      simCommand(program, () => createOverlaySimPeerFactory(), { out: (t) => out.push(t), err: () => undefined });
      await program.parseAsync(['sim', '--nodes', '12', '--duration', '20s', '--stabilize', '5s', '--lookup-rate', '5', '--json', ...(links === undefined ? [] : ['--links', links])], { from: 'user' });
      const r = JSON.parse(out.join('')) as SimCommandReport;
      assert.equal(r.links, links ?? 'stream');
      assert.ok(r.lookups.attempted > 50 && r.lookups.succeeded === r.lookups.attempted, JSON.stringify(r.lookups));
    }
  });
});
