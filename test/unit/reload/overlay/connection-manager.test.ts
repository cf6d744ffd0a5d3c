import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventHub } from '../../../../src/lib/event-hub.js';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { SeededRandom } from '../../../../src/lib/random.js';
import { MessageCode, decodeReloadPdu } from '../../../../src/reload/codec/index.js';
import type { LinkEndpoint } from '../../../../src/reload/link/link-driver.js';
import { ConnectionManager } from '../../../../src/reload/overlay/connection-manager.js';
import { ConnectionTable } from '../../../../src/reload/overlay/connection-table.js';
import { MessageFactory } from '../../../../src/reload/overlay/message-factory.js';
import { OverlayCounters } from '../../../../src/reload/overlay/overlay-counters.js';
import type { OverlayEventMap } from '../../../../src/reload/overlay/overlay-types.js';
import { Ring } from '../../../../src/reload/overlay/ring.js';
import { UnsignedSecurity } from '../../../../src/reload/overlay/unsigned-security.js';

const ring = new Ring(16);
const ME = 0x1000n << 112n;
const A = 0x2000n << 112n;
const B = 0x3000n << 112n;
const EP: LinkEndpoint = { host: '10.0.0.2', port: 6084 };
const codecOptions = (): { maxMessageSize: number; nodeIdLength: number } => ({ maxMessageSize: 5000, nodeIdLength: 16 });

/** A ConnectionManager over hand-driven links and a recording topology: no node, no router. */
function setup(opts: { maxConnections?: number; needed?: bigint[]; client?: boolean } = {}) {
  const clock = new ManualClock(1000);
  const conns = new ConnectionTable();
  const counters = new OverlayCounters();
  const events = new EventHub<OverlayEventMap>();
  const log: string[] = [];
  const closed: string[] = [];
  const received: Array<[number, bigint]> = [];
  const needed = new Set(opts.needed ?? []);
  let nextLink = 0;
  const security = new UnsignedSecurity();
  const m = new ConnectionManager({
    ring,
    id: ME,
    clock,
    links: { connect: () => `out${++nextLink}`, close: (id) => void closed.push(id) },
    conns,
    security,
    options: { maxConnections: opts.maxConnections ?? 8, idleConnectionMs: 10_000, client: opts.client ?? false },
    counters,
    topology: {
      needs: (id) => needed.has(id),
      needsKeepalive: (id) => needed.has(id),
      onLinkUp: (id) => void log.push(`up ${ring.hex(id).slice(0, 4)}`),
      onPeerLost: (id) => void log.push(`lost ${ring.hex(id).slice(0, 4)}`),
      peerReadyBody: () => new Uint8Array(0),
    },
    owners: { forget: (id) => void log.push(`forget ${ring.hex(id).slice(0, 4)}`) },
    messages: new MessageFactory({ random: new SeededRandom(1), security, overlayHash: 1, options: { initialTtl: 100 }, codecOptions }),
    inbound: { receive: (message, from) => void received.push([message.length, from]) },
    events,
    codecOptions,
  });
  events.on('link-up', (e) => log.push(`event up ${e.linkId}`));
  events.on('link-down', (e) => log.push(`event down ${e.linkId} ${e.reason}`));
  const up = (id: string, peer: bigint | undefined, outbound = false): void =>
    m.onLinkUp({ id, remote: EP, local: { host: '10.0.0.1', port: 6084 }, outbound, ...(peer === undefined ? {} : { peerCertificate: ring.toBytes(peer) }) });
  return { m, clock, conns, counters, log, closed, received, up };
}

