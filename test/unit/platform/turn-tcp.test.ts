/**
 * TURN over TCP on real loopback sockets: the overlay's TLS listener hands connections that start with
 * a STUN byte to the TURN stream server (RFC 7983-style first-byte demultiplexing), TLS links still
 * work on the same port, anything else is closed; a TurnTcpClient allocates a UDP relay over such a
 * connection and a UDP peer talks to it through the relay; closing the connection releases it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect as netConnect, createServer, type Socket } from 'node:net';
import { TlsLinkDriver } from '../../../src/platform/tls-link-driver.js';
import type { TlsLinkDriverOptions } from '../../../src/platform/tls-link-driver.js';
import { TurnTcpSocket } from '../../../src/platform/turn-tcp-socket.js';
import { NodeRelayPorts } from '../../../src/platform/turn-relay-ports.js';
import { SystemClock } from '../../../src/platform/system-clock.js';
import { CryptoRandom } from '../../../src/platform/crypto-random.js';
import { TurnServer } from '../../../src/nat/turn/turn-server.js';
import { TurnStreamServer } from '../../../src/nat/turn/turn-stream-server.js';
import { TurnTcpClient } from '../../../src/nat/turn/turn-tcp-client.js';
import { staticTurnUsers } from '../../../src/nat/turn/turn-credentials.js';
import { StunMethod, encodeStun } from '../../../src/nat/stun/stun-message.js';
import type { DriverLink, LinkDriverUser } from '../../../src/reload/link/link-driver.js';
import { createNodeCert, createTestCa } from '../../support/test-pki.js';
import type { TestCa, TestNodeCert } from '../../support/test-pki.js';

const TIMEOUT = 20_000;
let ca: TestCa;
let alice: TestNodeCert;
let bob: TestNodeCert;

before(async () => {
  ca = await createTestCa();
  alice = await createNodeCert(ca, { nodeId: new Uint8Array(16).fill(0xa1), overlay: 'test.p2psip' });
  bob = await createNodeCert(ca, { nodeId: new Uint8Array(16).fill(0xb0), overlay: 'test.p2psip' });
});

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

class Opened implements LinkDriverUser {
  readonly links: DriverLink[] = [];
  onLinkOpened(link: DriverLink): void {
    this.links.push(link);
  }
  onLinkFailed(): void {}
  onLinkClosed(): void {}
  onLinkData(): void {}
}

function driver(node: TestNodeCert, extra: Partial<TlsLinkDriverOptions> = {}): { d: TlsLinkDriver; ev: Opened } {
  const d = new TlsLinkDriver({ cert: node.certPem, key: node.keyPem, ca: ca.certPem, ...extra });
  const ev = new Opened();
  d.setUser(ev);
  cleanups.push(() => d.shutdown());
  return { d, ev };
}

async function until<T>(what: string, f: () => T | undefined | false, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function closedPromise(s: Socket): Promise<void> {
  return new Promise((r) => {
    if (s.destroyed) r();
    else s.once('close', () => r());
  });
}

const bindingRequest = (): Uint8Array => encodeStun({ method: StunMethod.Binding, cls: 'request', transactionId: new Uint8Array(12).fill(7), attributes: [] });

describe('TLS listener: first-byte demultiplexing (RFC 7983 style)', () => {
  test('STUN goes to the handler with its first bytes intact; TLS links still open on the same port', { timeout: TIMEOUT }, async () => {
    const s = driver(bob);
    const c = driver(alice);
    const got: Buffer[] = [];
    s.d.setStunStreamHandler((socket) => {
      socket.on('data', (d: Buffer) => got.push(d));
      socket.resume();
    });
    const ep = await s.d.listen('127.0.0.1', 0);
    const raw = netConnect(ep.port, '127.0.0.1');
    raw.on('error', () => undefined);
    cleanups.push(() => raw.destroy());
    const req = bindingRequest();
    raw.write(req);
    await until('stun bytes', () => Buffer.concat(got).length >= req.length);
    assert.deepEqual(new Uint8Array(Buffer.concat(got)), req);
    assert.equal(s.d.stunStreams, 1);
    c.d.connect(ep);
    await until('TLS link', () => s.ev.links.length === 1 && c.ev.links.length === 1);
  });

  test('no handler, another protocol, or silence: closed and counted', { timeout: TIMEOUT }, async () => {
    const s = driver(bob, { handshakeTimeoutMs: 300 });
    const ep = await s.d.listen('127.0.0.1', 0);
    const open = (): Socket => {
      const r = netConnect(ep.port, '127.0.0.1');
      r.on('error', () => undefined);
      cleanups.push(() => r.destroy());
      return r;
    };
    const a = open();
    a.write(bindingRequest()); // STUN, but no handler
    const b = open();
    b.write('GET / HTTP/1.1\r\n\r\n');
    const silent = open();
    await Promise.all([closedPromise(a), closedPromise(b), closedPromise(silent)]);
    assert.equal(s.d.refusedProtocol, 3);
    assert.equal(s.d.stunStreams, 0);
    await until('inbound released', () => s.d.inboundConnections === 0);
  });
});

describe('TURN over TCP on loopback (RFC 8656 §3.1)', () => {
  test('allocate over the TLS port, relay to and from a UDP peer, release on close; writes are bounded', { timeout: TIMEOUT }, async () => {
    const clock = new SystemClock();
    const random = new CryptoRandom();
    const s = driver(bob);
    let serverRef: TurnServer | undefined;
    let streamsRef: TurnStreamServer | undefined;
    const ports = new NodeRelayPorts({ host: '127.0.0.1' }, (id, d, from) => serverRef?.relayReceived(id, d, from));
    cleanups.push(() => ports.closeAll());
    const server = new TurnServer(
      { clock, random, host: { sendToClient: (d, to) => void (to.transport === 'tcp' ? streamsRef?.sendToClient(d, to) : undefined) }, relayPorts: ports, lookupKey: staticTurnUsers('r', { u: 'p' }) },
      { realm: 'r', allowLoopbackPeers: true },
    );
    serverRef = server;
    cleanups.push(() => server.stop());
    const streams = new TurnStreamServer({ clock, server });
    streamsRef = streams;
    cleanups.push(() => streams.closeAll());
    s.d.setStunStreamHandler((socket) => {
      const t = new TurnTcpSocket(socket);
      const session = streams.accept(t.remote, t);
      if (session === undefined) return t.destroy();
      t.attach({ onData: (b) => session.receive(b), onClose: () => session.closed() });
    });
    const ep = await s.d.listen('127.0.0.1', 0);

    const sock = await TurnTcpSocket.connect(ep);
    assert.ok(!(sock instanceof Error), String(sock));
    const tcp = new TurnTcpClient({ clock, random, stream: sock }, { server: ep, username: 'u', password: 'p' });
    sock.attach({ onData: (b) => tcp.receive(b), onClose: (r) => tcp.closed(r) });
    cleanups.push(() => tcp.stop());
    const relayed = await new Promise<{ host: string; port: number }>((resolve, reject) => {
      tcp.client.events.on('allocated', (a) => resolve(a.relayed));
      tcp.client.events.on('failed', (e) => reject(new Error(e.reason)));
      tcp.client.start();
    });
    assert.equal(relayed.host, '127.0.0.1');
    assert.equal(server.allocations()[0]?.transport, 'tcp');

    // a UDP peer on loopback, through the relay both ways
    const peer = createSocket('udp4');
    cleanups.push(() => peer.close());
    await new Promise<void>((r) => peer.bind(0, '127.0.0.1', () => r()));
    const peerAddr = { host: '127.0.0.1', port: peer.address().port };
    const atPeer: string[] = [];
    peer.on('message', (m, rinfo) => {
      atPeer.push(m.toString());
      peer.send(`echo ${m.toString()}`, rinfo.port, rinfo.address);
    });
    const atClient: string[] = [];
    tcp.client.events.on('data', (e) => atClient.push(Buffer.from(e.data).toString()));
    for (let i = 0; i < 5; i++) {
      tcp.client.send(peerAddr, Buffer.from(`m${i}`));
      await new Promise((r) => setTimeout(r, 20));
    }
    await until('echoes', () => atClient.length === 5);
    assert.deepEqual(atPeer, ['m0', 'm1', 'm2', 'm3', 'm4']);
    assert.deepEqual(atClient, ['echo m0', 'echo m1', 'echo m2', 'echo m3', 'echo m4']);

    // the client's connection closes: the allocation and its relay port go
    sock.destroy();
    await until('released', () => server.stats().allocations === 0);
    await until('port closed', () => ports.size === 0);
    await until('client failed', () => tcp.client.state === 'failed');
    assert.equal(streams.stats().connections, 0);
  });

  test('TurnTcpSocket: writes past maxWriteBufferBytes are refused; connect errors are values', { timeout: TIMEOUT }, async () => {
    const held: Socket[] = [];
    const srv = createServer((c) => {
      c.pause(); // never reads
      held.push(c);
    });
    cleanups.push(() => {
      for (const c of held) c.destroy();
      srv.close();
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as { port: number }).port;
    const t = await TurnTcpSocket.connect({ host: '127.0.0.1', port }, { maxWriteBufferBytes: 100_000 });
    assert.ok(!(t instanceof Error));
    cleanups.push(() => t.destroy());
    t.attach({ onData: () => undefined, onClose: () => undefined });
    const chunk = new Uint8Array(65_536);
    let refused = false;
    for (let i = 0; i < 2000 && !refused; i++) {
      refused = !t.write(chunk);
      if (i % 16 === 15) await new Promise((r) => setTimeout(r, 1));
    }
    assert.ok(refused, 'the write buffer limit refused a write');
    const closedPort = await new Promise<number>((r) => {
      const x = createServer();
      x.listen(0, '127.0.0.1', () => {
        const p = (x.address() as { port: number }).port;
        x.close(() => r(p));
      });
    });
    const e = await TurnTcpSocket.connect({ host: '127.0.0.1', port: closedPort });
    assert.ok(e instanceof Error);
    assert.ok((await TurnTcpSocket.connect({ host: 'not-an-ip', port: 1 })) instanceof Error);
  });
});
