/**
 * Issue 13 on real sockets in one process: two peers (startPeer, real overlay over TLS, real SIP
 * fronts and media relays on loopback), registrations in one shared in-memory table. A call from
 * a phone at B to a phone at A with `--media relay`: the phones get the peers' relay ports in their
 * SDP, RTP crosses both relays (between the peers: the UDP trunk without --ice, the SIP channel's
 * ICE path with --ice), a stranger's packets are dropped, BYE releases every port; `auto` leaves the
 * SDP alone on one machine; 1,000 m-lines get 488; an exhausted port range gets 503 + Retry-After.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SystemClock } from '../../src/platform/system-clock.js';
import type { MediaConfig } from '../../src/node/peer-config.js';
import { startPeer, type RunningPeer } from '../../src/node/run-peer.js';
import { MemoryRegistrationStore } from '../support/usages/memory-registration-store.js';
import { loopbackPeerConfig } from './helpers/loopback-peer-config.js';
import { SdpPhone, audioAddress, bodyOf } from './helpers/sdp-phone.js';
import { until } from './helpers/until.js';

const OVERLAY = 'p2psip.local';
const quiet = { info: () => {}, warn: () => {} };

interface MediaStatus {
  activeSessions: number;
  portsInUse: number;
  packets: { fromPhones: number; toPhones: number; fromPeers: number; toPeers: number; dropped: { unlatched: number; rateLimited: number } };
  ports: { trunkIn: number; ready: number } | null;
  bundles: { out: number; framesOut: number; in: number; framesIn: number };
}

describe('media relay between two peers on real sockets', { timeout: 120_000 }, () => {
  const peers: RunningPeer[] = [];
  const dirs: string[] = [];
  const phones: SdpPhone[] = [];
  after(async () => {
    for (const ph of phones) ph.close();
    for (const p of peers) await p.stop().catch(() => {});
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function peer(store: MemoryRegistrationStore, bootstrap: Array<{ host: string; port: number }>, media: MediaConfig, ice = false): Promise<RunningPeer> {
    const dataDir = mkdtempSync(join(tmpdir(), 'p2psip-media-'));
    dirs.push(dataDir);
    const config = loopbackPeerConfig(dataDir, bootstrap, { overlay: OVERLAY, media }, ice ? { ice: true } : {});
    const p = await startPeer(config, quiet, { registrationDirectory: (o) => store.forNode(o.node.idBytes) });
    peers.push(p);
    return p;
  }
  const udp = (p: RunningPeer): { host: string; port: number } => p.sipAddresses.find((x) => x.protocol === 'udp')!;
  const mediaOf = (p: RunningPeer): MediaStatus => p.media!.status() as unknown as MediaStatus;

  async function pair(ice: boolean, mode: MediaConfig['mode'], base: number): Promise<{ a: RunningPeer; b: RunningPeer; alice: SdpPhone; bob: SdpPhone }> {
    const store = new MemoryRegistrationStore(new SystemClock());
    const a = await peer(store, [], { mode, range: [base, base + 199], timeoutMs: 60_000 }, ice);
    const boot = a.overlay!.listen!;
    const b = await peer(store, [{ host: boot.host, port: boot.port }], { mode, range: [base + 200, base + 399], timeoutMs: 60_000 }, ice);
    await until('joined', 20_000, () => (peers.find((p) => p.overlay!.node.state !== 'joined') === undefined ? undefined : 'joining'));
    const alice = await SdpPhone.open('alice', udp(a), OVERLAY);
    const bob = await SdpPhone.open('bob', udp(b), OVERLAY);
    phones.push(alice, bob);
    assert.match(await alice.register(), /^SIP\/2\.0 200/);
    assert.match(await bob.register(), /^SIP\/2\.0 200/);
    return { a, b, alice, bob };
  }

  async function relayedCall(ice: boolean, base: number): Promise<void> {
    const { a, b, alice, bob } = await pair(ice, 'relay', base);
    const calling = bob.invite('alice', bob.sdp());
    const invite = await alice.waitRequest('INVITE', 15_000);
    const offer = bodyOf(invite);
    // alice is told to send to A's relay, never to bob's own port
    const toA = audioAddress(offer);
    assert.notEqual(toA.port, bob.rtpPort, offer);
    assert.doesNotMatch(offer, /p2psip-/, 'our attributes never reach a phone');
    assert.match(offer, /a=rtpmap:101 telephone-event\/8000/);
    alice.answer(invite, 200, 'OK', alice.sdp());
    const { final } = await calling;
    assert.match(final, /^SIP\/2\.0 200/);
    const answer = bodyOf(final);
    const toB = audioAddress(answer);
    assert.notEqual(toB.port, alice.rtpPort, answer);
    assert.doesNotMatch(answer, /p2psip-/);
    bob.inDialog('ACK', final);

    // bob → B's relay → A's relay → alice, and back
    bob.sendRtp(toB, 50);
    await alice.waitRtp(50);
    alice.sendRtp(toA, 50, 0x5678);
    await bob.waitRtp(50);
    assert.equal(alice.rtpIn[7]!.payload[0], (7 + 12) & 0xff, 'payload untouched');
    assert.equal(alice.rtpIn[0]!.from, `127.0.0.1:${toA.port}`, 'alice hears from the port she sends to (symmetric RTP)');

    // a stranger sending to B's latched port is dropped
    const stranger = createSocket('udp4');
    await new Promise<void>((r) => stranger.bind(0, '127.0.0.1', () => r()));
    const before = mediaOf(b).packets.dropped.unlatched;
    bob.sendRtp(toB, 10, 0x9999, stranger);
    await until('stranger dropped', 5_000, () => (mediaOf(b).packets.dropped.unlatched >= before + 10 ? undefined : 'not yet'));
    stranger.close();
    assert.equal(alice.rtpIn.filter((p) => p.payload.length === 160).length, 50, 'nothing of the stranger reached alice');

    // between the peers: the SIP channel with ICE, the UDP trunk without
    // (bob's 50 packets left in one burst: B's relay sent them in bundles, as many as one turn held)
    for (const m of [mediaOf(a), mediaOf(b)]) {
      assert.equal(m.packets.fromPeers, 50);
      if (ice) assert.equal(m.ports!.trunkIn, 0, 'inside the SIP channel, not the trunk');
      else assert.equal(m.ports!.trunkIn, m.bundles.in + (m.packets.fromPeers - m.bundles.framesIn), 'every datagram at the trunk a frame or a bundle');
    }
    assert.equal(mediaOf(b).bundles.framesOut, mediaOf(a).bundles.framesIn, 'what B bundled, A unbundled');
    assert.ok(mediaOf(b).bundles.out > 0, `B bundled bob's burst: ${JSON.stringify(mediaOf(b).bundles)}`);
    assert.equal(mediaOf(a).activeSessions, 1);
    assert.equal(mediaOf(b).activeSessions, 1);
    bob.inDialog('BYE', final);
    await alice.waitRequest('BYE');
    await until('ports released', 5_000, () => (mediaOf(a).portsInUse + mediaOf(b).portsInUse === 0 && mediaOf(a).activeSessions + mediaOf(b).activeSessions === 0 ? undefined : JSON.stringify([mediaOf(a), mediaOf(b)])));
  }

  test('relay, peers without ICE (UDP trunk): RTP both ways, stranger dropped, BYE releases', async () => {
    await relayedCall(false, 11000);
  });

  test('relay, peers with ICE (inside the SIP channel): RTP both ways, BYE releases', async () => {
    await relayedCall(true, 11500);
  });

  test('auto on one machine: the SDP passes untouched; 488 for 1,000 m-lines', async () => {
    const { a, b, alice, bob } = await pair(false, 'auto', 12000);
    const calling = bob.invite('alice', bob.sdp());
    const invite = await alice.waitRequest('INVITE', 15_000);
    assert.equal(audioAddress(bodyOf(invite)).port, bob.rtpPort);
    assert.doesNotMatch(bodyOf(invite), /p2psip-/);
    alice.answer(invite, 200, 'OK', alice.sdp());
    const { final } = await calling;
    assert.equal(audioAddress(bodyOf(final)).port, alice.rtpPort);
    bob.inDialog('ACK', final);
    assert.equal(mediaOf(a).portsInUse + mediaOf(b).portsInUse, 0);

    const many = Array.from({ length: 1000 }, (_, i) => `m=audio ${40000 + 2 * i} RTP/AVP 0`);
    const { final: refused } = await bob.invite('alice', bob.sdp(many));
    assert.match(refused, /^SIP\/2\.0 488 /, refused.split('\r\n')[0]);
  });

  /** Two phones at one peer (relay mode: bridged between two port pairs); `range` sized by the test. */
  async function onePeer(range: [number, number], maxPacketsPerSecond?: number): Promise<{ a: RunningPeer; phone: (name: string) => Promise<SdpPhone> }> {
    const store = new MemoryRegistrationStore(new SystemClock());
    const a = await peer(store, [], { mode: 'relay', range, timeoutMs: 60_000, ...(maxPacketsPerSecond === undefined ? {} : { maxPacketsPerSecond }) });
    await until('joined', 20_000, () => (a.overlay!.node.state === 'joined' ? undefined : 'joining'));
    return {
      a,
      phone: async (name) => {
        const p = await SdpPhone.open(name, udp(a), OVERLAY);
        phones.push(p);
        assert.match(await p.register(), /^SIP\/2\.0 200/);
        return p;
      },
    };
  }

  async function call(from: SdpPhone, to: SdpPhone): Promise<{ final: string; toCallee: { host: string; port: number }; toCaller: { host: string; port: number } }> {
    const calling = from.invite(to.name, from.sdp());
    const invite = await to.waitRequest('INVITE', 15_000);
    to.answer(invite, 200, 'OK', to.sdp());
    const { final } = await calling;
    assert.match(final, /^SIP\/2\.0 200/);
    from.inDialog('ACK', final);
    to.sip.received.length = 0;
    return { final, toCallee: audioAddress(bodyOf(invite)), toCaller: audioAddress(bodyOf(final)) };
  }

  test('an offer that would exhaust the port range gets 503 + Retry-After, the peer goes on serving', async () => {
    // 14000 is the trunk; pairs at 14002, 14004, 14006 (below the ephemeral ports: nobody else binds there): one bridged call takes two
    const { a, phone } = await onePeer([14000, 14007]);
    const [carol, dave, erin] = [await phone('carol'), await phone('dave'), await phone('erin')];
    await until('pool ready', 5_000, () => ((mediaOf(a).ports?.ready ?? 0) >= 3 ? undefined : JSON.stringify(mediaOf(a).ports)));
    const first = await call(carol, dave);
    assert.equal(mediaOf(a).portsInUse, 2);
    const { final: refused } = await erin.invite('dave', erin.sdp());
    assert.match(refused, /^SIP\/2\.0 503 /, refused.split('\r\n')[0]);
    assert.match(refused, /^Retry-After: \d+/m);
    assert.equal(mediaOf(a).portsInUse, 2, 'what the refused call took is released');
    // the established call still has its media
    carol.sendRtp(first.toCaller, 20);
    await dave.waitRtp(20);
    carol.inDialog('BYE', first.final);
    await dave.waitRequest('BYE');
    await until('released and ready again', 5_000, () => (mediaOf(a).portsInUse === 0 && (mediaOf(a).ports?.ready ?? 0) >= 2 ? undefined : JSON.stringify(mediaOf(a))));
    const again = await call(erin, dave);
    erin.sendRtp(again.toCaller, 10);
    await dave.waitRtp(30);
  });

  test('RTP floods: a stranger is dropped, a phone past its rate is cut, another call and OPTIONS go on', async () => {
    // 200 packets/s per phone (bursts of 400): however many of the flood's packets the kernel keeps
    // on a busy machine, fay's are far past it
    const { a, phone } = await onePeer([15000, 15199], 200);
    const [fay, gus, hal, ivy] = [await phone('fay'), await phone('gus'), await phone('hal'), await phone('ivy')];
    const one = await call(fay, gus);
    const two = await call(hal, ivy);
    fay.sendRtp(one.toCaller, 5); // fay latches
    await gus.waitRtp(5);
    const rss0 = process.memoryUsage().rss;
    const stranger = createSocket('udp4');
    await new Promise<void>((r) => stranger.bind(0, '127.0.0.1', () => r()));
    const before = { ...mediaOf(a).packets.dropped };
    const t0 = Date.now();
    try {
      // 10,000 packets from a stranger at fay's latched port and 10,000 from fay herself (far past
      // 2,000/s), in bursts the peer (this process) reads between; the two alternate packet by
      // packet, so what the kernel drops when the peer falls behind (a loaded machine) is as much
      // of one as of the other (stranger's 50 then fay's 50 left fay's dropped: 338 rate-limited)
      for (let i = 0; i < 200; i++) {
        for (let k = 0; k < 50; k++) {
          fay.sendRtp(one.toCaller, 1, 0x5555, stranger);
          fay.sendRtp(one.toCaller, 1);
        }
        await new Promise((r) => setTimeout(r, 2));
      }
      // the other call keeps its media, and the SIP front answers
      hal.sendRtp(two.toCaller, 50, 0x4444); // hal's own call (its own bucket)
      await ivy.waitRtp(50);
      const { final: nobody } = await hal.invite('nobody', hal.sdp());
      assert.match(nobody, /^SIP\/2\.0 404/);
      await until('flood counted', 10_000, () => {
        const d = mediaOf(a).packets.dropped;
        return d.unlatched - before.unlatched >= 1_000 && d.rateLimited - before.rateLimited >= 500 ? undefined : JSON.stringify(d);
      });
    } finally {
      stranger.close();
    }
    const seconds = (Date.now() - t0) / 1000;
    const after = mediaOf(a).packets.dropped;
    // fay's bucket (400) plus 200/s while the flood lasted, plus her 5 first packets; none of the stranger's
    const bound = 5 + 400 + Math.ceil(200 * seconds);
    assert.ok(gus.rtpIn.length <= bound, `gus got ${gus.rtpIn.length}, at most ${bound}`);
    assert.equal(gus.rtpIn.filter((p) => p.ssrc === 0x5555).length, 0, 'nothing of the stranger reached gus');
    const grown = (process.memoryUsage().rss - rss0) / 1024 / 1024;
    console.log(`flood: stranger dropped ${after.unlatched - before.unlatched}, rate-limited ${after.rateLimited - before.rateLimited}, gus got ${gus.rtpIn.length} in ${seconds.toFixed(2)} s, RSS +${grown.toFixed(1)} MiB`);
    assert.ok(grown < 100, `RSS grew ${grown.toFixed(1)} MiB during the flood`);
  });
});
