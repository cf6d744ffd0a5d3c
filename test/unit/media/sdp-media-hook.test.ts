import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/lib/manual-clock.js';
import { SeededRandom } from '../../../src/lib/random.js';
import { MediaRelay, type PeerLeg, type UaLeg } from '../../../src/media/media-relay.js';
import { annotateForPeer, parseSdpBody, type MediaHint, type ParsedSdp } from '../../../src/media/sdp-body.js';
import { SdpMediaHook, type MediaMode } from '../../../src/media/sdp-media-hook.js';
import { hasParam, isSipUri } from '../../../src/sip/message/index.js';
import type { SipResponse } from '../../../src/sip/message/sip-message.js';
import type { TransportAddress } from '../../../src/sip/transport/sip-transport.js';
import { FakeMediaPorts, FakeMediaTrunk, FakePeerDirectory, frame, frameTag, rtp } from '../../support/media/fake-media.js';
import { bytes, CRYPTO_LINE, manyStreams, phoneSdp, phoneSdpAv, sdp, SRTP } from '../../support/media/sdp-samples.js';
import { bodyText, request, response, udp } from '../../support/media/sip-builders.js';

const OUR = '198.18.0.1';
const N = 'aa'.repeat(16);
const N_ADDR = udp('198.51.100.2', 5070);
const M = 'bb'.repeat(16);
const M_ADDR = udp('198.51.100.3', 5070);
/** Phones on our network: SIP source = Contact = SDP address. */
const ALICE = udp('192.168.1.10', 5060);
const BOB = udp('192.168.1.20', 5060);
/** A phone behind a NAT: source 203.0.113.50, Contact and SDP 192.168.0.5. */
const CAROL = udp('203.0.113.50', 34567);
const CAROL_PRIVATE = '192.168.0.5';

const parsed = (body: string): ParsedSdp => parseSdpBody(bytes(body));
const strip = (body: string): string => body.replace(/a=p2psip-[^\r]*\r\n/g, '');

/** What another peer's relay sends: its phone's SDP with its tags and hint. */
function remoteSdp(host: string, port: number, tag: number, hint: MediaHint = 'nat', trunk?: { host: string; port: number }, extra: string[] = []): string {
  return Buffer.from(annotateForPeer(parsed(phoneSdp(host, port, extra)), hint, [trunk === undefined ? { tag } : { tag, trunk }])).toString('utf8');
}

interface Sent {
  refusal: ReturnType<SdpMediaHook['request']>;
  body: string;
}

class World {
  readonly clock = new ManualClock(0);
  readonly ports: FakeMediaPorts;
  readonly trunk: FakeMediaTrunk;
  readonly relay: MediaRelay;
  readonly peers = new FakePeerDirectory();
  readonly hook: SdpMediaHook;
  readonly logs: string[] = [];

  constructor(
    readonly mode: MediaMode,
    o: { capacity?: number; maxSessions?: number; trunk?: { host: string; port: number }; maxStreams?: number; timeoutMs?: number; seed?: number } = {},
  ) {
    this.ports = new FakeMediaPorts(o.capacity ?? 100);
    this.trunk = new FakeMediaTrunk(o.trunk);
    this.relay = new MediaRelay(
      { clock: this.clock, random: new SeededRandom(o.seed ?? 5), ports: this.ports, trunk: this.trunk },
      { ...(o.maxSessions === undefined ? {} : { maxSessions: o.maxSessions }), ...(o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }) },
    );
    this.relay.start();
    this.peers.channels.set(`${N_ADDR.host}:${N_ADDR.port}`, N);
    this.peers.channels.set(`${M_ADDR.host}:${M_ADDR.port}`, M);
    this.hook = new SdpMediaHook(this.relay, this.peers, {
      mode,
      mediaAddress: () => OUR,
      isPeerUri: (u) => isSipUri(u) && hasParam(u.params, 'p2psip'),
      ...(o.maxStreams === undefined ? {} : { maxStreams: o.maxStreams }),
      log: (_obj, msg) => this.logs.push(msg),
    });
  }

  /** A request from a phone (`contactHost`: its Contact's host, default its source) toward `to`. */
  fromPhone(phone: TransportAddress, body: string | undefined, o: { callId?: string; to?: TransportAddress; method?: string; contactHost?: string; outUri?: string; cseq?: number } = {}): Sent {
    const method = o.method ?? 'INVITE';
    const base = { callId: o.callId ?? 'call-1', cseq: o.cseq ?? 1, ...(body === undefined ? {} : { body }), contact: `sip:p@${o.contactHost ?? phone.host}:${phone.port}` };
    const received = request(method, 'sip:callee@p2psip.local', base);
    const to = o.to ?? N_ADDR;
    const out = request(method, o.outUri ?? `sip:callee@${to.host}:${to.port}`, base);
    const refusal = this.hook.request(out, received, phone, to);
    return { refusal, body: bodyText(out) };
  }

  /** A request from another peer (`from`) to a phone (`contactHost`: its Contact's host, default where it is sent). */
  toPhone(phone: TransportAddress, body: string | undefined, o: { callId?: string; from?: TransportAddress; method?: string; contactHost?: string; inUri?: string; cseq?: number } = {}): Sent {
    const method = o.method ?? 'INVITE';
    const base = { callId: o.callId ?? 'call-1', cseq: o.cseq ?? 1, ...(body === undefined ? {} : { body }), contact: 'sip:caller@198.51.100.2:5070' };
    const received = request(method, o.inUri ?? 'sip:callee@p2psip.local;p2psip=peer', base);
    const out = request(method, `sip:callee@${o.contactHost ?? phone.host}:${phone.port}`, base);
    const refusal = this.hook.request(out, received, o.from ?? N_ADDR, phone);
    return { refusal, body: bodyText(out) };
  }

  /** A response going upstream to `to`. */
  respond(status: number, body: string | undefined, to: TransportAddress, o: { callId?: string; method?: string; cseq?: number; contentType?: string; from?: TransportAddress } = {}): { res: SipResponse; sent: SipResponse; body: string } {
    const res = response(status, { callId: o.callId ?? 'call-1', method: o.method ?? 'INVITE', cseq: o.cseq ?? 1, ...(body === undefined ? {} : { body }), ...(o.contentType === undefined ? {} : { contentType: o.contentType }) });
    const sent = this.hook.response(res, to, o.from);
    return { res, sent, body: bodyText(sent) };
  }

  ua(callId: string, k: number, side: 0 | 1): UaLeg {
    const leg = this.relay.get(callId)?.streams[k]?.legs[side];
    assert.equal(leg?.kind, 'ua', `stream ${k} side ${side} is a ua leg`);
    return leg as UaLeg;
  }

  peerLeg(callId: string, k: number, side: 0 | 1): PeerLeg {
    const leg = this.relay.get(callId)?.streams[k]?.legs[side];
    assert.equal(leg?.kind, 'peer', `stream ${k} side ${side} is a peer leg`);
    return leg as PeerLeg;
  }
}

