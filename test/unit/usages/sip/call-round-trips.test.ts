/**
 * Overlay round trips per call set-up (issue 6), counted on the fake overlay: a Fetch of the AoR
 * (the registration directory) and an AppAttach to the callee's peer (the first call only, and
 * again after the located peer was idle for idleMs).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageCode } from '../../../../src/reload/codec/index.js';
import type { OverlayLocationOptions } from '../../../../src/usages/sip/overlay-location-service.js';
import { OVERLAY, OverlaySipWorld, type TestPhone, type WorldPeer } from './overlay-sip-world.js';

const ALICE = `sip:alice@${OVERLAY}`;

interface Counts {
  fetches: number;
  appAttaches: number;
}

function counter(w: OverlaySipWorld, from: WorldPeer): () => Counts {
  const node = Buffer.from(from.nodeId).toString('hex');
  return () => ({
    fetches: w.store.log.filter((l) => l.op === 'lookup' && l.node === node).length,
    appAttaches: w.overlayByCode.get(MessageCode.app_attach_req) ?? 0,
  });
}

/** One INVITE from bob to alice, answered 486 by alice; returns the overlay requests it cost. */
async function call(w: OverlaySipWorld, bob: TestPhone, alice: TestPhone, count: () => Counts): Promise<Counts> {
  const before = count();
  const invites = alice.requests('INVITE').length;
  bob.request('INVITE', ALICE);
  await w.settle();
  const inv = alice.requests('INVITE')[invites];
  assert.ok(inv, 'the INVITE reached alice');
  alice.reply(inv, 486);
  await w.settle();
  const after = count();
  return { fetches: after.fetches - before.fetches, appAttaches: after.appAttaches - before.appAttaches };
}

interface ThreePeers {
  w: OverlaySipWorld;
  a: WorldPeer;
  b: WorldPeer;
  c: WorldPeer;
  alice: TestPhone;
  bob: TestPhone;
}

/** Peers A, C and B (that order on the ring), alice registered at A (its Store done), bob a phone of B. */
async function aliceAtA(location: Partial<OverlayLocationOptions>): Promise<ThreePeers> {
  const w = new OverlaySipWorld({ location });
  const a = await w.addPeer('A');
  const c = await w.addPeer('C');
  const b = await w.addPeer('B');
  const alice = await w.phone('alice', a);
  const bob = await w.phone('bob', b);
  alice.register(600);
  await w.settle();
  await a.usage.location.idle();
  return { w, a, b, c, alice, bob };
}