describe('ConnectionManager: the link side of a node, on its own', () => {
  test('a link up is bound to its Node-ID; its messages go to routing; its end is a peer lost', () => {
    const s = setup();
    s.up('L1', A);
    assert.equal(s.conns.forNode(A)?.linkId, 'L1');
    s.clock.advance(50);
    s.m.onLinkMessage('L1', new Uint8Array(7));
    assert.deepEqual(s.received, [[7, A]]);
    assert.equal(s.conns.get('L1')?.lastUsed, 1050);
    s.m.onLinkSuspect('L1');
    assert.equal(s.conns.usable(A), undefined, 'a suspect link is routed around');
    s.m.onLinkRecovered('L1');
    assert.notEqual(s.conns.usable(A), undefined);
    s.m.onLinkDown('L1', 'timeout');
    assert.equal(s.conns.size, 0);
    assert.deepEqual(s.log, ['up 2000', 'event up L1', 'forget 2000', 'lost 2000', 'event down L1 timeout']);
  });

  test('a link whose peer shows no identity is refused and closed', () => {
    const s = setup();
    s.up('L1', undefined);
    assert.equal(s.conns.size, 0);
    assert.deepEqual(s.closed, ['L1']);
    assert.equal(s.counters.refusedLinks, 1);
  });

  test('at the table limit the least recently used link the topology does not need is evicted', () => {
    const s = setup({ maxConnections: 2, needed: [A] });
    s.up('L1', A);
    s.up('L2', B);
    s.up('L3', B + 1n);
    assert.deepEqual(s.closed, ['L2']);
    assert.deepEqual([...s.conns.all()].map((c) => c.linkId), ['L1', 'L3']);
    assert.ok(s.log.includes('lost 3000'));
  });

  test('connectBootstrap resolves with the Node-ID once the link is up, or undefined after 10 s', async () => {
    const s = setup();
    const first = s.m.connectBootstrap(EP);
    s.up('out1', A, true);
    assert.equal(await first, A);
    // issue 15: an outbound link up to that endpoint serves (a candidate probed before the Join)
    assert.equal(await s.m.connectBootstrap(EP), A);
    const other = s.m.connectBootstrap({ host: EP.host, port: EP.port + 1 });
    s.clock.advance(10_000);
    assert.equal(await other, undefined);
  });

  test('the idle sweep runs on the clock every idleConnectionMs / 2 from start() and spares needed links', () => {
    const s = setup({ needed: [A] });
    s.m.start();
    s.up('L1', A);
    s.up('L2', B);
    s.clock.advance(5000); // first sweep: idle 5 s < 10 s
    assert.deepEqual(s.closed, []);
    s.clock.advance(4999);
    assert.deepEqual(s.closed, []);
    s.clock.advance(1); // second sweep, at start + 10 s
    assert.deepEqual(s.closed, ['L2']);
    s.m.stop();
    s.clock.advance(60_000);
    assert.deepEqual(s.closed, ['L2'], 'no sweep after stop()');
  });

  test('keepalive: an Update peer_ready for a link the topology keeps alive; nothing after stop()', () => {
    const s = setup({ needed: [A] });
    s.up('L1', A);
    s.up('L2', B);
    assert.equal(s.m.keepalive('L2'), undefined);
    const bytes = s.m.keepalive('L1');
    assert.ok(bytes !== undefined);
    const pdu = decodeReloadPdu(bytes, codecOptions());
    assert.ok(pdu.ok);
    assert.equal((pdu.value.payload[0]! << 8) | pdu.value.payload[1]!, MessageCode.update_req);
    assert.equal(s.counters.messagesOut, 1);
    s.m.stop();
    assert.equal(s.m.keepalive('L1'), undefined);
    s.m.onLinkMessage('L1', new Uint8Array(3));
    assert.equal(s.received.length, 0);
  });

  test('keepalive of a client: a Ping, never an Update (its peer would take it for a peer, issue 12)', () => {
    const s = setup({ needed: [A], client: true });
    s.up('L1', A);
    const bytes = s.m.keepalive('L1');
    assert.ok(bytes !== undefined);
    const pdu = decodeReloadPdu(bytes, codecOptions());
    assert.ok(pdu.ok);
    assert.equal((pdu.value.payload[0]! << 8) | pdu.value.payload[1]!, MessageCode.ping_req);
  });
});