/** The audio port and address a phone is told. */
function audio(body: string): { host: string | undefined; port: number } {
  const s = parsed(body).streams[0]!;
  return { host: s.address, port: s.port };
}

describe('SdpMediaHook: phone → peer (export)', () => {
  test('relay: the offer goes as the phone wrote it plus our tag and the hint; our ports are taken now', () => {
    const w = new World('relay');
    const offer = phoneSdp(ALICE.host, 4000);
    const { refusal, body } = w.fromPhone(ALICE, offer);
    assert.equal(refusal, undefined);
    const p = parsed(body);
    assert.equal(p.hint, 'nat', 'relay mode never says direct-ok');
    const tag = w.peerLeg('call-1', 0, 1).localTag;
    assert.deepEqual(p.streams[0]!.relay, { tag, bundles: true });
    assert.equal(strip(body), offer, 'everything else byte for byte');
    assert.equal(w.ports.inUse(), 1);
    const leg = w.ua('call-1', 0, 0);
    assert.deepEqual(leg.dest, [{ host: ALICE.host, port: 4000 }, { host: ALICE.host, port: 4001 }]);
    assert.ok(leg.allowed.has(ALICE.host));
    const s = w.relay.get('call-1')!;
    assert.equal(s.exported, true);
    assert.equal(s.sides[0].kind, 'ua');
    assert.equal(s.sides[1].node, N);
    assert.equal(w.hook.counts.rewritten, 1);
  });

  test('auto: direct-ok only for a phone whose Contact and SDP name its SIP source', () => {
    const cases: Array<[string, TransportAddress, string, string, MediaHint]> = [
      ['on our network', ALICE, ALICE.host, ALICE.host, 'direct-ok'],
      ['behind a NAT', CAROL, CAROL_PRIVATE, CAROL_PRIVATE, 'nat'],
      ['Contact ok, SDP elsewhere', ALICE, ALICE.host, '10.9.9.9', 'nat'],
      ['SDP ok, Contact elsewhere', ALICE, '10.9.9.9', ALICE.host, 'nat'],
    ];
    for (const [name, phone, contactHost, sdpHost, hint] of cases) {
      const w = new World('auto');
      const { body } = w.fromPhone(phone, phoneSdp(sdpHost, 4000), { contactHost });
      assert.equal(parsed(body).hint, hint, name);
      assert.equal(w.ports.inUse(), 1, `${name}: ports taken either way (the answer decides)`);
    }
  });

  test('a hold stream does not make a phone look NATed; a port-0 stream gets no tag and no ports', () => {
    const w = new World('auto');
    const offer = sdp(['v=0', `o=- 1 1 IN IP4 ${ALICE.host}`, 's=-', `c=IN IP4 ${ALICE.host}`, 't=0 0', 'm=audio 4000 RTP/AVP 0', 'm=video 0 RTP/AVP 96', 'm=audio 4002 RTP/AVP 0', 'c=IN IP4 0.0.0.0']);
    const { body } = w.fromPhone(ALICE, offer);
    const p = parsed(body);
    assert.equal(p.hint, 'direct-ok');
    assert.ok(p.streams[0]!.relay);
    assert.equal(p.streams[1]!.relay, undefined);
    assert.ok(p.streams[2]!.relay);
    assert.equal(w.ports.inUse(), 2);
    assert.deepEqual(w.ua('call-1', 2, 0).dest, [undefined, undefined], 'no destination while on hold');
  });

  test('the answer from the peer: the phone gets our port (the one taken for it) and media flows both ways', () => {
    const w = new World('relay');
    const { body: offerOut } = w.fromPhone(ALICE, phoneSdp(ALICE.host, 4000));
    const ourTag = parsed(offerOut).streams[0]!.relay!.tag;
    const { body } = w.respond(200, remoteSdp('10.1.1.1', 7000, 0xcafe0001), ALICE);
    assert.doesNotMatch(body, /p2psip-/);
    const leg = w.ua('call-1', 0, 0);
    assert.deepEqual(audio(body), { host: OUR, port: leg.pair.port });
    assert.equal(w.relay.get('call-1')!.mode, 'relay');
    assert.equal(w.relay.get('call-1')!.established, true);
    assert.equal(w.ports.inUse(), 1, 'no new port for the answer');
    assert.equal(w.peerLeg('call-1', 0, 1).remoteTag, 0xcafe0001);
    assert.equal(w.peerLeg('call-1', 0, 1).remoteBundles, false, 'its answer did not say it takes bundles');
    // alice → us → N, tagged with N's tag
    const pair = w.ports.pair(leg.pair.port);
    pair.inject(0, rtp(1), { host: ALICE.host, port: 4000 });
    assert.deepEqual(w.trunk.toNodes.map((f) => [f.node, frameTag(f.frame)]), [[N, 0xcafe0001]]);
    // N → us → alice, with our tag
    w.relay.receiveFrame(frame(0, ourTag, rtp(2)), { node: N });
    assert.deepEqual(pair.sent.map((x) => x.to), [{ host: ALICE.host, port: 4000 }]);
    // the same frame from another peer is not taken
    w.relay.receiveFrame(frame(0, ourTag, rtp(3)), { node: M });
    assert.equal(pair.sent.length, 1);
  });

  test('a peer answer without our attributes: that peer does not relay, so neither do we (ports released)', () => {
    const w = new World('relay');
    const { body: offerOut } = w.fromPhone(ALICE, phoneSdp(ALICE.host, 4000));
    const ourTag = parsed(offerOut).streams[0]!.relay!.tag;
    assert.equal(w.ports.inUse(), 1);
    const answer = phoneSdp('10.1.1.1', 7000);
    const { res, sent } = w.respond(200, answer, ALICE);
    assert.equal(sent, res, 'the answer goes untouched');
    const s = w.relay.get('call-1')!;
    assert.equal(s.mode, 'direct');
    assert.equal(w.ports.inUse(), 0);
    assert.equal(w.relay.status().tags, 0);
    w.relay.receiveFrame(frame(0, ourTag, rtp(1)), { node: N });
    assert.equal(w.relay.stats.packets.dropped.unknownTag, 1);
    // a re-INVITE of the phone now goes untouched too
    const re = phoneSdp(ALICE.host, 4100);
    assert.equal(w.fromPhone(ALICE, re, { cseq: 2 }).body, re);
    assert.equal(w.ports.inUse(), 0);
  });

  test('toward a peer without a SIP channel (Request-URI ;p2psip): the tag names our UDP trunk', () => {
    const w = new World('relay', { trunk: { host: '0.0.0.0', port: 41000 } });
    const farPeer = udp('198.51.100.9', 5060);
    const { body } = w.fromPhone(ALICE, phoneSdp(ALICE.host, 4000), { to: farPeer, outUri: 'sip:callee@198.51.100.9:5060;p2psip=peer' });
    const relayAttr = parsed(body).streams[0]!.relay!;
    assert.deepEqual(relayAttr.trunk, { host: OUR, port: 41000 }, 'our media address, the trunk port');
    const s = w.relay.get('call-1')!;
    assert.equal(s.sides[1].kind, 'peer');
    assert.equal(s.sides[1].node, undefined);
    // its answer names its trunk: media goes there, and only its host may send us frames
    w.respond(200, remoteSdp('10.1.1.1', 7000, 0x77, 'nat', { host: '198.51.100.9', port: 42000 }), ALICE);
    const pair = w.ports.pair(w.ua('call-1', 0, 0).pair.port);
    pair.inject(0, rtp(1), { host: ALICE.host, port: 4000 });
    assert.deepEqual(w.trunk.toAddrs.map((x) => [x.to, frameTag(x.frame)]), [[{ host: '198.51.100.9', port: 42000 }, 0x77]]);
    assert.equal(w.trunk.toNodes.length, 0);
    w.relay.receiveFrame(frame(0, relayAttr.tag, rtp(2)), { from: { host: '198.51.100.66', port: 42000 } });
    w.relay.receiveFrame(frame(0, relayAttr.tag, rtp(3)), { from: { host: '198.51.100.9', port: 42000 } });
    assert.equal(pair.sent.length, 1);
    assert.equal(w.relay.stats.packets.dropped.wrongPeer, 1);
  });

  test('without a trunk address the tag names none', () => {
    const w = new World('relay');
    const { body } = w.fromPhone(ALICE, phoneSdp(ALICE.host, 4000), { to: udp('198.51.100.9', 5060), outUri: 'sip:callee@198.51.100.9:5060;p2psip=peer' });
    assert.equal(parsed(body).streams[0]!.relay!.trunk, undefined);
  });
});

