import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { MessageCode, ReloadErrorCode } from '../../../../src/reload/codec/index.js';
import type { StoredDataValue } from '../../../../src/reload/codec/index.js';
import { StorageRequestHandlers } from '../../../../src/reload/storage/index.js';
import { StorageWorld } from '../overlay/support/storage-world.js';
import type { StoragePeer } from '../overlay/support/storage-world.js';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const single = (s: string): StoredDataValue => ({ model: 'single', value: { exists: true, value: utf8(s) } });
const PROFILE = 100;

async function world(n: number, seed: number, holdDownMs?: number): Promise<StorageWorld> {
  const w = holdDownMs === undefined ? new StorageWorld(seed) : new StorageWorld(seed, {}, { holdDownMs, retryMs: 1000, resyncIntervalMs: 0 });
  for (let i = 0; i < n; i++) await w.add();
  await w.run(3000);
  return w;
}

/** Every peer stores its profile; returns the Resource-IDs. */
async function storeAll(w: StorageWorld): Promise<Map<StoragePeer, Uint8Array>> {
  const out = new Map<StoragePeer, Uint8Array>();
  for (const p of w.live()) {
    const ref = { resourceName: p.identity.certificate.userName };
    const r = await w.settle(p.storage.store(PROFILE, ref, [single(`profile of ${p.identity.certificate.userName}`)]));
    assert.ok(r.ok, r.ok ? '' : r.info);
    out.set(p, p.storage.resourceId(ref));
  }
  await w.run(2000);
  return out;
}

function copies(w: StorageWorld, resource: Uint8Array): number {
  return w.holders(resource).length;
}

