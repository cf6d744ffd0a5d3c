import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { MessageCode, RELOAD_VERSION, ReloadErrorCode, Reassembler, UNFRAGMENTED, decodeReloadPdu } from '../../../../src/reload/codec/index.js';
import type { Destination, ForwardingHeader } from '../../../../src/reload/codec/index.js';
import { NeighborTable } from '../../../../src/reload/overlay/chord/neighbor-table.js';
import { ConnectionTable } from '../../../../src/reload/overlay/connection-table.js';
import { OverlayCounters } from '../../../../src/reload/overlay/overlay-counters.js';
import { OverlayRouter } from '../../../../src/reload/overlay/overlay-router.js';
import { OwnerCache } from '../../../../src/reload/overlay/owner-cache.js';
import { Ring } from '../../../../src/reload/overlay/ring.js';
import { invalidMessage, noRoute, notConnected, routingFailureOf, ttlExceeded } from '../../../../src/reload/overlay/routing-failure.js';

const ring = new Ring(16);
const ME = 0x5000n << 112n;
const NEXT = 0x6000n << 112n;
const OTHER = 0x9000n << 112n;
const PING = Uint8Array.of(0, MessageCode.ping_req, 0, 0);

/** A router over a hand-made Connection Table and topology: what it decides, and what it sent. */
function world(opts: { client?: boolean; responsible?: (k: bigint) => boolean; nextHop?: bigint; sendOk?: boolean } = {}) {
  const clock = new ManualClock(1000);
  const conns = new ConnectionTable();
  const counters = new OverlayCounters();
  const sent: Array<{ linkId: string; bytes: Uint8Array }> = [];
  const link = (linkId: string, nodeId: bigint): void => {
    conns.add({ linkId, remote: { host: '10.0.0.9', port: 6084 }, outbound: true, nodeId: undefined, routable: true, suspect: false, lastUsed: 0, upAt: 0 });
    conns.bind(linkId, nodeId);
  };
  const router = new OverlayRouter({
    ring,
    id: ME,
    options: { client: opts.client ?? false, routeCache: true },
    clock,
    links: {
      send: (linkId, bytes) => {
        if (opts.sendOk === false) return false;
        sent.push({ linkId, bytes });
        return true;
      },
    },
    conns,
    counters,
    topology: { isResponsible: opts.responsible ?? (() => false), nextHop: () => opts.nextHop, neighbours: new NeighborTable(ring, ME, 5) },
    owners: new OwnerCache(ring),
    reassembler: new Reassembler(clock),
    isJoined: () => true,
    codecOptions: () => ({ maxMessageSize: 5000, nodeIdLength: 16 }),
  });
  return { router, conns, counters, sent, link };
}

function header(dest: Destination[], ttl = 100): ForwardingHeader {
  return {
    overlay: 1,
    configurationSequence: 0,
    version: RELOAD_VERSION,
    ttl,
    fragment: UNFRAGMENTED,
    length: 0,
    transactionId: 7n,
    maxResponseLength: 0,
    viaList: [],
    destinationList: dest,
    options: [],
  };
}
const toNode = (id: bigint): Destination => ({ type: 'node', nodeId: ring.toBytes(id) });
const toResource = (k: bigint): Destination => ({ type: 'resource', resourceId: ring.toBytes(k) });

