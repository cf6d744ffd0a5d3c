import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isSipUri } from '../../../../src/sip/message/index.js';
import { OVERLAY, OverlaySipWorld } from './overlay-sip-world.js';

async function twoPeers(): Promise<{ w: OverlaySipWorld; a: Awaited<ReturnType<OverlaySipWorld['addPeer']>>; b: Awaited<ReturnType<OverlaySipWorld['addPeer']>> }> {
  const w = new OverlaySipWorld();
  const a = await w.addPeer('A');
  const b = await w.addPeer('B');
  return { w, a, b };
}

describe('OverlayLocationService: REGISTER → overlay', () => {
  test('a REGISTER keeps the binding locally and stores sip_registration_route keyed by our Node-ID', async () => {
    const { w, a } = await twoPeers();
    const alice = await w.phone('alice', a);
    alice.register(600);
    await w.settle();
    await a.usage.location.idle();
    assert.equal(alice.responses(200).length, 1);
    assert.equal((await a.inner.lookup(`sip:alice@${OVERLAY}`)).length, 1);
    const stored = w.store.table.get(`sip:alice@${OVERLAY}`);
    assert.ok(stored);
    const entry = [...stored.values()][0]!;
    assert.deepEqual(entry.nodeId, a.nodeId);
    assert.equal(entry.value.type, 'route');
    if (entry.value.type === 'route') assert.deepEqual(entry.value.destinationList, [{ type: 'node', nodeId: a.nodeId }]);
    // lifetime follows the registration
    assert.equal(entry.expiresAt, w.clock.now() + 600_000);
    await w.stop();
  });

  test('the REGISTER is answered once its Store is done; one slower than registerWaitMs (8 s) gets 503 and keeps nothing', async () => {
    const { w, a } = await twoPeers();
    const alice = await w.phone('alice', a);
    let open!: () => void;
    w.store.publishGate = new Promise<void>((r) => (open = r));
    alice.register(600);
    await w.advance(1_000, 100);
    assert.equal(alice.responses().length, 0, 'no answer while the Store is in flight');
    open();
    await w.settle();
    assert.equal(alice.responses(200).length, 1, 'answered as soon as the Store is done');
    assert.ok(w.store.table.get(`sip:alice@${OVERLAY}`));

    const bob = await w.phone('bob', a);
    let openBob!: () => void;
    w.store.publishGate = new Promise<void>((r) => (openBob = r));
    bob.register(600);
    await w.advance(7_900, 100);
    assert.equal(bob.responses().length, 0);
    await w.advance(200, 100);
    const r = bob.responses(503)[0];
    assert.ok(r, 'issue 14: not 200 — the overlay does not have it');
    assert.match(r.reason, /overlay store did not finish within 8000 ms/);
    assert.equal(r.headers.get('retry-after'), '5');
    assert.deepEqual(a.inner.lookupNow(`sip:bob@${OVERLAY}`), [], 'a phone told "failed" is not registered');
    // the Store lands after all: it is taken back, the overlay and the peer agree again
    w.store.publishGate = undefined;
    openBob();
    await w.settle();
    await a.usage.location.idle();
    assert.equal(w.store.table.get(`sip:bob@${OVERLAY}`), undefined);
    await w.stop();
  });

  test('a refresh within the slack is not re-stored; a longer one extends; un-REGISTER withdraws', async () => {
    const { w, a } = await twoPeers();
    const alice = await w.phone('alice', a);
    alice.register(600);
    await w.settle();
    await a.usage.location.idle();
    await w.advance(10_000, 5_000);
    alice.register(600);
    await w.settle();
    await a.usage.location.idle();
    assert.equal(w.store.log.filter((l) => l.op === 'publish').length, 1, 'refresh moved the expiry by 10 s only');
    await w.advance(100_000, 50_000);
    alice.register(600);
    await w.settle();
    await a.usage.location.idle();
    assert.equal(w.store.log.filter((l) => l.op === 'publish').length, 2);
    const entry = [...w.store.table.get(`sip:alice@${OVERLAY}`)!.values()][0]!;
    assert.equal(entry.expiresAt, w.clock.now() + 600_000);
    alice.register(0);
    await w.settle();
    await a.usage.location.idle();
    assert.equal(w.store.table.get(`sip:alice@${OVERLAY}`), undefined);
    assert.equal(a.usage.location.stats.withdrawn, 1);
    await w.stop();
  });

  test('a registration left to expire is forgotten by sweep() and stored again on the next REGISTER', async () => {
    const { w, a } = await twoPeers();
    const alice = await w.phone('alice', a);
    alice.register(60);
    await w.settle();
    await a.usage.location.idle();
    assert.equal(a.usage.location.sweep(), 0);
    w.clock.advance(61_000);
    assert.equal(a.usage.location.sweep(), 1);
    assert.deepEqual(a.usage.location.publishedAors(), []);
    alice.register(60);
    await w.settle();
    await a.usage.location.idle();
    assert.equal(w.store.log.filter((l) => l.op === 'publish').length, 2);
    await w.stop();
  });

  test('shutdown withdraws every stored registration', async () => {
    const { w, a } = await twoPeers();
    for (const n of ['u1', 'u2', 'u3']) (await w.phone(n, a)).register(600);
    await w.settle();
    await a.usage.location.idle();
    assert.equal(w.store.table.size, 3);
    await a.usage.stop();
    assert.equal(w.store.table.size, 0);
    await w.stop();
  });

  test('a failed Store is answered 503 and not retried; the next REGISTER tries again', async () => {
    const { w, a } = await twoPeers();
    const alice = await w.phone('alice', a);
    const publishes = (): number => w.store.log.filter((l) => l.op === 'publish').length;
    w.store.failWith = new Error('down');
    alice.register(600);
    await w.settle();
    await a.usage.location.idle();
    assert.equal(alice.responses(503).length, 1);
    assert.equal(a.usage.location.stats.publishFailures, 1);
    await w.advance(120_000, 5_000);
    assert.equal(publishes(), 1, 'the phone was told to try again: no retry behind its back');
    w.store.failWith = undefined;
    alice.register(600);
    await w.settle();
    await a.usage.location.idle();
    assert.equal(alice.responses(200).length, 1);
    assert.ok(w.store.table.get(`sip:alice@${OVERLAY}`));
    await w.stop();
  });

  test('AoRs outside the overlay domain are not stored', async () => {
    const { w, a } = await twoPeers();
    const alice = await w.phone('alice', a);
    // the peer's own address is a local domain: canonicalised to the overlay name, so stored
    alice.sendText(
      [
        `REGISTER sip:${a.addr.host} SIP/2.0`,
        `Via: SIP/2.0/UDP ${alice.addr.host}:${alice.addr.port};branch=z9hG4bKx1;rport`,
        'Max-Forwards: 70',
        `From: <sip:alice@${a.addr.host}>;tag=x`,
        `To: <sip:alice@${a.addr.host}>`,
        'Call-ID: x1',
        'CSeq: 1 REGISTER',
        `Contact: <${alice.contact}>`,
        'Content-Length: 0',
        '',
        '',
      ].join('\n'),
    );
    await w.settle();
    await a.usage.location.idle();
    assert.ok(w.store.table.get(`sip:alice@${OVERLAY}`));
    await w.stop();
  });
});

