import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { OverlayWorld, type WorldNode } from './support/overlay-world.js';

function randomKey(w: OverlayWorld): bigint {
  return w.random.bytes(16).reduce((a, b) => (a << 8n) | BigInt(b), 0n);
}

function ringIsConsistent(w: OverlayWorld): string | undefined {
  const sorted = [...w.live()].filter((n) => !n.node.options.client).sort((x, y) => (x.node.id < y.node.id ? -1 : 1));
  for (let i = 0; i < sorted.length; i++) {
    const me = sorted[i]!;
    const succ = sorted[(i + 1) % sorted.length]!;
    const pred = sorted[(i + sorted.length - 1) % sorted.length]!;
    if (me.node.topology.neighbours.successors[0] !== succ.node.id) return `successor of ${i} wrong`;
    if (me.node.topology.neighbours.predecessors[0] !== pred.node.id) return `predecessor of ${i} wrong`;
  }
  return undefined;
}

async function lookups(w: OverlayWorld, n: number, from?: WorldNode): Promise<{ ok: number; hops: number[] }> {
  let ok = 0;
  const hops: number[] = [];
  for (let i = 0; i < n; i++) {
    const live = w.live();
    const src = from ?? live[i % live.length]!;
    const k = randomKey(w);
    const r = await w.lookup(src, k);
    if (r.ok && r.responder === w.responsible(k)?.node.id) ok++;
    hops.push(r.hops);
  }
  return { ok, hops };
}

describe('overlay: churn, leave, clients', () => {
  test('a crashed peer is routed around and the ring repairs itself (reactive recovery)', async () => {
    const w = new OverlayWorld(3);
    for (let i = 0; i < 16; i++) await w.add();
    await w.run(3000);
    assert.equal(ringIsConsistent(w), undefined);
    const victims = [w.nodes[3]!, w.nodes[9]!];
    for (const v of victims) v.links.crash();
    // link failure is noticed after 1 s in this world; repair follows with Updates
    await w.run(5000);
    assert.equal(ringIsConsistent(w), undefined);
    const r = await lookups(w, 60);
    assert.equal(r.ok, 60);
  });

  test('a peer that leaves hands its neighbours to each other (Leave)', async () => {
    const w = new OverlayWorld(4);
    for (let i = 0; i < 12; i++) await w.add();
    await w.run(3000);
    const leaver = w.nodes[5]!;
    let left = false;
    void leaver.node.leave().then(() => (left = true));
    await w.run(3000);
    assert.equal(left, true);
    assert.equal(leaver.node.state, 'left');
    assert.equal(ringIsConsistent(w), undefined);
    for (const n of w.live()) assert.ok(!n.node.topology.neighbours.has(leaver.node.id));
    assert.equal((await lookups(w, 40)).ok, 40);
  });

  test('a client uses the overlay through its responsible peer and is never a routing entry', async () => {
    const w = new OverlayWorld(5);
    for (let i = 0; i < 10; i++) await w.add();
    const c = await w.add({ client: true });
    await w.run(2000);
    const r = await lookups(w, 30, c);
    assert.equal(r.ok, 30);
    for (const n of w.live()) {
      if (n === c) continue;
      assert.ok(!n.node.topology.neighbours.has(c.node.id), 'client is nobody’s neighbour');
      assert.ok(!n.node.topology.fingers.has(c.node.id), 'client is nobody’s finger');
    }
    // the client is responsible for nothing: lookups of its own id go to the real responsible peer
    const own = await w.lookup(c, c.node.id);
    assert.equal(own.responder, w.responsible(c.node.id)!.node.id);
  });

  test('in a small ring a client sends no Update, so no peer takes it for a neighbour, even after a crash (issue 12)', async () => {
    const w = new OverlayWorld(7, { reactive: true });
    for (let i = 0; i < 4; i++) await w.add();
    const c = await w.add({ client: true });
    // long enough for the client's idle link to its peer to be kept alive (a Ping, never an Update)
    await w.run(90_000, 50);
    const clean = (when: string): void => {
      for (const n of w.live()) {
        if (n === c) continue;
        assert.ok(!n.node.topology.neighbours.has(c.node.id), `client is nobody’s neighbour ${when} (at ${n.node.id.toString(16).slice(0, 8)})`);
        assert.ok(n.node.conns.forNode(c.node.id)?.routable !== true, `client is nobody’s routable link ${when}`);
      }
    };
    clean('after joining');
    const victim = w.live().find((n) => n !== c && n.node.conns.usable(c.node.id) === undefined) ?? w.live().find((n) => n !== c)!;
    victim.links.crash();
    await w.run(6000);
    clean('after a crash');
    assert.equal(ringIsConsistent(w), undefined);
  });

  test('joins and crashes interleaved: lookups keep reaching the responsible peer', async () => {
    const w = new OverlayWorld(6);
    for (let i = 0; i < 12; i++) await w.add();
    await w.run(2000);
    for (let round = 0; round < 4; round++) {
      await w.add();
      const live = w.live();
      live[(round * 5 + 2) % live.length]!.links.crash();
      await w.run(4000);
    }
    assert.equal(ringIsConsistent(w), undefined);
    assert.equal((await lookups(w, 50)).ok, 50);
  });

  test('hop count: 150 peers route in about ½·log2 N hops with Chord fingers (the default); more per range, or a finger density, shorten routes', async () => {
    const mean = (a: number[]): number => a.reduce((x, y) => x + y, 0) / a.length;
    const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
    const w1 = new OverlayWorld(7, { fingerDensity: 0 });
    for (let i = 0; i < 150; i++) await w1.add();
    await w1.run(120_000, 50);
    const r1 = await lookups(w1, 200);
    assert.equal(r1.ok, 200);
    const m1 = mean(r1.hops);
    // ½·log2(150) ≈ 3.6
    assert.ok(m1 > 2.5 && m1 < 4.8, `mean hops ${m1}`);
    const w4 = new OverlayWorld(7, { fingersPerRange: 4, fingerDensity: 0 });
    for (let i = 0; i < 150; i++) await w4.add();
    await w4.run(120_000, 50);
    const r4 = await lookups(w4, 200);
    assert.equal(r4.ok, 200);
    assert.ok(mean(r4.hops) < m1, `4 per range ${mean(r4.hops)} vs ${m1}`);
    // 15 % of the overlay as fingers, spread uniformly (issue 18: median ≤ 2 hops)
    const wd = new OverlayWorld(7, { fingerDensity: 0.15 });
    for (let i = 0; i < 150; i++) await wd.add();
    await wd.run(120_000, 50);
    const rd = await lookups(wd, 200);
    assert.equal(rd.ok, 200);
    assert.ok(median(rd.hops) <= 2, `median hops ${median(rd.hops)}`);
    assert.ok(mean(rd.hops) < mean(r4.hops), `density ${mean(rd.hops)} vs 4 per range ${mean(r4.hops)}`);
    const fingers = wd.live().map((n) => n.node.status().fingers.length);
    const meanFingers = mean(fingers);
    // 15 % of 150 ≈ 23 spread over the ranges, plus the floor of the near ranges
    assert.ok(meanFingers > 15 && meanFingers < 40, `mean fingers ${meanFingers}`);
  });
});
