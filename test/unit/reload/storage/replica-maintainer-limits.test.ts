import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReplicaMaintainer } from '../../../../src/reload/storage/index.js';
import { StorageWorld, TEST_KINDS, hash16 } from '../overlay/support/storage-world.js';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

test('replica sends: at most maxInFlight at once, at most maxQueued waiting, overflow counted', async () => {
  const w = new StorageWorld(42);
  for (let i = 0; i < 4; i++) await w.add();
  await w.run(2000);
  const p = w.peers[0]!;
  // ten resources held as replicas (user u<i>'s PROFILE), put straight into the engine
  const reqs = [];
  for (let i = 0; i < 10; i++) {
    const user = { userName: `u${i}`, nodeIds: [p.node.idBytes] };
    const resource = hash16(utf8(user.userName));
    const data = p.credentials.sign(resource, 100, BigInt(i + 1), 60, { model: 'single', value: { exists: true, value: utf8(`v${i}`) } });
    const r = p.engine.store({ resource, replicaNumber: 1, kindData: [{ kind: 100, generationCounter: 1n, values: [data] }] }, { replica: true, verifier: { verify: () => ({ ok: true, signer: user }) } });
    assert.ok(r.ok, r.ok ? '' : r.info);
    reqs.push({ resource, replicaNumber: 1, kindData: [] });
  }
  const codec = { maxMessageSize: 5000, nodeIdLength: 16, dataModelOf: (k: number) => TEST_KINDS.find((x) => x.id === k)?.dataModel };
  const m = new ReplicaMaintainer({ host: p.node, engine: p.engine, clock: w.clock, credentials: p.credentials, security: { withCertificates: (_c, send) => send() }, codec }, { maxInFlight: 2, maxQueued: 5, resyncIntervalMs: 0 });
  for (const r of reqs) m.replicate(r);
  assert.ok(m.pending() <= 2 + 5, `pending ${m.pending()}`);
  assert.ok(m.counters.queueOverflows > 0);
  assert.equal(m.counters.queueOverflows + m.pending(), 20);
  await w.run(3000);
  assert.equal(m.pending(), 0);
  m.close();
});
