/**
 * Issue 17: the media relay leaves WebRTC SDP (DTLS-SRTP m-lines, ICE candidates) alone in every
 * mode, so two browsers' ICE connects them directly; plain-RTP SDP is still relayed as before.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/lib/manual-clock.js';
import { SeededRandom } from '../../../src/lib/random.js';
import { MediaRelay } from '../../../src/media/media-relay.js';
import { annotateForPeer, parseSdpBody } from '../../../src/media/sdp-body.js';
import { isWebRtcSdp, SdpMediaHook, type MediaMode } from '../../../src/media/sdp-media-hook.js';
import { hasParam, isSipUri } from '../../../src/sip/message/index.js';
import type { TransportAddress } from '../../../src/sip/transport/sip-transport.js';
import { FakeMediaPorts, FakeMediaTrunk, FakePeerDirectory } from '../../support/media/fake-media.js';
import { bytes, phoneSdp, sdp } from '../../support/media/sdp-samples.js';
import { bodyText, request, response, udp } from '../../support/media/sip-builders.js';

const OUR = '198.18.0.1';
const N = 'aa'.repeat(16);
const N_ADDR = udp('198.51.100.2', 5070);
/** A browser behind its WebSocket (its SIP source is the WebSocket's remote address). */
const BROWSER: TransportAddress = { protocol: 'ws', host: '127.0.0.1', port: 40000 };

/** What Chromium offers for an audio call (shape of a real offer, after ICE gathering). */
function chromeOffer(o: { proto?: string; port?: number } = {}): string {
  return sdp([
    'v=0',
    'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'a=group:BUNDLE 0',
    'a=extmap-allow-mixed',
    'a=msid-semantic: WMS 5b1b5c5e',
    `m=audio ${o.port ?? 50123} ${o.proto ?? 'UDP/TLS/RTP/SAVPF'} 111 63 9 0 8 13 110 126`,
    'c=IN IP4 127.0.0.1',
    'a=rtcp:9 IN IP4 0.0.0.0',
    'a=candidate:1510613869 1 udp 2122260223 127.0.0.1 50123 typ host generation 0 network-id 1',
    'a=candidate:3021549340 1 udp 2122194687 192.0.2.2 44913 typ host generation 0 network-id 2',
    'a=ice-ufrag:Nw5x',
    'a=ice-pwd:5pV7bJpDqj3r0Ew6k7bWxWqz',
    'a=ice-options:trickle',
    'a=fingerprint:sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:4D:6F:14:0D:8C:4B:74:4E:2D:03:A2:6C',
    'a=setup:actpass',
    'a=mid:0',
    'a=sendrecv',
    'a=msid:5b1b5c5e 0d0f4b1e',
    'a=rtcp-mux',
    'a=rtpmap:111 opus/48000/2',
    'a=fmtp:111 minptime=10;useinbandfec=1',
    'a=rtpmap:0 PCMU/8000',
    'a=ssrc:1001 cname:abc',
  ]);
}

function world(mode: MediaMode): { hook: SdpMediaHook; relay: MediaRelay; ports: FakeMediaPorts } {
  const ports = new FakeMediaPorts(100);
  const relay = new MediaRelay({ clock: new ManualClock(0), random: new SeededRandom(3), ports, trunk: new FakeMediaTrunk() }, {});
  relay.start();
  const peers = new FakePeerDirectory();
  peers.channels.set(`${N_ADDR.host}:${N_ADDR.port}`, N);
  const hook = new SdpMediaHook(relay, peers, { mode, mediaAddress: () => OUR, isPeerUri: (u) => isSipUri(u) && hasParam(u.params, 'p2psip') });
  return { hook, relay, ports };
}

/** An INVITE from `from` forwarded to `to`, through the hook; returns the body sent on. */
function invite(hook: SdpMediaHook, body: string | undefined, from: TransportAddress, to: TransportAddress, uris: { received?: string; out?: string } = {}): string {
  const o = { callId: 'webrtc-1', ...(body === undefined ? {} : { body }), contact: 'sip:x@df7jal23ls0d.invalid;transport=ws' };
  const out = request('INVITE', uris.out ?? 'sip:bob@p2psip.local', o);
  assert.equal(hook.request(out, request('INVITE', uris.received ?? 'sip:bob@p2psip.local', o), from, to), undefined, 'not refused');
  return bodyText(out);
}

