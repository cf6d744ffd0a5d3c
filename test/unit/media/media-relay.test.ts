import { beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/lib/manual-clock.js';
import { SeededRandom } from '../../../src/lib/random.js';
import { MediaError } from '../../../src/media/media-error.js';
import { BUNDLE_MARK, FRAME_HEADER, isMediaFrame, MediaRelay, type MediaSession, type PeerLeg, type SideInfo, type UaLeg } from '../../../src/media/media-relay.js';
import { FakeMediaPorts, FakeMediaTrunk, frame, frameTag, rtp, type FakePortPair } from '../../support/media/fake-media.js';

const PHONE = '192.168.1.10';
const NODE = 'aa'.repeat(16);

function ua(addr = `${PHONE}:5060`): SideInfo {
  return { kind: 'ua', node: undefined, addrs: [addr], onOurNetwork: true };
}
function peer(node: string | null = NODE, addr = '198.51.100.2:5060'): SideInfo {
  return { kind: 'peer', node: node ?? undefined, addrs: [addr], onOurNetwork: false };
}

function mediaError(fn: () => unknown): MediaError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof MediaError, String(err));
    return err;
  }
  assert.fail('no MediaError');
}

describe('MediaRelay', () => {
  let clock: ManualClock;
  let ports: FakeMediaPorts;
  let trunk: FakeMediaTrunk;
  let relay: MediaRelay;

  function make(opts: { capacity?: number; maxSessions?: number; timeoutMs?: number; trunkAddr?: { host: string; port: number } } = {}): void {
    clock = new ManualClock(1_000);
    ports = new FakeMediaPorts(opts.capacity ?? 100);
    trunk = new FakeMediaTrunk(opts.trunkAddr);
    relay = new MediaRelay(
      { clock, random: new SeededRandom(7), ports, trunk },
      { ...(opts.maxSessions === undefined ? {} : { maxSessions: opts.maxSessions }), ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }) },
    );
    relay.start();
  }
  beforeEach(() => make());

  /** A relayed call: phone on side 0 (ua leg with an SDP destination), a peer on side 1 with its tag. */
  function call(callId = 'c1', opts: { rtcpMux?: boolean; remoteTag?: number; peerSide?: SideInfo; rtcp?: boolean } = {}): { s: MediaSession; leg: UaLeg; pair: FakePortPair; pl: PeerLeg } {
    const s = relay.create(callId, [ua(), opts.peerSide ?? peer()]);
    relay.decide(s, 'relay');
    const leg = relay.uaLeg(s, 0, 0);
    relay.setPhoneDestination(leg, { host: PHONE, port: 4000 }, opts.rtcp === false ? undefined : { host: PHONE, port: 4001 }, opts.rtcpMux ?? false, [PHONE]);
    const pl = relay.peerLeg(s, 0, 1);
    pl.remoteTag = opts.remoteTag ?? 0x11223344;
    return { s, leg, pair: ports.pair(leg.pair.port), pl };
  }

  describe('latching', () => {
    test('the first packet from an allowed IP latches; its address gets what comes back', () => {
      const { pair, pl } = call();
      pair.inject(0, rtp(1), { host: PHONE, port: 4444 }); // NAT changed the port
      assert.equal(trunk.toNodes.length, 1);
      relay.receiveFrame(frame(0, pl.localTag, rtp(2)), { node: NODE });
      assert.deepEqual(pair.sent.map((p) => [p.component, p.to]), [[0, { host: PHONE, port: 4444 }]], 'to the latched address, not the SDP port 4000');
    });

    test('packets from an IP that may not latch are dropped and counted; nothing latches', () => {
      const { pair, pl } = call();
      pair.inject(0, rtp(1), { host: '198.18.9.9', port: 4000 });
      pair.inject(0, rtp(2), { host: '198.18.9.9', port: 4000 });
      assert.equal(trunk.toNodes.length, 0);
      assert.equal(relay.stats.packets.dropped.unlatched, 2);
      assert.equal(relay.stats.packets.fromPhones, 0);
      relay.receiveFrame(frame(0, pl.localTag, rtp(3)), { node: NODE });
      assert.deepEqual(pair.sent[0]!.to, { host: PHONE, port: 4000 }, 'still the SDP address');
    });

    test('once latched, another port of the same IP is dropped (and another IP too)', () => {
      const { pair } = call();
      pair.inject(0, rtp(1), { host: PHONE, port: 4000 });
      pair.inject(0, rtp(2), { host: PHONE, port: 4002 });
      pair.inject(0, rtp(3), { host: '198.18.9.9', port: 4000 });
      pair.inject(0, rtp(4), { host: PHONE, port: 4000 });
      assert.equal(trunk.toNodes.length, 2);
      assert.deepEqual(trunk.toNodes.map((f) => f.frame.subarray(FRAME_HEADER)[3]), [1, 4]);
      assert.equal(relay.stats.packets.dropped.unlatched, 2);
    });

    test('RTP and RTCP latch apart', () => {
      const { pair, pl } = call();
      pair.inject(0, rtp(1), { host: PHONE, port: 5000 });
      pair.inject(1, rtp(2), { host: PHONE, port: 5003 });
      relay.receiveFrame(frame(1, pl.localTag, rtp(3)), { node: NODE });
      relay.receiveFrame(frame(0, pl.localTag, rtp(4)), { node: NODE });
      assert.deepEqual(pair.sent.map((p) => [p.component, p.to.port]), [[1, 5003], [0, 5000]]);
    });

    test('a re-INVITE moving the phone to another IP un-latches; the same IP keeps the latch', () => {
      const { leg, pair, pl } = call();
      pair.inject(0, rtp(1), { host: PHONE, port: 4444 });
      relay.setPhoneDestination(leg, { host: PHONE, port: 4010 }, undefined, false, []);
      relay.receiveFrame(frame(0, pl.localTag, rtp(2)), { node: NODE });
      assert.deepEqual(pair.sent[0]!.to, { host: PHONE, port: 4444 });
      relay.setPhoneDestination(leg, { host: '192.168.1.11', port: 4010 }, undefined, false, ['192.168.1.11']);
      relay.receiveFrame(frame(0, pl.localTag, rtp(3)), { node: NODE });
      assert.deepEqual(pair.sent[1]!.to, { host: '192.168.1.11', port: 4010 });
    });

    test('at most 8 IPs may latch', () => {
      const { leg } = call();
      relay.setPhoneDestination(leg, { host: PHONE, port: 4000 }, undefined, false, Array.from({ length: 20 }, (_, i) => `10.0.0.${i}`));
      assert.equal(leg.allowed.size, 8);
    });
  });

  describe('forwarding', () => {
    test('phone → peer: [0xD0|component][remote tag][packet untouched] into the SIP channel', () => {
      const { pair } = call('c1', { remoteTag: 0xa1b2c3d4 });
      const p = rtp(9, 172);
      pair.inject(0, p, { host: PHONE, port: 4000 });
      pair.inject(1, rtp(10, 8), { host: PHONE, port: 4001 });
      assert.equal(trunk.toNodes.length, 2);
      const [a, b] = trunk.toNodes;
      assert.equal(a!.node, NODE);
      assert.equal(a!.frame[0], 0xd0);
      assert.equal(b!.frame[0], 0xd1);
      assert.equal(frameTag(a!.frame), 0xa1b2c3d4);
      assert.deepEqual([...a!.frame.subarray(1, 5)], [0xa1, 0xb2, 0xc3, 0xd4]);
      assert.deepEqual(a!.frame.subarray(FRAME_HEADER), p);
      assert.equal(a!.frame.length, p.length + 5);
      assert.equal(relay.stats.packets.fromPhones, 2);
      assert.equal(relay.stats.packets.toPeers, 2);
    });

    test('phone → peer without a channel: to the trunk address the peer named', () => {
      const { pair, pl } = call('c1', { peerSide: peer(null) });
      pl.remoteTrunk = { host: '198.51.100.2', port: 41000 };
      pair.inject(0, rtp(1), { host: PHONE, port: 4000 });
      assert.equal(trunk.toNodes.length, 0);
      assert.deepEqual(trunk.toAddrs.map((x) => x.to), [{ host: '198.51.100.2', port: 41000 }]);
      assert.equal(frameTag(trunk.toAddrs[0]!.frame), 0x11223344);
    });

    test('a closed channel or a peer leg without the remote tag drops and counts', () => {
      const { pair, pl } = call();
      trunk.openNodes = new Set();
      pair.inject(0, rtp(1), { host: PHONE, port: 4000 });
      assert.equal(relay.stats.packets.dropped.trunkRefused, 1);
      trunk.openNodes = undefined;
      pl.remoteTag = undefined;
      pair.inject(0, rtp(2), { host: PHONE, port: 4000 });
      assert.equal(relay.stats.packets.dropped.noDestination, 1);
      assert.equal(relay.stats.packets.toPeers, 0);
    });

    test('peer → phone: to the SDP address before latching, payload untouched, from the right component', () => {
      const { pair, pl } = call();
      const p = rtp(5, 60);
      relay.receiveFrame(frame(0, pl.localTag, p), { node: NODE });
      relay.receiveFrame(frame(1, pl.localTag, rtp(6)), { node: NODE });
      assert.deepEqual(pair.sent.map((x) => [x.component, x.to]), [
        [0, { host: PHONE, port: 4000 }],
        [1, { host: PHONE, port: 4001 }],
      ]);
      assert.deepEqual(pair.sent[0]!.data, p);
      assert.equal(relay.stats.packets.fromPeers, 2);
      assert.equal(relay.stats.packets.toPhones, 2);
    });

    test('peer → phone on hold (no SDP destination, not latched): dropped and counted', () => {
      const { leg, pair, pl } = call();
      relay.setPhoneDestination(leg, undefined, undefined, false, []);
      relay.receiveFrame(frame(0, pl.localTag, rtp(1)), { node: NODE });
      assert.equal(pair.sent.length, 0);
      assert.equal(relay.stats.packets.dropped.noDestination, 1);
    });

    test('rtcp-mux: RTCP goes to the RTP address', () => {
      const { pair, pl } = call('c1', { rtcpMux: true, rtcp: false });
      relay.receiveFrame(frame(1, pl.localTag, rtp(1)), { node: NODE });
      assert.equal(pair.sent.length, 1);
      assert.deepEqual(pair.sent[0]!.to, { host: PHONE, port: 4000 });
      pair.inject(0, rtp(2), { host: PHONE, port: 4500 });
      relay.receiveFrame(frame(1, pl.localTag, rtp(3)), { node: NODE });
      assert.deepEqual(pair.sent[1]!.to, { host: PHONE, port: 4500 }, 'the latched RTP address');
    });

    test(
      'rtcp-mux: RTCP to the phone leaves from our RTP port (the one port the phone talks to)',
      () => {
        const { pair, pl } = call('c1', { rtcpMux: true, rtcp: false });
        pair.inject(0, rtp(2), { host: PHONE, port: 4500 });
        relay.receiveFrame(frame(1, pl.localTag, rtp(3)), { node: NODE });
        assert.equal(pair.sent[0]!.component, 0);
      },
    );

    test('a frame with an unknown tag is dropped and counted', () => {
      const { pair, pl } = call();
      relay.receiveFrame(frame(0, (pl.localTag + 1) >>> 0, rtp(1)), { node: NODE });
      assert.equal(pair.sent.length, 0);
      assert.equal(relay.stats.packets.dropped.unknownTag, 1);
    });

    test('a frame from another node than the call’s peer is dropped and counted', () => {
      const { pair, pl } = call();
      relay.receiveFrame(frame(0, pl.localTag, rtp(1)), { node: 'bb'.repeat(16) });
      relay.receiveFrame(frame(0, pl.localTag, rtp(1)), { from: { host: '198.51.100.2', port: 41000 } });
      assert.equal(pair.sent.length, 0);
      assert.equal(relay.stats.packets.dropped.wrongPeer, 2);
    });

    test('trunk frames: only from the host the peer named', () => {
      const { pair, pl } = call('c1', { peerSide: peer(null) });
      pl.remoteTrunk = { host: '198.51.100.2', port: 41000 };
      relay.receiveFrame(frame(0, pl.localTag, rtp(1)), { from: { host: '198.51.100.3', port: 41000 } });
      relay.receiveFrame(frame(0, pl.localTag, rtp(2)), { node: NODE });
      assert.equal(relay.stats.packets.dropped.wrongPeer, 2);
      relay.receiveFrame(frame(0, pl.localTag, rtp(3)), { from: { host: '198.51.100.2', port: 9 } });
      assert.equal(pair.sent.length, 1);
    });

    test('what is not a frame is ignored (RTP, STUN, a bare header)', () => {
      const { pair, pl } = call();
      relay.receiveFrame(rtp(1), { node: NODE });
      relay.receiveFrame(new Uint8Array([0x00, 0x01, 0, 0, 0, 0, 0, 0]), { node: NODE });
      relay.receiveFrame(frame(0, pl.localTag, new Uint8Array(0)), { node: NODE });
      assert.equal(pair.sent.length, 0);
      assert.equal(isMediaFrame(frame(1, 1, rtp(1))), true);
      assert.equal(isMediaFrame(new Uint8Array([0xd2, 0, 0, 0, 1, 1])), false);
      assert.equal(relay.stats.packets.dropped.unknownTag, 0);
    });

    test('ua ↔ ua bridge: each phone’s packets leave from the pair facing the other phone', () => {
      const s = relay.create('b', [ua(), ua('192.168.1.20:5060')]);
      relay.decide(s, 'relay');
      const a = relay.uaLeg(s, 0, 0);
      const b = relay.uaLeg(s, 0, 1);
      assert.notEqual(a.pair.port, b.pair.port);
      relay.setPhoneDestination(a, { host: PHONE, port: 4000 }, { host: PHONE, port: 4001 }, false, [PHONE]);
      relay.setPhoneDestination(b, { host: '192.168.1.20', port: 6000 }, { host: '192.168.1.20', port: 6001 }, false, ['192.168.1.20']);
      ports.pair(a.pair.port).inject(0, rtp(1), { host: PHONE, port: 4000 });
      ports.pair(b.pair.port).inject(0, rtp(2), { host: '192.168.1.20', port: 6000 });
      assert.deepEqual(ports.pair(b.pair.port).sent.map((x) => x.to), [{ host: '192.168.1.20', port: 6000 }]);
      assert.deepEqual(ports.pair(a.pair.port).sent.map((x) => x.to), [{ host: PHONE, port: 4000 }]);
      assert.equal(trunk.toNodes.length, 0);
    });

    test('a packet for a stream with no leg on the other side is dropped and counted', () => {
      const s = relay.create('x', [ua(), peer()]);
      const leg = relay.uaLeg(s, 0, 0);
      relay.setPhoneDestination(leg, { host: PHONE, port: 4000 }, undefined, false, [PHONE]);
      ports.pair(leg.pair.port).inject(0, rtp(1), { host: PHONE, port: 4000 });
      assert.equal(relay.stats.packets.dropped.noDestination, 1);
    });
  });

  describe('legs and tags', () => {
    test('uaLeg and peerLeg are made once; a tag is never 0 and unique', () => {
      const s = relay.create('c', [ua(), peer()]);
      const u = relay.uaLeg(s, 0, 0);
      assert.equal(relay.uaLeg(s, 0, 0), u);
      assert.equal(ports.inUse(), 1);
      const tags = new Set<number>();
      for (let k = 0; k < 16; k++) {
        const pl = relay.peerLeg(s, k, 1);
        assert.equal(relay.peerLeg(s, k, 1), pl);
        assert.notEqual(pl.localTag, 0);
        tags.add(pl.localTag);
      }
      assert.equal(tags.size, 16);
      assert.equal(relay.status().tags, 16);
    });

    test('a peer leg replacing a ua leg closes its ports; a ua leg replacing a peer leg frees its tag', () => {
      const s = relay.create('c', [ua(), peer()]);
      relay.uaLeg(s, 0, 1);
      assert.equal(ports.inUse(), 1);
      const pl = relay.peerLeg(s, 0, 1);
      assert.equal(ports.inUse(), 0);
      assert.equal(relay.status().tags, 1);
      relay.uaLeg(s, 0, 1);
      assert.equal(relay.status().tags, 0);
      relay.receiveFrame(frame(0, pl.localTag, rtp(1)), { node: NODE });
      assert.equal(relay.stats.packets.dropped.unknownTag, 1);
    });

    test('create() of an existing Call-ID returns the session', () => {
      const s = relay.create('c', [ua(), peer()]);
      assert.equal(relay.create('c', [peer(), ua()]), s);
      assert.equal(relay.stats.sessionsTotal, 1);
    });

    test('decide() counts once and direct drops the legs', () => {
      const { s } = call();
      relay.decide(s, 'relay');
      assert.equal(relay.stats.relayedSessionsTotal, 1);
      relay.decide(s, 'direct');
      assert.equal(relay.stats.directSessionsTotal, 0, 'a relayed session going direct is not counted again');
      assert.equal(ports.inUse(), 0);
      assert.equal(relay.status().tags, 0);
      assert.equal(relay.get('c1'), s, 'the session stays');
      const s2 = relay.create('c2', [ua(), peer()]);
      relay.decide(s2, 'direct');
      assert.equal(relay.stats.directSessionsTotal, 1);
    });
  });

  describe('release', () => {
    test('release frees ports and tags at once; later packets and frames go nowhere', () => {
      const { pair, pl } = call();
      relay.peerLeg(relay.get('c1')!, 1, 1);
      assert.equal(ports.inUse(), 1);
      assert.equal(relay.status().tags, 2);
      relay.release('c1', 'bye');
      assert.equal(ports.inUse(), 0);
      assert.equal(pair.closed, true);
      assert.equal(relay.status().tags, 0);
      assert.equal(relay.get('c1'), undefined);
      assert.deepEqual(relay.stats.released, { bye: 1 });
      relay.receiveFrame(frame(0, pl.localTag, rtp(1)), { node: NODE });
      assert.equal(relay.stats.packets.dropped.unknownTag, 1);
      relay.release('c1', 'bye');
      assert.deepEqual(relay.stats.released, { bye: 1 }, 'twice is once');
    });

    test('a released session’s tag does not reach a new session that happens to get the same Call-ID', () => {
      const first = call();
      relay.release('c1', 'bye');
      const second = call();
      relay.receiveFrame(frame(0, first.pl.localTag, rtp(1)), { node: NODE });
      assert.equal(second.pair.sent.length, first.pl.localTag === second.pl.localTag ? 1 : 0);
      assert.notEqual(first.pair, second.pair);
    });

    test('timeout: no packet for timeoutMs releases the session and its ports', () => {
      make({ timeoutMs: 60_000 });
      call();
      clock.advance(59_000);
      assert.ok(relay.get('c1'));
      clock.advance(11_000);
      assert.equal(relay.get('c1'), undefined);
      assert.equal(ports.inUse(), 0);
      assert.deepEqual(relay.stats.released, { timeout: 1 });
    });

    test('packets keep a session alive (either way); touch() does too', () => {
      make({ timeoutMs: 60_000 });
      const { pair, pl, s } = call();
      for (let t = 0; t < 5; t++) {
        clock.advance(40_000);
        if (t % 2 === 0) pair.inject(0, rtp(t), { host: PHONE, port: 4000 });
        else relay.receiveFrame(frame(0, pl.localTag, rtp(t)), { node: NODE });
      }
      assert.ok(relay.get('c1'), 'alive after 200 s of traffic');
      clock.advance(40_000);
      relay.touch(s);
      clock.advance(40_000);
      assert.ok(relay.get('c1'));
      clock.advance(30_000);
      assert.equal(relay.get('c1'), undefined);
    });

    test('dropped packets (strangers) do not keep a session alive', () => {
      make({ timeoutMs: 20_000 });
      const { pair } = call();
      for (let t = 0; t < 10; t++) {
        clock.advance(5_000);
        pair.inject(0, rtp(t), { host: '198.18.9.9', port: 1 });
      }
      assert.equal(relay.get('c1'), undefined);
    });

    test('stop() releases everything and stops the sweep', () => {
      call('a');
      call('b');
      assert.equal(ports.inUse(), 2);
      relay.stop();
      assert.equal(ports.inUse(), 0);
      assert.deepEqual(relay.stats.released, { shutdown: 2 });
      assert.equal(clock.pendingTimers, 0);
    });
  });

  describe('limits', () => {
    test('maxSessions: the next session is a MediaError 503 with Retry-After; a release makes room', () => {
      make({ maxSessions: 2 });
      relay.create('a', [ua(), peer()]);
      relay.create('b', [ua(), peer()]);
      const e = mediaError(() => relay.create('c', [ua(), peer()]));
      assert.equal(e.status, 503);
      assert.equal(e.code, 'MEDIA_SESSIONS_FULL');
      assert.ok(e.retryAfter !== undefined && e.retryAfter > 0);
      assert.equal(relay.stats.refused.sessions, 1);
      assert.ok(relay.create('a', [ua(), peer()]), 'an existing Call-ID is no new session');
      relay.release('a', 'bye');
      assert.ok(relay.create('c', [ua(), peer()]));
    });

    test('port exhaustion: a MediaError 503 with Retry-After; released ports are taken again', () => {
      make({ capacity: 2 });
      const s = relay.create('a', [ua(), ua('192.168.1.20:5060')]);
      relay.uaLeg(s, 0, 0);
      relay.uaLeg(s, 0, 1);
      const s2 = relay.create('b', [ua(), peer()]);
      const e = mediaError(() => relay.uaLeg(s2, 0, 0));
      assert.equal(e.status, 503);
      assert.equal(e.reason, 'Service Unavailable');
      assert.equal(e.code, 'MEDIA_PORTS_EXHAUSTED');
      assert.ok(e.retryAfter !== undefined && e.retryAfter > 0);
      assert.equal(relay.stats.refused.ports, 1);
      assert.equal(s2.streams[0]!.legs[0], undefined, 'no half-made leg');
      relay.release('a', 'bye');
      assert.equal(ports.inUse(), 0);
      relay.uaLeg(s2, 0, 0);
      assert.equal(ports.inUse(), 1);
    });

    test('status() reports sessions, relayed ones, ports and tags', () => {
      call('a');
      relay.create('b', [ua(), peer()]);
      const st = relay.status();
      assert.equal(st.activeSessions, 2);
      assert.equal(st.relayedActive, 1);
      assert.equal(st.portsInUse, 1);
      assert.equal(st.tags, 1);
      assert.equal(relay.trunkAddress(), undefined);
      make({ trunkAddr: { host: '0.0.0.0', port: 41000 } });
      assert.deepEqual(relay.trunkAddress(), { host: '0.0.0.0', port: 41000 });
    });
  });

  describe('bundles', () => {
    /** The turns' ends, run by hand. */
    let turnEnds: (() => void)[];
    function endTurn(): void {
      const fns = turnEnds;
      turnEnds = [];
      for (const fn of fns) fn();
    }
    function makeBundling(bundleBytes?: number): void {
      clock = new ManualClock(1_000);
      ports = new FakeMediaPorts(100);
      trunk = new FakeMediaTrunk();
      turnEnds = [];
      relay = new MediaRelay({ clock, random: new SeededRandom(7), ports, trunk, afterTurn: (fn) => turnEnds.push(fn) }, bundleBytes === undefined ? {} : { bundleBytes });
      relay.start();
    }
    /** Splits a bundle into its frames (asserting its layout). */
    function unbundle(d: Uint8Array): Uint8Array[] {
      assert.equal(d[0], BUNDLE_MARK);
      const out: Uint8Array[] = [];
      for (let i = 1; i < d.length; ) {
        const n = (d[i]! << 8) | d[i + 1]!;
        out.push(d.subarray(i + 2, i + 2 + n));
        i += 2 + n;
      }
      return out;
    }
    /** A bundle of the given frames. */
    function bundle(frames: readonly Uint8Array[]): Uint8Array {
      const parts: number[] = [BUNDLE_MARK];
      for (const f of frames) parts.push(f.length >> 8, f.length & 0xff, ...f);
      return Uint8Array.from(parts);
    }

    test('frames for one peer in one turn leave together at its end, in order, as one bundle', () => {
      makeBundling();
      const a = call('a');
      const b = call('b', { remoteTag: 0x55667788 });
      a.pl.remoteBundles = true;
      b.pl.remoteBundles = true;
      a.pair.inject(0, rtp(1), { host: PHONE, port: 4000 });
      b.pair.inject(0, rtp(2), { host: PHONE, port: 4000 });
      a.pair.inject(1, rtp(3), { host: PHONE, port: 4001 });
      assert.equal(trunk.toNodes.length, 0, 'nothing before the turn ends');
      assert.equal(turnEnds.length, 1, 'one flush queued');
      endTurn();
      assert.equal(trunk.toNodes.length, 1);
      const frames = unbundle(trunk.toNodes[0]!.frame);
      assert.deepEqual(frames.map((f) => [f[0], frameTag(f), f.subarray(FRAME_HEADER)[3]]), [[0xd0, 0x11223344, 1], [0xd0, 0x55667788, 2], [0xd1, 0x11223344, 3]]);
      assert.deepEqual(relay.stats.bundles, { out: 1, framesOut: 3, in: 0, framesIn: 0 });
      assert.equal(relay.stats.packets.toPeers, 3);
    });

    test('a frame alone in its turn goes out as a plain frame', () => {
      makeBundling();
      const a = call('a');
      a.pl.remoteBundles = true;
      a.pair.inject(0, rtp(1), { host: PHONE, port: 4000 });
      endTurn();
      assert.deepEqual(Array.from(trunk.toNodes[0]!.frame), Array.from(frame(0, 0x11223344, rtp(1))));
      assert.equal(relay.stats.bundles.out, 0);
    });

    test('a bundle never passes bundleBytes; a frame too big for one goes alone, after what waited', () => {
      makeBundling(200);
      const a = call('a');
      a.pl.remoteBundles = true;
      // 2 + 5 + 60 = 67 bytes a frame: two fit in 200 (1 + 134), the third starts a new bundle
      for (let i = 1; i <= 5; i++) a.pair.inject(0, rtp(i, 60), { host: PHONE, port: 4000 });
      a.pair.inject(0, rtp(6, 300), { host: PHONE, port: 4000 });
      a.pair.inject(0, rtp(7, 60), { host: PHONE, port: 4000 });
      endTurn();
      const sent = trunk.toNodes.map((t) => t.frame);
      assert.ok(sent.every((d) => d.length <= 200 || d[0] !== BUNDLE_MARK));
      const seqs = sent.flatMap((d) => (d[0] === BUNDLE_MARK ? unbundle(d) : [d])).map((f) => f.subarray(FRAME_HEADER)[3]);
      assert.deepEqual(seqs, [1, 2, 3, 4, 5, 6, 7], 'the stream keeps its order');
      assert.deepEqual(sent.map((d) => (d[0] === BUNDLE_MARK ? unbundle(d).length : 0)), [2, 2, 0, 0, 0], '2 + 2 bundled, the 5th alone (then the big one came), the big one, the last alone');
    });

    test('to a relay that takes no bundles every frame goes at once, after what waited for the same peer', () => {
      makeBundling();
      const a = call('a');
      const b = call('b', { remoteTag: 0x55667788 });
      a.pl.remoteBundles = true;
      a.pair.inject(0, rtp(1), { host: PHONE, port: 4000 });
      b.pair.inject(0, rtp(2), { host: PHONE, port: 4000 });
      assert.deepEqual(trunk.toNodes.map((t) => frameTag(t.frame)), [0x11223344, 0x55667788]);
      endTurn();
      assert.equal(trunk.toNodes.length, 2);
    });

    test('without afterTurn (or bundleBytes 0) nothing waits', () => {
      make();
      const a = call('a');
      a.pl.remoteBundles = true;
      a.pair.inject(0, rtp(1), { host: PHONE, port: 4000 });
      assert.equal(trunk.toNodes.length, 1);
      makeBundling(0);
      const b = call('b');
      b.pl.remoteBundles = true;
      b.pair.inject(0, rtp(1), { host: PHONE, port: 4000 });
      assert.equal(trunk.toNodes.length, 1);
      assert.equal(turnEnds.length, 0);
      assert.throws(() => new MediaRelay({ clock, random: new SeededRandom(1), ports, trunk, afterTurn: () => {} }, { bundleBytes: 70_000 }), RangeError);
    });

    test('a frame the peer refuses counts every frame of its bundle', () => {
      makeBundling();
      trunk.openNodes = new Set();
      const a = call('a');
      a.pl.remoteBundles = true;
      a.pair.inject(0, rtp(1), { host: PHONE, port: 4000 });
      a.pair.inject(0, rtp(2), { host: PHONE, port: 4000 });
      endTurn();
      assert.equal(relay.stats.packets.dropped.trunkRefused, 2);
      assert.equal(relay.stats.packets.toPeers, 0);
    });

    test('a bundle received: each frame to its phone; a bad length stops it there, counted', () => {
      makeBundling();
      const a = call('a');
      const b = call('b');
      relay.receiveFrame(bundle([frame(0, a.pl.localTag, rtp(1)), frame(0, b.pl.localTag, rtp(2)), frame(1, a.pl.localTag, rtp(3))]), { node: NODE });
      assert.deepEqual(a.pair.sent.map((p) => [p.component, p.data[3]]), [[0, 1], [1, 3]]);
      assert.deepEqual(b.pair.sent.map((p) => [p.component, p.data[3]]), [[0, 2]]);
      assert.deepEqual(relay.stats.bundles, { out: 0, framesOut: 0, in: 1, framesIn: 3 });
      const good = bundle([frame(0, a.pl.localTag, rtp(4))]);
      for (const bad of [
        Uint8Array.from([...good, 0x00]), // a length cut short
        Uint8Array.from([...good, 0x00, 0x40, 0xd0, 1, 2]), // a length past the end
        Uint8Array.from([...good, 0x00, 0x03, 0xd0, 1, 2]), // shorter than a frame header
        Uint8Array.from([...good, 0x00, 0x06, 0x80, 1, 2, 3, 4, 5]), // not a frame
      ]) relay.receiveFrame(bad, { node: NODE });
      assert.equal(relay.stats.packets.dropped.malformedBundle, 4);
      assert.equal(a.pair.sent.length, 2 + 4, 'the good frame before each bad one was delivered');
      relay.receiveFrame(bundle([frame(0, a.pl.localTag, rtp(5))]), { node: 'bb'.repeat(16) });
      assert.equal(relay.stats.packets.dropped.wrongPeer, 1, 'frames in a bundle are checked like any');
    });
  });
});