describe('SdpMediaHook: peer → phone (import)', () => {
  test('relay: the phone gets our address and port, our attributes go, a=crypto and events stay', () => {
    const w = new World('relay');
    const offer = Buffer.from(annotateForPeer(parsed(SRTP), 'nat', [{ tag: 0xabcdef01, bundles: true }])).toString('utf8');
    const { refusal, body } = w.toPhone(ALICE, offer);
    assert.equal(refusal, undefined);
    assert.doesNotMatch(body, /p2psip-/);
    assert.ok(body.includes(`\r\n${CRYPTO_LINE}\r\n`));
    assert.match(body, /a=rtpmap:101 telephone-event\/8000/);
    const leg = w.ua('call-1', 0, 1);
    assert.deepEqual(audio(body), { host: OUR, port: leg.pair.port });
    assert.ok(leg.allowed.has(ALICE.host));
    const pl = w.peerLeg('call-1', 0, 0);
    assert.equal(pl.remoteTag, 0xabcdef01);
    assert.equal(pl.remoteTrunk, undefined);
    assert.equal(pl.remoteBundles, true, 'the offer said the peer takes bundles');
    assert.equal(w.relay.get('call-1')!.mode, 'relay');
  });

  test('the phone’s answer goes to the peer with our tag (the one its frames must carry) and the hint', () => {
    const w = new World('relay');
    w.toPhone(ALICE, remoteSdp('10.1.1.1', 7000, 0x01020304));
    const answer = phoneSdp(ALICE.host, 4000);
    const { body } = w.respond(200, answer, N_ADDR);
    const p = parsed(body);
    const pl = w.peerLeg('call-1', 0, 0);
    assert.deepEqual(p.streams[0]!.relay, { tag: pl.localTag, bundles: true });
    assert.equal(p.hint, 'nat');
    assert.equal(strip(body), answer);
    const leg = w.ua('call-1', 0, 1);
    assert.deepEqual(leg.dest[0], { host: ALICE.host, port: 4000 });
    // media: N → us → alice; alice → us → N
    w.relay.receiveFrame(frame(0, pl.localTag, rtp(1)), { node: N });
    const pair = w.ports.pair(leg.pair.port);
    assert.deepEqual(pair.sent.map((x) => x.to), [{ host: ALICE.host, port: 4000 }]);
    pair.inject(0, rtp(2), { host: ALICE.host, port: 4000 });
    assert.deepEqual(w.trunk.toNodes.map((f) => frameTag(f.frame)), [0x01020304]);
  });

  test('auto decides direct only with direct-ok, the phone on our network and a host-to-host channel', () => {
    const cases: Array<{ name: string; mode: MediaMode; hint: MediaHint; contactHost?: string; directPath: boolean; direct: boolean }> = [
      { name: 'all three', mode: 'auto', hint: 'direct-ok', directPath: true, direct: true },
      { name: 'caller behind a NAT', mode: 'auto', hint: 'nat', directPath: true, direct: false },
      { name: 'callee behind a NAT', mode: 'auto', hint: 'direct-ok', contactHost: CAROL_PRIVATE, directPath: true, direct: false },
      { name: 'peers on other networks', mode: 'auto', hint: 'direct-ok', directPath: false, direct: false },
      { name: 'relay mode', mode: 'relay', hint: 'direct-ok', directPath: true, direct: false },
    ];
    for (const c of cases) {
      const w = new World(c.mode);
      if (c.directPath) w.peers.direct.add(N);
      const offer = remoteSdp('10.1.1.1', 7000, 0x55, c.hint);
      const phone = c.contactHost === undefined ? ALICE : CAROL;
      const { body } = w.toPhone(phone, offer, c.contactHost === undefined ? {} : { contactHost: c.contactHost });
      const s = w.relay.get('call-1')!;
      assert.equal(s.mode, c.direct ? 'direct' : 'relay', c.name);
      if (c.direct) {
        assert.equal(body, strip(offer), `${c.name}: the other phone's SDP, without our attributes`);
        assert.equal(w.ports.inUse(), 0, c.name);
        // the answer goes back untouched: the other peer goes direct too
        const answer = phoneSdp(ALICE.host, 4000);
        const { body: ans } = w.respond(200, answer, N_ADDR);
        assert.equal(ans, answer, c.name);
      } else {
        assert.equal(audio(body).host, OUR, c.name);
        assert.equal(w.ports.inUse(), 1, c.name);
      }
    }
  });

  test('auto: an offer the other peer exported with "nat" is relayed here even on one network', () => {
    const w = new World('auto');
    w.peers.direct.add(N);
    w.toPhone(ALICE, remoteSdp('10.1.1.1', 7000, 0x55, 'nat'));
    const { body } = w.respond(200, phoneSdp(ALICE.host, 4000), N_ADDR);
    assert.ok(parsed(body).streams[0]!.relay);
  });

  test('an offer from a peer without our attributes: no session, untouched', () => {
    const w = new World('relay');
    const offer = phoneSdp('10.1.1.1', 7000);
    assert.equal(w.toPhone(ALICE, offer).body, offer);
    assert.equal(w.relay.get('call-1'), undefined);
    // the phone's answer goes untouched too (no session: the media is direct here)
    const answer = phoneSdp(ALICE.host, 4000);
    assert.equal(w.respond(200, answer, N_ADDR).body, answer);
    assert.equal(w.ports.inUse(), 0);
  });
});

