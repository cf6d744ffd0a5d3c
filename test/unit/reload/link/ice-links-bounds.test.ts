/**
 * Issue 12, "a peer that offers 10,000 candidates": IceLinks on a real NatPort over a counting fake
 * socket (ManualClock, SeededRandom, a fake DTLS factory). Such an Attach is refused by the ICE
 * agent's `maxRemoteCandidates` (32) with an Error naming the limit; nothing is left behind (no NatPort
 * session, no timer), nothing is sent, and the next normal Attach opens a link. `prepare()` is bounded
 * by `maxLinks` and what is prepared without a `start()` is released after `negotiationTimeoutMs`.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { SeededRandom } from '../../../../src/lib/random.js';
import type { DatagramSocket, UdpAddress } from '../../../../src/nat/datagram-socket.js';
import { NatPort } from '../../../../src/nat/nat-port.js';
import { IceError } from '../../../../src/nat/ice/ice-error.js';
import { OverlayLinkType, encodeAttachReqAns } from '../../../../src/reload/codec/index.js';
import type { AttachReqAns, IceCandidate } from '../../../../src/reload/codec/index.js';
import { toIpAddressPort } from '../../../../src/reload/overlay/candidates.js';
import type { IceAttachParams } from '../../../../src/reload/overlay/overlay-types.js';
import { IceLinks } from '../../../../src/reload/link/ice-links.js';
import type { IceLinksOptions, SecureChannel, SecureChannelEvents, SecureChannelFactory } from '../../../../src/reload/link/ice-links.js';

const utf8 = new TextEncoder();

/** Datagrams of every node go through this one queue, delivered 1 ms later (when a peer is at `to`). */
class Net {
  readonly nodes = new Map<string, NatPort>();
  sent = 0;
  constructor(readonly clock: ManualClock) {}
  socket(local: UdpAddress): DatagramSocket & { sent: number } {
    const net = this;
    return {
      local,
      sent: 0,
      send(d: Uint8Array, to: UdpAddress): void {
        this.sent++;
        net.sent++;
        const copy = d.slice();
        net.clock.setTimer(1, () => net.nodes.get(`${to.host}:${to.port}`)?.receive(copy, local));
      },
    };
  }
}

/** DTLS stand-in: opens at once with a fixed certificate, carries data to nowhere. */
class FakeChannels implements SecureChannelFactory {
  created = 0;
  create(_role: 'client' | 'server', _send: (d: Uint8Array) => void, events: SecureChannelEvents): SecureChannel {
    this.created++;
    return { start: () => events.onOpen(Uint8Array.of(1, 2, 3)), receive: () => {}, send: () => true, close: () => {} };
  }
}

function node(net: Net, host: string, options: IceLinksOptions = {}, seed = 1): { nat: NatPort; socket: DatagramSocket & { sent: number }; links: IceLinks; channels: FakeChannels } {
  const local = { host, port: 6084 };
  const socket = net.socket(local);
  const nat = new NatPort({ socket, clock: net.clock, random: new SeededRandom(seed) });
  net.nodes.set(`${host}:6084`, nat);
  const channels = new FakeChannels();
  const links = new IceLinks({ clock: net.clock, random: new SeededRandom(seed + 100), plane: nat, candidates: () => [{ type: 'host', address: local, base: 'host' }], channels }, options);
  return { nat, socket, links, channels };
}

function candidates(n: number): IceCandidate[] {
  const out: IceCandidate[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      addrPort: toIpAddressPort({ host: `198.51.${100 + ((i >> 8) & 3)}.${i & 255}`, port: 10_000 + (i % 50_000) })!,
      overlayLink: OverlayLinkType['DTLS-UDP-SR'],
      foundation: utf8.encode(`f${i}`),
      priority: 2_000_000_000 - i,
      type: 'host',
      extensions: [],
    });
  }
  return out;
}

function attach(params: IceAttachParams): AttachReqAns {
  return { ufrag: utf8.encode(params.ufrag), password: utf8.encode(params.password), role: utf8.encode('passive'), candidates: [...params.candidates], sendUpdate: false };
}

const hostile = (n: number): AttachReqAns => ({ ufrag: utf8.encode('EVILufrag'), password: utf8.encode('EVILpasswordEVILpassword'), role: utf8.encode('passive'), candidates: candidates(n), sendUpdate: false });

