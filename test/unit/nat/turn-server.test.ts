import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  StunAttr,
  StunMethod,
  attr,
  checkIntegrity,
  decodeStun,
  encodeStun,
  longTermKey,
  readErrorCode,
  readText,
  readU32Attr,
  readXorAddress,
  textAttr,
  u32Attr,
  xorAddressAttr,
} from '../../../src/nat/stun/stun-message.js';
import type { DecodedStun, StunAddress, StunAttribute } from '../../../src/nat/stun/stun-message.js';
import { channelNumberValue, decodeChannelData, encodeChannelData } from '../../../src/nat/turn/turn-channel-data.js';
import { forbiddenPeerReason } from '../../../src/nat/turn/turn-peer-policy.js';
import { SeededRandom } from '../../../src/lib/random.js';
import { settle } from '../../support/settle.js';
import { CLIENT, PEER, REALM, SERVER, USERS, makeWorld } from '../../support/nat/turn-world.js';
import type { World } from '../../support/nat/turn-world.js';

const UDP: StunAttribute = { type: StunAttr.REQUESTED_TRANSPORT, value: Uint8Array.of(17, 0, 0, 0) };
const enc = new TextEncoder();
let tidSeed = 1000;

/** A hand-driven TURN client: builds requests byte by byte and reads the server's answers. */
class RawClient {
  nonce: string | undefined;
  private readonly random = new SeededRandom(tidSeed++);

  constructor(
    private readonly w: World,
    readonly address: StunAddress = CLIENT,
    readonly username = 'alice',
    readonly password: string = USERS.alice,
  ) {}

  get key(): Uint8Array {
    return longTermKey(this.username, REALM, this.password);
  }

  /** Sends a request (authenticated once a nonce is known, unless `auth` is false) and returns the answer. */
  async request(method: number, attrs: (tid: Uint8Array) => StunAttribute[], o: { auth?: boolean; tid?: Uint8Array; fingerprint?: boolean } = {}): Promise<DecodedStun> {
    const tid = o.tid ?? this.random.bytes(12);
    const a = attrs(tid);
    const auth = o.auth ?? this.nonce !== undefined;
    if (auth) a.push(textAttr(StunAttr.USERNAME, this.username), textAttr(StunAttr.REALM, REALM), textAttr(StunAttr.NONCE, this.nonce ?? 'none'));
    const bytes = encodeStun({ method, cls: 'request', transactionId: tid, attributes: a }, { ...(auth ? { integrityKey: this.key } : {}), fingerprint: o.fingerprint ?? true });
    const before = this.w.toClients.length;
    assert.ok(this.w.server.receive(bytes, this.address));
    await settle();
    const answers = this.w.toClients.slice(before).filter((s) => s.to.port === this.address.port && s.to.host === this.address.host);
    const mine = answers.map((s) => decodeStun(s.data)).filter((d) => d.ok && Buffer.from(d.value.transactionId).equals(Buffer.from(tid)));
    assert.equal(mine.length, 1, `one answer to ${method.toString(16)}`);
    const r = mine[0]!;
    assert.ok(r.ok);
    const n = readText(attr(r.value, StunAttr.NONCE));
    if (n !== undefined) this.nonce = n;
    return r.value;
  }

  /** 401 first, then the authenticated Allocate. */
  async allocate(extra: StunAttribute[] = [UDP]): Promise<DecodedStun> {
    if (this.nonce === undefined) {
      const c = await this.request(StunMethod.Allocate, () => [...extra], { auth: false });
      assert.equal(code(c), 401);
    }
    return this.request(StunMethod.Allocate, () => [...extra]);
  }

  permission(peer: StunAddress): Promise<DecodedStun> {
    return this.request(StunMethod.CreatePermission, (tid) => [xorAddressAttr(StunAttr.XOR_PEER_ADDRESS, peer, tid)]);
  }

  channelBind(n: number, peer: StunAddress): Promise<DecodedStun> {
    return this.request(StunMethod.ChannelBind, (tid) => [{ type: StunAttr.CHANNEL_NUMBER, value: channelNumberValue(n) }, xorAddressAttr(StunAttr.XOR_PEER_ADDRESS, peer, tid)]);
  }