describe('overlay round trips per call set-up', () => {
  test('first call: Fetch + AppAttach; next calls: the Fetch only; after idleMs unused: AppAttach again', async () => {
    const w = new OverlaySipWorld();
    const a = await w.addPeer('A');
    const b = await w.addPeer('B');
    const alice = await w.phone('alice', a);
    const bob = await w.phone('bob', b);
    alice.register(7_200);
    await w.settle();
    await a.usage.location.idle();
    const count = counter(w, b);

    assert.deepEqual(await call(w, bob, alice, count), { fetches: 1, appAttaches: 1 }, 'first call');
    assert.deepEqual(await call(w, bob, alice, count), { fetches: 1, appAttaches: 0 }, 'second call: exactly one round trip');
    assert.deepEqual(await call(w, bob, alice, count), { fetches: 1, appAttaches: 0 }, 'third call');

    // 5 minutes later: still one round trip on the call's path; the located peer, older than
    // revalidateAfterMs (15 s), is re-checked by one AppAttach in the background (not awaited by the call)
    await w.advance(300_000, 30_000);
    const later = await call(w, bob, alice, count);
    assert.equal(later.fetches, 1);
    assert.equal(b.usage.locator.stats.revalidations, 1);
    assert.equal(later.appAttaches, b.usage.locator.stats.revalidations, 'the only AppAttach is the background re-check');
    // calls 2, 3 and 4 left at once for the peer the last Fetch named, and the new Fetch's answer was located too
    assert.equal(b.usage.location.stats.earlyStarts, 3);
    assert.equal(b.usage.locator.stats.hits, 6, 'calls 2, 3 and 4 were located from the cache (twice each)');

    // idle for longer than the default 10 minutes: the located peer is forgotten
    await w.advance(600_001, 60_000);
    b.usage.locator.sweep();
    assert.equal(b.usage.locator.size, 0);
    assert.equal(b.usage.locator.stats.idleDrops, 1);
    assert.deepEqual(await call(w, bob, alice, count), { fetches: 1, appAttaches: 1 }, 'after idle: AppAttach again');
    assert.deepEqual(await call(w, bob, alice, count), { fetches: 1, appAttaches: 0 });
    await w.stop();
  });

  test('the located-peer cache is bounded (LRU): with maxEntries 1, calls to two peers alternate AppAttaches', async () => {
    const w = new OverlaySipWorld({ locator: { maxEntries: 1 } });
    const a = await w.addPeer('A');
    const c = await w.addPeer('C');
    const b = await w.addPeer('B');
    const alice = await w.phone('alice', a);
    const carol = await w.phone('carol', c);
    const bob = await w.phone('bob', b);
    alice.register(600);
    carol.register(600);
    await w.settle();
    await a.usage.location.idle();
    await c.usage.location.idle();
    const attaches = (): number => w.overlayByCode.get(MessageCode.app_attach_req) ?? 0;
    bob.request('MESSAGE', ALICE);
    await w.settle();
    bob.request('MESSAGE', ALICE);
    await w.settle();
    assert.equal(attaches(), 1);
    bob.request('MESSAGE', `sip:carol@${OVERLAY}`);
    await w.settle();
    assert.equal(attaches(), 2);
    assert.equal(b.usage.locator.size, 1);
    bob.request('MESSAGE', ALICE);
    await w.settle();
    assert.equal(attaches(), 3, 'alice\'s peer was evicted');
    assert.equal(b.usage.locator.stats.evictions, 2);
    assert.equal(alice.requests('MESSAGE').length, 3);
    assert.equal(carol.requests('MESSAGE').length, 1);
    await w.stop();
  });

  test('fetchCacheMs (off by default): a burst costs one Fetch; un-REGISTER still gives 404; a move is seen after the bound', async () => {
    const { w, a, b, c, alice, bob } = await aliceAtA({ fetchCacheMs: 5_000 });
    const count = counter(w, b);
    assert.deepEqual(await call(w, bob, alice, count), { fetches: 1, appAttaches: 1 });
    assert.deepEqual(await call(w, bob, alice, count), { fetches: 0, appAttaches: 0 }, 'within 5 s: no overlay round trip');
    assert.equal(b.usage.location.stats.fetchCacheHits, 1);
    await w.advance(5_000, 1_000);
    assert.deepEqual(await call(w, bob, alice, count), { fetches: 1, appAttaches: 0 }, 'after 5 s: the Fetch again');

    // un-REGISTER at A, then at once a call from B (the cached answer still names A): A says 404
    alice.register(0);
    await w.settle();
    await a.usage.location.idle();
    const before = count();
    bob.request('MESSAGE', ALICE);
    await w.settle();
    assert.equal(count().fetches - before.fetches, 0, 'answered from the cache');
    assert.equal(bob.responses(404).length, 1, 'A has no binding: 404, as without the cache');

    // the phone moves to C: for at most fetchCacheMs B still asks A (404), then finds C
    const alice2 = await w.phone('alice', c);
    alice2.register(600);
    await w.settle();
    await c.usage.location.idle();
    bob.request('MESSAGE', ALICE);
    await w.settle();
    assert.equal(bob.responses(404).length, 2, 'stale for at most 5 s');
    await w.advance(5_000, 1_000);
    bob.request('MESSAGE', ALICE);
    await w.settle();
    assert.equal(alice2.requests('MESSAGE').length, 1, 'found at C once the entry is 5 s old');
    await w.stop();
  });

  test('the Fetch cache keeps found registrations only (a REGISTER is visible at once) and drops an unreachable peer', async () => {
    const w = new OverlaySipWorld({ location: { fetchCacheMs: 60_000 } });
    const a = await w.addPeer('A');
    const b = await w.addPeer('B');
    const bob = await w.phone('bob', b);
    bob.request('MESSAGE', ALICE);
    await w.settle();
    assert.equal(bob.responses(404).length, 1);
    const alice = await w.phone('alice', a);
    alice.register(600);
    await w.settle();
    await a.usage.location.idle();
    bob.request('MESSAGE', ALICE);
    await w.settle();
    assert.equal(alice.requests('MESSAGE').length, 1, 'no cached "not found"');
    const count = counter(w, b);
    a.reachable = false;
    b.usage.locator.forget(a.nodeId);
    const before = count();
    bob.request('MESSAGE', ALICE);
    await w.settle();
    bob.request('MESSAGE', ALICE);
    await w.settle();
    assert.equal(count().fetches - before.fetches, 1, 'the first from the cache; its failure makes the second Fetch again');
    await w.stop();
  });

  describe('lastFetchMs: a request starts at the peers of the last Fetch while a new one runs', () => {
    /** A world where A holds alice and B holds bob, after one MESSAGE bob → alice (the Fetch B keeps). */
    async function located(options: { lastFetchMs?: number } = {}): Promise<ThreePeers> {
      const world = await aliceAtA(options.lastFetchMs === undefined ? {} : { lastFetchMs: options.lastFetchMs });
      const { w, alice, bob } = world;
      bob.request('MESSAGE', ALICE);
      await w.settle();
      alice.reply(alice.requests('MESSAGE')[0]!, 200);
      await w.settle();
      assert.equal(bob.responses(200).length, 1);
      return world;
    }
    function gate(w: OverlaySipWorld): () => void {
      let open!: () => void;
      w.store.lookupGate = new Promise<void>((r) => (open = r));
      return () => {
        w.store.lookupGate = undefined;
        open();
      };
    }

    test('the INVITE reaches the callee before the Fetch answers; the final answer waits for it', async () => {
      const { w, b, alice, bob } = await located();
      const release = gate(w);
      bob.request('INVITE', ALICE);
      await w.settle();
      const inv = alice.requests('INVITE')[0];
      assert.ok(inv, 'the INVITE left before the Fetch answered');
      assert.equal(b.usage.location.stats.earlyStarts, 1);
      alice.reply(inv, 486);
      await w.settle();
      assert.equal(bob.responses(486).length, 0, 'a non-2xx final waits for the new Fetch (it may name another peer)');
      release();
      await w.settle();
      assert.equal(bob.responses(486).length, 1);
      assert.equal(b.usage.location.stats.earlyMissed, 0);
      await w.stop();
    });

    test('a 2xx goes to the caller at once, the Fetch still out', async () => {
      const { w, alice, bob } = await located();
      const release = gate(w);
      bob.request('MESSAGE', ALICE);
      await w.settle();
      alice.reply(alice.requests('MESSAGE')[1]!, 200);
      await w.settle();
      assert.equal(bob.responses(200).length, 2);
      release();
      await w.settle();
      assert.equal(bob.responses().length, 2, 'nothing more');
      await w.stop();
    });

    test('a phone that moved to another peer is found by the same request: no 404 from the old peer reaches the caller', async () => {
      const { w, b, c, alice, bob } = await located();
      alice.register(0);
      await w.settle();
      const alice2 = await w.phone('alice', c);
      alice2.register(600);
      await w.settle();
      await c.usage.location.idle();
      bob.request('MESSAGE', ALICE);
      await w.settle();
      const m = alice2.requests('MESSAGE')[0];
      assert.ok(m, 'the new peer got it from the same request');
      alice2.reply(m, 200);
      await w.settle();
      assert.equal(bob.responses(404).length, 0);
      assert.equal(bob.responses(200).length, 2);
      assert.equal(b.usage.location.stats.earlyStarts, 1);
      assert.equal(b.usage.location.stats.earlyMissed, 1);
      await w.stop();
    });

    test('an AoR gone everywhere: the old peer\'s 404, once the Fetch says there is nothing else', async () => {
      const { w, bob, alice } = await located();
      alice.register(0);
      await w.settle();
      bob.request('MESSAGE', ALICE);
      await w.settle();
      assert.equal(bob.responses(404).length, 1);
      await w.stop();
    });

    test('an AoR whose peer withdrew it and went away: 404 at once, no wait for the gone peer', async () => {
      const { w, a, alice, bob } = await located();
      alice.register(0);
      await w.settle();
      await a.usage.location.idle();
      // A's machine goes away: what is sent there is lost, never answered (the branch would end by Timer F, 32 s)
      w.network.datagramFilter = (_from, to) => to.host !== a.addr.host;
      const before = bob.responses().length;
      bob.request('OPTIONS', ALICE);
      await w.settle();
      const finals = bob.responses().slice(before).filter((r) => r.status >= 200);
      assert.deepEqual(finals.map((r) => r.status), [404], 'the stale branch ended as 404 once the Fetch named nobody, the clock never moved');
      assert.equal(finals[0]!.reason, 'Not Found - No longer registered there');
    });

    test('lastFetchMs 0: every request waits for its Fetch, as before', async () => {
      const { w, b, alice, bob } = await located({ lastFetchMs: 0 });
      const release = gate(w);
      bob.request('INVITE', ALICE);
      await w.settle();
      assert.equal(alice.requests('INVITE').length, 0);
      release();
      await w.settle();
      assert.equal(alice.requests('INVITE').length, 1);
      assert.equal(b.usage.location.stats.earlyStarts, 0);
      await w.stop();
    });
  });
});