describe('isWebRtcSdp', () => {
  test('DTLS-SRTP transports are WebRTC; plain RTP, SDES-SRTP and plain RTP with ICE are not', () => {
    const is = (text: string): boolean => isWebRtcSdp(parseSdpBody(bytes(text)));
    assert.equal(is(chromeOffer()), true);
    assert.equal(is(chromeOffer({ proto: 'UDP/TLS/RTP/SAVP' })), true);
    assert.equal(is(chromeOffer({ proto: 'TCP/DTLS/RTP/SAVPF' })), true);
    assert.equal(is(chromeOffer({ proto: 'RTP/AVP' })), false, 'ICE lines alone (linphone with ICE) stay relayable');
    assert.equal(is(chromeOffer({ proto: 'RTP/SAVP' })), false, 'SDES-SRTP is relayed (keys pass untouched)');
    assert.equal(is(chromeOffer({ port: 0 })), false, 'a disabled stream does not count');
    assert.equal(is(phoneSdp('192.168.1.10', 4000)), false);
  });
});

describe('SdpMediaHook: WebRTC SDP passes untouched', () => {
  for (const mode of ['auto', 'relay', 'direct'] as const) {
    test(`${mode}: browser → peer → browser, offer and answer byte for byte, no session, no ports`, () => {
      const w = world(mode);
      const offer = chromeOffer();
      // at the caller's peer: browser → other peer
      assert.equal(invite(w.hook, offer, BROWSER, N_ADDR), offer);
      // the answer coming back from the other peer to the browser
      const answer = chromeOffer({ port: 50999 }).replace('a=setup:actpass', 'a=setup:active');
      const sent = w.hook.response(response(200, { callId: 'webrtc-1', method: 'INVITE', body: answer }), BROWSER, N_ADDR);
      assert.equal(bodyText(sent), answer);
      assert.equal(w.relay.get('webrtc-1'), undefined, 'no relay session');
      assert.equal(w.ports.inUse(), 0, 'no relay ports held');
      assert.equal(w.hook.counts.webrtc, 2);
      assert.equal(w.hook.counts.rewritten, 0);
    });
  }

  test('relay: prepare() reserves no ports for a WebRTC offer (it does for a plain one)', async () => {
    const w = world('relay');
    const reserved: number[] = [];
    const original = w.relay.reservePorts.bind(w.relay);
    w.relay.reservePorts = async (n: number) => {
      reserved.push(n);
      return original(n);
    };
    await w.hook.prepare(request('INVITE', 'sip:bob@p2psip.local', { callId: 'a', body: chromeOffer() }));
    await w.hook.prepare(request('INVITE', 'sip:bob@p2psip.local', { callId: 'b', body: phoneSdp('192.168.1.10', 4000) }));
    assert.deepEqual(reserved, [2]);
  });

  test('our attributes never reach a browser; toward a peer nothing is removed', () => {
    const w = world('auto');
    const annotated = Buffer.from(annotateForPeer(parseSdpBody(bytes(chromeOffer())), 'nat', [{ tag: 0x1234 }])).toString('utf8');
    assert.match(annotated, /a=p2psip-relay:00001234/);
    assert.equal(invite(w.hook, annotated, N_ADDR, BROWSER, { received: 'sip:bob@p2psip.local;p2psip=x', out: 'sip:bob@127.0.0.1:40000;transport=ws' }), chromeOffer());
    assert.equal(w.hook.counts.stripped, 1);
    assert.equal(invite(w.hook, annotated, BROWSER, N_ADDR), annotated);
  });

  test('an INVITE without an offer made a session; a WebRTC offer in the 2xx releases it', () => {
    const w = world('relay');
    assert.equal(invite(w.hook, undefined, N_ADDR, BROWSER, { received: 'sip:bob@p2psip.local;p2psip=x', out: 'sip:bob@127.0.0.1:40000;transport=ws' }), '');
    assert.notEqual(w.relay.get('webrtc-1'), undefined, 'a session waits for the offer');
    const offer = chromeOffer();
    const sent = w.hook.response(response(200, { callId: 'webrtc-1', method: 'INVITE', body: offer }), N_ADDR, BROWSER);
    assert.equal(bodyText(sent), offer);
    assert.equal(w.relay.get('webrtc-1'), undefined, 'released');
    assert.equal(w.ports.inUse(), 0);
  });

  test('a plain-RTP call is still relayed (relay mode): the phone gets our address', () => {
    const w = world('relay');
    const body = invite(w.hook, phoneSdp('192.168.1.10', 4000), udp('192.168.1.10', 5060), N_ADDR);
    assert.match(body, /a=p2psip-relay:/);
    assert.notEqual(w.relay.get('webrtc-1'), undefined);
    assert.equal(w.hook.counts.webrtc, 0);
  });
});