  refresh(lifetime?: number): Promise<DecodedStun> {
    return this.request(StunMethod.Refresh, () => (lifetime === undefined ? [] : [u32Attr(StunAttr.LIFETIME, lifetime)]));
  }

  sendIndication(peer: StunAddress, data: Uint8Array): void {
    const tid = this.random.bytes(12);
    const bytes = encodeStun({ method: StunMethod.Send, cls: 'indication', transactionId: tid, attributes: [xorAddressAttr(StunAttr.XOR_PEER_ADDRESS, peer, tid), { type: StunAttr.DATA, value: data }] });
    assert.ok(this.w.server.receive(bytes, this.address));
  }
}

function code(m: DecodedStun): number | undefined {
  return m.cls === 'error' ? readErrorCode(attr(m, StunAttr.ERROR_CODE))?.code : undefined;
}

function relayedOf(m: DecodedStun): StunAddress {
  const a = readXorAddress(attr(m, StunAttr.XOR_RELAYED_ADDRESS), m.transactionId);
  assert.ok(a !== undefined, 'XOR-RELAYED-ADDRESS');
  return a;
}

describe('TURN server: long-term credentials (RFC 8489 §9.2)', () => {
  test('an Allocate without credentials gets 401 with REALM and NONCE; with them, a signed success', async () => {
    const w = makeWorld();
    const c = new RawClient(w);
    const challenge = await c.request(StunMethod.Allocate, () => [UDP], { auth: false });
    assert.equal(code(challenge), 401);
    assert.equal(readText(attr(challenge, StunAttr.REALM)), REALM);
    assert.ok((readText(attr(challenge, StunAttr.NONCE)) ?? '').length > 0);
    assert.equal(challenge.integrityAt, undefined, 'a 401 is not signed');
    assert.equal(w.ports.requests.length, 0, 'nothing opened before authentication');
    const ok = await c.request(StunMethod.Allocate, () => [UDP]);
    assert.equal(ok.cls, 'success');
    assert.ok(checkIntegrity(ok, c.key), 'signed with MD5(user:realm:pass)');
    assert.ok(ok.fingerprinted);
    assert.deepEqual(relayedOf(ok), w.ports.ports[0]!.address);
    assert.deepEqual(readXorAddress(attr(ok, StunAttr.XOR_MAPPED_ADDRESS), ok.transactionId), CLIENT);
    assert.equal(readU32Attr(attr(ok, StunAttr.LIFETIME)), 600);
    assert.equal(w.server.stats().allocations, 1);
    assert.equal(w.server.stats().challenges, 1);
  });

  test('a wrong password gets 401 and allocates nothing; an unknown user and another realm too', async () => {
    const w = makeWorld();
    const bad = new RawClient(w, CLIENT, 'alice', 'wrong');
    await bad.request(StunMethod.Allocate, () => [UDP], { auth: false });
    const r = await bad.request(StunMethod.Allocate, () => [UDP]);
    assert.equal(code(r), 401);
    const ghost = new RawClient(w, { host: CLIENT.host, port: 40001 }, 'mallory', 'x');
    ghost.nonce = bad.nonce;
    assert.equal(code(await ghost.request(StunMethod.Allocate, () => [UDP])), 401);
    assert.equal(w.ports.requests.length, 0);
    assert.equal(w.server.stats().allocations, 0);
    assert.equal(w.server.stats().authFailures, 2);
  });

  test('integrity without USERNAME/REALM/NONCE is a 400', async () => {
    const w = makeWorld();
    const tid = new SeededRandom(3).bytes(12);
    const bytes = encodeStun({ method: StunMethod.Allocate, cls: 'request', transactionId: tid, attributes: [UDP] }, { integrityKey: longTermKey('alice', REALM, USERS.alice) });
    w.server.receive(bytes, CLIENT);
    await settle();
    const r = decodeStun(w.toClients.at(-1)!.data);
    assert.ok(r.ok);
    assert.equal(code(r.value), 400);
  });

  test('a nonce past its lifetime gets 438 with a fresh one, which works; a nonce is bound to the client IP', async () => {
    const w = makeWorld({ nonceLifetimeMs: 60_000 });
    const c = new RawClient(w);
    await c.request(StunMethod.Allocate, () => [UDP], { auth: false });
    const first = c.nonce;
    w.clock.advance(61_000);
    const stale = await c.request(StunMethod.Allocate, () => [UDP]);
    assert.equal(code(stale), 438);
    assert.notEqual(c.nonce, first);
    assert.equal(readText(attr(stale, StunAttr.REALM)), REALM);
    assert.equal((await c.request(StunMethod.Allocate, () => [UDP])).cls, 'success');
    // another IP with that nonce: 438
    const other = new RawClient(w, { host: '198.51.100.99', port: 40000 });
    other.nonce = c.nonce;
    assert.equal(code(await other.request(StunMethod.Allocate, () => [UDP])), 438);
    assert.equal(w.server.stats().staleNonces, 2);
  });

  test('a flood of unauthenticated Allocates allocates nothing and keeps no state', async () => {
    const w = makeWorld();
    const random = new SeededRandom(99);
    const before = w.clock.pendingTimers;
    for (let i = 0; i < 5000; i++) {
      const from = { host: `198.51.${100 + (i % 50)}.${1 + (i % 200)}`, port: 1024 + i };
      const bytes = encodeStun({ method: StunMethod.Allocate, cls: 'request', transactionId: random.bytes(12), attributes: [UDP] });
      w.server.receive(bytes, from);
    }
    // and wrong credentials with a valid nonce
    const c = new RawClient(w, CLIENT, 'alice', 'guess');
    await c.request(StunMethod.Allocate, () => [UDP], { auth: false });
    for (let i = 0; i < 30; i++) await c.request(StunMethod.Allocate, () => [UDP]);
    await settle();
    const s = w.server.stats();
    assert.equal(s.allocations, 0);
    assert.equal(s.pendingAllocations, 0);
    assert.equal(s.challenges, 5001);
    assert.equal(s.authFailures, 30);
    assert.equal(w.ports.requests.length, 0, 'no relay port asked for');
    assert.equal(w.clock.pendingTimers, before, 'no timer armed');
    assert.equal(w.toClients.length, 5031, 'one small answer each (every source within its rate)');
  });

  test('failed-authentication answers are rate-limited per source: 1,000 Allocates from one address get 40 answers at once, the rest dropped and counted', () => {
    const w = makeWorld();
    const random = new SeededRandom(7);
    const from = { host: '198.51.100.77', port: 4000 };
    for (let i = 0; i < 1000; i++) w.server.receive(encodeStun({ method: StunMethod.Allocate, cls: 'request', transactionId: random.bytes(12), attributes: [UDP] }), from);
    const s = w.server.stats();
    assert.equal(s.challenges, 40);
    assert.equal(s.unauthenticatedDropped, 960);
    assert.equal(w.toClients.length, 40);
    // another address is answered; after a second the first gets 20 more
    w.server.receive(encodeStun({ method: StunMethod.Allocate, cls: 'request', transactionId: random.bytes(12), attributes: [UDP] }), { host: '198.51.100.78', port: 4000 });
    assert.equal(w.server.stats().challenges, 41);
    w.clock.advance(1000);
    for (let i = 0; i < 100; i++) w.server.receive(encodeStun({ method: StunMethod.Allocate, cls: 'request', transactionId: random.bytes(12), attributes: [UDP] }), from);
    assert.equal(w.server.stats().challenges, 61);
  });
});