describe('OverlayRouter: route() returns a verdict (RFC 6940 §6.1)', () => {
  test('our Node-ID, or a Resource-ID we are responsible for: deliver, with the message', () => {
    const w = world({ responsible: (k) => k === 0x4000n << 112n });
    const h = header([toNode(ME)]);
    const v = w.router.route(h, PING, OTHER);
    assert.equal(v.kind, 'deliver');
    assert.ok(v.kind === 'deliver' && v.header === h && v.payload === PING && v.from === OTHER);
    assert.equal(w.router.route(header([toResource(0x4000n << 112n)]), PING, OTHER).kind, 'deliver');
    assert.equal(w.sent.length, 0);
  });

  test('a linked node: forwarded at once, TTL decremented and the previous hop on the Via List (§6.1.2)', () => {
    const w = world();
    w.link('L1', NEXT);
    const v = w.router.route(header([toNode(NEXT)], 10), PING, OTHER);
    assert.deepEqual(v, { kind: 'forward', linkId: 'L1', to: NEXT });
    assert.equal(w.sent.length, 1);
    const out = decodeReloadPdu(w.sent[0]!.bytes, { maxMessageSize: 5000, nodeIdLength: 16 });
    assert.ok(out.ok);
    assert.equal(out.value.header.ttl, 9);
    assert.deepEqual(out.value.header.viaList, [toNode(OTHER)]);
    assert.equal(w.counters.forwarded, 1);
  });

  test('no next hop: a request from another node is refused with a routing failure; our own is dropped', () => {
    const w = world();
    const v = w.router.route(header([toResource(OTHER)]), PING, NEXT);
    assert.equal(v.kind, 'refuse');
    assert.ok(v.kind === 'refuse');
    assert.deepEqual(v.refusal, noRoute());
    assert.equal(v.refusal.failure, 'no-route');
    assert.deepEqual(w.router.route(header([toResource(OTHER)]), PING, undefined), { kind: 'drop', reason: 'no route' });
    assert.equal(w.counters.droppedTotal, 0, 'the router counts nothing: the dispatcher acts on verdicts');
  });

  test('a next hop whose link refuses the message: the next one is tried, then refused', () => {
    const w = world({ nextHop: NEXT, sendOk: false });
    w.link('L1', NEXT);
    const v = w.router.route(header([toResource(OTHER)]), PING, OTHER - 1n);
    assert.ok(v.kind === 'refuse' && v.refusal.failure === 'no-route');
  });

  test('TTL exhausted, a node in our range with no link, a client asked to route, a malformed destination', () => {
    const w = world({ responsible: (k) => k === OTHER });
    w.link('L1', NEXT);
    const ttl = w.router.route(header([toNode(NEXT)], 0), PING, OTHER);
    assert.ok(ttl.kind === 'refuse' && ttl.refusal.failure === 'ttl-exceeded' && ttl.refusal.code === ReloadErrorCode.TtlExceeded);
    const gone = w.router.route(header([toNode(OTHER)]), PING, NEXT);
    assert.ok(gone.kind === 'refuse');
    assert.deepEqual(gone.refusal, notConnected(ring.hex(OTHER)));
    const c = world({ client: true });
    assert.deepEqual(c.router.route(header([toResource(OTHER)]), PING, NEXT), { kind: 'drop', reason: 'client does not route' });
    const bad = w.router.route(header([{ type: 'node', nodeId: new Uint8Array(3) }]), PING, NEXT);
    assert.ok(bad.kind === 'refuse' && bad.refusal.failure === undefined && bad.refusal.code === ReloadErrorCode.InvalidMessage);
    assert.deepEqual(w.router.route(header([]), PING, NEXT), { kind: 'drop', reason: 'empty destination list' });
  });
});

describe('routing failures: a typed reason, one wire form each', () => {
  test('each refusal reads back as its kind; other errors (storage\'s Error_Not_Found) are not routing failures', () => {
    for (const r of [noRoute(), notConnected(ring.hex(OTHER)), ttlExceeded()]) assert.equal(routingFailureOf(r.code, r.info), r.failure);
    assert.equal(routingFailureOf(ReloadErrorCode.NotFound, 'not responsible for this Resource-ID'), undefined);
    const inv = invalidMessage('x');
    assert.equal(routingFailureOf(inv.code, inv.info), undefined);
  });

  test('the wire texts stay what peers already send', () => {
    assert.equal(noRoute().info, 'no route toward the destination');
    assert.equal(notConnected('ab').info, 'not connected here: node ab');
    assert.equal(ttlExceeded().info, 'TTL exceeded');
  });
});
