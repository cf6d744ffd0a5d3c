import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { OverlayWorld } from './support/overlay-world.js';

describe('overlay: CHORD-RELOAD ring over in-memory links', () => {
  test('a first peer alone is responsible for everything', async () => {
    const w = new OverlayWorld(1);
    const a = await w.add();
    assert.equal(a.node.state, 'joined');
    const r = await w.lookup(a, 12345n);
    assert.equal(r.ok, true);
    assert.equal(r.responder, a.node.id);
    assert.equal(r.hops, 0);
  });

  test('20 peers join one by one and form one ring; lookups reach the responsible peer', async () => {
    const w = new OverlayWorld(2);
    for (let i = 0; i < 20; i++) await w.add();
    await w.run(5000);
    const sorted = [...w.live()].sort((x, y) => (x.node.id < y.node.id ? -1 : 1));
    for (let i = 0; i < sorted.length; i++) {
      const me = sorted[i]!;
      const succ = sorted[(i + 1) % sorted.length]!;
      const pred = sorted[(i + sorted.length - 1) % sorted.length]!;
      assert.equal(me.node.topology.neighbours.successors[0], succ.node.id, `successor of node ${i}`);
      assert.equal(me.node.topology.neighbours.predecessors[0], pred.node.id, `predecessor of node ${i}`);
    }
    for (let i = 0; i < 100; i++) {
      const from = w.live()[i % 20]!;
      const k = w.random.bytes(16).reduce((a, b) => (a << 8n) | BigInt(b), 0n);
      const r = await w.lookup(from, k);
      assert.equal(r.ok, true, `lookup ${i}`);
      assert.equal(r.responder, w.responsible(k)!.node.id, `lookup ${i} reached the responsible peer`);
    }
  });
});