describe('OverlayLocationService: requests through the overlay', () => {
  test('MESSAGE from a phone at B reaches a phone registered at A (AppAttach, plain SIP, 200 back)', async () => {
    const { w, a, b } = await twoPeers();
    const alice = await w.phone('alice', a);
    const bob = await w.phone('bob', b);
    alice.register(600);
    await w.settle();
    await a.usage.location.idle();
    bob.request('MESSAGE', `sip:alice@${OVERLAY}`);
    await w.settle();
    const got = alice.requests('MESSAGE');
    assert.equal(got.length, 1);
    const m = got[0]!;
    assert.ok(isSipUri(m.uri));
    assert.equal(m.uri.host, alice.addr.host, 'A delivered to the phone contact');
    // both peers record-routed
    assert.equal(m.headers.getAll('record-route').join(',').split(',').length, 2);
    alice.reply(m, 200);
    await w.settle();
    assert.equal(bob.responses(200).length, 1);
    assert.equal(b.usage.locator.appAttaches, 1);
    // a second request reuses the located address: no AppAttach
    bob.request('MESSAGE', `sip:alice@${OVERLAY}`);
    await w.settle();
    assert.equal(alice.requests('MESSAGE').length, 2);
    assert.equal(b.usage.locator.appAttaches, 1);
    await w.stop();
  });

  test('INVITE across peers: 100 at once, 180 and 200 relayed, ACK and BYE follow the Record-Route', async () => {
    const { w, a, b } = await twoPeers();
    const alice = await w.phone('alice', a);
    const bob = await w.phone('bob', b);
    alice.register(600);
    await w.settle();
    bob.request('INVITE', `sip:alice@${OVERLAY}`);
    await w.settle();
    assert.equal(bob.responses(100).length, 1);
    const inv = alice.requests('INVITE')[0];
    assert.ok(inv);
    alice.reply(inv, 180);
    alice.reply(inv, 200);
    await w.settle();
    assert.equal(bob.responses(180).length, 1);
    const ok = bob.responses(200)[0];
    assert.ok(ok);
    const routes = ok.headers.getAll('record-route').flatMap((v) => v.split(',')).map((s) => s.trim()).reverse();
    assert.equal(routes.length, 2);
    const dialog = (method: string, cseq: number): string =>
      [
        `${method} ${alice.contact} SIP/2.0`,
        `Via: SIP/2.0/UDP ${bob.addr.host}:${bob.addr.port};branch=z9hG4bKdlg${cseq}${method};rport`,
        'Max-Forwards: 70',
        `From: ${inv.headers.get('from') ?? ''}`,
        `To: ${inv.headers.get('to') ?? ''};tag=alicett`,
        `Call-ID: ${inv.headers.get('call-id') ?? ''}`,
        `CSeq: ${cseq} ${method}`,
        ...routes.map((r) => `Route: ${r}`),
        'Content-Length: 0',
        '',
        '',
      ].join('\n');
    bob.sendText(dialog('ACK', Number((inv.headers.get('cseq') ?? '1').split(' ')[0])));
    await w.settle();
    assert.equal(alice.requests('ACK').length, 1);
    bob.sendText(dialog('BYE', 100));
    await w.settle();
    const bye = alice.requests('BYE')[0];
    assert.ok(bye);
    alice.reply(bye, 200);
    await w.settle();
    assert.equal(bob.responses(200).length, 2);
    await w.stop();
  });

  test('two phones of one AoR at two peers: both ring (forking), first 200 wins', async () => {
    const w = new OverlaySipWorld();
    const a = await w.addPeer('A');
    const b = await w.addPeer('B');
    const c = await w.addPeer('C');
    const alice1 = await w.phone('alice', a);
    const alice2 = await w.phone('alice', b);
    const carol = await w.phone('carol', c);
    alice1.register(600);
    alice2.register(600);
    await w.settle();
    carol.request('INVITE', `sip:alice@${OVERLAY}`);
    await w.settle();
    const i1 = alice1.requests('INVITE')[0];
    const i2 = alice2.requests('INVITE')[0];
    assert.ok(i1 && i2);
    alice1.reply(i1, 180); // §9.1: a branch is cancelled once it has sent a provisional response
    await w.settle();
    alice2.reply(i2, 200);
    await w.settle();
    assert.equal(carol.responses(200).length, 1);
    assert.equal(alice1.requests('CANCEL').length, 1, 'the other branch is cancelled');
    await w.stop();
  });

  test('unknown AoR → 404; registered peer unreachable → 480; overlay silent → 408; overlay error → 503', async () => {
    const w = new OverlaySipWorld({ location: { lookupTimeoutMs: 2_000 } });
    const a = await w.addPeer('A');
    const b = await w.addPeer('B');
    const alice = await w.phone('alice', a);
    const bob = await w.phone('bob', b);
    bob.request('MESSAGE', `sip:nobody@${OVERLAY}`);
    await w.settle();
    assert.equal(bob.responses(404).length, 1);

    alice.register(600);
    await w.settle();
    a.reachable = false;
    bob.request('MESSAGE', `sip:alice@${OVERLAY}`);
    await w.settle();
    const r480 = bob.responses(480)[0];
    assert.ok(r480);
    assert.match(r480.reason, /unreachable/);

    w.store.hang = true;
    bob.request('MESSAGE', `sip:carol@${OVERLAY}`);
    await w.settle();
    assert.equal(bob.responses(408).length, 0);
    await w.advance(2_100);
    const r408 = bob.responses(408)[0];
    assert.ok(r408);
    assert.match(r408.reason, /did not answer/);

    w.store.hang = false;
    w.store.failWith = new Error('Error_Request_Timeout');
    bob.request('MESSAGE', `sip:dave@${OVERLAY}`);
    await w.settle();
    const r503 = bob.responses(503)[0];
    assert.ok(r503);
    assert.match(r503.reason, /overlay lookup failed/);
    await w.stop();
  });

  test('a request marked as coming from a peer is never sent back into the overlay (no loops)', async () => {
    const { w, a, b } = await twoPeers();
    const alice = await w.phone('alice', a);
    alice.register(600);
    await w.settle();
    await a.usage.location.idle();
    // A's registration is stale: the phone is gone from A but the overlay still says A.
    await a.inner.update(`sip:alice@${OVERLAY}`, { contacts: '*', callId: 'reg-alice', cseq: 99, source: alice.addr, flowId: undefined });
    const bob = await w.phone('bob', b);
    const lookupsBefore = w.store.log.filter((l) => l.op === 'lookup').length;
    bob.request('MESSAGE', `sip:alice@${OVERLAY}`);
    await w.settle();
    assert.equal(bob.responses(404).length, 1);
    // B looked up once; A did not look up again
    assert.equal(w.store.log.filter((l) => l.op === 'lookup').length - lookupsBefore, 1);
    await w.stop();
  });

  test('sip_registration_uri is followed (one AoR mapped to another)', async () => {
    const { w, a, b } = await twoPeers();
    const alice = await w.phone('alice', a);
    const bob = await w.phone('bob', b);
    alice.register(600);
    await w.settle();
    await w.store
      .forNode(new Uint8Array(16).fill(9))
      .publish(`sip:support@${OVERLAY}`, { type: 'uri', uri: new TextEncoder().encode(`sip:alice@${OVERLAY}`) }, 600);
    bob.request('MESSAGE', `sip:support@${OVERLAY}`);
    await w.settle();
    assert.equal(alice.requests('MESSAGE').length, 1);
    await w.stop();
  });

  test('phones of one AoR here and at another peer both ring; a failing or silent overlay leaves the local one, at once', async () => {
    const { w, a, b } = await twoPeers();
    const alice1 = await w.phone('alice', a);
    const alice2 = await w.phone('alice', b);
    const carol = await w.phone('carol', a);
    // distinct requests (a phone that does not answer sees retransmissions)
    const calls = (p: typeof alice1): number => new Set(p.requests('MESSAGE').map((m) => m.headers.get('call-id'))).size;
    alice1.register(600);
    alice2.register(600);
    await w.settle();
    carol.request('MESSAGE', `sip:alice@${OVERLAY}`);
    await w.settle();
    assert.equal(calls(alice1), 1);
    assert.equal(calls(alice2), 1);
    w.store.failWith = new Error('overlay down');
    carol.request('MESSAGE', `sip:alice@${OVERLAY}`);
    await w.settle();
    assert.equal(calls(alice1), 2);
    assert.equal(calls(alice2), 1);
    // issue 18: a silent overlay costs the local phone nothing — it rings at once, the overlay's forks
    // would join when they come (within localForkWaitMs)
    w.store.failWith = undefined;
    w.store.hang = true;
    carol.request('MESSAGE', `sip:alice@${OVERLAY}`);
    await w.settle();
    assert.equal(calls(alice1), 3);
    await w.advance(1_000);
    assert.equal(calls(alice1), 3);
    assert.equal(calls(alice2), 1);
    await w.stop();
  });

  test('with localForkWaitMs 0 a local registration is delivered without asking the overlay', async () => {
    const w = new OverlaySipWorld({ location: { localForkWaitMs: 0 } });
    const a = await w.addPeer('A');
    const alice = await w.phone('alice', a);
    const bob = await w.phone('bob', a);
    alice.register(600);
    await w.settle();
    const before = w.store.log.filter((l) => l.op === 'lookup').length;
    bob.request('MESSAGE', `sip:alice@${OVERLAY}`);
    await w.settle();
    assert.equal(alice.requests('MESSAGE').length, 1);
    assert.equal(w.store.log.filter((l) => l.op === 'lookup').length, before);
    await w.stop();
  });

  test('describe(aor) reports the Resource-ID, the registrations and the registered peer\'s SIP front', async () => {
    const { w, a, b } = await twoPeers();
    const alice = await w.phone('alice', a);
    alice.register(600);
    await w.settle();
    await a.usage.location.idle();
    const report = await b.usage.describe(`sip:alice@${OVERLAY}`);
    assert.equal(report.resourceId, '2dd080a64fc2007b629409e1eebcd462');
    assert.deepEqual(report.registrations, [{ nodeId: Buffer.from(a.nodeId).toString('hex'), type: 'route', sip: `udp:${a.addr.host}:5060` }]);
    assert.deepEqual((await b.usage.describe(`sip:nobody@${OVERLAY}`)).registrations, []);
    await w.stop();
  });

  test('sip_registration_uri loops and chains end (bounded Fetches)', async () => {
    const { w, b } = await twoPeers();
    const bob = await w.phone('bob', b);
    const other = w.store.forNode(new Uint8Array(16).fill(9));
    const uri = (t: string): { type: 'uri'; uri: Uint8Array } => ({ type: 'uri', uri: new TextEncoder().encode(t) });
    await other.publish(`sip:x@${OVERLAY}`, uri(`sip:y@${OVERLAY}`), 600);
    await other.publish(`sip:y@${OVERLAY}`, uri(`sip:x@${OVERLAY}`), 600);
    bob.request('MESSAGE', `sip:x@${OVERLAY}`);
    await w.settle();
    assert.equal(bob.responses(404).length, 1);
    assert.ok(w.store.log.filter((l) => l.op === 'lookup').length <= 4);
    await w.stop();
  });
});