describe('OverlayStorage under churn (RFC 6940 §10.7.3)', () => {
  test('kill -9 of two of the three holders at once loses nothing; re-replication restores three copies', async () => {
    const w = await world(10, 11);
    const stored = await storeAll(w);
    for (const r of stored.values()) assert.equal(copies(w, r), 3);
    // the value of peer 0: crash its responsible peer and first replica together
    const [owner, resource] = [...stored.entries()][0]!;
    const [r0, r1] = w.ringOrder(resource);
    assert.ok(r0 && r1);
    const reader = w.live().find((p) => p !== r0 && p !== r1 && p !== owner)!;
    w.crash(r0);
    w.crash(r1);
    // link failure noticed (1 s), ring repaired, hold-down (2 s in this world) passed, replicas made
    await w.run(8000);
    for (const [p, r] of stored) {
      if (p.crashed) continue;
      assert.equal(copies(w, r), 3, `three copies of ${p.identity.certificate.userName}`);
    }
    const f = await w.settle(reader.storage.fetch(PROFILE, { resourceId: resource }));
    assert.ok(f.ok, f.ok ? '' : f.info);
    assert.deepEqual(f.values[0]?.data.value.value.value, utf8(`profile of ${owner.identity.certificate.userName}`));
    // every value still fetchable, the crashed peers' own ones included
    for (const [p, r] of stored) {
      const g = await w.settle(reader.storage.fetch(PROFILE, { resourceId: r }));
      assert.ok(g.ok && g.values.length === 1, `value of ${p.identity.certificate.userName}`);
    }
  });

  test('the replica hold-down delays new replicas after a successor is lost', async () => {
    const w = await world(8, 12, 20_000);
    const stored = await storeAll(w);
    const [, resource] = [...stored.entries()][1]!;
    const r1 = w.ringOrder(resource)[1]!;
    w.crash(r1);
    await w.run(5000);
    assert.equal(copies(w, resource), 2, 'no new replica before the hold-down');
    await w.run(20_000);
    assert.equal(copies(w, resource), 3);
  });

  test('a replica holder leaving cleanly hands its copy on: three copies at once, not after the hold-down', async () => {
    const w = await world(8, 14, 60_000);
    const stored = await storeAll(w);
    const [, resource] = [...stored.entries()][2]!;
    const s1 = w.ringOrder(resource)[1]!;
    await w.settle(s1.storage.handOffBeforeLeave());
    await w.settle(s1.node.leave());
    s1.crashed = true; // gone: no longer counted as a holder
    await w.run(3000);
    assert.equal(copies(w, resource), 3, 'the new member of the replica set got the leaving peer\'s copy');
    const order = w.ringOrder(resource).slice(0, 3).map((x) => x.node.id);
    assert.deepEqual(w.holders(resource).map((x) => x.node.id).sort(), [...order].sort());
  });

  test('a replica Store given up on (refused maxAttempts times) is sent again at the next periodic re-check', async () => {
    const w = new StorageWorld(16, {}, { holdDownMs: 2000, retryMs: 1000, maxAttempts: 2, resyncIntervalMs: 10_000 });
    for (let i = 0; i < 8; i++) await w.add();
    await w.run(3000);
    const owner = w.peers[2]!;
    const ref = { resourceName: owner.identity.certificate.userName };
    const resource = owner.storage.resourceId(ref);
    const s2 = w.ringOrder(resource)[2]!;
    // the second successor refuses every Store for a while (as one still without the responsible peer in its table)
    const codec = { maxMessageSize: 5000, nodeIdLength: 16, dataModelOf: (k: number) => w.kinds(k)?.dataModel };
    const real = new StorageRequestHandlers({ host: s2.node, engine: s2.engine, credentials: s2.credentials, codec, onReplicate: () => undefined });
    let refusing = true;
    let refused = 0;
    s2.node.handle(MessageCode.store_req, (req) => {
      if (!refusing) return real.store(req);
      refused++;
      return { error: ReloadErrorCode.Forbidden, info: 'refused by the test' };
    });
    const r = await w.settle(owner.storage.store(PROFILE, ref, [single('v')]));
    assert.ok(r.ok, r.ok ? '' : r.info);
    await w.run(3000);
    assert.equal(refused, 2, 'both attempts refused');
    assert.equal(copies(w, resource), 2);
    refusing = false;
    // the responsible peer's next periodic re-check (every 10 s) sends the missing replica again
    await w.run(10_500);
    assert.equal(copies(w, resource), 3);
    assert.equal(s2.engine.replicaNumber(resource), 2);
  });

  test('replicate() settles when a replica holds the value, or after the wait when no successor answers', async () => {
    const w = await world(8, 15);
    const stored = await storeAll(w);
    const [, resource] = [...stored.entries()][3]!;
    const [resp, s1, s2] = w.ringOrder(resource);
    assert.ok(resp !== undefined && s1 !== undefined && s2 !== undefined);
    const req = resp.engine.storeReqFor(resource, 1)!;
    let settled = false;
    void resp.storage.replicas.replicate(req).then(() => (settled = true));
    await w.run(5);
    assert.equal(settled, false, 'not before a replica answered (links take 10 ms each way)');
    await w.run(50);
    assert.equal(settled, true);
    // both successors gone silently: the answer waits replicaAckWaitMs (2 s), no longer
    s1.links.crash();
    s2.links.crash();
    settled = false;
    void resp.storage.replicas.replicate(req).then(() => (settled = true));
    await w.run(1500);
    assert.equal(settled, false);
    await w.run(600);
    assert.equal(settled, true);
  });

  test('a joining peer receives the data it is now responsible for; replicas move with it; extra copies are dropped', async () => {
    const w = await world(8, 13);
    const stored = await storeAll(w);
    for (let i = 0; i < 4; i++) await w.add();
    // handovers and new replicas: the three peers now in each replica set hold the value
    await w.run(12_000);
    for (const [p, r] of stored) {
      const holders = new Set(w.holders(r).map((x) => x.node.id));
      for (const x of w.ringOrder(r).slice(0, 3)) assert.ok(holders.has(x.node.id), `${p.identity.certificate.userName} at ${x.node.id}`);
    }
    // copies outside a replica set are deleted once the drop grace (90 s) has passed
    await w.run(95_000);
    for (const [p, r] of stored) {
      const order = w.ringOrder(r).slice(0, 3);
      assert.deepEqual(
        w.holders(r).map((x) => x.node.id),
        order.map((x) => x.node.id),
        `replica set of ${p.identity.certificate.userName}`,
      );
    }
    const joiners = w.peers.slice(8);
    const received = joiners.reduce((n, j) => n + j.engine.summary().resources, 0);
    assert.ok(received > 0, 'the joiners hold data');
    // the newcomers answer for what they are responsible for
    for (const [, r] of stored) {
      const f = await w.settle(joiners[0]!.storage.fetch(PROFILE, { resourceId: r }));
      assert.ok(f.ok && f.values.length === 1);
    }
  });
});
