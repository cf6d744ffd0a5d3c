/**
 * Relaying policy (issue 14, open relay): with `--outbound none` the peer relays to a host that is
 * not itself only along a dialog it Record-Routed, to one of the two hops next to it there (its own
 * phone, the caller, or the overlay peer it forwarded to). A Route or Request-URI naming any other
 * host gets 403 with a reason, and nothing is sent there. With `dns` or an outbound proxy, relaying
 * is what the configuration asked for.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isSipUri, parseUri } from '../../../../src/sip/message/index.js';
import type { SipRequest } from '../../../../src/sip/message/sip-message.js';
import type { Binding, LocationService } from '../../../../src/sip/core/location-service.js';
import { MemoryLocationService } from '../../../../src/sip/core/memory-location-service.js';
import type { OutboundPolicy } from '../../../../src/sip/core/proxy-core.js';
import { PEER_HOST, type Phone, SipWorld } from './sip-test-network.js';

const US = `<sip:${PEER_HOST}:5060;lr>`;

/** The phone's requests of `callId`. */
const got = (p: Phone, method: string, callId: string): SipRequest[] => p.requests(method).filter((r) => r.headers.get('call-id') === callId);
const status = (p: Phone, callId: string): number[] => p.responses().filter((r) => r.headers.get('call-id') === callId).map((r) => r.status);

/** A location service that sends `sip:<user>@peer` to the SIP front of another overlay peer (RFC 7904 target), others to phones here. */
class PeerTargets implements LocationService {
  constructor(
    private readonly inner: MemoryLocationService,
    private readonly remote: Map<string, string>,
  ) {}
  update(aor: string, change: Parameters<LocationService['update']>[1]) {
    return this.inner.update(aor, change);
  }
  async lookup(aor: string): Promise<Binding[]> {
    const peer = this.remote.get(aor);
    if (peer === undefined) return this.inner.lookup(aor);
    const uri = parseUri(peer);
    return [{ aor, contact: { displayName: undefined, uri, params: [] }, expiresAt: Infinity, q: 1, callId: 'x', cseq: 1, source: { protocol: 'udp', host: '0.0.0.0', port: 0 }, flowId: undefined }];
  }
  size(): number {
    return this.inner.size();
  }
}

