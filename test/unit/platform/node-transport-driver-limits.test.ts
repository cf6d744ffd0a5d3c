/**
 * Issue 14 on real loopback sockets: the NodeTransportDriver reports every TCP accept before any TLS
 * or HTTP byte, so the transport layer's caps close extra connections at once and its handshake and
 * message deadlines close connections that never finish (silent, half a ClientHello, no upgrade,
 * a slowloris). Short deadlines; waits are event-driven and bounded.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { NodeTransportDriver } from '../../../src/platform/node-transport-driver.js';
import { SystemClock } from '../../../src/platform/system-clock.js';
import { TransportLayer, type TransportLayerOptions } from '../../../src/sip/transport/transport-layer.js';
import type { InboundMessage } from '../../../src/sip/transport/sip-transport.js';

const TLS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'tls');
const ca = readFileSync(join(TLS_DIR, 'ca.pem'));
const tls = { key: readFileSync(join(TLS_DIR, 'server.key')), cert: readFileSync(join(TLS_DIR, 'server.pem')) };
const TIMEOUT = 15_000;

const layers: TransportLayer[] = [];
const sockets: Array<{ destroy(): void }> = [];
after(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(layers.map((l) => l.close()));
});

async function server(options: TransportLayerOptions): Promise<{ layer: TransportLayer; received: InboundMessage[]; ports: Record<'tcp' | 'tls' | 'ws' | 'wss', number> }> {
  const received: InboundMessage[] = [];
  const layer = new TransportLayer({ driver: new NodeTransportDriver({ tls }), clock: new SystemClock(), user: { onMessage: (m) => received.push(m) } }, options);
  layers.push(layer);
  const ports = {
    tcp: (await layer.listen('tcp', '127.0.0.1', 0)).port,
    tls: (await layer.listen('tls', '127.0.0.1', 0)).port,
    ws: (await layer.listen('ws', '127.0.0.1', 0)).port,
    wss: (await layer.listen('wss', '127.0.0.1', 0)).port,
  };
  return { layer, received, ports };
}

/** A raw TCP connection; `closed` resolves with the ms from connect to the server's close. */
function raw(port: number, localAddress = '127.0.0.1'): Promise<{ s: Socket; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ port, host: '127.0.0.1', localAddress });
    sockets.push(s);
    s.on('error', () => undefined);
    s.once('connect', () => {
      const t0 = performance.now();
      const closed = new Promise<number>((r) => s.once('close', () => r(performance.now() - t0)));
      resolve({ s, closed });
    });
    s.once('close', () => reject(new Error('closed before connect')));
  });
}

