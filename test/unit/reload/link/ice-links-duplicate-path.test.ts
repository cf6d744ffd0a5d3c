/**
 * Two peers Attach to each other at the same moment: two ICE sessions, one path (host↔host), and a
 * DTLS association is known by its path alone — so one of the two links must go, and it must be the
 * same one on both ends (else each end keeps a different one: server facing server, or client facing
 * client, and the handshake never completes — seen in the NAT lab). Both ends keep the link asked for
 * by the smaller Node-ID: at the smaller peer it is the one it controls, at the larger the one it is
 * controlled in. IceLinks on real NatPorts over an in-memory network (ManualClock, SeededRandom).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { SeededRandom } from '../../../../src/lib/random.js';
import type { DatagramSocket, UdpAddress } from '../../../../src/nat/datagram-socket.js';
import { NatPort } from '../../../../src/nat/nat-port.js';
import type { AttachReqAns } from '../../../../src/reload/codec/index.js';
import type { IceAttachParams } from '../../../../src/reload/overlay/overlay-types.js';
import { IceLinks } from '../../../../src/reload/link/ice-links.js';
import type { SecureChannel, SecureChannelEvents, SecureChannelFactory } from '../../../../src/reload/link/ice-links.js';
import type { LinkLayerUser } from '../../../../src/reload/link/link-layer.js';

const utf8 = new TextEncoder();

class Net {
  readonly nodes = new Map<string, NatPort>();
  constructor(readonly clock: ManualClock) {}
  socket(local: UdpAddress): DatagramSocket {
    const net = this;
    return {
      local,
      send(d: Uint8Array, to: UdpAddress): void {
        const copy = d.slice();
        net.clock.setTimer(1, () => net.nodes.get(`${to.host}:${to.port}`)?.receive(copy, local));
      },
    };
  }
}

/** DTLS stand-in that records the role each kept link took and opens at once. */
class RoleChannels implements SecureChannelFactory {
  readonly roles: string[] = [];
  create(role: 'client' | 'server', _send: (d: Uint8Array) => void, events: SecureChannelEvents): SecureChannel {
    this.roles.push(role);
    return { start: () => events.onOpen(Uint8Array.of(1)), receive: () => {}, send: () => true, close: () => {} };
  }
}

function peer(net: Net, host: string, id: number, seed: number) {
  const local = { host, port: 6084 };
  const nat = new NatPort({ socket: net.socket(local), clock: net.clock, random: new SeededRandom(seed) });
  net.nodes.set(`${host}:6084`, nat);
  const channels = new RoleChannels();
  const selfNodeId = new Uint8Array(16).fill(id);
  const links = new IceLinks({ clock: net.clock, random: new SeededRandom(seed + 7), plane: nat, candidates: () => [{ type: 'host', address: local, base: 'host' }], channels, selfNodeId });
  const up: string[] = [];
  const down: string[] = [];
  const user: LinkLayerUser = { onLinkUp: (l) => up.push(l.id), onLinkMessage: () => {}, onLinkDown: (id) => down.push(id) };
  links.setUser(user);
  return { links, channels, selfNodeId, up, down };
}

const body = (p: IceAttachParams): AttachReqAns => ({ ufrag: utf8.encode(p.ufrag), password: utf8.encode(p.password), role: utf8.encode('passive'), candidates: [...p.candidates], sendUpdate: false });

describe('IceLinks: two Attaches on one path', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    test(`both ends keep the link the smaller Node-ID asked for (seed ${seed})`, async () => {
      const clock = new ManualClock();
      const net = new Net(clock);
      const small = peer(net, '192.0.2.1', 0x11, seed);
      const large = peer(net, '192.0.2.2', 0x22, seed + 50);
      // each sends an Attach request and answers the other's, at the same moment
      const smallOffer = small.links.prepare(true)!;
      const largeOffer = large.links.prepare(true)!;
      const smallAnswer = small.links.prepare(false)!;
      const largeAnswer = large.links.prepare(false)!;
      assert.equal(typeof small.links.start(smallAnswer, body(largeOffer), false, large.selfNodeId), 'string');
      assert.equal(typeof large.links.start(largeAnswer, body(smallOffer), false, small.selfNodeId), 'string');
      assert.equal(typeof small.links.start(smallOffer, body(largeAnswer), true, large.selfNodeId), 'string');
      assert.equal(typeof large.links.start(largeOffer, body(smallAnswer), true, small.selfNodeId), 'string');
      for (let t = 0; t < 15_000; t += 10) {
        clock.advance(10);
        await Promise.resolve();
      }
      const open = (p: ReturnType<typeof peer>) => p.links.describe().filter((l) => l.phase === 'open');
      assert.equal(open(small).length, 1, JSON.stringify(small.links.totals));
      assert.equal(open(large).length, 1, JSON.stringify(large.links.totals));
      // the surviving association: the small peer asked for it (controlling, DTLS server), the large one answered
      assert.equal(open(small)[0]!.role, 'controlling');
      assert.equal(open(large)[0]!.role, 'controlled');
      small.links.shutdown();
      large.links.shutdown();
    });
  }
});

describe('IceLinks: links per node', () => {
  test('one node gets at most maxPerPeer links at once; the refused Attach leaves no session behind', () => {
    const clock = new ManualClock();
    const net = new Net(clock);
    const a = peer(net, '192.0.2.1', 0x11, 9);
    const links = new IceLinks(
      { clock, random: new SeededRandom(3), plane: new NatPort({ socket: net.socket({ host: '192.0.2.9', port: 6084 }), clock, random: new SeededRandom(4) }), candidates: () => [{ type: 'host', address: { host: '192.0.2.9', port: 6084 }, base: 'host' }], channels: new RoleChannels() },
      { maxPerPeer: 2 },
    );
    const offer = a.links.prepare(true)!;
    const ids: Array<string | Error> = [];
    for (let i = 0; i < 3; i++) {
      const local = links.prepare(false)!;
      ids.push(links.start(local, body(offer), false, a.selfNodeId));
    }
    assert.equal(typeof ids[0], 'string');
    assert.equal(typeof ids[1], 'string');
    assert.ok(ids[2] instanceof Error && /2 ICE links with this node already/.test(ids[2].message), String(ids[2]));
    assert.equal(links.linkIds().length, 2);
    // another node is not affected
    const other = links.prepare(false)!;
    assert.equal(typeof links.start(other, body(offer), false, new Uint8Array(16).fill(0x33)), 'string');
    links.shutdown();
    a.links.shutdown();
  });
});
