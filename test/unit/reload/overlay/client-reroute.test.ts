/**
 * Clients (RFC 6940 §4.2) when their admitting peer goes: a client whose peer dies without a word
 * (kill -9 behind a NAT: its DTLS-UDP-SR link shows nothing until something is sent on it) must keep
 * reaching the overlay through its other links — the requests it had on the dead link sent again at
 * once, the next ones routed around it — and attach to the peer now responsible for its Node-ID, so
 * that messages to it reach it again. Found in the NAT lab (test/interop/nat-overlay.test.ts): a
 * client's Fetch failed after 15 s because a joined client with no usable admitting peer routed only
 * the Resource-IDs that one of its links preceded, and its re-Attach to its own Node-ID not at all.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageCode, encodePingReq } from '../../../../src/reload/codec/index.js';
import { OverlayWorld, type WorldNode } from './support/overlay-world.js';

function randomKey(w: OverlayWorld): bigint {
  return w.random.bytes(16).reduce((a, b) => (a << 8n) | BigInt(b), 0n);
}

/** A Ping from `from` to the node `to` (its Node-ID as the destination): who answered. */
async function pingNode(w: OverlayWorld, from: WorldNode, to: bigint): Promise<bigint | undefined> {
  let got: bigint | undefined | null = null;
  void from.node.request([{ type: 'node', nodeId: from.node.ring.toBytes(to) }], MessageCode.ping_req, encodePingReq({ padding: new Uint8Array(0) })).then((a) => {
    got = a.ok && a.responder !== undefined ? from.node.ring.fromBytes(a.responder) : undefined;
  });
  for (let t = 0; t < 20_000 && got === null; t += 5) await w.run(5);
  return got ?? undefined;
}

/** A client whose Node-ID lies just before `ap`'s, so that `ap` admits it. */
async function clientOf(w: OverlayWorld, ap: WorldNode, before = 1n): Promise<WorldNode> {
  const ring = ap.node.ring;
  return w.add({ client: true }, ring.toBytes(ring.add(ap.node.id, -before)));
}

const hex = (w: WorldNode): string => w.node.ring.hex(w.node.id);

describe('overlay: a client whose admitting peer goes', () => {
  test('its peer is killed silently: every lookup still reaches the responsible peer within one reliability timer, and it re-attaches to the new responsible peer', async () => {
    const w = new OverlayWorld(5);
    for (let i = 0; i < 10; i++) await w.add();
    await w.run(2000);
    const ap = w.live().find((n) => n !== w.nodes[0])!;
    const c = await clientOf(w, ap);
    await w.run(2000);
    assert.equal(c.node.status().admittingPeer, hex(ap));
    // the full peers notice at once (detectMs); the client only once it sends on the link (suspect
    // after 1.5 s, failed after 6 s: Simple Reliability's timers at a 200 ms RTO)
    ap.links.crash({ silentTo: (other) => other === c.links, suspectMs: 1500, failMs: 6000 });
    await w.run(5000);
    assert.equal(c.node.status().admittingPeer, hex(ap), 'the client has not noticed yet');
    const took: number[] = [];
    let ok = 0;
    for (let i = 0; i < 40; i++) {
      const k = randomKey(w);
      const t0 = w.clock.now();
      const r = await w.lookup(c, k);
      took.push(w.clock.now() - t0);
      if (r.ok && r.responder === w.responsible(k)?.node.id) ok++;
    }
    assert.equal(ok, 40, `lookups from the client: ${took.join(', ')} ms`);
    // the first one went into the dead link and was sent again when it turned suspect, not 3 s later
    assert.ok(Math.max(...took) < 2000, `slowest lookup ${Math.max(...took)} ms`);
    assert.equal(c.node.counters.drops.get('no route'), undefined, 'nothing dropped for want of a route');
    // once the link failed: attached to the peer now responsible for the client's Node-ID
    await w.run(10_000);
    const now = w.responsible(c.node.id)!;
    assert.notEqual(now, ap);
    assert.equal(c.node.status().admittingPeer, hex(now));
    assert.ok(!c.node.status().routableLinks.includes(hex(ap)), 'no route through the dead peer');
    // §4.2: a message to the client goes to its responsible peer, which holds the client's link
    const from = w.live().find((n) => n !== c && n !== now)!;
    assert.equal(await pingNode(w, from, c.node.id), c.node.id);
  });

  test('its requests in flight on a link that fails are sent again at once along another route', async () => {
    const w = new OverlayWorld(9);
    for (let i = 0; i < 8; i++) await w.add();
    await w.run(2000);
    const ap = w.live().find((n) => n !== w.nodes[0])!;
    const c = await clientOf(w, ap);
    await w.run(2000);
    // down 800 ms after the first send, never suspect before: only the failure re-routes
    ap.links.crash({ silentTo: (other) => other === c.links, suspectMs: 60_000, failMs: 800 });
    await w.run(3000);
    const k = randomKey(w);
    const t0 = w.clock.now();
    const r = await w.lookup(c, k);
    assert.ok(r.ok);
    assert.equal(r.responder, w.responsible(k)!.node.id);
    const took = w.clock.now() - t0;
    assert.ok(took >= 800 && took < 1500, `answered ${took} ms after the request (link failed at 800 ms; the reliability timer is 3000 ms)`);
  });

  test('a peer that joins in front of a client becomes its admitting peer at the next update interval, and messages to the client reach it', async () => {
    const w = new OverlayWorld(11, { updateIntervalMs: 10_000 });
    for (let i = 0; i < 8; i++) await w.add();
    await w.run(2000);
    const ap = w.live().find((n) => n !== w.nodes[0])!;
    const c = await clientOf(w, ap, 100n);
    await w.run(2000);
    assert.equal(c.node.status().admittingPeer, hex(ap));
    const ring = ap.node.ring;
    const joiner = await w.add({}, ring.toBytes(ring.add(c.node.id, 1n)));
    await w.run(3000);
    assert.equal(w.responsible(c.node.id), joiner);
    // the update interval is jittered (×0.5–1.5): within 1.5 intervals the client has checked
    await w.run(15_000, 20);
    assert.equal(c.node.status().admittingPeer, hex(joiner));
    const from = w.live().find((n) => n !== c && n !== joiner)!;
    assert.equal(await pingNode(w, from, c.node.id), c.node.id);
  });
});