describe('relaying with --outbound none (issue 14: no open relay)', () => {
  let w: SipWorld;
  const remote = new Map<string, string>();
  async function world(outbound: OutboundPolicy = { mode: 'none' }): Promise<SipWorld> {
    remote.clear();
    w = new SipWorld(undefined, outbound, (clock) => ({ location: new PeerTargets(new MemoryLocationService(clock), remote) }));
    await w.start();
    return w;
  }
  afterEach(async () => w.stop());

  test('a request whose top Route names another host is refused with 403 and a reason; nothing reaches that host', async () => {
    await world();
    const mallory = await w.phone('mallory');
    const victim = await w.phone('victim');
    const v = `${victim.addr.host}:${victim.addr.port}`;
    mallory.sendText(mallory.request('MESSAGE', `sip:x@${v}`, { callId: 'r1', extra: [`Route: <sip:${v};lr>`] }));
    mallory.sendText(mallory.request('INVITE', 'sip:bob@p2psip.local', { callId: 'r2', extra: [`Route: <sip:${v};lr>`] }));
    // in-dialog too (a To tag), and with our own Route first
    mallory.sendText(mallory.request('BYE', `sip:x@${v}`, { callId: 'r3', toTag: 't', extra: [`Route: <sip:${v};lr>`] }));
    mallory.sendText(mallory.request('BYE', `sip:x@${v}`, { callId: 'r4', toTag: 't', extra: [`Route: ${US}, <sip:${v};lr>`] }));
    await w.settle();
    for (const c of ['r1', 'r2', 'r4']) {
      assert.deepEqual(status(mallory, c), [403], c);
      const r = mallory.responses(403).find((m) => m.headers.get('call-id') === c)!;
      assert.match(r.reason, /Not relaying to 198\.18\.1\.2/, c);
    }
    // in dialog without our Route: not ours to relay (Relaying policy)
    assert.deepEqual(status(mallory, 'r3'), [404]);
    assert.equal(victim.inbox.length, 0, 'nothing was relayed');
  });

  test('our own Route does not open a relay: a Request-URI or Route of a host the dialog never had is 403, ACKs are dropped', async () => {
    await world();
    const mallory = await w.phone('mallory');
    const victim = await w.phone('victim');
    const v = `${victim.addr.host}:${victim.addr.port}`;
    mallory.sendText(mallory.request('BYE', `sip:x@${v}`, { callId: 'd1', toTag: 't', extra: [`Route: ${US}`] }));
    mallory.sendText(mallory.request('MESSAGE', `sip:x@${v}`, { callId: 'd2', extra: [`Route: ${US}`] }));
    // a token of the right form but made up
    mallory.sendText(mallory.request('BYE', `sip:x@${v}`, { callId: 'd3', toTag: 't', extra: [`Route: <sip:${PEER_HOST}:5060;lr;p2psip-rr=AAAAAAAAAAAAAA.BBBBBBBBBBBBBB>`] }));
    mallory.sendText(mallory.request('ACK', `sip:x@${v}`, { callId: 'd4', toTag: 't', extra: [`Route: ${US}, <sip:${v};lr>`] }));
    await w.settle();
    for (const c of ['d1', 'd2', 'd3']) assert.deepEqual(status(mallory, c), [403], c);
    assert.equal(victim.inbox.length, 0, 'nothing was relayed');
    assert.equal(w.peer.proxy.stats().stateless.acksForwarded, 0);
  });

  test('a call between two phones of this peer: in-dialog requests both ways follow the Record-Route', async () => {
    await world();
    const alice = await w.phone('alice');
    const bob = await w.phone('bob');
    bob.register();
    await w.settle();
    alice.sendText(alice.request('INVITE', 'sip:bob@p2psip.local', { callId: 'c1', cseq: 1 }));
    await w.settle();
    const inv = got(bob, 'INVITE', 'c1')[0]!;
    assert.match(inv.headers.get('record-route') ?? '', /;lr;p2psip-i=[0-9a-f]{8};p2psip-rr=[\w-]+\.[\w-]+>/);
    bob.reply(inv, 200);
    await w.settle();
    const rr = alice.responses(200)[0]!.headers.get('record-route')!;
    alice.sendText(alice.request('ACK', bob.contact, { callId: 'c1', cseq: 1, toTag: 'bob-tt', extra: [`Route: ${rr}`] }));
    alice.sendText(alice.request('INFO', bob.contact, { callId: 'c1', cseq: 2, toTag: 'bob-tt', extra: [`Route: ${rr}`] }));
    // bob's side: the route set is the Record-Route as received, the remote target alice's Contact
    bob.sendText(bob.request('BYE', alice.contact, { callId: 'c1', cseq: 9, toTag: 'alicetag', extra: [`Route: ${inv.headers.get('record-route')!}`] }));
    await w.settle();
    assert.equal(got(bob, 'ACK', 'c1').length, 1, 'ACK relayed');
    assert.equal(got(bob, 'INFO', 'c1').length, 1, 'INFO relayed');
    assert.equal(got(alice, 'BYE', 'c1').length, 1, 'BYE relayed the other way');
    // the dialog's token is good for its own hops and Call-ID only
    const carol = await w.phone('carol');
    alice.sendText(alice.request('INFO', carol.contact, { callId: 'c1', cseq: 3, toTag: 'bob-tt', extra: [`Route: ${rr}`] }));
    alice.sendText(alice.request('INFO', bob.contact, { callId: 'other', cseq: 3, toTag: 'bob-tt', extra: [`Route: ${rr}`] }));
    await w.settle();
    assert.equal(carol.inbox.length, 0, 'not to another host');
    assert.deepEqual(status(alice, 'other'), [403], 'not for another Call-ID');
    assert.equal(got(bob, 'INFO', 'other').length, 0);
  });

  test('a call to a phone at another overlay peer: the route set through that peer works both ways', async () => {
    await world();
    const alice = await w.phone('alice');
    const peerB = await w.phone('peerb'); // plays the SIP front of the callee's peer
    const pb = `${peerB.addr.host}:${peerB.addr.port}`;
    remote.set('sip:bob@p2psip.local', `sip:bob@${pb};p2psip=peer`);
    alice.sendText(alice.request('INVITE', 'sip:bob@p2psip.local', { callId: 'p1', cseq: 1 }));
    await w.settle();
    const inv = got(peerB, 'INVITE', 'p1')[0]!;
    assert.ok(isSipUri(inv.uri) && inv.uri.host === peerB.addr.host);
    // peer B Record-Routes too: the 200 carries B's entry above ours
    const ours = inv.headers.get('record-route')!;
    peerB.reply(inv, 200, [['Record-Route', `<sip:${pb};lr>`]]);
    await w.settle();
    const ok = alice.responses(200).find((r) => r.headers.get('call-id') === 'p1')!;
    const routeSet = ok.headers.getAll('record-route').flatMap((v) => v.split(/,\s*(?=<)/)).reverse();
    assert.equal(routeSet.length, 2);
    alice.sendText(alice.request('BYE', 'sip:bob@192.0.2.99:5060', { callId: 'p1', cseq: 2, toTag: 'peerb-tt', extra: routeSet.map((r) => `Route: ${r}`) }));
    await w.settle();
    const bye = got(peerB, 'BYE', 'p1')[0];
    assert.ok(bye, 'BYE relayed to the overlay peer');
    // and from peer B's side (bob hangs up): to alice, along our Route
    peerB.sendText(peerB.request('BYE', alice.contact, { callId: 'p1', cseq: 7, toTag: 'alicetag', extra: [`Route: ${ours}`] }));
    await w.settle();
    assert.equal(got(alice, 'BYE', 'p1').length, 1, 'BYE from the peer relayed to our phone');
  });

  test('with an outbound proxy (or dns) relaying is what the configuration asked for: a foreign Route is followed', async () => {
    const proxyUri = parseUri('sip:198.18.1.1:5060');
    assert.ok(isSipUri(proxyUri));
    await world({ mode: 'proxy', uri: proxyUri });
    const proxy = await w.phone('proxy');
    const alice = await w.phone('alice');
    const other = await w.phone('other');
    alice.sendText(alice.request('MESSAGE', 'sip:x@elsewhere.test', { callId: 'o1', extra: [`Route: <sip:${other.addr.host}:${other.addr.port};lr>`] }));
    await w.settle();
    assert.equal(got(other, 'MESSAGE', 'o1').length, 1);
    assert.equal(proxy.inbox.length, 0);
  });
});