describe('SdpMediaHook: mode direct', () => {
  test('nothing is relayed; only our attributes are removed before a phone', () => {
    const w = new World('direct');
    const offer = phoneSdp(ALICE.host, 4000);
    const out = w.fromPhone(ALICE, offer);
    assert.equal(out.body, offer);
    const annotated = remoteSdp('10.1.1.1', 7000, 0x55);
    assert.equal(w.toPhone(BOB, annotated, { callId: 'call-2' }).body, strip(annotated));
    assert.equal(w.respond(200, annotated, ALICE).body, strip(annotated));
    assert.equal(w.respond(200, annotated, N_ADDR).body, annotated, 'toward a peer nothing is removed');
    assert.equal(w.relay.status().activeSessions, 0);
    assert.equal(w.ports.inUse(), 0);
    assert.equal(w.hook.counts.stripped, 2);
  });
});

describe('SdpMediaHook: phone ↔ phone at one peer', () => {
  test('relay: two pairs of ports, each phone is told the pair facing it', () => {
    const w = new World('relay');
    const { body: toBob } = w.fromPhone(ALICE, phoneSdp(ALICE.host, 4000), { to: BOB });
    const aliceLeg = w.ua('call-1', 0, 0);
    const bobLeg = w.ua('call-1', 0, 1);
    assert.notEqual(aliceLeg.pair.port, bobLeg.pair.port);
    assert.deepEqual(audio(toBob), { host: OUR, port: bobLeg.pair.port });
    const { body: toAlice } = w.respond(200, phoneSdp(BOB.host, 6000), ALICE);
    assert.deepEqual(audio(toAlice), { host: OUR, port: aliceLeg.pair.port });
    assert.equal(w.ports.inUse(), 2);
    assert.doesNotMatch(toBob + toAlice, /p2psip-/);
    // alice sends to "her" pair, bob hears it from his
    w.ports.pair(aliceLeg.pair.port).inject(0, rtp(1), { host: ALICE.host, port: 4000 });
    assert.deepEqual(w.ports.pair(bobLeg.pair.port).sent.map((x) => x.to), [{ host: BOB.host, port: 6000 }]);
    w.ports.pair(bobLeg.pair.port).inject(0, rtp(2), { host: BOB.host, port: 6000 });
    assert.deepEqual(w.ports.pair(aliceLeg.pair.port).sent.map((x) => x.to), [{ host: ALICE.host, port: 4000 }]);
    assert.equal(w.trunk.toNodes.length, 0);
  });

  test('auto: both phones on our network → untouched, no ports', () => {
    const w = new World('auto');
    const offer = phoneSdp(ALICE.host, 4000);
    assert.equal(w.fromPhone(ALICE, offer, { to: BOB }).body, offer);
    const answer = phoneSdp(BOB.host, 6000);
    assert.equal(w.respond(200, answer, ALICE).body, answer);
    assert.equal(w.relay.get('call-1')!.mode, 'direct');
    assert.equal(w.ports.inUse(), 0);
  });

  test('auto: a phone behind a NAT is bridged', () => {
    const w = new World('auto');
    const { body } = w.fromPhone(CAROL, phoneSdp(CAROL_PRIVATE, 4000), { to: BOB, contactHost: CAROL_PRIVATE });
    assert.equal(audio(body).host, OUR);
    assert.equal(w.relay.get('call-1')!.mode, 'relay');
  });
});

