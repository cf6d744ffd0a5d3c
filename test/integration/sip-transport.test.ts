/**
 * The SIP transport layer over real loopback sockets (NodeTransportDriver): UDP over IPv4 and
 * IPv6, TCP, TLS with the fixture certificates. A request is delivered with the right
 * InboundMessage; its response goes back on the same flow.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { createSocket } from 'node:dgram';
import type { TransportProtocol } from '../../src/sip/transport/sip-transport.js';
import { NodeTransportDriver } from '../../src/platform/node-transport-driver.js';
import { endpoint, enc, hasIpv6Loopback, okFor, parse, request, tlsDriverOptions, tlsFiles, type Endpoint } from './sip-transport-helpers.js';

const opened: Endpoint[] = [];
function ep(...args: Parameters<typeof endpoint>): Endpoint {
  const e = endpoint(...args);
  opened.push(e);
  return e;
}
after(async () => {
  await Promise.all(opened.map((e) => e.layer.close()));
});

/** Client sends a request to the server, the server answers on the flow; both ends checked. */
async function roundTrip(protocol: TransportProtocol, host: string, options = {}): Promise<void> {
  const server = ep(options);
  const client = ep(options);
  const srv = await server.layer.listen(protocol, host, 0);
  const cli = await client.layer.listen(protocol, host, 0);
  assert.ok(srv.port > 0);
  const sentBy = host.includes(':') ? `[${host}]:${cli.port}` : `${host}:${cli.port}`;
  client.layer.send(parse(request(protocol.toUpperCase(), sentBy)), { destination: srv });
  const inbound = await server.inbox.next();
  assert.equal(inbound.message.kind, 'request');
  assert.equal(inbound.source.protocol, protocol);
  assert.equal(inbound.source.host, host);
  assert.equal(inbound.local.protocol, protocol);
  assert.equal(inbound.local.port, srv.port);
  assert.equal(inbound.local.host, host);
  if (protocol === 'udp') {
    assert.equal(inbound.flowId, undefined);
    assert.equal(inbound.source.port, cli.port, 'sent from the listening socket');
  } else {
    assert.ok(inbound.flowId !== undefined);
    assert.notEqual(inbound.source.port, cli.port, 'an ephemeral port');
  }
  // RFC 3581: rport filled with the source port, received added.
  const via = inbound.message.headers.get('via')!;
  assert.ok(via.includes(`;rport=${inbound.source.port};`), via);
  assert.ok(via.endsWith(`;received=${host}`), via);

  server.layer.send(okFor(inbound), { destination: inbound.source, flowId: inbound.flowId });
  const answer = await client.inbox.next();
  assert.equal(answer.message.kind, 'response');
  if (answer.message.kind === 'response') assert.equal(answer.message.status, 200);
  assert.equal(answer.source.port, srv.port, 'from the server listening port / connection');
  if (protocol !== 'udp') {
    assert.equal(server.layer.stats().openConnections, 1, 'no second connection for the response');
    assert.equal(client.layer.stats().openConnections, 1);
  }
  assert.equal(server.errors.size + client.errors.size, 0);
}

