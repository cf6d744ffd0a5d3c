import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PEER_HOST, SipWorld } from './sip-test-network.js';
import { MemoryLocationService } from '../../../../src/sip/core/memory-location-service.js';
import type { Binding } from '../../../../src/sip/core/location-service.js';

describe('registrar (RFC 3261 §10.3)', () => {
  let w: SipWorld;
  beforeEach(async () => {
    w = new SipWorld();
    await w.start();
  });
  afterEach(async () => w.stop());

  test('REGISTER adds a binding and answers 200 with it and its expiry', async () => {
    const alice = await w.phone('alice');
    alice.register(600);
    await w.settle();
    const res = alice.responses(200)[0];
    assert.ok(res, 'a 200');
    assert.match(res.headers.get('contact') ?? '', new RegExp(`<${alice.contact}>;expires=600`));
    const b = await w.peer.location.lookup('sip:alice@p2psip.local');
    assert.equal(b.length, 1);
  });

  test('too short an interval gets 423 with Min-Expires; 0 removes; * removes all', async () => {
    const alice = await w.phone('alice');
    alice.register(10);
    await w.settle();
    const r423 = alice.responses(423)[0];
    assert.ok(r423);
    assert.equal(r423.headers.get('min-expires'), '60');
    alice.register(3600);
    await w.settle();
    assert.equal((await w.peer.location.lookup('sip:alice@p2psip.local')).length, 1);
    alice.register(0);
    await w.settle();
    assert.equal((await w.peer.location.lookup('sip:alice@p2psip.local')).length, 0);
    alice.register(3600);
    await w.settle();
    alice.sendText(
      'REGISTER sip:p2psip.local SIP/2.0\nVia: SIP/2.0/UDP 198.18.1.1:5060;branch=z9hG4bKstar;rport\nMax-Forwards: 70\n' +
        'From: <sip:alice@p2psip.local>;tag=x\nTo: <sip:alice@p2psip.local>\nCall-ID: other-call\nCSeq: 1 REGISTER\n' +
        'Contact: *\nExpires: 0\nContent-Length: 0\n\n',
    );
    await w.settle();
    assert.equal((await w.peer.location.lookup('sip:alice@p2psip.local')).length, 0);
  });

  test('Contact * without Expires: 0 is a 400 naming the rule', async () => {
    const alice = await w.phone('alice');
    alice.sendText(
      'REGISTER sip:p2psip.local SIP/2.0\nVia: SIP/2.0/UDP 198.18.1.1:5060;branch=z9hG4bKstar2;rport\nMax-Forwards: 70\n' +
        'From: <sip:alice@p2psip.local>;tag=x\nTo: <sip:alice@p2psip.local>\nCall-ID: c\nCSeq: 1 REGISTER\nContact: *\nContent-Length: 0\n\n',
    );
    await w.settle();
    const r = alice.responses(400)[0];
    assert.ok(r);
    assert.match(r.reason, /Contact \*/);
  });

  test('an older CSeq for the same Call-ID is refused; expiry removes the binding', async () => {
    const alice = await w.phone('alice');
    alice.register(60); // CSeq 1
    alice.register(60); // CSeq 2
    await w.settle();
    // Replay CSeq 1 with the same Call-ID.
    alice.sendText(
      'REGISTER sip:p2psip.local SIP/2.0\nVia: SIP/2.0/UDP 198.18.1.1:5060;branch=z9hG4bKold;rport\nMax-Forwards: 70\n' +
        `From: <sip:alice@p2psip.local>;tag=ralice\nTo: <sip:alice@p2psip.local>\nCall-ID: reg-alice\nCSeq: 1 REGISTER\nContact: <${alice.contact}>\nContent-Length: 0\n\n`,
    );
    await w.settle();
    assert.equal(alice.responses(500).length, 1);
    w.clock.advance(61_000);
    assert.equal((await w.peer.location.lookup('sip:alice@p2psip.local')).length, 0);
  });

  test('REGISTER is answered without a server transaction; a retransmission gets the same answer (RFC 3261 §8.2.7)', async () => {
    const alice = await w.phone('alice');
    const text =
      'REGISTER sip:p2psip.local SIP/2.0\nVia: SIP/2.0/UDP 198.18.1.1:5060;branch=z9hG4bKretx;rport\nMax-Forwards: 70\n' +
      `From: <sip:alice@p2psip.local>;tag=r\nTo: <sip:alice@p2psip.local>\nCall-ID: retx\nCSeq: 5 REGISTER\nContact: <${alice.contact}>\nContent-Length: 0\n\n`;
    alice.sendText(text);
    await w.settle();
    alice.sendText(text);
    await w.settle();
    const oks = alice.responses(200);
    assert.equal(oks.length, 2, 'both copies answered 200 (not 500 out-of-order)');
    assert.equal(oks[0]!.headers.get('to'), oks[1]!.headers.get('to'), 'same To tag for the retransmission');
    const stats = w.peer.transactions.stats();
    assert.equal(stats.serverTransactions, 0);
    assert.equal(stats.statelessRequests, 2);
    assert.equal((await w.peer.location.lookup('sip:alice@p2psip.local')).length, 1);
  });

  test('a REGISTER the proxy must look at first (Max-Forwards 0, Proxy-Require) takes the stateful path', async () => {
    const alice = await w.phone('alice');
    alice.sendText(alice.request('REGISTER', 'sip:p2psip.local').replace('Max-Forwards: 70', 'Max-Forwards: 0'));
    alice.sendText(alice.request('REGISTER', 'sip:p2psip.local', { extra: ['Proxy-Require: x'] }));
    await w.settle();
    assert.equal(alice.responses(483).length, 1);
    assert.equal(alice.responses(420).length, 1);
    assert.equal(w.peer.transactions.stats().statelessRequests, 0);
  });

  test('an AoR on our address (any of our ports, or none) is the same user as on our domain', async () => {
    const alice = await w.phone('alice');
    alice.register(600, undefined, `sip:alice@${PEER_HOST}`);
    await w.settle();
    assert.equal((await w.peer.location.lookup('sip:alice@p2psip.local')).length, 1);
  });
});