describe('IceLinks: a peer that offers 10,000 candidates', () => {
  test('such an Attach cannot be a RELOAD message (5,000 bytes), so it is tested here, at IceLinks', () => {
    assert.throws(() => encodeAttachReqAns(hostile(10_000)), /exceed the limit of 5000 bytes/);
    assert.ok(encodeAttachReqAns(hostile(200)).length <= 5_000, 'but 200 fit: more than the 32 ICE accepts');
  });

  for (const side of ['answerer (Attach request)', 'requester (Attach answer)'] as const) {
    test(`${side}: refused with the limit named, nothing allocated, nothing sent; the next Attach works`, () => {
      const clock = new ManualClock(0);
      const net = new Net(clock);
      const a = node(net, '192.0.2.1');
      const b = node(net, '192.0.2.2', {}, 2);
      const timersBefore = clock.pendingTimers;
      const controlling = side.startsWith('requester');
      const local = a.links.prepare(controlling);
      assert.ok(local !== undefined);
      assert.equal(a.nat.counters().sessions, 1);
      const r = a.links.start(local, hostile(10_000), controlling, undefined);
      assert.ok(r instanceof Error, 'refused');
      assert.ok(r instanceof IceError && r.code === 'ICE_TOO_MANY_CANDIDATES', String(r));
      assert.match(r.message, /10000 candidates; at most 32/);
      assert.equal(a.nat.counters().sessions, 0, 'the prepared ICE session is gone');
      assert.equal(clock.pendingTimers, timersBefore, 'no timer left (negotiation, agent)');
      assert.deepEqual(a.links.linkIds(), []);
      assert.equal(a.links.totals.refused, 1);
      assert.equal(a.links.totals.started, 0);
      clock.advance(30_000);
      assert.equal(a.socket.sent, 0, 'not one check sent to the 10,000 addresses');
      assert.equal(a.channels.created, 0);
      // and the largest offer that would fit in a RELOAD message is refused the same way
      const fits = a.links.prepare(controlling)!;
      const r2 = a.links.start(fits, hostile(200), controlling, undefined);
      assert.ok(r2 instanceof Error && /200 candidates; at most 32/.test(r2.message));
      assert.equal(a.nat.counters().sessions, 0);
      // the next normal Attach: both ends open a link
      const la = a.links.prepare(true)!;
      const lb = b.links.prepare(false)!;
      const idB = b.links.start(lb, attach(la), false, undefined);
      const idA = a.links.start(la, attach(lb), true, undefined);
      assert.equal(typeof idA, 'string', String(idA));
      assert.equal(typeof idB, 'string', String(idB));
      for (let i = 0; i < 100 && (a.links.totals.opened === 0 || b.links.totals.opened === 0); i++) clock.advance(50);
      assert.equal(a.links.totals.opened, 1, JSON.stringify(a.links.describe()));
      assert.equal(b.links.totals.opened, 1);
      assert.equal(a.nat.counters().flows, 1);
    });
  }

  test('start() without a prepared session (a fresh agent) is refused the same way and leaves no session', () => {
    const clock = new ManualClock(0);
    const net = new Net(clock);
    const a = node(net, '192.0.2.1');
    const local: IceAttachParams = { ufrag: 'LOCALufrag01', password: 'LOCALpasswordLOCALpasswd', candidates: [] };
    const r = a.links.start(local, hostile(10_000), false, undefined);
    assert.ok(r instanceof Error && /at most 32/.test(r.message));
    assert.equal(a.nat.counters().sessions, 0);
    assert.equal(clock.pendingTimers, 0);
    clock.advance(30_000);
    assert.equal(a.socket.sent, 0);
  });
});

describe('IceLinks: prepare() is bounded', () => {
  test('maxLinks prepares without start: the next is refused; all are released after negotiationTimeoutMs', () => {
    const clock = new ManualClock(0);
    const net = new Net(clock);
    const a = node(net, '192.0.2.1', { maxLinks: 256, negotiationTimeoutMs: 20_000 });
    const prepared: IceAttachParams[] = [];
    for (let i = 0; i < 1_000; i++) {
      const p = a.links.prepare(i % 2 === 0);
      if (p !== undefined) prepared.push(p);
    }
    assert.equal(prepared.length, 256);
    assert.equal(a.nat.counters().sessions, 256);
    assert.equal(a.nat.counters().sessionsRefused, 0, 'IceLinks refused first, before the NAT plane');
    clock.advance(19_999);
    assert.equal(a.nat.counters().sessions, 256);
    clock.advance(1);
    assert.equal(a.nat.counters().sessions, 0, 'every prepared session released at the timeout');
    assert.equal(clock.pendingTimers, 0);
    assert.equal(a.socket.sent, 0);
    assert.ok(a.links.prepare(true) !== undefined, 'room again');
  });

  test('started links are bounded by maxLinks too: the next start() is refused with the limit named', () => {
    const clock = new ManualClock(0);
    const net = new Net(clock);
    const a = node(net, '192.0.2.1', { maxLinks: 8 });
    const remote = hostile(1); // one candidate nobody answers at
    for (let i = 0; i < 8; i++) assert.equal(typeof a.links.start(a.links.prepare(true)!, remote, true, undefined), 'string');
    assert.equal(a.links.prepare(true), undefined, 'no room to prepare');
    const r = a.links.start({ ufrag: 'OTHERufrag01', password: 'OTHERpasswordOTHERpasswd', candidates: [] }, remote, true, undefined);
    assert.ok(r instanceof Error && /8 ICE links already/.test(r.message), String(r));
    assert.equal(a.nat.counters().sessions, 8);
    clock.advance(25_000); // ICE gives up (10 s deadline), the negotiation timeout (20 s) at the latest
    assert.equal(a.nat.counters().sessions, 0);
    assert.deepEqual(a.links.linkIds(), []);
    assert.equal(clock.pendingTimers, 0);
  });

  test('the NAT plane refuses sessions past its own maxSessions: prepare() says undefined', () => {
    const clock = new ManualClock(0);
    const net = new Net(clock);
    const local = { host: '192.0.2.1', port: 6084 };
    const nat = new NatPort({ socket: net.socket(local), clock, random: new SeededRandom(3) }, { limits: { maxSessions: 4 } });
    const links = new IceLinks({ clock, random: new SeededRandom(4), plane: nat, candidates: () => [{ type: 'host', address: local, base: 'host' }], channels: new FakeChannels() });
    const got = Array.from({ length: 10 }, () => links.prepare(true)).filter((p) => p !== undefined);
    assert.equal(got.length, 4);
    assert.equal(nat.counters().sessionsRefused, 6);
    assert.equal(clock.pendingTimers, 4, 'refused prepares leave no timer');
  });
});
