/**
 * TURN over TCP in memory (RFC 8656 §3.1): TurnStreamServer in front of the TurnServer core that also
 * serves UDP clients (turn-world.ts), and TurnTcpClient, joined by an in-memory "connection" that
 * delivers bytes in arbitrary pieces through the world's queue. Nothing touches a socket or real time.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { settle } from '../../support/settle.js';
import { CLIENT, PEER, REALM, SERVER, USERS, addClient, makeWorld } from '../../support/nat/turn-world.js';
import type { World } from '../../support/nat/turn-world.js';
import { TurnStreamServer } from '../../../src/nat/turn/turn-stream-server.js';
import type { TurnStreamLimits, TurnStreamSession } from '../../../src/nat/turn/turn-stream-server.js';
import { TurnTcpClient } from '../../../src/nat/turn/turn-tcp-client.js';
import type { TurnTcpClientOptions } from '../../../src/nat/turn/turn-tcp-client.js';
import { SeededRandom } from '../../../src/lib/random.js';
import { StunAttr, StunMethod, decodeStun, encodeStun, longTermKey, textAttr } from '../../../src/nat/stun/stun-message.js';
import type { StunAddress } from '../../../src/nat/stun/stun-message.js';
import type { TurnClientAddress, TurnServerOptions } from '../../../src/nat/turn/turn-server.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** One in-memory TCP connection between a TurnTcpClient and the stream server; bytes delivered in pieces of `chunk`. */
interface Pipe {
  tcp: TurnTcpClient;
  session: TurnStreamSession | undefined;
  /** Bytes the server side wrote (to the client), and the client side (to the server), one entry per write. */
  toClient: Uint8Array[];
  toServer: Uint8Array[];
  serverClosed: boolean;
  clientClosed: boolean;
  /** When set, the server side's writes are refused (the client does not read). */
  full: boolean;
}

interface TcpWorld extends World {
  streams: TurnStreamServer;
  connect(from: StunAddress, opts?: Partial<TurnTcpClientOptions>, chunk?: number): Pipe;
}

function tcpWorld(serverOptions: Partial<TurnServerOptions> = {}, limits: Partial<TurnStreamLimits> = {}): TcpWorld {
  const w = makeWorld(serverOptions);
  // the UDP world's host, with TCP clients routed to the stream server (as nat-services.ts does)
  const udpHost = (w.server as unknown as { deps: { host: { sendToClient(d: Uint8Array, to: TurnClientAddress): void } } }).deps.host;
  const udpSend = udpHost.sendToClient.bind(udpHost);
  let streams: TurnStreamServer | undefined;
  udpHost.sendToClient = (d, to) => (to.transport === 'tcp' ? void streams?.sendToClient(d, to) : udpSend(d, to));
  streams = new TurnStreamServer({ clock: w.clock, server: w.server }, limits);
  const s = streams;
  let seed = 50;
  const pieces = (bytes: Uint8Array, chunk: number): Uint8Array[] => {
    const out: Uint8Array[] = [];
    for (let o = 0; o < bytes.length; o += chunk) out.push(Uint8Array.from(bytes.subarray(o, o + chunk)));
    return out;
  };
  return Object.assign(w, {
    streams: s,
    connect(from: StunAddress, opts: Partial<TurnTcpClientOptions> = {}, chunk = 7): Pipe {
      const pipe: Pipe = { tcp: undefined as unknown as TurnTcpClient, session: undefined, toClient: [], toServer: [], serverClosed: false, clientClosed: false, full: false };
      const session = s.accept(from, {
        write: (bytes) => {
          if (pipe.full || pipe.clientClosed) return false;
          pipe.toClient.push(Uint8Array.from(bytes));
          for (const p of pieces(bytes, chunk)) w.net.push(() => pipe.tcp.receive(p));
          return true;
        },
        close: () => {
          pipe.serverClosed = true;
          w.net.push(() => pipe.tcp.closed('closed by the server'));
        },
      });
      pipe.session = session;
      pipe.tcp = new TurnTcpClient(
        {
          clock: w.clock,
          random: new SeededRandom(seed++),
          stream: {
            write: (bytes) => {
              if (pipe.clientClosed || pipe.serverClosed || session === undefined) return false;
              pipe.toServer.push(Uint8Array.from(bytes));
              for (const p of pieces(bytes, chunk)) w.net.push(() => session.receive(p));
              return true;
            },
            close: () => {
              if (pipe.clientClosed) return;
              pipe.clientClosed = true;
              w.net.push(() => session?.closed());
            },
          },
        },
        { server: SERVER, username: 'alice', password: USERS.alice, ...opts },
      );
      return pipe;
    },
  });
}