describe('stateful proxy (RFC 3261 §16)', () => {
  let w: SipWorld;
  beforeEach(async () => {
    w = new SipWorld();
    await w.start();
  });
  afterEach(async () => w.stop());

  test('a call: INVITE/100/180/200 through the proxy, ACK and BYE along the Record-Route', async () => {
    const alice = await w.phone('alice');
    const bob = await w.phone('bob');
    bob.register();
    await w.settle();
    alice.sendText(alice.request('INVITE', 'sip:bob@p2psip.local', { callId: 'call1', cseq: 1, body: 'v=0 (opaque body bytes)', extra: ['Content-Type: application/sdp', 'X-Custom:   kept  as is'] }));
    await w.settle();
    assert.equal(alice.responses(100).length, 1, '100 Trying');
    const inv = bob.requests('INVITE')[0];
    assert.ok(inv, 'bob got the INVITE');
    assert.equal(inv.headers.get('max-forwards'), '69');
    assert.equal(inv.headers.getAll('via').length, 2);
    assert.match(inv.headers.get('record-route') ?? '', new RegExp(`<sip:${PEER_HOST}:5060;lr;p2psip-i=[0-9a-f]{8};p2psip-rr=[\\w.-]+>`));
    assert.equal(inv.headers.get('x-custom'), 'kept  as is', 'unknown header passes unchanged');
    assert.equal(Buffer.from(inv.body).toString(), 'v=0 (opaque body bytes)');
    bob.reply(inv, 180);
    bob.reply(inv, 200);
    await w.settle();
    assert.equal(alice.responses(180).length, 1);
    const ok = alice.responses(200)[0];
    assert.ok(ok);
    assert.equal(ok.headers.getAll('via').length, 1, 'our Via removed');
    // ACK and BYE with the Route set learnt from Record-Route.
    const route = ok.headers.get('record-route')!;
    alice.sendText(alice.request('ACK', bob.contact, { callId: 'call1', cseq: 1, toTag: 'bob-tt', extra: [`Route: ${route}`] }));
    alice.sendText(alice.request('BYE', bob.contact, { callId: 'call1', cseq: 2, toTag: 'bob-tt', extra: [`Route: ${route}`] }));
    await w.settle();
    assert.equal(bob.requests('ACK').length, 1, 'ACK relayed');
    const bye = bob.requests('BYE')[0];
    assert.ok(bye, 'BYE relayed');
    assert.equal(bye.headers.get('route'), undefined, 'our Route removed');
    bob.reply(bye, 200);
    await w.settle();
    assert.equal(alice.responses(200).filter((r) => r.headers.get('cseq') === '2 BYE').length, 1);
  });

  test('a 2xx retransmitted after the transactions are gone is still relayed by its Vias (stateless, §16.7)', async () => {
    const alice = await w.phone('alice');
    const bob = await w.phone('bob');
    bob.register();
    await w.settle();
    alice.sendText(alice.request('INVITE', 'sip:bob@p2psip.local', { callId: 'late' }));
    await w.settle();
    const inv = bob.requests('INVITE')[0]!;
    const ok = bob.reply(inv, 200);
    await w.settle();
    assert.equal(alice.responses(200).length, 1);
    await w.advance(40_000, 1000); // Timer L / M (32 s) end both transactions
    assert.equal(w.peer.transactions.stats().clientTransactions, 0);
    bob.send(ok); // the UAS retransmits its 2xx: no ACK reached it
    await w.settle();
    assert.equal(alice.responses(200).length, 2, 'relayed statelessly');
    assert.equal(w.peer.proxy.stats().stateless.responsesForwarded, 1);
    // A response whose top Via is not ours is dropped, never relayed (RFC 4475 bcast).
    const foreign = { ...ok, headers: ok.headers.clone() };
    foreign.headers.replaceFirst('via', 'SIP/2.0/UDP 198.18.1.77:5060;branch=z9hG4bKnotours');
    bob.send(foreign);
    await w.settle();
    assert.equal(alice.responses(200).length, 2);
    assert.equal(w.peer.proxy.stats().stateless.dropped, 1);
  });

  test('404 when nobody is registered; 483 at Max-Forwards 0; 416 for an unknown scheme; 420 for Proxy-Require', async () => {
    const alice = await w.phone('alice');
    alice.sendText(alice.request('INVITE', 'sip:nobody@p2psip.local'));
    alice.sendText(alice.request('MESSAGE', 'sip:bob@p2psip.local', { extra: [] }).replace('Max-Forwards: 70', 'Max-Forwards: 0'));
    alice.sendText(alice.request('OPTIONS', 'foo:bar'));
    alice.sendText(alice.request('OPTIONS', 'sip:bob@p2psip.local', { extra: ['Proxy-Require: magic'] }));
    await w.settle();
    assert.equal(alice.responses(404).length, 1);
    assert.equal(alice.responses(483).length, 1);
    assert.equal(alice.responses(416).length, 1);
    assert.equal(alice.responses(420)[0]?.headers.get('unsupported'), 'magic');
  });

  test('OPTIONS to the peer itself is answered with Allow', async () => {
    const alice = await w.phone('alice');
    alice.sendText(alice.request('OPTIONS', `sip:${PEER_HOST}:5060`));
    await w.settle();
    assert.match(alice.responses(200)[0]?.headers.get('allow') ?? '', /INVITE.*REGISTER/);
  });

  test('parallel forking: first 2xx wins, the other branch is cancelled', async () => {
    const alice = await w.phone('alice');
    const bob1 = await w.phone('bob');
    const bob2 = await w.phone('bob');
    bob1.register();
    bob2.register();
    await w.settle();
    alice.sendText(alice.request('INVITE', 'sip:bob@p2psip.local', { callId: 'fork' }));
    await w.settle();
    const i1 = bob1.requests('INVITE')[0]!;
    const i2 = bob2.requests('INVITE')[0]!;
    assert.ok(i1 && i2, 'both phones ring');
    bob1.reply(i1, 180);
    bob2.reply(i2, 180);
    await w.settle();
    bob1.reply(i1, 200);
    await w.settle();
    assert.equal(alice.responses(200).length, 1);
    const cancel = bob2.requests('CANCEL')[0];
    assert.ok(cancel, 'the other branch is cancelled');
    bob2.reply(cancel, 200);
    bob2.reply(i2, 487);
    await w.settle();
    assert.equal(alice.responses(487).length, 0, 'the 487 of the losing branch is not forwarded');
  });

  test('sequential forking by q: the lower q is tried after the higher one fails; 486 vs 200', async () => {
    const alice = await w.phone('alice');
    const desk = await w.phone('bob');
    const mobile = await w.phone('bob');
    desk.register(3600, 1.0);
    mobile.register(3600, 0.5);
    await w.settle();
    alice.sendText(alice.request('INVITE', 'sip:bob@p2psip.local', { callId: 'seq' }));
    await w.settle();
    assert.equal(desk.requests('INVITE').length, 1);
    assert.equal(mobile.requests('INVITE').length, 0, 'not yet');
    desk.reply(desk.requests('INVITE')[0]!, 486);
    await w.settle();
    const mi = mobile.requests('INVITE')[0];
    assert.ok(mi, 'then the mobile rings');
    mobile.reply(mi, 200);
    await w.settle();
    assert.equal(alice.responses(200).length, 1);
    assert.equal(alice.responses(486).length, 0);
  });

  test('best response: 486 from every branch is forwarded once', async () => {
    const alice = await w.phone('alice');
    const b1 = await w.phone('bob');
    b1.register();
    await w.settle();
    alice.sendText(alice.request('INVITE', 'sip:bob@p2psip.local'));
    await w.settle();
    b1.reply(b1.requests('INVITE')[0]!, 486);
    await w.settle();
    assert.equal(alice.responses(486).length, 1);
    assert.equal(b1.requests('ACK').length, 1, 'the client transaction ACKs the 486 itself');
  });

  test('CANCEL from the caller: 200 for the CANCEL, CANCEL downstream, 487 upstream', async () => {
    const alice = await w.phone('alice');
    const bob = await w.phone('bob');
    bob.register();
    await w.settle();
    const invText = alice.request('INVITE', 'sip:bob@p2psip.local', { callId: 'cx', cseq: 7, branch: 'z9hG4bKcancelme' });
    alice.sendText(invText);
    await w.settle();
    const inv = bob.requests('INVITE')[0]!;
    bob.reply(inv, 180);
    await w.settle();
    alice.sendText(
      invText
        .replace('INVITE sip:bob@p2psip.local SIP/2.0', 'CANCEL sip:bob@p2psip.local SIP/2.0')
        .replace('CSeq: 7 INVITE', 'CSeq: 7 CANCEL')
        .replace(/Contact: .*\n/, ''),
    );
    await w.settle();
    assert.equal(alice.responses(200).filter((r) => r.headers.get('cseq') === '7 CANCEL').length, 1);
    const c = bob.requests('CANCEL')[0];
    assert.ok(c, 'CANCEL propagated');
    bob.reply(c, 200);
    bob.reply(inv, 487);
    await w.settle();
    assert.equal(alice.responses(487).length, 1);
  });

  test('a callee that never answers: 408 after Timer B', async () => {
    const alice = await w.phone('alice');
    const bob = await w.phone('bob');
    bob.register();
    await w.settle();
    alice.sendText(alice.request('INVITE', 'sip:bob@p2psip.local'));
    await w.settle();
    await w.advance(33_000, 500);
    assert.ok(bob.requests('INVITE').length >= 6, 'retransmitted over UDP');
    assert.equal(alice.responses(408).length >= 1, true);
  });

  test('a registered contact that cannot be reached gets 480 (not silence)', async () => {
    const alice = await w.phone('alice');
    const ghost = await w.phone('ghost');
    // ghost registers a contact on a host nobody listens on
    ghost.sendText(
      'REGISTER sip:p2psip.local SIP/2.0\nVia: SIP/2.0/UDP 198.18.1.2:5060;branch=z9hG4bKghost;rport\nMax-Forwards: 70\n' +
        'From: <sip:ghost@p2psip.local>;tag=g\nTo: <sip:ghost@p2psip.local>\nCall-ID: g\nCSeq: 1 REGISTER\nContact: <sip:ghost@198.18.9.9:5060>\nContent-Length: 0\n\n',
    );
    await w.settle();
    alice.sendText(alice.request('INVITE', 'sip:ghost@p2psip.local'));
    await w.settle();
    await w.advance(100, 50); // send errors are reported on the next timer tick
    const r = alice.responses(480)[0];
    assert.ok(r, `480, got ${alice.responses().map((x) => x.status).join(',')}`);
    assert.match(r.reason, /Temporarily Unavailable/);
  });

  test('a request that comes back to us is detected as a loop (482)', async () => {
    const alice = await w.phone('alice');
    const loopy = await w.phone('loopy');
    // loopy's contact is the proxy itself: the request spirals once, then loops.
    loopy.sendText(
      'REGISTER sip:p2psip.local SIP/2.0\nVia: SIP/2.0/UDP 198.18.1.2:5060;branch=z9hG4bKloopreg;rport\nMax-Forwards: 70\n' +
        `From: <sip:loopy@p2psip.local>;tag=l\nTo: <sip:loopy@p2psip.local>\nCall-ID: l\nCSeq: 1 REGISTER\nContact: <sip:loopy@${PEER_HOST}:5060>\nContent-Length: 0\n\n`,
    );
    await w.settle();
    alice.sendText(alice.request('MESSAGE', 'sip:loopy@p2psip.local'));
    await w.settle();
    assert.equal(alice.responses(482).length, 1);
  });

  test('an in-dialog request that did not come through our Route is not relayed', async () => {
    const alice = await w.phone('alice');
    alice.sendText(alice.request('BYE', 'sip:bob@198.18.1.9:5060', { toTag: 'x' }));
    await w.settle();
    assert.equal(alice.responses(404).length, 1);
  });
});