describe('TURN server: Allocate (RFC 8656 §7.2)', () => {
  test('442 for TCP, 400 without REQUESTED-TRANSPORT, 420 for DONT-FRAGMENT and unknown attributes, 440 for IPv6', async () => {
    const w = makeWorld();
    const c = new RawClient(w);
    await c.request(StunMethod.Allocate, () => [UDP], { auth: false });
    assert.equal(code(await c.request(StunMethod.Allocate, () => [{ type: StunAttr.REQUESTED_TRANSPORT, value: Uint8Array.of(6, 0, 0, 0) }])), 442);
    assert.equal(code(await c.request(StunMethod.Allocate, () => [])), 400);
    const df = await c.request(StunMethod.Allocate, () => [UDP, { type: StunAttr.DONT_FRAGMENT, value: new Uint8Array(0) }]);
    assert.equal(code(df), 420);
    assert.ok(checkIntegrity(df, c.key), 'errors after authentication are signed');
    assert.equal(code(await c.request(StunMethod.Allocate, () => [UDP, { type: 0x0010, value: new Uint8Array(4) }])), 420);
    assert.equal(code(await c.request(StunMethod.Allocate, () => [UDP, { type: StunAttr.REQUESTED_ADDRESS_FAMILY, value: Uint8Array.of(2, 0, 0, 0) }])), 440);
    assert.equal(code(await c.request(StunMethod.Allocate, () => [UDP, { type: StunAttr.RESERVATION_TOKEN, value: new Uint8Array(8) }])), 508);
    assert.equal(w.ports.requests.length, 0);
    assert.equal(w.server.stats().errors[442], 1);
  });

  test('EVEN-PORT asks for an even port; its R bit (a reservation) is refused with 508', async () => {
    const w = makeWorld();
    const c = new RawClient(w);
    assert.equal(code(await c.allocate([UDP, { type: StunAttr.EVEN_PORT, value: Uint8Array.of(0x80) }])), 508);
    const ok = await c.request(StunMethod.Allocate, () => [UDP, { type: StunAttr.EVEN_PORT, value: Uint8Array.of(0) }]);
    assert.equal(ok.cls, 'success');
    assert.equal(relayedOf(ok).port % 2, 0);
    assert.deepEqual(w.ports.requests, [{ family: 4, evenPort: true }]);
  });

  test('a retransmitted Allocate gets the same answer; another Allocate on the 5-tuple gets 437', async () => {
    const w = makeWorld();
    const c = new RawClient(w);
    await c.request(StunMethod.Allocate, () => [UDP], { auth: false });
    const tid = new SeededRandom(5).bytes(12);
    const first = await c.request(StunMethod.Allocate, () => [UDP], { tid });
    const again = await c.request(StunMethod.Allocate, () => [UDP], { tid });
    assert.deepEqual(again.raw, first.raw);
    assert.equal(code(await c.request(StunMethod.Allocate, () => [UDP])), 437);
    assert.equal(w.ports.requests.length, 1);
  });

  test('lifetime: at least the default, at most the cap', async () => {
    const w = makeWorld({ maxLifetimeS: 3600 });
    const a = new RawClient(w);
    const b = new RawClient(w, { host: CLIENT.host, port: 40002 });
    assert.equal(readU32Attr(attr(await a.allocate([UDP, u32Attr(StunAttr.LIFETIME, 100_000)]), StunAttr.LIFETIME)), 3600);
    assert.equal(readU32Attr(attr(await b.allocate([UDP, u32Attr(StunAttr.LIFETIME, 30)]), StunAttr.LIFETIME)), 600);
    assert.equal(readU32Attr(attr(await a.refresh(1200), StunAttr.LIFETIME)), 1200);
  });

  test('quotas: 486 per username and per client IP, 508 in all', async () => {
    const w = makeWorld({ maxAllocationsPerUser: 2, maxAllocationsPerClientIp: 2, maxAllocations: 3 });
    const at = (host: string, port: number, user: 'alice' | 'bob' = 'alice'): RawClient => new RawClient(w, { host, port }, user, USERS[user]);
    assert.equal((await at('198.51.100.1', 1).allocate()).cls, 'success');
    assert.equal((await at('198.51.100.2', 1).allocate()).cls, 'success');
    assert.equal(code(await at('198.51.100.3', 1).allocate()), 486, 'a third for alice');
    assert.equal((await at('198.51.100.1', 2, 'bob').allocate()).cls, 'success');
    assert.equal(code(await at('198.51.100.1', 3, 'bob').allocate()), 486, 'a third from 198.51.100.1');
    assert.equal(code(await at('198.51.100.4', 1, 'bob').allocate()), 508, 'a fourth in all');
    assert.equal(w.server.stats().allocations, 3);
    assert.equal(w.ports.requests.length, 3);
  });

  test('508 when a relay port cannot be had; the quota is given back', async () => {
    const w = makeWorld({ maxAllocationsPerUser: 1 });
    const c = new RawClient(w);
    w.ports.failing = true;
    assert.equal(code(await c.allocate()), 508);
    w.ports.failing = false;
    assert.equal((await c.request(StunMethod.Allocate, () => [UDP])).cls, 'success');
  });
});

