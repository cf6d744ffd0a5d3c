import { test } from 'node:test';
import { StorageWorld } from '../overlay/support/storage-world.js';
const single = (s: string) => ({ model: 'single' as const, value: { exists: true, value: new TextEncoder().encode(s) } });
test('count', async () => {
  const delays: number[] = []; let taken = 0, heldAtJoin = 0, refusedFirst = 0;
  for (let seed = 1; seed <= 40; seed++) {
    const w = new StorageWorld(seed);
    const a = await w.add();
    const ref = { resourceName: a.identity.certificate.userName };
    await w.settle(a.storage.store(100, ref, [single('x')]));
    const r = a.storage.resourceId(ref);
    const b = await w.add();
    if (!b.node.isResponsible(b.node.ring.fromBytes(r))) continue;
    taken++;
    if (b.engine.replicaNumber(r) === 0) heldAtJoin++;
    await w.run(100);
    if (a.storage.replicas.counters.sendFailures > 0) refusedFirst++;
    let t = 100; while (b.engine.replicaNumber(r) !== 0 && t < 20000) { await w.run(50); t += 50; }
    delays.push(t);
  }
  let t6 = 0, h6 = 0, f6 = 0;
  for (let seed = 101; seed <= 108; seed++) {
    const w = new StorageWorld(seed);
    for (let i = 0; i < 5; i++) await w.add();
    await w.run(3000);
    const vals: Uint8Array[] = [];
    for (const p of w.live()) { const ref = { resourceName: p.identity.certificate.userName }; await w.settle(p.storage.store(100, ref, [single('x')])); vals.push(p.storage.resourceId(ref)); }
    await w.run(2000);
    const before = w.live().reduce((s, p) => s + p.storage.replicas.counters.sendFailures, 0);
    const jn = await w.add();
    for (const r of vals) if (jn.node.isResponsible(jn.node.ring.fromBytes(r))) { t6++; if (jn.engine.replicaNumber(r) === 0) h6++; }
    await w.run(3000);
    f6 += w.live().reduce((s, p) => s + p.storage.replicas.counters.sendFailures, 0) - before;
  }
  console.log(JSON.stringify({ twoPeers: { taken, heldAtJoin, refusedFirst, heldAfterMs: [Math.min(...delays), Math.max(...delays)] }, ringOf6: { taken: t6, heldAtJoin: h6, refusals: f6 } }));
});