describe('a slow location lookup (the overlay: Fetch, AppAttach, ICE, DTLS)', () => {
  test('the INVITE gets its 100 Trying before the lookup ends, and only one; a non-INVITE gets none', async () => {
    let release: (() => void) | undefined;
    let slow = true;
    const w = new SipWorld(undefined, { mode: 'none' }, (clock) => {
      const mem = new MemoryLocationService(clock);
      const location = Object.assign(Object.create(mem) as MemoryLocationService, {
        lookup: async (aor: string): Promise<Binding[]> => {
          if (slow) await new Promise<void>((r) => (release = r));
          return mem.lookup(aor);
        },
      });
      return { location };
    });
    await w.start();
    try {
      const alice = await w.phone('alice');
      const bob = await w.phone('bob');
      bob.register();
      await w.settle();
      alice.sendText(alice.request('INVITE', 'sip:bob@p2psip.local', { callId: 'slow1' }));
      await w.settle();
      assert.equal(alice.responses(100).length, 1, '100 Trying while the lookup runs');
      assert.equal(bob.requests('INVITE').length, 0, 'not forwarded yet');
      release!();
      await w.settle();
      assert.equal(bob.requests('INVITE').length, 1, 'forwarded once the lookup answered');
      assert.equal(alice.responses(100).length, 1, 'no second 100');
      slow = true;
      alice.sendText(alice.request('MESSAGE', 'sip:bob@p2psip.local', { callId: 'slow2' }));
      await w.settle();
      assert.equal(alice.responses(100).length, 1, 'a MESSAGE gets no 100');
      release!();
      await w.settle();
      assert.equal(bob.requests('MESSAGE').length, 1);
    } finally {
      await w.stop();
    }
  });
});