async function allocated(w: TcpWorld, from: StunAddress = CLIENT, opts: Partial<TurnTcpClientOptions> = {}): Promise<Pipe> {
  const p = w.connect(from, opts);
  p.tcp.client.start();
  await settle(w.net);
  assert.equal(p.tcp.client.state, 'allocated');
  return p;
}

async function run(w: World, ms: number, step = 1000): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    w.clock.advance(Math.min(step, ms - t));
    await settle(w.net);
  }
}

describe('TURN over TCP: TurnStreamServer + TurnTcpClient (RFC 8656 §3.1)', () => {
  test('allocate over the stream (401 → authenticated), relay both ways; ChannelData padded; no retransmissions', async () => {
    const w = tcpWorld();
    const p = await allocated(w);
    const relay = p.tcp.client.relayedAddress!;
    assert.deepEqual(relay, w.ports.ports[0]!.address);
    assert.deepEqual(p.tcp.client.mappedAddress, CLIENT, 'the TCP source address as the server saw it');
    const info = w.server.allocations();
    assert.equal(info.length, 1);
    assert.equal(info[0]!.transport, 'tcp');
    // client → peer: Send indication, then ChannelData once bound
    const got: string[] = [];
    p.tcp.client.events.on('data', (e) => got.push(dec.decode(e.data)));
    for (const m of ['one', 'two', 'three']) {
      p.tcp.client.send(PEER, enc.encode(m));
      await settle(w.net);
    }
    assert.deepEqual(w.peerInbox.map((m) => dec.decode(m.data)), ['one', 'two', 'three']);
    assert.ok(p.tcp.client.stats().sentChannelData >= 1);
    // peer → client: ChannelData (odd length: padded on the stream)
    w.peerSend(relay, enc.encode('back!'));
    w.peerSend(relay, enc.encode('other port'), { host: PEER.host, port: PEER.port + 1 });
    await settle(w.net);
    assert.deepEqual(got, ['back!', 'other port']);
    const cd = p.toClient.find((b) => b[0]! >= 0x40 && b[0]! <= 0x4f);
    assert.ok(cd !== undefined && cd.length % 4 === 0, 'ChannelData to a TCP client is padded to 4');
    assert.equal(p.tcp.stats().unclaimed, 0);
    assert.equal(w.streams.stats().unclaimed, 0);
    // every request was sent once: the stream is reliable (RFC 8489 §6.2.2)
    assert.equal(w.server.stats().challenges, 1);
    await run(w, 700_000, 5000); // a refresh, permission and channel refreshes on the way
    assert.equal(p.tcp.client.state, 'allocated');
    const requests = p.toServer.map((b) => decodeStun(b)).filter((d) => d.ok && d.value.cls === 'request');
    const tids = new Set(requests.map((d) => (d.ok ? Buffer.from(d.value.transactionId).toString('hex') : '')));
    assert.ok(requests.length >= 5);
    assert.equal(tids.size, requests.length, 'no request went twice');
  });

  test('a request without an answer fails after streamTimeoutMs, sent once', async () => {
    const w = tcpWorld();
    const p = w.connect(CLIENT, { streamTimeoutMs: 10_000 });
    w.net.up = false; // nothing arrives either way
    const failed: string[] = [];
    p.tcp.client.events.on('failed', (e) => failed.push(e.reason));
    p.tcp.client.start();
    await run(w, 9_000);
    assert.deepEqual(failed, []);
    await run(w, 2_000);
    assert.equal(failed.length, 1);
    assert.match(failed[0]!, /timeout/);
  });

  test('the connection is the 5-tuple: closing it releases the allocation and its relay port', async () => {
    const w = tcpWorld();
    const p = await allocated(w);
    const released: string[] = [];
    w.server.events.on('released', (e) => released.push(e.reason));
    p.tcp.closed('network gone');
    p.session!.closed();
    await settle(w.net);
    assert.deepEqual(released, ['closed']);
    assert.equal(w.server.stats().allocations, 0);
    assert.equal(w.ports.openCount, 0);
    assert.equal(w.streams.stats().connections, 0);
    assert.equal(p.tcp.client.state, 'failed', 'the client knows its allocation went with the connection');
  });

  test('stop(): Refresh with lifetime 0, then the connection closes', async () => {
    const w = tcpWorld();
    const p = await allocated(w);
    const stopping = p.tcp.stop();
    await settle(w.net);
    await stopping;
    assert.equal(p.tcp.client.state, 'stopped');
    assert.equal(w.server.stats().allocations, 0);
    assert.ok(p.clientClosed);
    await settle(w.net);
    assert.equal(w.streams.stats().connections, 0);
    assert.equal(w.clock.pendingTimers, 0, 'no timer left');
  });

  test('stop() does not wait past stopWaitMs for a server that does not answer', async () => {
    const w = tcpWorld();
    const p = await allocated(w, CLIENT, { stopWaitMs: 500 });
    w.net.up = false;
    const stopping = p.tcp.stop();
    await run(w, 600, 100);
    await stopping;
    assert.ok(p.clientClosed);
    assert.equal(p.tcp.client.state, 'stopped');
  });

  test('an allocation over an Allocate still opening its port: the close gives the port back', async () => {
    const w = tcpWorld();
    w.ports.hold = true;
    const p = w.connect(CLIENT);
    p.tcp.client.start();
    await settle(w.net);
    assert.equal(w.server.stats().pendingAllocations, 1);
    p.session!.closed();
    w.ports.release();
    await settle(w.net);
    assert.equal(w.server.stats().pendingAllocations, 0);
    assert.equal(w.server.stats().allocations, 0);
    assert.equal(w.ports.openCount, 0, 'the late port was closed at once');
  });

  test('UDP and TCP clients share the quotas; the same ip:port over UDP and TCP are two 5-tuples', async () => {
    const w = tcpWorld({ maxAllocationsPerUser: 2 });
    const udp = addClient(w, {}, CLIENT, 11);
    udp.client.start();
    await settle(w.net);
    assert.equal(udp.client.state, 'allocated');
    const p = await allocated(w, CLIENT); // same address, over TCP: its own allocation
    assert.equal(w.server.stats().allocations, 2);
    assert.notDeepEqual(p.tcp.client.relayedAddress, udp.client.relayedAddress);
    const third = w.connect({ host: CLIENT.host, port: CLIENT.port + 1 });
    third.tcp.client.start();
    await settle(w.net);
    assert.equal(third.tcp.client.state, 'failed');
    assert.equal(w.server.stats().errors[486], 1, 'per-user quota counts UDP and TCP allocations together');
    // the UDP client's allocation is untouched by the TCP one's close
    p.session!.closed();
    await settle(w.net);
    assert.equal(w.server.stats().allocations, 1);
    assert.equal(w.server.allocations()[0]!.transport, 'udp');
  });

  test('the bandwidth limit holds over TCP as over UDP', async () => {
    const w = tcpWorld({ bandwidthBytesPerS: 1000, bandwidthBurstBytes: 2000 });
    const p = await allocated(w);
    p.tcp.client.send(PEER, new Uint8Array(10));
    await settle(w.net);
    for (let i = 0; i < 10; i++) p.tcp.client.send(PEER, new Uint8Array(500));
    await settle(w.net);
    assert.ok(w.server.stats().droppedBandwidth >= 5, JSON.stringify(w.server.stats()));
  });

  test('limits: connections at once; idle without an allocation; bad framing; a full write buffer', async () => {
    const w = tcpWorld({}, { maxConnections: 2, idleTimeoutMs: 30_000 });
    const a = await allocated(w, CLIENT);
    const idle = w.connect({ host: CLIENT.host, port: 1 });
    assert.ok(idle.session !== undefined);
    const refused = w.connect({ host: CLIENT.host, port: 2 });
    assert.equal(refused.session, undefined, 'over maxConnections: refused at accept');
    assert.equal(w.streams.stats().refused, 1);
    // the idle one (no allocation) is closed after idleTimeoutMs; the allocated one stays
    await run(w, 31_000, 5000);
    assert.ok(idle.serverClosed);
    assert.equal(w.streams.stats().idleClosed, 1);
    assert.equal(a.serverClosed, false);
    assert.equal(a.tcp.client.state, 'allocated');
    // once its allocation is gone (deleted), the connection idles out too
    const deleting = a.tcp.client.stop();
    await settle(w.net);
    assert.equal(await deleting, true);
    // (stop() of the TurnClient alone leaves the connection open)
    assert.equal(a.serverClosed, false);
    await run(w, 31_000, 5000);
    assert.ok(a.serverClosed);
    assert.equal(w.streams.stats().idleClosed, 2);
    // garbage on a connection closes it
    const bad = w.connect({ host: CLIENT.host, port: 3 });
    bad.session!.receive(Uint8Array.of(0x16, 3, 1, 0, 0));
    assert.ok(bad.serverClosed);
    assert.equal(w.streams.stats().badFraming, 1);
    // a client that does not read: what the server cannot write is dropped and counted
    const slow = await allocated(w, { host: CLIENT.host, port: 4 });
    slow.tcp.client.send(PEER, enc.encode('x'));
    await settle(w.net);
    slow.full = true;
    w.peerSend(slow.tcp.client.relayedAddress!, enc.encode('lost'));
    await settle(w.net);
    assert.equal(w.streams.stats().writeDropped, 1);
  });

  test('an unauthenticated request over TCP gets the same 401; a Binding request is not TURN: dropped', async () => {
    const w = tcpWorld();
    const p = w.connect(CLIENT);
    const random = new SeededRandom(3);
    const tid = random.bytes(12);
    p.session!.receive(encodeStun({ method: StunMethod.Allocate, cls: 'request', transactionId: tid, attributes: [{ type: StunAttr.REQUESTED_TRANSPORT, value: Uint8Array.of(17, 0, 0, 0) }] }));
    assert.equal(p.toClient.length, 1);
    const d = decodeStun(p.toClient[0]!);
    assert.ok(d.ok && d.value.cls === 'error');
    p.session!.receive(encodeStun({ method: StunMethod.Binding, cls: 'request', transactionId: random.bytes(12), attributes: [] }));
    assert.equal(w.streams.stats().unclaimed, 1);
    // wrong credentials over TCP: 401 too, nothing allocated
    const tid2 = random.bytes(12);
    const attrs = [{ type: StunAttr.REQUESTED_TRANSPORT, value: Uint8Array.of(17, 0, 0, 0) }, textAttr(StunAttr.USERNAME, 'alice'), textAttr(StunAttr.REALM, REALM), textAttr(StunAttr.NONCE, 'bogus')];
    p.session!.receive(encodeStun({ method: StunMethod.Allocate, cls: 'request', transactionId: tid2, attributes: attrs }, { integrityKey: longTermKey('alice', REALM, 'wrong') }));
    assert.equal(w.server.stats().allocations, 0);
  });

  test('closeAll() closes every connection and releases their allocations', async () => {
    const w = tcpWorld();
    const a = await allocated(w, CLIENT);
    const b = await allocated(w, { host: CLIENT.host, port: CLIENT.port + 1 });
    w.streams.closeAll();
    await settle(w.net);
    assert.ok(a.serverClosed && b.serverClosed);
    assert.equal(w.server.stats().allocations, 0);
    assert.equal(a.tcp.client.state, 'failed');
  });
});