describe('SdpMediaHook: offer/answer variants', () => {
  test('answer in the ACK (via request() with method ACK) from the peer is given our ports', () => {
    // callee side of a late offer: the offer went to the peer in our 200, the answer comes in its ACK
    const w = new World('relay');
    w.toPhone(ALICE, undefined);
    const { body } = w.toPhone(ALICE, remoteSdp('10.1.1.1', 7000, 0x99), { method: 'ACK' });
    assert.equal(audio(body).host, OUR);
    assert.equal(w.peerLeg('call-1', 0, 0).remoteTag, 0x99);
  });

  test('answer in the ACK from the phone goes to the peer with our tag', () => {
    const w = new World('relay');
    w.fromPhone(ALICE, undefined);
    const { body } = w.fromPhone(ALICE, phoneSdp(ALICE.host, 4000), { method: 'ACK' });
    assert.ok(parsed(body).streams[0]!.relay);
    assert.equal(w.ports.inUse(), 1);
  });

  test(
    'late offer, caller side: the offer in the peer’s 200 is relayed to the phone (relay mode)',
    () => {
      const w = new World('relay');
      w.fromPhone(ALICE, undefined);
      const { body } = w.respond(200, remoteSdp('10.1.1.1', 7000, 0x99), ALICE);
      assert.equal(audio(body).host, OUR);
      assert.equal(w.ports.inUse(), 1);
    },
  );

  test(
    'late offer, callee side: the phone’s offer in its 200 goes to the peer with our tag (relay mode)',
    () => {
      const w = new World('relay');
      w.toPhone(ALICE, undefined);
      const { body } = w.respond(200, phoneSdp(ALICE.host, 4000), N_ADDR);
      assert.ok(parsed(body).streams[0]!.relay, 'our tag in the offer');
    },
  );

  test('early media: 183 then 200 with the same SDP → the same port (caller side) and the same tag (callee side)', () => {
    const caller = new World('relay');
    caller.fromPhone(ALICE, phoneSdp(ALICE.host, 4000));
    const answer = remoteSdp('10.1.1.1', 7000, 0x42);
    const early = caller.respond(183, answer, ALICE).body;
    assert.equal(caller.relay.get('call-1')!.established, false);
    const final = caller.respond(200, answer, ALICE).body;
    assert.equal(early, final);
    assert.equal(audio(final).host, OUR);
    assert.equal(caller.ports.inUse(), 1);
    assert.equal(caller.ports.takes, 1);

    const callee = new World('relay');
    callee.toPhone(ALICE, remoteSdp('10.1.1.1', 7000, 0x42));
    const ans = phoneSdp(ALICE.host, 4000);
    const e = callee.respond(183, ans, N_ADDR).body;
    const f = callee.respond(200, ans, N_ADDR).body;
    assert.equal(e, f);
    assert.equal(callee.ports.takes, 1);
  });

  test('a 100 or a 3xx+ with SDP is not rewritten', () => {
    const w = new World('relay');
    w.fromPhone(ALICE, phoneSdp(ALICE.host, 4000));
    const annotated = remoteSdp('10.1.1.1', 7000, 0x42);
    assert.equal(w.respond(100, annotated, ALICE).body, annotated);
  });

  test('re-INVITE putting the call on hold (sendonly, c=0.0.0.0) keeps the session, its tags and its ports', () => {
    const w = new World('relay');
    const first = w.fromPhone(ALICE, phoneSdp(ALICE.host, 4000));
    w.respond(200, remoteSdp('10.1.1.1', 7000, 0x42), ALICE);
    const s = w.relay.get('call-1')!;
    const port = w.ua('call-1', 0, 0).pair.port;
    const hold = sdp(['v=0', `o=- 100 2 IN IP4 ${ALICE.host}`, 's=-', 'c=IN IP4 0.0.0.0', 't=0 0', 'm=audio 4000 RTP/AVP 0 101', 'a=sendonly']);
    const re = w.fromPhone(ALICE, hold, { cseq: 2 });
    assert.equal(re.refusal, undefined);
    assert.equal(w.relay.get('call-1'), s);
    assert.deepEqual(parsed(re.body).streams[0]!.relay, parsed(first.body).streams[0]!.relay, 'the same tag');
    assert.match(re.body, /c=IN IP4 0\.0\.0\.0\r\n/);
    assert.match(re.body, /a=sendonly\r\n/);
    // the answer (recvonly) keeps our port for the phone
    const ans = w.respond(200, remoteSdp('10.1.1.1', 7000, 0x42, 'nat', undefined, ['a=recvonly']), ALICE, { cseq: 2 });
    assert.equal(audio(ans.body).port, port);
    assert.match(ans.body, /a=recvonly/);
    assert.equal(w.ports.takes, 1);
    assert.equal(w.ports.inUse(), 1);
    // hold toward the phone: c=0.0.0.0 stays, the m-line names our port
    const w2 = new World('relay');
    w2.toPhone(ALICE, remoteSdp('10.1.1.1', 7000, 0x42));
    const held = Buffer.from(annotateForPeer(parsed(hold.replace(ALICE.host, '10.1.1.1')), 'nat', [{ tag: 0x42 }])).toString('utf8');
    const toPhone = w2.toPhone(ALICE, held, { cseq: 2 });
    assert.match(toPhone.body, /\r\nc=IN IP4 0\.0\.0\.0\r\n/);
    assert.equal(audio(toPhone.body).port, w2.ua('call-1', 0, 1).pair.port);
    assert.equal(w2.ports.takes, 1);
  });

  test('a fork to a second phone at the same peer reuses the session and the port', () => {
    const w = new World('relay');
    const offer = remoteSdp('10.1.1.1', 7000, 0x42);
    const a = w.toPhone(ALICE, offer);
    const b = w.toPhone(BOB, offer);
    assert.equal(audio(a.body).port, audio(b.body).port);
    assert.equal(w.ports.inUse(), 1);
    assert.equal(w.relay.status().activeSessions, 1);
    const leg = w.ua('call-1', 0, 1);
    assert.ok(leg.allowed.has(ALICE.host) && leg.allowed.has(BOB.host));
    // bob answers: his answer carries the same tag
    const { body } = w.respond(200, phoneSdp(BOB.host, 6000), N_ADDR);
    assert.deepEqual(parsed(body).streams[0]!.relay, { tag: w.peerLeg('call-1', 0, 0).localTag, bundles: true });
    assert.deepEqual(leg.dest[0], { host: BOB.host, port: 6000 });
  });

  test('a fork to phones at two other peers: media goes to the peer that answered, frames from either are taken', () => {
    const w = new World('relay');
    w.fromPhone(ALICE, phoneSdp(ALICE.host, 4000), { to: N_ADDR });
    w.fromPhone(ALICE, phoneSdp(ALICE.host, 4000), { to: M_ADDR });
    // M's phone answers (through M's channel)
    w.respond(200, remoteSdp('10.2.2.2', 7000, 0x4d4d4d4d), ALICE, { from: M_ADDR });
    w.ports.pair(w.ua('call-1', 0, 0).pair.port).inject(0, rtp(1), { host: ALICE.host, port: 4000 });
    assert.deepEqual(w.trunk.toNodes.map((f) => [f.node, frameTag(f.frame)]), [[M, 0x4d4d4d4d]]);
    // a frame from M with our tag reaches alice; N's too (its early media before the answer)
    const ours = w.peerLeg('call-1', 0, 1).localTag;
    const before = w.relay.stats.packets.dropped.wrongPeer;
    w.relay.receiveFrame(frame(0, ours, rtp(2)), { node: M });
    w.relay.receiveFrame(frame(0, ours, rtp(3)), { node: N });
    assert.equal(w.relay.stats.packets.dropped.wrongPeer, before);
    w.relay.receiveFrame(frame(0, ours, rtp(4)), { node: 'ee'.repeat(16) });
    assert.equal(w.relay.stats.packets.dropped.wrongPeer, before + 1, 'a third peer is not of this call');
  });

  test('a second stream added by a re-INVITE gets its own port and tag', () => {
    const w = new World('relay');
    w.fromPhone(ALICE, phoneSdp(ALICE.host, 4000));
    w.respond(200, remoteSdp('10.1.1.1', 7000, 0x42), ALICE);
    const { body } = w.fromPhone(ALICE, phoneSdpAv(ALICE.host, 4000, 4002), { cseq: 2 });
    const p = parsed(body);
    assert.equal(p.streams.length, 2);
    assert.notEqual(p.streams[0]!.relay!.tag, p.streams[1]!.relay!.tag);
    assert.equal(w.ports.inUse(), 2);
  });
});

