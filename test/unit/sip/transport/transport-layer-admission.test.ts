/**
 * Issue 14: inbound connections are counted from the TCP accept (before any TLS or WebSocket
 * handshake) and refused at once past a cap: in all, per listener, per source address; a handshake
 * that does not finish is closed at its deadline. On a ManualClock and the in-memory driver.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_TRANSPORT_OPTIONS, type TransportLayerOptions } from '../../../../src/sip/transport/transport-layer-options.js';
import type { MemoryDriver } from '../../../support/sip/memory-driver.js';
import { DriverRecorder } from './driver-recorder.js';
import { Harness, SERVER_V4, SERVER_V6, enc, request } from './layer-harness.js';

type Proto = 'tcp' | 'tls' | 'ws' | 'wss';
const PORTS: Record<Proto, number> = { tcp: 5060, tls: 5061, ws: 5062, wss: 5063 };

/** A client machine: its own source address and event record. */
class Client {
  readonly events = new DriverRecorder();
  constructor(
    private readonly h: Harness,
    readonly driver: MemoryDriver,
  ) {
    driver.setUser(this.events);
  }

  static at(h: Harness, host: string): Client {
    return new Client(h, h.net.createDriver({ hosts: [host] }));
  }

  connect(protocol: Proto, server = SERVER_V4): string {
    const id = this.driver.connect({ protocol, host: server, port: PORTS[protocol] });
    this.h.settle();
    return id;
  }

  /** Connected and not closed or failed since. */
  isOpen(id: string): boolean {
    const ended = this.events.events.some((e) => (e.type === 'closed' || e.type === 'failed') && e.id === id);
    return !ended && this.events.of('opened').some((e) => e.conn.id === id);
  }

  ended(id: string): boolean {
    return this.events.events.some((e) => (e.type === 'closed' || e.type === 'failed') && e.id === id);
  }
}

async function harness(options: TransportLayerOptions = {}, stall = false): Promise<Harness> {
  const h = new Harness(options, { stallHandshakes: stall });
  for (const p of Object.keys(PORTS) as Proto[]) await h.layer.listen(p, '0.0.0.0', PORTS[p]);
  return h;
}

