/**
 * Two peers that AppAttach to each other at the same moment (both have a call for the other) open
 * one SIP channel, not two: RFC 6940 §6.5.1.2's tie-break, which §6.5.2 carries over to AppAttach.
 * The peer with the larger Node-ID answers Error_In_Progress while its own AppAttach waits; the smaller
 * cancels its own and answers. Both then send SIP over the one channel. A fake ICE fabric pairs the
 * two ends of an AppAttach (the ufrags of request and answer) and reports the link up on both sides.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { SeededRandom } from '../../../../src/lib/random.js';
import type { AttachReqAns, Destination } from '../../../../src/reload/codec/index.js';
import type { LinkLayerUser } from '../../../../src/reload/link/link-layer.js';
import type { IceAttachParams, InboundRequest, OverlayAnswer } from '../../../../src/reload/overlay/overlay-types.js';
import type { TransportAddress } from '../../../../src/sip/transport/sip-transport.js';
import { appAttachHandler } from '../../../../src/usages/sip/app-attach-handler.js';
import { SipChannels, type SipChannelLinks } from '../../../../src/usages/sip/sip-channels.js';
import { SipPeerLocator, type OverlayRequest } from '../../../../src/usages/sip/sip-peer-locator.js';

const utf8 = new TextDecoder();

/** Pairs ICE agents by ufrags: (local u, remote v) on one side meets (v, u) on the other → up after 100 ms. */
class Fabric {
  private readonly started = new Map<string, { side: FakeLinks; id: string; remoteUfrag: string }>();
  constructor(readonly clock: ManualClock) {}

  start(side: FakeLinks, id: string, localUfrag: string, remoteUfrag: string): void {
    const other = this.started.get(remoteUfrag);
    if (other !== undefined && other.remoteUfrag === localUfrag && other.side !== side) {
      this.started.delete(remoteUfrag);
      this.clock.setTimer(100, () => {
        side.up(id, other.side.address);
        other.side.up(other.id, side.address);
      });
      return;
    }
    this.started.set(localUfrag, { side, id, remoteUfrag });
    // no partner within the ICE deadline: the agent fails
    this.clock.setTimer(10_000, () => {
      if (this.started.get(localUfrag)?.id === id) {
        this.started.delete(localUfrag);
        side.fail(id);
      }
    });
  }
}

class FakeLinks implements SipChannelLinks {
  private n = 0;
  private user: LinkLayerUser | undefined;
  readonly released: string[] = [];
  readonly sent: Array<{ id: string; data: string }> = [];
  private readonly open = new Set<string>();

  constructor(
    readonly name: string,
    readonly address: TransportAddress,
    private readonly fabric: Fabric,
  ) {}

  prepare(): IceAttachParams {
    const ufrag = `${this.name}${++this.n}`;
    return { ufrag, password: 'p'.repeat(22), candidates: [{ addrPort: { type: 'ipv4', addr: new Uint8Array([192, 0, 2, 1]), port: this.address.port }, overlayLink: 3, foundation: new Uint8Array([1]), priority: 1, type: 'host', extensions: [] }] };
  }
  accepts(): boolean {
    return true;
  }
  start(local: IceAttachParams, remote: AttachReqAns): string {
    const id = `${this.name}:link${++this.n}`;
    this.fabric.start(this, id, local.ufrag, utf8.decode(remote.ufrag));
    return id;
  }
  release(local: IceAttachParams): void {
    this.released.push(local.ufrag);
  }
  send(linkId: string, data: Uint8Array): boolean {
    if (!this.open.has(linkId)) return false;
    this.sent.push({ id: linkId, data: utf8.decode(data) });
    return true;
  }
  close(linkId: string): void {
    this.open.delete(linkId);
  }
  setUser(user: LinkLayerUser): void {
    this.user = user;
  }
  up(id: string, remote: TransportAddress): void {
    this.open.add(id);
    this.user?.onLinkUp({ id, remote: { host: remote.host, port: remote.port }, local: { host: this.address.host, port: this.address.port }, outbound: true, peerCertificate: new Uint8Array(0) } as unknown as Parameters<LinkLayerUser['onLinkUp']>[0]);
  }
  fail(id: string): void {
    this.user?.onLinkDown(id, 'failed');
  }
}

interface Peer {
  nodeId: Uint8Array;
  links: FakeLinks;
  channels: SipChannels;
  locator: SipPeerLocator;
  handle: (req: InboundRequest) => ReturnType<ReturnType<typeof appAttachHandler>>;
}

