import { test } from 'node:test';
import { performance } from 'node:perf_hooks';
import { createOverlaySimPeerFactory } from '../../src/node/overlay-sim-peer.js';
import { runSplitHeal } from '../../src/sim/split-heal-run.js';
test('x', async () => {
  const t0 = performance.now();
  const n = Number(process.env.N ?? 40);
  const s = await runSplitHeal({ nodes: n, values: Number(process.env.V ?? 40), splitMs: Number(process.env.SPLIT ?? 60_000), joinRatePerSec: 20 }, createOverlaySimPeerFactory(), { settle: () => new Promise((r) => setImmediate(r)) });
  console.log(JSON.stringify(s), ((performance.now() - t0) / 1000).toFixed(1), 's');
});