describe('SdpMediaHook: end of a session', () => {
  test('BYE (either way) releases the session and its ports', () => {
    for (const dir of ['phone', 'peer'] as const) {
      const w = new World('relay');
      w.fromPhone(ALICE, phoneSdp(ALICE.host, 4000));
      w.respond(200, remoteSdp('10.1.1.1', 7000, 0x42), ALICE);
      assert.equal(w.ports.inUse(), 1);
      const r = dir === 'phone' ? w.fromPhone(ALICE, undefined, { method: 'BYE', cseq: 2 }) : w.toPhone(ALICE, undefined, { method: 'BYE', cseq: 2 });
      assert.equal(r.refusal, undefined);
      assert.equal(w.relay.get('call-1'), undefined, dir);
      assert.equal(w.ports.inUse(), 0, dir);
      assert.deepEqual(w.relay.stats.released, { bye: 1 });
    }
  });

  test('486 / 487 / 408 to the initial INVITE release it', () => {
    for (const [status, reason] of [
      [486, 'failed'],
      [487, 'cancelled'],
      [408, 'failed'],
    ] as const) {
      const w = new World('relay');
      w.fromPhone(ALICE, phoneSdp(ALICE.host, 4000));
      w.respond(180, undefined, ALICE);
      assert.ok(w.relay.get('call-1'));
      w.respond(status, undefined, ALICE);
      assert.equal(w.relay.get('call-1'), undefined, String(status));
      assert.equal(w.ports.inUse(), 0);
      assert.deepEqual(w.relay.stats.released, { [reason]: 1 });
    }
  });

  test('a 488 (or 491) to a re-INVITE after a 2xx keeps the call', () => {
    const w = new World('relay');
    w.fromPhone(ALICE, phoneSdp(ALICE.host, 4000));
    w.respond(200, remoteSdp('10.1.1.1', 7000, 0x42), ALICE);
    w.fromPhone(ALICE, phoneSdp(ALICE.host, 4000), { cseq: 2 });
    w.respond(488, undefined, ALICE, { cseq: 2 });
    w.respond(491, undefined, ALICE, { cseq: 2 });
    assert.ok(w.relay.get('call-1'));
    assert.equal(w.ports.inUse(), 1);
  });

  test('a failure of another method (UPDATE, MESSAGE) never releases; CANCEL neither', () => {
    const w = new World('relay');
    w.fromPhone(ALICE, phoneSdp(ALICE.host, 4000));
    w.respond(488, undefined, ALICE, { method: 'UPDATE', cseq: 2 });
    w.respond(500, undefined, ALICE, { method: 'MESSAGE', cseq: 3 });
    assert.equal(w.fromPhone(ALICE, undefined, { method: 'CANCEL' }).refusal, undefined);
    assert.ok(w.relay.get('call-1'));
  });

  test('SIP messages of the call keep it alive; without them and without media it times out', () => {
    const w = new World('relay', { timeoutMs: 30_000 });
    w.fromPhone(ALICE, phoneSdp(ALICE.host, 4000));
    for (let i = 0; i < 6; i++) {
      w.clock.advance(20_000);
      if (i % 2 === 0) w.respond(180, undefined, ALICE);
      else w.fromPhone(ALICE, undefined, { method: 'INFO', cseq: 10 + i });
    }
    assert.ok(w.relay.get('call-1'), 'alive after 120 s of SIP traffic');
    w.clock.advance(40_000);
    assert.equal(w.relay.get('call-1'), undefined);
    assert.equal(w.ports.inUse(), 0);
    assert.deepEqual(w.relay.stats.released, { timeout: 1 });
  });
});

