/**
 * Issue 12, "SIP between peers is secured": with SIP channels, a request marked as forwarded by another
 * peer (`sip:user@<peer>;p2psip=peer`) is taken only from an authenticated channel (AppAttach + DTLS
 * with node certificates); the same request from anywhere else gets 403, and a plain datagram that
 * claims a channel's address as its source never reaches the SIP stack.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { MemoryLocationService } from '../../../../src/sip/core/memory-location-service.js';
import { LocationLookupError } from '../../../../src/sip/core/location-service.js';
import { parseMessage } from '../../../../src/sip/message/index.js';
import type { SipRequest } from '../../../../src/sip/message/sip-message.js';
import type { TransportAddress } from '../../../../src/sip/transport/sip-transport.js';
import type { TransportDriver, TransportDriverUser } from '../../../../src/sip/transport/transport-driver.js';
import { OverlayLocationService } from '../../../../src/usages/sip/overlay-location-service.js';
import type { RegistrationDirectory } from '../../../../src/usages/sip/registration-directory.js';
import { ChannelTransportDriver } from '../../../../src/usages/sip/channel-transport-driver.js';
import type { SipChannels } from '../../../../src/usages/sip/sip-channels.js';

const CHANNEL: TransportAddress = { protocol: 'udp', host: '203.0.113.12', port: 40123 };
const STRANGER: TransportAddress = { protocol: 'udp', host: '198.51.100.9', port: 5060 };

function request(uri: string): SipRequest {
  const text = `INVITE ${uri} SIP/2.0\r\nVia: SIP/2.0/UDP 203.0.113.12:5060;branch=z9hG4bKx\r\nMax-Forwards: 69\r\nFrom: <sip:a@p2psip.local>;tag=1\r\nTo: <sip:bob@p2psip.local>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`;
  const r = parseMessage(new TextEncoder().encode(text), { datagram: true });
  assert.ok(r.ok);
  return r.message as SipRequest;
}

test('a request marked as from a peer is served only when it came over a SIP channel; else 403', async () => {
  const clock = new ManualClock(0);
  const inner = new MemoryLocationService(clock);
  const directory: RegistrationDirectory = { publish: () => Promise.resolve(), withdraw: () => Promise.resolve(), lookup: () => Promise.resolve([]) };
  const loc = new OverlayLocationService({
    clock,
    inner,
    directory,
    locate: () => Promise.resolve({ ok: false, info: 'unused' }),
    overlayName: 'p2psip.local',
    selfNodeId: new Uint8Array(16),
    channelPeerAt: (a) => (a.host === CHANNEL.host && a.port === CHANNEL.port ? 'ab'.repeat(16) : undefined),
  });
  const marked = request('sip:bob@10.0.2.10:5060;p2psip=peer');
  // over the channel: the peer's request goes to our own phones (none here: an empty list, no error)
  assert.deepEqual(await loc.lookup('sip:bob@p2psip.local', marked, CHANNEL), []);
  // the same request from a stranger, or with no source: 403 with the reason
  for (const source of [STRANGER, undefined]) {
    await assert.rejects(loc.lookup('sip:bob@p2psip.local', marked, source), (e: unknown) => e instanceof LocationLookupError && e.status === 403 && /authenticated channel/.test(e.message));
  }
  assert.equal(loc.stats.peerMarkRefused, 2);
  // an unmarked request from a phone is not concerned
  assert.deepEqual(await loc.lookup('sip:bob@p2psip.local', request('sip:bob@p2psip.local'), STRANGER), []);
  assert.equal(loc.stats.peerMarkRefused, 2);
});

test('a plain datagram whose source is a channel\'s address is dropped before the SIP stack', () => {
  let inner: TransportDriverUser | undefined;
  const innerDriver = { setUser: (u: TransportDriverUser) => (inner = u) } as unknown as TransportDriver;
  const channels = {
    setReceiver: () => {},
    peerAt: (a: TransportAddress) => (a.host === CHANNEL.host && a.port === CHANNEL.port ? 'ab'.repeat(16) : undefined),
  } as unknown as SipChannels;
  const d = new ChannelTransportDriver(innerDriver, channels);
  const got: TransportAddress[] = [];
  d.setUser({ onDatagram: (_l, r) => got.push(r), onConnectionOpened: () => {}, onConnectionFailed: () => {}, onConnectionClosed: () => {}, onStreamData: () => {}, onWsMessage: () => {} });
  const local: TransportAddress = { protocol: 'udp', host: '10.0.1.10', port: 5060 };
  inner!.onDatagram(local, CHANNEL, new Uint8Array(4));
  inner!.onDatagram(local, STRANGER, new Uint8Array(4));
  assert.deepEqual(got, [STRANGER]);
  assert.equal(d.spoofedDropped, 1);
});