/** Resolves true when `p` settles within `ms`, false otherwise. */
function within<T>(p: Promise<T>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    void p.then(() => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

async function until(pred: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const OPTIONS =
  'OPTIONS sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bK-lim\r\nMax-Forwards: 70\r\n' +
  'From: <sip:alice@example.com>;tag=a\r\nTo: <sip:bob@example.com>\r\nCall-ID: lim@example.com\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n';

describe('NodeTransportDriver + TransportLayer: caps and deadlines on real sockets (issue 14)', () => {
  test('per source and per listener caps close extra TCP connections at once; a close frees a place', { timeout: TIMEOUT }, async () => {
    const { layer, ports } = await server({ maxConnectionsPerSource: 2, maxConnectionsPerListener: 3 });
    const a1 = await raw(ports.tcp, '127.0.0.1');
    const a2 = await raw(ports.tcp, '127.0.0.1');
    const a3 = await raw(ports.tcp, '127.0.0.1');
    assert.equal(await within(a3.closed, 2000), true, 'third from 127.0.0.1 closed');
    const b1 = await raw(ports.tcp, '127.0.0.2');
    const b2 = await raw(ports.tcp, '127.0.0.3'); // the listener's fourth
    assert.equal(await within(b2.closed, 2000), true, 'fourth on the listener closed');
    assert.equal(await within(Promise.race([a1.closed, a2.closed, b1.closed]), 300), false, 'the admitted ones stay');
    assert.equal(layer.stats().rejectedConnections, 2);
    const t = await raw(ports.tls, '127.0.0.3'); // another listener: room there
    assert.equal(await within(t.closed, 300), false);
    a1.s.destroy();
    await a1.closed;
    await until(() => layer.stats().openConnections === 2, 'the close to reach the layer'); // a2, b1 (t is in its handshake)
    const c = await raw(ports.tcp, '127.0.0.4');
    assert.equal(await within(c.closed, 300), false, 'a freed place is given again');
  });

  test('tls: no ClientHello, or half of one, is closed at the handshake deadline; a real handshake is served', { timeout: TIMEOUT }, async () => {
    const { layer, received, ports } = await server({ handshakeTimeoutMs: 400, firstMessageTimeoutMs: 5000 });
    const silent = await raw(ports.tls);
    const partial = await raw(ports.tls);
    partial.s.write(new Uint8Array([0x16, 0x03, 0x01, 0x00, 0x40, 0x01, 0x00, 0x00]));
    const ok = tlsConnect({ port: ports.tls, host: '127.0.0.1', ca });
    sockets.push(ok);
    ok.on('error', () => undefined);
    await new Promise((r) => ok.once('secureConnect', r));
    ok.write(OPTIONS);
    const [ts, tp] = await Promise.all([silent.closed, partial.closed]);
    assert.ok(ts >= 300 && ts < 3000, `silent closed after ${ts} ms`);
    assert.ok(tp >= 300 && tp < 3000, `partial closed after ${tp} ms`);
    await until(() => received.length === 1, 'the OPTIONS over TLS');
    assert.equal(ok.destroyed, false);
    assert.equal(layer.stats().handshakeTimeouts, 2);
  });

  test('ws/wss: no upgrade request, or half of one, is closed at the handshake deadline; a real client is served', { timeout: TIMEOUT }, async () => {
    const { layer, received, ports } = await server({ handshakeTimeoutMs: 400 });
    const silent = await raw(ports.ws);
    const partial = await raw(ports.ws);
    partial.s.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n');
    // wss: TLS done, then nothing
    const tlsOnly = tlsConnect({ port: ports.wss, host: '127.0.0.1', ca });
    sockets.push(tlsOnly);
    tlsOnly.on('error', () => undefined);
    await new Promise((r) => tlsOnly.once('secureConnect', r));
    const tlsClosed = new Promise<void>((r) => tlsOnly.once('close', () => r()));
    const ws = new WebSocket(`ws://127.0.0.1:${ports.ws}/`, 'sip');
    sockets.push({ destroy: () => ws.terminate() });
    await new Promise((r, j) => {
      ws.once('open', r);
      ws.once('error', j);
    });
    ws.send(OPTIONS);
    assert.equal(await within(Promise.all([silent.closed, partial.closed, tlsClosed]), 3000), true, 'all three closed');
    await until(() => received.length === 1, 'the OPTIONS over ws');
    assert.equal(ws.readyState, WebSocket.OPEN);
    assert.equal(layer.stats().handshakeTimeouts, 3);
  });

  test('tcp: a slowloris start line and a silent connection are closed at their deadlines', { timeout: TIMEOUT }, async () => {
    const { layer, received, ports } = await server({ firstMessageTimeoutMs: 400, startLineTimeoutMs: 400 });
    const silent = await raw(ports.tcp);
    const slow = await raw(ports.tcp);
    let i = 0;
    const drip = setInterval(() => slow.s.write(OPTIONS[i++ % OPTIONS.length]!), 50);
    const [a, b] = await Promise.all([silent.closed, slow.closed]);
    clearInterval(drip);
    assert.ok(a >= 300 && a < 3000, `silent closed after ${a} ms`);
    assert.ok(b >= 300 && b < 3000, `slowloris closed after ${b} ms`);
    assert.equal(received.length, 0);
    assert.equal(layer.stats().messageTimeouts, 2);
  });
});