describe('SIP transport over real sockets', { timeout: 20_000 }, () => {
  test('udp over IPv4', () => roundTrip('udp', '127.0.0.1'));

  test('udp over IPv6', async (t) => {
    if (!(await hasIpv6Loopback())) return t.skip('this machine has no IPv6 loopback ([::1])');
    await roundTrip('udp', '::1');
  });

  test('tcp over IPv4', () => roundTrip('tcp', '127.0.0.1'));

  test('tcp over IPv6', async (t) => {
    if (!(await hasIpv6Loopback())) return t.skip('this machine has no IPv6 loopback ([::1])');
    await roundTrip('tcp', '::1');
  });

  test('tls with the fixture certificates', () => roundTrip('tls', '127.0.0.1', tlsDriverOptions()));

  test('tls with client certificates required (requestCert pass-through)', () =>
    roundTrip('tls', '127.0.0.1', {
      tls: { key: tlsFiles.key, cert: tlsFiles.cert, ca: tlsFiles.ca, requestCert: true, rejectUnauthorized: true },
      tlsClient: { ca: tlsFiles.ca, key: tlsFiles.clientKey, cert: tlsFiles.clientCert },
    }));

  test('tls to a server whose certificate is not trusted fails as a send error', async () => {
    const server = ep(tlsDriverOptions());
    const client = ep({}); // no CA: the server certificate is not trusted
    const srv = await server.layer.listen('tls', '127.0.0.1', 0);
    client.layer.send(parse(request('TLS', '127.0.0.1:5061')), { destination: srv });
    const err = (await client.errors.next()) as Error & { code?: string };
    assert.equal(err.code, 'TRANSPORT_CONNECT_FAILED');
    assert.equal(server.inbox.size, 0);
  });

  test('tcp connection refused is a send error', async () => {
    const probe = ep();
    const a = await probe.layer.listen('tcp', '127.0.0.1', 0);
    const client = ep();
    await probe.layer.close(); // nothing listens on a.port any more
    client.layer.send(parse(request('TCP', '127.0.0.1:5060')), { destination: a });
    const err = (await client.errors.next()) as Error & { code?: string };
    assert.equal(err.code, 'TRANSPORT_CONNECT_FAILED');
  });

  test('raw tcp client: chunks, CRLF ping/pong, response on the connection', async () => {
    const server = ep();
    const srv = await server.layer.listen('tcp', '0.0.0.0', 0);
    const sock = netConnect({ host: '127.0.0.1', port: srv.port });
    const received: Buffer[] = [];
    let got = '';
    const gotText = (re: RegExp): Promise<void> =>
      new Promise((resolve) => {
        const check = (): void => {
          got = Buffer.concat(received).toString('latin1');
          if (re.test(got)) resolve();
          else sock.once('data', (d: Buffer) => (received.push(d), check()));
        };
        check();
      });
    await new Promise<void>((r) => sock.once('connect', () => r()));
    const bytes = enc.encode('\r\n\r\n' + request('TCP', 'client.invalid', 'hello'));
    for (let i = 0; i < bytes.length; i += 50) sock.write(bytes.subarray(i, i + 50));
    await gotText(/^\r\n$/);
    const inbound = await server.inbox.next();
    assert.equal(new TextDecoder().decode(inbound.message.body), 'hello');
    assert.deepEqual(inbound.local, { protocol: 'tcp', host: '127.0.0.1', port: srv.port }, 'the socket address, not the wildcard');
    server.layer.send(okFor(inbound), { destination: inbound.source, flowId: inbound.flowId });
    await gotText(/^\r\nSIP\/2\.0 200 OK\r\n[\s\S]*\r\n\r\n$/);
    assert.match(got, /received=127\.0\.0\.1/);
    sock.destroy();
  });

  test('udp listener on 0.0.0.0 with deliberate socket buffer sizes', async () => {
    const driver = new NodeTransportDriver({ udpReceiveBufferBytes: 65536, udpSendBufferBytes: 65536 });
    const bound = await driver.listen('udp', '0.0.0.0', 0);
    const sizes = driver.udpBufferSizes(bound)!;
    // Linux reports twice the value set (bookkeeping overhead); other systems the value itself.
    assert.ok([65536, 131072].includes(sizes.receive), String(sizes.receive));
    assert.ok([65536, 131072].includes(sizes.send), String(sizes.send));
    const dflt = new NodeTransportDriver();
    const b2 = await dflt.listen('udp', '127.0.0.1', 0);
    assert.ok(dflt.udpBufferSizes(b2)!.receive > 212992, 'the 4 MiB default asked for more than the kernel default');
    await assert.rejects(dflt.listen('udp', '127.0.0.1', b2.port), { code: 'TRANSPORT_ADDRESS_IN_USE' });
    await assert.rejects(dflt.listen('tcp', 'localhost', 0), { code: 'TRANSPORT_BAD_ADDRESS' });
    await assert.rejects(dflt.listen('tls', '127.0.0.1', 0), { code: 'TRANSPORT_BAD_ADDRESS' });
    await driver.shutdown();
    await dflt.shutdown();
  });

  test('udp garbage from the network is counted, never thrown', async () => {
    const server = ep();
    const srv = await server.layer.listen('udp', '127.0.0.1', 0);
    const s = createSocket('udp4');
    const junk = [Buffer.from('garbage'), Buffer.alloc(70_000 > 65507 ? 65507 : 1, 0x41), Buffer.from('\r\n\r\n')];
    for (const j of junk) await new Promise<void>((r) => s.send(j, srv.port, '127.0.0.1', () => r()));
    s.send(enc.encode(request('UDP', 'x.invalid')), srv.port, '127.0.0.1');
    await server.inbox.next(); // datagrams on loopback arrive in order
    s.close();
    const st = server.layer.stats();
    assert.equal(st.droppedDatagrams, 2);
    assert.equal(st.keepAlivesReceived, 1);
    assert.equal(st.received, 1);
  });

  test('a reset mid-message and an endless header are survived and cleaned up', async () => {
    const server = ep();
    const srv = await server.layer.listen('tcp', '127.0.0.1', 0);
    const connected = (): Promise<ReturnType<typeof netConnect>> =>
      new Promise((resolve) => {
        const s = netConnect({ host: '127.0.0.1', port: srv.port }, () => resolve(s));
        s.on('error', () => {});
      });
    const a = await connected();
    a.write(request('TCP', 'x.invalid').slice(0, 40));
    a.resetAndDestroy();
    const b = await connected();
    const closed = new Promise<void>((r) => b.once('close', () => r()));
    const chunk = Buffer.alloc(16 * 1024, 0x61);
    const writeMore = (): void => {
      if (!b.destroyed && b.write(chunk)) setImmediate(writeMore);
    };
    b.on('drain', writeMore);
    writeMore();
    await closed; // header section over 32 KiB: framing error, connection closed by the server
    const st = server.layer.stats();
    assert.equal(st.framingErrors, 1);
    assert.equal(server.inbox.size, 0);
    // both connections are gone from the books once the driver has reported them
    const c = await connected();
    c.write(request('TCP', 'x.invalid'));
    await server.inbox.next();
    // the reset one may be reported a few event-loop turns later
    for (let i = 0; i < 10_000 && server.layer.stats().openConnections !== 1; i++) await new Promise((r) => setImmediate(r));
    assert.equal(server.layer.stats().openConnections, 1);
    c.destroy();
  });

  test('close() does not wait for peers stuck in a TLS or WebSocket handshake', async () => {
    const server = endpoint(tlsDriverOptions());
    const tlsAddr = await server.layer.listen('tls', '127.0.0.1', 0);
    const wsAddr = await server.layer.listen('ws', '127.0.0.1', 0);
    const stuck = await Promise.all(
      [tlsAddr.port, wsAddr.port].map(
        (port) =>
          new Promise<ReturnType<typeof netConnect>>((resolve) => {
            const s = netConnect({ host: '127.0.0.1', port }, () => resolve(s));
            s.on('error', () => {});
          }),
      ),
    );
    stuck[1]!.write('GET / HTTP/1.1\r\nHost: x\r\n'); // an unfinished HTTP request
    const closedAll = Promise.all(stuck.map((s) => new Promise<void>((r) => s.once('close', () => r()))));
    await server.layer.close();
    await closedAll;
  });

  test('listeners on :: also serve IPv4 peers, reported as plain IPv4', async (t) => {
    if (!(await hasIpv6Loopback())) return t.skip('this machine has no IPv6 loopback ([::1])');
    const dual = ep();
    const v4 = ep();
    const udp = await dual.layer.listen('udp', '::', 0);
    const tcp = await dual.layer.listen('tcp', '::', 0);
    const v4udp = await v4.layer.listen('udp', '127.0.0.1', 0);
    dual.layer.send(parse(request('UDP', 'dual.invalid')), { destination: v4udp });
    assert.equal((await v4.inbox.next()).source.port, udp.port, 'sent from the :: socket to an IPv4 address');
    v4.layer.send(parse(request('UDP', 'v4.invalid')), { destination: { protocol: 'udp', host: '127.0.0.1', port: udp.port } });
    assert.equal((await dual.inbox.next()).source.host, '127.0.0.1');
    v4.layer.send(parse(request('TCP', 'v4.invalid')), { destination: { protocol: 'tcp', host: '127.0.0.1', port: tcp.port } });
    const m = await dual.inbox.next();
    assert.equal(m.source.host, '127.0.0.1');
    assert.deepEqual(m.local, { protocol: 'tcp', host: '127.0.0.1', port: tcp.port });
  });
});