function peers(clock: ManualClock, rttMs: number): [Peer, Peer] {
  const fabric = new Fabric(clock);
  const random = new SeededRandom(7);
  const make = (name: string, idByte: number, host: string): Peer => {
    const nodeId = new Uint8Array(16).fill(idByte);
    const sip: TransportAddress = { protocol: 'udp', host, port: 5060 };
    const links = new FakeLinks(name, { protocol: 'udp', host, port: 40000 + idByte }, fabric);
    const channels = new SipChannels(links, clock, { selfNodeId: nodeId });
    const handle = appAttachHandler({ random, sipAddresses: () => [sip], channels });
    const p: Peer = { nodeId, links, channels, handle, locator: undefined as unknown as SipPeerLocator };
    return p;
  };
  const a = make('a', 0x11, '10.0.1.10');
  const b = make('b', 0xee, '10.0.2.10');
  // the overlay: a request reaches the other peer's handler after half an RTT, its answer comes back after the other half
  const overlayOf = (self: Peer, other: () => Peer): OverlayRequest =>
    (_dest: Destination[], code: number, body: Uint8Array) =>
      new Promise<OverlayAnswer>((resolve) => {
        clock.setTimer(rttMs / 2, () => {
          const reply = other().handle({ code, body, origin: self.nodeId } as unknown as InboundRequest);
          clock.setTimer(rttMs / 2, () =>
            resolve('error' in reply ? { ok: false, errorCode: reply.error, info: reply.info, responder: other().nodeId, hops: 1 } : { ok: true, code: reply.code, body: reply.body, responder: other().nodeId, hops: 1, signer: undefined }),
          );
        });
      });
  a.locator = new SipPeerLocator({ clock, random, request: overlayOf(a, () => b), sipAddresses: () => [{ protocol: 'udp', host: '10.0.1.10', port: 5060 }], channels: a.channels });
  b.locator = new SipPeerLocator({ clock, random, request: overlayOf(b, () => a), sipAddresses: () => [{ protocol: 'udp', host: '10.0.2.10', port: 5060 }], channels: b.channels });
  return [a, b];
}

async function settle(clock: ManualClock, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 10) {
    clock.advance(10);
    for (let i = 0; i < 5; i++) await Promise.resolve();
  }
}

describe('SIP channels: two peers AppAttaching to each other at once (RFC 6940 §6.5.1.2)', () => {
  for (const rtt of [20, 100]) {
    test(`one channel, not two, and both locate each other (overlay RTT ${rtt} ms)`, async () => {
      const clock = new ManualClock(0);
      const [a, b] = peers(clock, rtt);
      const ra = a.locator.locate(b.nodeId);
      const rb = b.locator.locate(a.nodeId);
      await settle(clock, 2_000);
      const [la, lb] = await Promise.all([ra, rb]);
      assert.ok(la.ok, JSON.stringify(la));
      assert.ok(lb.ok, JSON.stringify(lb));
      assert.equal(a.channels.stats.opened, 1, 'a opened one channel');
      assert.equal(b.channels.stats.opened, 1, 'b opened one channel');
      // b (the larger Node-ID) refused a's AppAttach; a (the smaller) gave up its own and answered b's
      assert.equal(b.channels.stats.glareRefused, 1);
      assert.equal(a.channels.stats.glareCancelled, 1);
      // each side located the other at the address the other announced, served by the one channel
      assert.deepEqual(la.address, { protocol: 'udp', host: '10.0.2.10', port: 5060 });
      assert.deepEqual(lb.address, { protocol: 'udp', host: '10.0.1.10', port: 5060 });
      assert.ok(a.channels.send(la.address, new TextEncoder().encode('INVITE a→b')));
      assert.ok(b.channels.send(lb.address, new TextEncoder().encode('INVITE b→a')));
      assert.equal(a.links.sent.length, 1);
      assert.equal(b.links.sent.length, 1);
      // the cancelled AppAttach's ICE parameters were given back
      assert.ok(a.links.released.length >= 1);
    });
  }

  test('one after the other: no tie-break, the existing channel serves the second', async () => {
    const clock = new ManualClock(0);
    const [a, b] = peers(clock, 40);
    const ra = a.locator.locate(b.nodeId);
    await settle(clock, 1_000);
    const la = await ra;
    assert.ok(la.ok);
    const rb = b.locator.locate(a.nodeId);
    await settle(clock, 100);
    const lb = await rb;
    assert.ok(lb.ok);
    assert.equal(a.channels.stats.opened + b.channels.stats.opened, 2, 'one channel, seen from both ends');
    assert.equal(a.channels.stats.glareCancelled + a.channels.stats.glareRefused + b.channels.stats.glareCancelled + b.channels.stats.glareRefused, 0);
  });

  test('the winner of the tie-break vanishes: the loser gets no channel within the open timeout, and says so', async () => {
    const clock = new ManualClock(0);
    const [a, b] = peers(clock, 40);
    // b's AppAttach is in flight (awaiting) when a's arrives, then b is gone: nothing ever opens
    b.channels.beginOutgoing(Buffer.from(a.nodeId).toString('hex'));
    const ra = a.locator.locate(b.nodeId);
    await settle(clock, 13_000);
    const la = await ra;
    assert.equal(la.ok, false);
    assert.match((la as { info: string }).info, /in progress/);
  });
});