describe('TURN server: permissions, Send/Data, channels (RFC 8656 §9–12)', () => {
  const hello = enc.encode('hello peer');

  async function allocated(opts: Parameters<typeof makeWorld>[0] = {}): Promise<{ w: World; c: RawClient; relay: StunAddress }> {
    const w = makeWorld(opts);
    const c = new RawClient(w);
    const ok = await c.allocate();
    return { w, c, relay: relayedOf(ok) };
  }

  test('peer data needs a permission (dropped and counted before); by IP only; it expires after 300 s', async () => {
    const { w, c, relay } = await allocated();
    w.peerSend(relay, enc.encode('too early'));
    c.sendIndication(PEER, hello);
    w.net.flush();
    assert.equal(w.server.stats().droppedNoPermission, 1);
    assert.equal(w.peerInbox.length, 0, 'no permission: the Send indication is not relayed');
    assert.equal((await c.permission(PEER)).cls, 'success');
    c.sendIndication(PEER, hello);
    w.net.flush();
    assert.equal(w.peerInbox.length, 1);
    assert.deepEqual(w.peerInbox[0]!.data, hello);
    assert.deepEqual(w.peerInbox[0]!.from, relay);
    const n = w.toClients.length;
    w.peerSend(relay, enc.encode('answer'), { host: PEER.host, port: 7777 }); // same IP, other port
    w.net.flush();
    const d = decodeStun(w.toClients[n]!.data);
    assert.ok(d.ok);
    assert.equal(d.value.method, StunMethod.Data);
    assert.equal(d.value.cls, 'indication');
    assert.deepEqual(readXorAddress(attr(d.value, StunAttr.XOR_PEER_ADDRESS), d.value.transactionId), { host: PEER.host, port: 7777 });
    assert.deepEqual(attr(d.value, StunAttr.DATA), enc.encode('answer'));
    w.clock.advance(300_001);
    await c.refresh(); // keeps the allocation, not the permission
    w.peerSend(relay, enc.encode('late'));
    w.net.flush();
    assert.equal(w.server.stats().droppedNoPermission, 2);
  });

  test('403 for forbidden peers (loopback unless allowed, unspecified, multicast), 443 for the other family, 508 past the permission limit', async () => {
    const { c } = await allocated({ maxPermissionsPerAllocation: 2 });
    assert.equal(code(await c.permission({ host: '127.0.0.1', port: 5000 })), 403);
    assert.equal(code(await c.permission({ host: '0.0.0.0', port: 5000 })), 403);
    assert.equal(code(await c.permission({ host: '224.0.0.1', port: 5000 })), 403);
    assert.equal(code(await c.permission({ host: '2001:db8::1', port: 5000 })), 443);
    assert.equal((await c.permission({ host: '203.0.113.1', port: 1 })).cls, 'success');
    assert.equal((await c.permission({ host: '203.0.113.2', port: 1 })).cls, 'success');
    assert.equal((await c.permission({ host: '203.0.113.1', port: 2 })).cls, 'success', 'a refresh is no new permission');
    assert.equal(code(await c.permission({ host: '203.0.113.3', port: 1 })), 508);
    const { c: c2 } = await allocated({ allowLoopbackPeers: true });
    assert.equal((await c2.permission({ host: '127.0.0.1', port: 5000 })).cls, 'success');
    assert.equal(forbiddenPeerReason({ host: SERVER.host, port: SERVER.port }, { serverAddresses: [SERVER] }), "the server's own address");
    assert.equal(forbiddenPeerReason({ host: '10.1.2.3', port: 5 }, { forbidPrivate: true }), 'private address');
    assert.equal(forbiddenPeerReason({ host: '::ffff:127.0.0.1', port: 5 }), 'loopback address');
  });

  test('channel binding round trip: ChannelData both ways; conflicts are 400; the limit is 508', async () => {
    const { w, c, relay } = await allocated({ maxChannelsPerAllocation: 2 });
    assert.equal((await c.channelBind(0x4001, PEER)).cls, 'success');
    assert.equal((await c.channelBind(0x4001, PEER)).cls, 'success', 'a refresh');
    assert.equal(code(await c.channelBind(0x3fff, { host: '203.0.113.9', port: 1 })), 400);
    assert.equal(code(await c.channelBind(0x4001, { host: '203.0.113.9', port: 1 })), 400, 'number bound to another peer');
    assert.equal(code(await c.channelBind(0x4002, PEER)), 400, 'peer bound to another number');
    assert.equal((await c.channelBind(0x4002, { host: '203.0.113.9', port: 1 })).cls, 'success');
    assert.equal(code(await c.channelBind(0x4003, { host: '203.0.113.10', port: 1 })), 508);
    assert.ok(w.server.receive(encodeChannelData(0x4001, hello), CLIENT));
    w.net.flush();
    assert.deepEqual(w.peerInbox.at(-1)?.data, hello);
    const n = w.toClients.length;
    w.peerSend(relay, enc.encode('back'));
    w.net.flush();
    const cd = decodeChannelData(w.toClients[n]!.data);
    assert.deepEqual(cd, { channel: 0x4001, data: enc.encode('back') });
    assert.equal(w.toClients[n]!.data.length % 4, 0, 'padded');
    // an unbound channel is dropped
    w.server.receive(encodeChannelData(0x4555, hello), CLIENT);
    assert.equal(w.server.stats().droppedUnroutable, 1);
    // after 600 s (the permission refreshed on the way) peer data comes as Data indications again
    w.clock.advance(280_000);
    await c.permission(PEER);
    w.clock.advance(280_000);
    await c.permission(PEER);
    await c.refresh();
    w.clock.advance(60_000);
    const m = w.toClients.length;
    w.peerSend(relay, enc.encode('after'));
    w.net.flush();
    const d = decodeStun(w.toClients[m]!.data);
    assert.ok(d.ok && d.value.method === StunMethod.Data);
  });

  test('IPv6: REQUESTED-ADDRESS-FAMILY, and XOR-PEER-ADDRESS XOR-ed with each message\'s transaction ID', async () => {
    const w = makeWorld({}, 1, '2001:db8::1');
    const c = new RawClient(w, { host: '2001:db8::7', port: 40000 });
    assert.equal(code(await c.allocate()), 440, 'IPv4 (the default family) is not offered');
    const ok = await c.request(StunMethod.Allocate, () => [UDP, { type: StunAttr.REQUESTED_ADDRESS_FAMILY, value: Uint8Array.of(2, 0, 0, 0) }]);
    assert.equal(ok.cls, 'success');
    const relay = relayedOf(ok);
    assert.equal(relay.host, '2001:db8::1');
    const peer6 = { host: '2001:db8:99::5', port: PEER.port };
    assert.equal(code(await c.permission(PEER)), 443, 'an IPv4 peer on an IPv6 relay');
    assert.equal((await c.permission(peer6)).cls, 'success');
    c.sendIndication(peer6, hello);
    const port = w.ports.ports[0]!;
    assert.deepEqual(port.sent.at(-1), { data: hello, to: peer6 });
    const n = w.toClients.length;
    w.server.relayReceived(port.id, enc.encode('v6 back'), peer6);
    const d = decodeStun(w.toClients[n]!.data);
    assert.ok(d.ok);
    assert.deepEqual(readXorAddress(attr(d.value, StunAttr.XOR_PEER_ADDRESS), d.value.transactionId), peer6);
  });

  test('RFC 5766 channel numbers (0x4000–0x7FFF) only when configured', async () => {
    const strict = await allocated();
    assert.equal(code(await strict.c.channelBind(0x7b92, PEER)), 400);
    assert.equal(strict.w.server.receive(Uint8Array.of(0x7b, 0x92, 0, 1, 9, 0, 0, 0), CLIENT), false, 'not ChannelData for a strict server');
    const legacy = await allocated({ rfc5766ChannelNumbers: true });
    assert.equal((await legacy.c.channelBind(0x7b92, PEER)).cls, 'success');
    assert.ok(legacy.w.server.receive(encodeChannelData(0x7b92, hello), CLIENT));
    legacy.w.net.flush();
    assert.deepEqual(legacy.w.peerInbox.at(-1)?.data, hello);
    const n = legacy.w.toClients.length;
    legacy.w.peerSend(legacy.relay, enc.encode('back'));
    legacy.w.net.flush();
    assert.deepEqual(decodeChannelData(legacy.w.toClients[n]!.data, true), { channel: 0x7b92, data: enc.encode('back') });
  });

  test('bandwidth: each direction has a token bucket; the excess is dropped and counted', async () => {
    const { w, c, relay } = await allocated({ bandwidthBytesPerS: 1000, bandwidthBurstBytes: 1000 });
    await c.permission(PEER);
    const chunk = new Uint8Array(200);
    for (let i = 0; i < 10; i++) c.sendIndication(PEER, chunk);
    w.net.flush();
    assert.equal(w.peerInbox.length, 5);
    assert.equal(w.server.stats().droppedBandwidth, 5);
    const n = w.toClients.length;
    for (let i = 0; i < 10; i++) w.peerSend(relay, chunk);
    w.net.flush();
    assert.equal(w.toClients.length - n, 5, 'the other direction has its own bucket');
    assert.equal(w.server.stats().droppedBandwidth, 10);
    w.clock.advance(1000);
    for (let i = 0; i < 10; i++) c.sendIndication(PEER, chunk);
    w.net.flush();
    assert.equal(w.peerInbox.length, 10, 'refilled after a second');
    assert.equal(w.server.allocations()[0]!.droppedBandwidth, 15);
  });

  test('bandwidth: a server-wide bucket per direction caps all allocations together; its refusals cost an allocation nothing', async () => {
    const { w, c, relay } = await allocated({ bandwidthBytesPerS: 1000, bandwidthBurstBytes: 1000, totalBandwidthBytesPerS: 1500, totalBandwidthBurstBytes: 1500 });
    assert.deepEqual(w.server.bandwidth, { perAllocationBytesPerS: 1000, totalBytesPerS: 1500 });
    const b = new RawClient(w, { host: '198.51.100.8', port: 40000 }, 'bob', USERS.bob);
    const relayB = relayedOf(await b.allocate());
    await c.permission(PEER);
    await b.permission(PEER);
    const chunk = new Uint8Array(200);
    for (let i = 0; i < 10; i++) c.sendIndication(PEER, chunk);
    w.net.flush();
    assert.equal(w.peerInbox.length, 5, 'a: its own 1000 bytes');
    for (let i = 0; i < 10; i++) b.sendIndication(PEER, chunk);
    w.net.flush();
    assert.equal(w.peerInbox.length, 7, 'b: only the 500 bytes left of the server-wide 1500');
    assert.equal(w.server.stats().droppedBandwidth, 13);
    assert.equal(w.server.stats().droppedTotalBandwidth, 8, "b's drops were the server's limit, not its own");
    // 100 ms later the server has 250 bytes again; b's own bucket was not spent by the refused datagrams
    w.clock.advance(100);
    b.sendIndication(PEER, chunk);
    w.net.flush();
    assert.equal(w.peerInbox.length, 8, "b's bucket still held its bytes");
    // the other direction has its own server-wide bucket: 1500 bytes, then nothing
    const n = w.toClients.length;
    for (let i = 0; i < 10; i++) w.peerSend(relay, chunk);
    for (let i = 0; i < 10; i++) w.peerSend(relayB, chunk);
    w.net.flush();
    assert.equal(w.toClients.length - n, 7, '5 to a (its own limit), 2 to b (the server-wide limit)');
    assert.equal(w.server.stats().droppedTotalBandwidth, 16);
    // a second later both directions flow again, at most 1500 bytes each
    w.clock.advance(1000);
    const m = w.toClients.length;
    for (let i = 0; i < 10; i++) w.peerSend(relay, chunk);
    for (let i = 0; i < 10; i++) w.peerSend(relayB, chunk);
    w.net.flush();
    assert.equal(w.toClients.length - m, 7);
  });

  test('bandwidth defaults: 512,000 B/s per allocation and 4,000,000 B/s in all, each direction', () => {
    assert.deepEqual(makeWorld().server.bandwidth, { perAllocationBytesPerS: 512_000, totalBytesPerS: 4_000_000 });
    assert.throws(() => makeWorld({ totalBandwidthBytesPerS: 0 }), RangeError);
  });
});