describe('TransportLayer inbound caps and handshake deadline (issue 14)', () => {
  test('the caps are explicit', () => {
    assert.equal(DEFAULT_TRANSPORT_OPTIONS.maxConnections, 10_000);
    assert.equal(DEFAULT_TRANSPORT_OPTIONS.maxConnectionsPerListener, 10_000);
    assert.equal(DEFAULT_TRANSPORT_OPTIONS.maxConnectionsPerSource, 64);
  });

  test('per source: the 65th connection from one address is closed at once, over every listener; another address is served', async () => {
    const h = await harness();
    const a = Client.at(h, '192.0.2.31');
    const ids: string[] = [];
    for (let i = 0; i < 60; i++) ids.push(a.connect('tcp'));
    for (let i = 0; i < 4; i++) ids.push(a.connect('ws'));
    assert.ok(ids.every((id) => a.isOpen(id)));
    const extraTcp = a.connect('tcp');
    const extraTls = a.connect('tls');
    assert.equal(a.isOpen(extraTcp), false);
    assert.equal(a.ended(extraTcp), true, 'refused at the accept');
    assert.equal(a.isOpen(extraTls), false);
    assert.equal(h.layer.stats().rejectedConnections, 2);
    const b = Client.at(h, '192.0.2.32');
    assert.equal(b.isOpen(b.connect('tcp')), true);
    // a closed connection frees its place
    a.driver.close(ids[0]!);
    h.settle();
    assert.equal(a.isOpen(a.connect('tcp')), true);
    assert.equal(h.layer.stats().openConnections, 65);
  });

  test('per source over IPv6 counts a /64: its hosts share the cap, another /64 has its own', async () => {
    const h = await harness({ maxConnectionsPerSource: 2 });
    await h.layer.listen('tcp', '::', 5060);
    const [a, b, c] = ['2001:db8:5:1::a', '2001:db8:5:1::b', '2001:db8:5:2::a'].map((host) => Client.at(h, host));
    const ids = [a!.connect('tcp', SERVER_V6), b!.connect('tcp', SERVER_V6), b!.connect('tcp', SERVER_V6)];
    assert.deepEqual([a!.isOpen(ids[0]!), b!.isOpen(ids[1]!), b!.isOpen(ids[2]!)], [true, true, false]);
    assert.equal(c!.isOpen(c!.connect('tcp', SERVER_V6)), true);
  });

  test('per listener: past the cap one listener refuses, the others still accept', async () => {
    const h = await harness({ maxConnectionsPerListener: 3 });
    const clients = ['192.0.2.41', '192.0.2.42', '192.0.2.43', '192.0.2.44'].map((host) => Client.at(h, host));
    const tcp = clients.map((c) => c.connect('tcp'));
    assert.deepEqual(
      tcp.map((id, i) => clients[i]!.isOpen(id)),
      [true, true, true, false],
    );
    assert.equal(clients[3]!.isOpen(clients[3]!.connect('ws')), true);
    assert.equal(h.layer.stats().rejectedConnections, 1);
  });

  test('in all: maxConnections counts handshaking connections and binds all listeners together', async () => {
    const h = await harness({ maxConnections: 3 }, true);
    const c = Client.at(h, '192.0.2.51');
    c.connect('tls');
    c.connect('wss');
    c.connect('ws'); // three handshakes that never finish
    const late = Client.at(h, '192.0.2.52');
    const id = late.connect('tcp');
    assert.equal(late.isOpen(id), false);
    assert.equal(late.ended(id), true);
    assert.equal(h.layer.stats().rejectedConnections, 1);
  });

  test('counted from the accept: connections stuck in their TLS/WebSocket handshake use up the per-source cap', async () => {
    const h = await harness({ maxConnectionsPerSource: 4 }, true);
    const a = Client.at(h, '192.0.2.61');
    const stuck = (['tls', 'wss', 'ws', 'tls'] as const).map((p) => a.connect(p));
    assert.ok(stuck.every((id) => !a.ended(id)), 'accepted, handshake in progress');
    const fifth = a.connect('tcp');
    assert.equal(a.ended(fifth), true, 'refused: four handshakes already held');
    assert.equal(h.driver.handshakingConnections().length, 4);
  });

  test('a TLS handshake or WebSocket upgrade not done in 10 s is closed and its place freed', async () => {
    const h = await harness({ maxConnectionsPerSource: 3 }, true);
    const a = Client.at(h, '192.0.2.71');
    const stuck = (['tls', 'ws', 'wss'] as const).map((p) => a.connect(p));
    h.clock.advance(9_999);
    h.settle();
    assert.ok(stuck.every((id) => !a.ended(id)));
    h.clock.advance(1);
    h.settle();
    assert.ok(stuck.every((id) => a.ended(id)), 'every handshake closed at its deadline');
    assert.equal(h.driver.handshakingConnections().length, 0);
    assert.equal(h.layer.stats().handshakeTimeouts, 3);
    h.net.stallHandshakes = false;
    const id = a.connect('tls');
    assert.equal(a.isOpen(id), true, 'the places are free again');
  });

  test('a handshake that finishes in time opens normally and then has the first-message deadline', async () => {
    const h = await harness();
    const a = Client.at(h, '192.0.2.81');
    const id = a.connect('tls');
    assert.equal(a.isOpen(id), true);
    a.driver.write(id, enc.encode(request({ transport: 'TLS' })));
    h.settle();
    assert.equal(h.received.length, 1);
    h.clock.advance(60_000);
    h.settle();
    assert.equal(a.isOpen(id), true);
    assert.equal(h.layer.stats().handshakeTimeouts, 0);
  });
});