describe('SdpMediaHook: refusals and SDP it cannot use', () => {
  function warning(r: Sent['refusal']): string {
    return r?.headers?.find(([n]) => n === 'Warning')?.[1] ?? '';
  }

  test('1,000 m-lines: 488 with a Warning; no session, no ports', () => {
    const w = new World('relay');
    const r = w.fromPhone(ALICE, manyStreams(1000));
    assert.equal(r.refusal?.status, 488);
    assert.match(r.refusal!.reason, /^Not Acceptable Here - /);
    assert.match(warning(r.refusal), /^399 p2psip "SDP has 1000 m-lines[^"]*"$/);
    assert.equal(r.refusal!.headers!.some(([n]) => n === 'Retry-After'), false);
    assert.equal(w.relay.status().activeSessions, 0);
    assert.equal(w.ports.inUse(), 0);
    assert.equal(w.hook.counts.refused, 1);
    assert.equal(w.logs.length, 1);
  });

  test('the same from a peer, and a malformed SDP; maxStreams is the hook’s option', () => {
    const w = new World('relay', { maxStreams: 1 });
    assert.equal(w.toPhone(ALICE, manyStreams(2)).refusal?.status, 488);
    assert.equal(w.fromPhone(ALICE, 'v=0\r\nthis is not SDP\r\n', { callId: 'c2' }).refusal?.status, 488);
    assert.equal(w.fromPhone(ALICE, phoneSdp(ALICE.host, 4000), { callId: 'c3' }).refusal, undefined);
  });

  test('ports exhausted: 503 with Retry-After and a Warning', () => {
    const w = new World('relay', { capacity: 1 });
    assert.equal(w.fromPhone(ALICE, phoneSdp(ALICE.host, 4000), { callId: 'a' }).refusal, undefined);
    const r = w.fromPhone(BOB, phoneSdp(BOB.host, 6000), { callId: 'b' });
    assert.equal(r.refusal?.status, 503);
    assert.match(r.refusal!.reason, /^Service Unavailable - /);
    const retry = r.refusal!.headers!.find(([n]) => n === 'Retry-After')?.[1];
    assert.ok(retry !== undefined && Number(retry) > 0, `Retry-After: ${retry}`);
    assert.match(warning(r.refusal), /^399 p2psip "/);
    // the refused INVITE's local final goes upstream through response(): the session goes
    w.respond(503, undefined, BOB, { callId: 'b' });
    assert.equal(w.relay.get('b'), undefined);
    assert.equal(w.ports.inUse(), 1);
  });

  test('too many sessions: 503 with Retry-After', () => {
    const w = new World('relay', { maxSessions: 1 });
    w.fromPhone(ALICE, phoneSdp(ALICE.host, 4000), { callId: 'a' });
    const r = w.fromPhone(BOB, phoneSdp(BOB.host, 6000), { callId: 'b' });
    assert.equal(r.refusal?.status, 503);
    assert.ok(r.refusal!.headers!.some(([n]) => n === 'Retry-After'));
  });

  test('a Warning text never carries a raw double quote', () => {
    const w = new World('relay');
    const r = w.fromPhone(ALICE, 'v=0\r\n"quoted" garbage\r\n');
    assert.equal(r.refusal?.status, 488);
    assert.match(warning(r.refusal), /^399 p2psip "[^"]*"$/);
  });

  test('a response whose SDP cannot be parsed passes unchanged, counted', () => {
    const w = new World('relay');
    w.fromPhone(ALICE, phoneSdp(ALICE.host, 4000));
    const { res, sent } = w.respond(200, 'v=0\r\ngarbage\r\n', ALICE);
    assert.equal(sent, res);
    assert.equal(w.hook.counts.responseSdpUnusable, 1);
    assert.equal(w.logs.length, 1);
    const big = w.respond(183, manyStreams(1000), ALICE);
    assert.equal(big.sent, big.res);
    assert.equal(w.hook.counts.responseSdpUnusable, 2);
  });

  test('bodies that are not SDP, messages without Call-ID, peer → peer: untouched, no session', () => {
    const w = new World('relay');
    const offer = phoneSdp(ALICE.host, 4000);
    // multipart / other content type
    const received = request('INVITE', 'sip:callee@p2psip.local', { callId: 'x', body: offer, contentType: 'multipart/mixed;boundary=b' });
    const out = request('INVITE', 'sip:callee@198.51.100.2:5070', { callId: 'x', body: offer, contentType: 'multipart/mixed;boundary=b' });
    assert.equal(w.hook.request(out, received, ALICE, N_ADDR), undefined);
    assert.equal(bodyText(out), offer);
    // Content-Type with parameters is SDP
    const r2 = request('INVITE', 'sip:callee@p2psip.local', { callId: 'y', body: offer, contentType: 'Application/SDP ; charset=utf-8' });
    const o2 = request('INVITE', 'sip:callee@198.51.100.2:5070', { callId: 'y', body: offer, contentType: 'Application/SDP ; charset=utf-8' });
    w.hook.request(o2, r2, ALICE, N_ADDR);
    assert.ok(parsed(bodyText(o2)).streams[0]!.relay);
    // peer → peer (we are a hop between two peers)
    const annotated = remoteSdp('10.1.1.1', 7000, 0x42);
    const pp = w.toPhone(M_ADDR, annotated, { callId: 'z' });
    assert.equal(pp.body, annotated);
    assert.equal(w.relay.get('z'), undefined);
    // no Call-ID
    const noCid = request('INVITE', 'sip:callee@p2psip.local', { callId: 'q', body: offer });
    noCid.headers.remove('call-id');
    const noCidOut = request('INVITE', 'sip:callee@198.51.100.2:5070', { callId: 'q', body: offer });
    noCidOut.headers.remove('call-id');
    assert.equal(w.hook.request(noCidOut, noCid, ALICE, N_ADDR), undefined);
    assert.equal(bodyText(noCidOut), offer);
    assert.equal(w.relay.status().activeSessions, 1, 'only y');
  });
});

describe('SdpMediaHook: two peers, relay mode, one call end to end', () => {
  test('bob at B calls alice at A: each phone hears the other through both relays', () => {
    const A_NODE = 'a1'.repeat(16);
    const B_NODE = 'b1'.repeat(16);
    const A_SIP = udp('198.51.100.10', 5070);
    const B_SIP = udp('198.51.100.20', 5070);
    const a = new World('relay', { seed: 1 });
    const b = new World('relay', { seed: 2 });
    a.peers.channels.set(`${B_SIP.host}:${B_SIP.port}`, B_NODE);
    b.peers.channels.set(`${A_SIP.host}:${A_SIP.port}`, A_NODE);
    const pump = (): void => {
      for (let moved = true; moved; ) {
        moved = false;
        for (const [from, to, node] of [
          [a, b, A_NODE],
          [b, a, B_NODE],
        ] as const) {
          const frames = from.trunk.toNodes.splice(0);
          for (const f of frames) {
            moved = true;
            to.relay.receiveFrame(f.frame, { node });
          }
        }
      }
    };
    const bobSdp = phoneSdp(BOB.host, 6000);
    const atB = b.fromPhone(BOB, bobSdp, { to: A_SIP });
    const atA = a.toPhone(ALICE, atB.body, { from: B_SIP });
    assert.equal(audio(atA.body).host, OUR);
    assert.doesNotMatch(atA.body, /p2psip/);
    const aliceAnswer = phoneSdp(ALICE.host, 4000);
    const upA = a.respond(200, aliceAnswer, B_SIP);
    const upB = b.respond(200, upA.body, BOB);
    assert.doesNotMatch(upB.body, /p2psip/);
    const alicePair = a.ports.pair(audio(atA.body).port);
    const bobPair = b.ports.pair(audio(upB.body).port);
    // bob → B → A → alice
    for (let i = 0; i < 3; i++) bobPair.inject(0, rtp(i), { host: BOB.host, port: 6000 });
    pump();
    assert.deepEqual(alicePair.sent.map((x) => [x.to.port, x.data[3]]), [
      [4000, 0],
      [4000, 1],
      [4000, 2],
    ]);
    // alice → A → B → bob, RTCP too
    alicePair.inject(1, rtp(9), { host: ALICE.host, port: 4001 });
    alicePair.inject(0, rtp(10), { host: ALICE.host, port: 4000 });
    pump();
    assert.deepEqual(bobPair.sent.map((x) => [x.component, x.to.port]), [
      [1, 6001],
      [0, 6000],
    ]);
    // BYE through both
    b.fromPhone(BOB, undefined, { to: A_SIP, method: 'BYE', cseq: 2 });
    a.toPhone(ALICE, undefined, { from: B_SIP, method: 'BYE', cseq: 2 });
    assert.equal(a.ports.inUse() + b.ports.inUse(), 0);
    assert.equal(a.relay.status().tags + b.relay.status().tags, 0);
  });
});
