import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, PEER_V4, PEER_V6, SERVER_V4, enc, parse, parseRequest, request, response } from './layer-harness.js';
import type { TransportAddress } from '../../../../src/sip/transport/sip-transport.js';
import type { TransportDriver, TransportDriverUser } from '../../../../src/sip/transport/transport-driver.js';
import { TransportLayer } from '../../../../src/sip/transport/transport-layer.js';
import { ManualClock } from '../../../../src/lib/manual-clock.js';

const dec = new TextDecoder();
const peerTcp: TransportAddress = { protocol: 'tcp', host: PEER_V4, port: 5070 };

/** Requests the peer received on its stream connections, split on the start line. */
function countRequests(text: string): number {
  return text.split('OPTIONS sip:bob@example.com SIP/2.0').length - 1;
}

describe('TransportLayer send path (RFC 3261 §18.1)', () => {
  test('udp: sent from the listener of the destination family', async () => {
    const h = new Harness();
    await h.layer.listen('udp', '0.0.0.0', 5060);
    await h.layer.listen('udp', '::', 5062);
    await h.peer.listen('udp', '0.0.0.0', 5070);
    await h.peer.listen('udp', '::', 5070);
    h.layer.send(parse(request()), { destination: { protocol: 'udp', host: PEER_V4, port: 5070 } });
    h.layer.send(parse(request()), { destination: { protocol: 'udp', host: `[${PEER_V6}]`, port: 5070 } });
    h.settle();
    const d = h.peerEvents.of('datagram');
    assert.equal(d.length, 2);
    assert.deepEqual(d[0]!.remote, { protocol: 'udp', host: SERVER_V4, port: 5060 });
    assert.deepEqual(d[1]!.remote, { protocol: 'udp', host: '2001:db8::10', port: 5062 });
    assert.equal(h.layer.stats().sent, 2);
    assert.deepEqual(h.layer.localAddress('udp'), { protocol: 'udp', host: '0.0.0.0', port: 5060 });
    assert.equal(h.layer.localAddress('tls'), undefined);
    assert.equal(h.layer.isReliable('udp'), false);
    assert.equal(h.layer.isReliable('ws'), true);
  });

  test('errors are reported through onSendError, never from inside send()', async () => {
    const h = new Harness();
    const msg = parse(request());
    const target = { destination: { protocol: 'udp' as const, host: PEER_V4, port: 5070 } };
    h.layer.send(msg, target); // no udp listener
    assert.equal(h.sendErrors.length, 0);
    h.settle();
    assert.equal(h.sendErrors.length, 1);
    assert.equal(h.sendErrors[0]!.error.code, 'TRANSPORT_NOT_LISTENING');
    assert.equal(h.sendErrors[0]!.message, msg);
    assert.equal(h.sendErrors[0]!.target, target);
    await h.layer.listen('udp', '0.0.0.0', 5060);
    h.layer.send(msg, target); // nobody there: the driver reports it
    h.settle();
    assert.equal(h.sendErrors.length, 2);
    assert.equal(h.layer.stats().sendErrors, 2);
  });

  test('tcp: one connection, messages queued while it opens, then reused', async () => {
    const h = new Harness();
    await h.peer.listen('tcp', '0.0.0.0', 5070);
    for (let i = 0; i < 3; i++) h.layer.send(parse(request({ transport: 'TCP' })), { destination: peerTcp });
    h.settle();
    h.layer.send(parse(request({ transport: 'TCP' })), { destination: { ...peerTcp, host: PEER_V4 } });
    h.settle();
    const opened = h.peerEvents.of('opened');
    assert.equal(opened.length, 1);
    assert.equal(countRequests(h.peerEvents.streamText(opened[0]!.conn.id)), 4);
    assert.equal(h.layer.stats().openConnections, 1);
    assert.equal(h.layer.stats().sent, 4);
  });

  test('a response on the flow of its request even when the destination differs; new connection when the flow is gone', async () => {
    const h = new Harness();
    await h.layer.listen('tcp', '0.0.0.0', 5060);
    await h.peer.listen('tcp', '0.0.0.0', 5070);
    const id = h.peerConnect('tcp');
    h.peer.write(id, enc.encode(request({ transport: 'TCP' })));
    h.settle();
    const inbound = h.received[0]!;
    h.peer.close(id);
    h.settle();
    assert.equal(h.layer.stats().openConnections, 0);
    // RFC 3261 §18.2.2: connection gone: open one to the sent-by address.
    h.layer.send(parse(response(200)), { destination: peerTcp, flowId: inbound.flowId });
    h.settle();
    const opened = h.peerEvents.of('opened').filter((e) => !e.conn.outbound);
    assert.equal(opened.length, 1);
    assert.match(h.peerEvents.streamText(opened[0]!.conn.id), /^SIP\/2\.0 200 OK/);
  });

  test('connect refused: every queued message is reported', async () => {
    const h = new Harness();
    h.layer.send(parse(request({ transport: 'TCP' })), { destination: peerTcp });
    h.layer.send(parse(request({ transport: 'TCP' })), { destination: peerTcp });
    h.settle();
    assert.deepEqual(
      h.sendErrors.map((e) => e.error.code),
      ['TRANSPORT_CONNECT_FAILED', 'TRANSPORT_CONNECT_FAILED'],
    );
    assert.equal(h.layer.stats().openConnections, 0);
  });

  test('the queue of a connecting flow is bounded', async () => {
    const h = new Harness({ maxQueuedPerConnection: 2 });
    await h.peer.listen('tcp', '0.0.0.0', 5070);
    for (let i = 0; i < 3; i++) h.layer.send(parse(request({ transport: 'TCP' })), { destination: peerTcp });
    h.clock.advance(0);
    assert.deepEqual(
      h.sendErrors.map((e) => e.error.code),
      ['TRANSPORT_QUEUE_FULL'],
    );
    h.settle();
    assert.equal(countRequests(h.peerEvents.streamText(h.peerEvents.of('opened')[0]!.conn.id)), 2);
  });

  test('connect timeout', async () => {
    const h = new Harness({ connectTimeoutMs: 5000 });
    await h.peer.listen('tcp', '0.0.0.0', 5070);
    h.layer.send(parse(request({ transport: 'TCP' })), { destination: peerTcp });
    h.clock.advance(4999);
    assert.equal(h.sendErrors.length, 0);
    h.clock.advance(1);
    assert.equal(h.sendErrors[0]?.error.code, 'TRANSPORT_CONNECT_TIMEOUT');
    h.settle(); // the late connection is closed, nothing is written on it
    const opened = h.peerEvents.of('opened');
    assert.ok(opened.length <= 1);
    if (opened.length === 1) assert.equal(h.peerEvents.streamText(opened[0]!.conn.id), '');
    assert.equal(h.layer.stats().openConnections, 0);
  });

  test('a connection that opens after its timeout is closed, not adopted', () => {
    const closed: string[] = [];
    let user: TransportDriverUser | undefined;
    const driver: TransportDriver = {
      setUser: (u) => (user = u),
      listen: (p, host, port) => Promise.resolve({ protocol: p, host, port }),
      unlisten: () => Promise.resolve(),
      sendDatagram: () => {},
      connect: () => 'late-1',
      write: () => {},
      close: (id) => closed.push(id),
      shutdown: () => Promise.resolve(),
    };
    const clock = new ManualClock();
    const errors: string[] = [];
    const layer = new TransportLayer(
      { driver, clock, user: { onMessage: () => {}, onSendError: (_t, _m, e) => errors.push((e as Error & { code: string }).code) } },
      { connectTimeoutMs: 1000 },
    );
    layer.send(parse(request({ transport: 'TCP' })), { destination: peerTcp });
    clock.advance(1000);
    assert.deepEqual(errors, ['TRANSPORT_CONNECT_TIMEOUT']);
    assert.deepEqual(closed, ['late-1']);
    const local = { protocol: 'tcp' as const, host: SERVER_V4, port: 40000 };
    user!.onConnectionOpened({ id: 'late-1', protocol: 'tcp', local, remote: peerTcp, outbound: true });
    assert.deepEqual(closed, ['late-1', 'late-1']);
    assert.equal(layer.stats().openConnections, 0);
  });

  test('idle connections are closed after idleTimeoutMs without traffic; traffic keeps them', async () => {
    // no first-message deadline: this is about the idle timer alone (message-deadlines.test.ts has the rest)
    const h = new Harness({ idleTimeoutMs: 60_000, firstMessageTimeoutMs: 0 });
    await h.layer.listen('tcp', '0.0.0.0', 5060);
    const id = h.peerConnect('tcp');
    h.clock.advance(50_000);
    h.peer.write(id, enc.encode(request({ transport: 'TCP' })));
    h.settle();
    h.clock.advance(50_000); // 100 s after open, 50 s after the last byte
    h.settle();
    assert.equal(h.peerEvents.of('closed').length, 0);
    h.clock.advance(10_000);
    h.settle();
    assert.equal(h.peerEvents.of('closed').length, 1);
    assert.equal(h.layer.stats().openConnections, 0);
  });

  test('a held flow outlives the idle timeout until its deadline', async () => {
    const h = new Harness({ idleTimeoutMs: 60_000 });
    await h.layer.listen('tcp', '0.0.0.0', 5060);
    h.peerConnect('tcp');
    h.peer.write(h.peerEvents.of('opened')[0]!.conn.id, enc.encode(request({ transport: 'TCP' })));
    h.settle();
    const flowId = h.received[0]!.flowId!;
    assert.equal(h.layer.holdFlow(flowId, 600_000), true);
    assert.equal(h.layer.holdFlow('no-such-flow', 1), false);
    h.clock.advance(599_999);
    h.settle();
    assert.equal(h.peerEvents.of('closed').length, 0);
    h.clock.advance(1);
    h.settle();
    assert.equal(h.peerEvents.of('closed').length, 1);
  });

  test('maxConnections: extra accepted connections are closed, extra outbound ones fail', async () => {
    const h = new Harness({ maxConnections: 2 });
    await h.layer.listen('tcp', '0.0.0.0', 5060);
    await h.peer.listen('tcp', '0.0.0.0', 5070);
    h.peerConnect('tcp');
    h.peerConnect('tcp');
    h.peerConnect('tcp');
    assert.equal(h.layer.stats().openConnections, 2);
    assert.equal(h.layer.stats().rejectedConnections, 1);
    assert.equal(h.peerEvents.of('closed').length, 1);
    h.layer.send(parse(request({ transport: 'TCP' })), { destination: peerTcp });
    h.settle();
    assert.equal(h.sendErrors[0]?.error.code, 'TRANSPORT_TOO_MANY_CONNECTIONS');
  });

  test('CRLF keep-alive pings on flows we opened (RFC 5626 §4.4.1)', async () => {
    const h = new Harness({ keepAliveIntervalMs: 25_000, idleTimeoutMs: 60_000 });
    await h.layer.listen('tcp', '0.0.0.0', 5060);
    await h.peer.listen('tcp', '0.0.0.0', 5070);
    h.layer.send(parse(request({ transport: 'TCP' })), { destination: peerTcp });
    h.settle();
    const conn = h.peerEvents.of('opened')[0]!.conn;
    const before = h.peerEvents.streamText(conn.id);
    for (let i = 0; i < 4; i++) {
      h.clock.advance(25_000);
      h.settle();
    }
    assert.equal(h.peerEvents.streamText(conn.id).slice(before.length), '\r\n\r\n'.repeat(4));
    assert.equal(h.peerEvents.of('closed').length, 0, 'pings keep the flow');
    // flows the peer opened get no pings
    const inboundId = h.peerConnect('tcp');
    h.clock.advance(50_000);
    h.settle();
    assert.equal(h.peerEvents.streamText(inboundId), '');
  });

  test('udp request over 1300 bytes goes over TCP with the top Via changed (RFC 3261 §18.1.1)', async () => {
    const h = new Harness();
    await h.layer.listen('udp', '0.0.0.0', 5060);
    await h.layer.listen('tcp', '0.0.0.0', 5062);
    await h.peer.listen('udp', '0.0.0.0', 5070);
    await h.peer.listen('tcp', '0.0.0.0', 5070);
    const big = parseRequest(request({ via: `SIP/2.0/UDP ${SERVER_V4}:5060;branch=z9hG4bK-big`, body: 'x'.repeat(1400) }));
    h.layer.send(big, { destination: { protocol: 'udp', host: PEER_V4, port: 5070 } });
    h.settle();
    assert.equal(h.peerEvents.of('datagram').length, 0);
    const conn = h.peerEvents.of('opened')[0]!.conn;
    const text = h.peerEvents.streamText(conn.id);
    assert.match(text, new RegExp(`\r\nVia: SIP/2.0/TCP ${SERVER_V4}:5062;branch=z9hG4bK-big\r\n`));
    assert.equal(big.headers.get('via'), `SIP/2.0/UDP ${SERVER_V4}:5060;branch=z9hG4bK-big`, "caller's message untouched");
    // responses and small requests stay on UDP
    h.layer.send(parse(response(200, { body: 'y'.repeat(1400) })), { destination: { protocol: 'udp', host: PEER_V4, port: 5070 } });
    h.layer.send(parse(request()), { destination: { protocol: 'udp', host: PEER_V4, port: 5070 } });
    h.settle();
    assert.equal(h.peerEvents.of('datagram').length, 2);
  });

  test('a request moved to TCP falls back to UDP when TCP is refused', async () => {
    const h = new Harness();
    await h.layer.listen('udp', '0.0.0.0', 5060);
    await h.layer.listen('tcp', '0.0.0.0', 5060);
    await h.peer.listen('udp', '0.0.0.0', 5070);
    const big = parse(request({ via: `SIP/2.0/UDP ${SERVER_V4}:5060;branch=z9hG4bK-big`, body: 'x'.repeat(1400) }));
    h.layer.send(big, { destination: { protocol: 'udp', host: PEER_V4, port: 5070 } });
    h.settle();
    const d = h.peerEvents.of('datagram');
    assert.equal(d.length, 1);
    assert.match(d[0]!.text, /\r\nVia: SIP\/2\.0\/UDP /);
    assert.equal(h.sendErrors.length, 0);
  });

  test('without a TCP listener a large request stays on UDP; over 65507 bytes it fails', async () => {
    const h = new Harness();
    await h.layer.listen('udp', '0.0.0.0', 5060);
    await h.peer.listen('udp', '0.0.0.0', 5070);
    h.layer.send(parse(request({ body: 'x'.repeat(1400) })), { destination: { protocol: 'udp', host: PEER_V4, port: 5070 } });
    const huge = parse(request());
    huge.body = new Uint8Array(70_000);
    h.layer.send(huge, { destination: { protocol: 'udp', host: PEER_V4, port: 5070 } });
    h.settle();
    assert.equal(h.peerEvents.of('datagram').length, 1);
    assert.equal(h.sendErrors[0]?.error.code, 'TRANSPORT_MESSAGE_TOO_LARGE');
  });

  test('ws: the layer connects out and sends one message per WS message', async () => {
    const h = new Harness();
    await h.peer.listen('ws', '0.0.0.0', 8080);
    const target = { destination: { protocol: 'ws' as const, host: PEER_V4, port: 8080 } };
    h.layer.send(parse(request({ transport: 'WS' })), target);
    h.layer.send(parse(request({ transport: 'WS' })), target);
    h.settle();
    const ws = h.peerEvents.of('ws');
    assert.equal(ws.length, 2);
    assert.ok(ws.every((m) => countRequests(m.text) === 1 && !m.binary));
  });

  test('close(): connections closed, later sends fail, no more events', async () => {
    const h = new Harness({ keepAliveIntervalMs: 1000 });
    await h.layer.listen('tcp', '0.0.0.0', 5060);
    await h.peer.listen('tcp', '0.0.0.0', 5070);
    h.layer.send(parse(request({ transport: 'TCP' })), { destination: peerTcp });
    h.settle();
    await h.layer.close();
    h.settle();
    assert.equal(h.peerEvents.of('closed').length, 1);
    assert.equal(h.clock.pendingTimers, 0);
    h.layer.send(parse(request({ transport: 'TCP' })), { destination: peerTcp });
    h.settle();
    assert.equal(h.sendErrors[0]?.error.code, 'TRANSPORT_CLOSED');
    await assert.rejects(h.layer.listen('udp', '0.0.0.0', 0), { code: 'TRANSPORT_CLOSED' });
    assert.equal(dec.decode(new Uint8Array()), '');
  });
});