describe('TURN server: Refresh, expiry, stop', () => {
  test('Refresh with 0 deletes; 437 without an allocation; 441 for another user', async () => {
    const w = makeWorld();
    const c = new RawClient(w);
    await c.allocate();
    const other = new RawClient(w, CLIENT, 'bob', USERS.bob);
    other.nonce = c.nonce;
    assert.equal(code(await other.refresh()), 441);
    const released: string[] = [];
    w.server.events.on('released', (e) => released.push(e.reason));
    const del = await c.refresh(0);
    assert.equal(del.cls, 'success');
    assert.equal(readU32Attr(attr(del, StunAttr.LIFETIME)), 0);
    assert.deepEqual(released, ['deleted']);
    assert.equal(w.ports.openCount, 0);
    assert.equal(code(await c.refresh(0)), 437);
    assert.equal(code(await c.permission(PEER)), 437);
  });

  test('an allocation expires after its lifetime and its relay port is closed; a refresh pushes it back', async () => {
    const w = makeWorld();
    const c = new RawClient(w);
    await c.allocate();
    w.clock.advance(500_000);
    assert.equal((await c.refresh()).cls, 'success');
    w.clock.advance(500_000);
    assert.equal(w.server.stats().allocations, 1, 'refreshed at 500 s: good until 1,100 s');
    w.clock.advance(100_001);
    assert.equal(w.server.stats().allocations, 0);
    assert.equal(w.ports.openCount, 0);
    assert.equal(w.clock.pendingTimers, 0);
  });

  test('stop() releases every allocation, and a relay port that opens afterwards is closed', async () => {
    const w = makeWorld();
    for (let i = 0; i < 3; i++) await new RawClient(w, { host: CLIENT.host, port: 41000 + i }).allocate();
    w.ports.hold = true;
    const late = new RawClient(w, { host: CLIENT.host, port: 42000 });
    await late.request(StunMethod.Allocate, () => [UDP], { auth: false });
    const tid = new SeededRandom(11).bytes(12);
    const bytes = encodeStun(
      { method: StunMethod.Allocate, cls: 'request', transactionId: tid, attributes: [UDP, textAttr(StunAttr.USERNAME, 'alice'), textAttr(StunAttr.REALM, REALM), textAttr(StunAttr.NONCE, late.nonce!)] },
      { integrityKey: late.key },
    );
    w.server.receive(bytes, late.address);
    await settle();
    assert.equal(w.server.stats().pendingAllocations, 1);
    assert.equal(w.ports.openCount, 3);
    const stopped = w.server.stop();
    w.ports.release();
    await stopped;
    assert.equal(w.ports.ports.length, 4);
    assert.equal(w.ports.openCount, 0, 'no relay port left open');
    assert.equal(w.server.stats().allocations, 0);
    assert.equal(w.clock.pendingTimers, 0);
  });
});
