/**
 * The TURN Server Usage (RFC 6940 §9) over a real in-memory overlay: OverlayNodes with CA-issued
 * certificates and OverlayStorage (StorageWorld), ManualClock, seeded Random. A peer publishes
 * itself with turn-density 3; other peers' finders find it by Find at random Resource-IDs + Fetch.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom } from '../../../../src/lib/random.js';
import { nodeMultipleResourceName } from '../../../../src/reload/storage/index.js';
import type { KindDefinition } from '../../../../src/reload/storage/index.js';
import { requestFind } from '../../../../src/reload/storage/request-find.js';
import { TurnServiceFinder } from '../../../../src/usages/turn/turn-service-finder.js';
import type { TurnServiceFinderOptions } from '../../../../src/usages/turn/turn-service-finder.js';
import { TurnServicePublisher } from '../../../../src/usages/turn/turn-service-publisher.js';
import type { TurnServicePublisherOptions } from '../../../../src/usages/turn/turn-service-publisher.js';
import { TURN_SERVICE_KIND_ID, encodeTurnServer } from '../../../../src/usages/turn/turn-server-record.js';
import { StorageWorld, TEST_KINDS } from '../../reload/overlay/support/storage-world.js';
import type { StoragePeer } from '../../reload/overlay/support/storage-world.js';

// RFC 6940 §9 / registered-kinds.ts: single value, NODE-MULTIPLE, max iteration 20
const TURN_SERVICE: KindDefinition = { id: TURN_SERVICE_KIND_ID, name: 'TURN-SERVICE', dataModel: 'single', accessControl: 'NODE-MULTIPLE', maxCount: 1, maxSize: 100, maxNodeMultiple: 20 };

const LIFETIME_SEC = 120;
const PUBLISHER: Partial<TurnServicePublisherOptions> = { lifetimeSec: LIFETIME_SEC, checkIntervalMs: 10_000 };
const FINDER: Partial<TurnServiceFinderOptions> = { cacheMs: 30_000, minLookupIntervalMs: 5_000 };

async function world(n: number, seed: number): Promise<StorageWorld> {
  const w = new StorageWorld(seed);
  w.kinds = (id) => (id === TURN_SERVICE_KIND_ID ? TURN_SERVICE : TEST_KINDS.find((k) => k.id === id));
  for (let i = 0; i < n; i++) await w.add();
  await w.run(3000);
  return w;
}

function publisher(w: StorageWorld, p: StoragePeer, density = 3, options: Partial<TurnServicePublisherOptions> = {}): TurnServicePublisher {
  return new TurnServicePublisher({ clock: w.clock, storage: p.storage, selfNodeId: p.storage.ownNodeId(), turnDensity: () => density }, { ...PUBLISHER, ...options });
}

function finder(w: StorageWorld, p: StoragePeer, seed: number, options: Partial<TurnServiceFinderOptions> = {}): TurnServiceFinder {
  return new TurnServiceFinder(
    { clock: w.clock, random: new SeededRandom(seed), storage: p.storage, find: (r, k) => requestFind(p.node, r, k), selfNodeId: p.storage.ownNodeId() },
    { ...FINDER, ...options },
  );
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('TURN Server Usage (RFC 6940 §9) over an overlay', () => {
  test('a peer publishing itself with turn-density 3 is found by other peers, never by itself', async () => {
    const w = await world(8, 11);
    const server = w.peers[2]!;
    const pub = publisher(w, server);
    pub.start();
    assert.equal(await w.settle(pub.offer({ host: '203.0.113.7', port: 6084 })), true);
    assert.equal(pub.stats.stored, 3);
    assert.equal(pub.stats.storeFailures, 0);
    assert.deepEqual(pub.published().map((p) => p.iteration), [1, 2, 3]);
    await w.run(1000);

    // each d is at H(Node-ID || d), signed, under NODE-MULTIPLE (checked again by the fetcher)
    for (let d = 1; d <= 3; d++) {
      const f = await w.settle(w.peers[6]!.storage.fetch(TURN_SERVICE_KIND_ID, { resourceName: nodeMultipleResourceName(server.storage.ownNodeId(), d) }));
      assert.ok(f.ok && f.values.length === 1 && f.rejected.length === 0, `d=${d}`);
    }

    for (const [i, client] of [w.peers[0]!, w.peers[5]!, w.peers[7]!].entries()) {
      const fd = finder(w, client, 100 + i);
      const found = await w.settle(fd.find());
      assert.equal(found.length, 1, `finder at peer ${i}: ${JSON.stringify(fd.stats)}`);
      assert.equal(hex(found[0]!.nodeId), hex(server.storage.ownNodeId()));
      assert.deepEqual(found[0]!.endpoint, { host: '203.0.113.7', port: 6084 });
      assert.ok(found[0]!.iteration >= 1 && found[0]!.iteration <= 3);
      // bounded: never more than maxFinds + maxFetches requests
      assert.ok(fd.stats.finds <= 8 && fd.stats.fetches <= 6, JSON.stringify(fd.stats));
      // a second call within the lookup interval is answered from the cache
      const again = await w.settle(fd.find());
      assert.equal(again.length, 1);
      assert.equal(fd.stats.lookups, 1);
      assert.equal(fd.stats.cacheAnswers, 1);
    }

    const self = finder(w, server, 7);
    assert.deepEqual(await w.settle(self.find()), []);
    assert.equal(self.stats.fetches, 0, 'our own resources are never fetched');
  });

  test('refreshed before expiry while published; gone after expiry once it stops refreshing', async () => {
    const w = await world(6, 12);
    const server = w.peers[1]!;
    const pub = publisher(w, server, 3, { withdrawOnStop: false });
    pub.start();
    await w.settle(pub.offer({ host: '198.51.100.9', port: 3478 }));
    // three lifetimes later it is still there: refreshed on the clock
    await w.run(3 * LIFETIME_SEC * 1000, 100);
    assert.ok(pub.stats.stored >= 3 * 5, JSON.stringify(pub.stats));
    const fd = finder(w, w.peers[4]!, 21);
    assert.equal((await w.settle(fd.find({ refresh: true }))).length, 1);

    // stops refreshing (left to expire, as after a crash)
    await w.settle(pub.stop());
    assert.equal(pub.stats.withdrawn, 0);
    // not withdrawn: still found until its values expire
    assert.equal((await w.settle(finder(w, w.peers[2]!, 23).find())).length, 1);
    await w.run((LIFETIME_SEC + 5) * 1000, 100);
    // the cache expired too (cacheMs < lifetime); a fresh lookup finds nothing
    assert.deepEqual(fd.cached(), []);
    assert.deepEqual(await w.settle(fd.find({ refresh: true })), []);
    const other = finder(w, w.peers[3]!, 22);
    assert.deepEqual(await w.settle(other.find()), []);
    assert.ok(other.stats.finds >= 1 && other.stats.fetches === 0, JSON.stringify(other.stats));
  });

  test('stop() withdraws (exists=false): Find skips it at once', async () => {
    const w = await world(6, 13);
    const server = w.peers[3]!;
    const pub = publisher(w, server);
    pub.start();
    await w.settle(pub.offer({ host: '203.0.113.70', port: 6084 }));
    await w.run(500);
    assert.equal((await w.settle(finder(w, w.peers[0]!, 31).find())).length, 1);
    await w.settle(pub.stop());
    assert.equal(pub.stats.withdrawn, 3);
    await w.run(500);
    const fd = finder(w, w.peers[5]!, 32);
    assert.deepEqual(await w.settle(fd.find()), []);
    assert.equal(fd.stats.fetches, 0, JSON.stringify(fd.stats));
  });

  test('two servers are both found; malformed and mismatched values are skipped; forget() drops one', async () => {
    const w = await world(8, 14);
    const s1 = w.peers[1]!;
    const s2 = w.peers[4]!;
    const p1 = publisher(w, s1);
    const p2 = publisher(w, s2);
    await w.settle(p1.offer({ host: '203.0.113.11', port: 6084 }));
    await w.settle(p2.offer({ host: '203.0.113.12', port: 6084 }));
    // a peer storing junk and a TurnServer whose iteration does not match its Resource-ID, in its own places
    const liar = w.peers[6]!;
    const junk = await w.settle(liar.storage.store(TURN_SERVICE_KIND_ID, { resourceName: nodeMultipleResourceName(liar.storage.ownNodeId(), 1) }, [{ model: 'single', value: { exists: true, value: new Uint8Array([1, 2, 3]) } }]));
    assert.ok(junk.ok);
    const wrong = encodeTurnServer({ iteration: 9, serverAddress: { type: 'ipv4', addr: new Uint8Array([203, 0, 113, 66]), port: 6084 } });
    const mismatch = await w.settle(liar.storage.store(TURN_SERVICE_KIND_ID, { resourceName: nodeMultipleResourceName(liar.storage.ownNodeId(), 2) }, [{ model: 'single', value: { exists: true, value: wrong } }]));
    assert.ok(mismatch.ok);
    await w.run(1000);

    const fd = finder(w, w.peers[0]!, 41, { wanted: 2, maxFinds: 16, maxFetches: 12 });
    const found = await w.settle(fd.find());
    assert.deepEqual(found.map((f) => f.endpoint.host).sort(), ['203.0.113.11', '203.0.113.12']);
    assert.ok(!found.some((f) => hex(f.nodeId) === hex(liar.storage.ownNodeId())));

    // an exhaustive look (wanted above what exists) meets the liar's values and skips them
    const all = finder(w, w.peers[7]!, 42, { wanted: 5, maxFinds: 40, maxFetches: 30 });
    const every = await w.settle(all.find(), 120_000);
    assert.equal(every.length, 2);
    assert.ok(all.stats.malformed >= 1, JSON.stringify(all.stats));
    assert.ok(all.stats.finds <= 40 && all.stats.fetches <= 30);

    fd.forget(s1.storage.ownNodeId());
    assert.deepEqual(fd.cached().map((f) => f.endpoint.host), ['203.0.113.12']);
    const again = await w.settle(fd.find({ refresh: true }));
    assert.deepEqual(again.map((f) => f.endpoint.host), ['203.0.113.12'], 'a forgotten server stays out for a while');
  });
});
