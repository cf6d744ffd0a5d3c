/**
 * SIP over WebSocket (RFC 7118) on real loopback sockets: the `ws` client against our ws/wss
 * listeners (subprotocol 'sip', one SIP message per WS message), and layer to layer.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { endpoint, enc, hasIpv6Loopback, okFor, parse, request, tlsDriverOptions, tlsFiles, type Endpoint } from './sip-transport-helpers.js';

const opened: Endpoint[] = [];
const sockets: WebSocket[] = [];
function ep(...args: Parameters<typeof endpoint>): Endpoint {
  const e = endpoint(...args);
  opened.push(e);
  return e;
}
after(async () => {
  for (const s of sockets) s.terminate();
  await Promise.all(opened.map((e) => e.layer.close()));
});

interface WsClient {
  ws: WebSocket;
  messages: Array<{ text: string; binary: boolean }>;
  next(): Promise<{ text: string; binary: boolean }>;
}

function wsClient(url: string, protocols: string[], opts: { ca?: Buffer } = {}): Promise<WsClient> {
  const ws = new WebSocket(url, protocols, opts.ca === undefined ? {} : { ca: opts.ca });
  sockets.push(ws);
  const messages: Array<{ text: string; binary: boolean }> = [];
  const waiters: Array<(m: { text: string; binary: boolean }) => void> = [];
  ws.on('message', (data: Buffer, binary: boolean) => {
    const m = { text: data.toString('utf8'), binary };
    const w = waiters.shift();
    if (w) w(m);
    else messages.push(m);
  });
  const next = (): Promise<{ text: string; binary: boolean }> => {
    const m = messages.shift();
    return m ? Promise.resolve(m) : new Promise((r) => waiters.push(r));
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, messages, next }));
    ws.once('error', reject);
  });
}

async function wsRoundTrip(protocol: 'ws' | 'wss', host: string): Promise<void> {
  const server = ep(protocol === 'wss' ? tlsDriverOptions() : {});
  const srv = await server.layer.listen(protocol, host, 0);
  const url = `${protocol}://${host.includes(':') ? `[${host}]` : host}:${srv.port}`;
  const client = await wsClient(url, ['sip'], protocol === 'wss' ? { ca: tlsFiles.ca } : {});
  assert.equal(client.ws.protocol, 'sip');
  // RFC 7118 §5: no Content-Length needed inside a WS message; sent-by is a made-up .invalid name.
  client.ws.send(request(protocol.toUpperCase(), 'df7jal23ls0d.invalid').replace('Content-Length: 0\r\n', ''));
  const inbound = await server.inbox.next();
  assert.equal(inbound.source.protocol, protocol);
  assert.equal(inbound.source.host, host);
  assert.ok(inbound.flowId !== undefined);
  assert.equal(inbound.local.port, srv.port);
  assert.match(inbound.message.headers.get('via')!, new RegExp(`;rport=${inbound.source.port};.*;received=${host.replace(/\./g, '\\.')}$`));
  server.layer.send(okFor(inbound), { destination: inbound.source, flowId: inbound.flowId });
  const answer = await client.next();
  assert.equal(answer.binary, false);
  assert.match(answer.text, /^SIP\/2\.0 200 OK\r\n/);
  // SIP.js-style CRLF keep-alive in a WS message gets a CRLF pong.
  client.ws.send('\r\n\r\n');
  assert.equal((await client.next()).text, '\r\n');
  client.ws.close();
}

describe('SIP over WebSocket on real sockets (RFC 7118)', { timeout: 20_000 }, () => {
  test('ws: ws client, request in, response out on the same connection', () => wsRoundTrip('ws', '127.0.0.1'));

  test('ws over IPv6', async (t) => {
    if (!(await hasIpv6Loopback())) return t.skip('this machine has no IPv6 loopback ([::1])');
    await wsRoundTrip('ws', '::1');
  });

  test('wss with the fixture certificates', () => wsRoundTrip('wss', '127.0.0.1'));

  test("a handshake without the 'sip' subprotocol is refused", async () => {
    const server = ep();
    const srv = await server.layer.listen('ws', '127.0.0.1', 0);
    await assert.rejects(wsClient(`ws://127.0.0.1:${srv.port}`, ['chat']), /400/);
    assert.equal(server.layer.stats().openConnections, 0);
  });

  test('a WS message over the size limit closes the connection (1009)', async () => {
    const server = ep({ maxWsPayloadBytes: 2000 });
    const srv = await server.layer.listen('ws', '127.0.0.1', 0);
    const client = await wsClient(`ws://127.0.0.1:${srv.port}`, ['sip']);
    const closed = new Promise<number>((r) => client.ws.once('close', (code) => r(code)));
    client.ws.send(request('WS', 'x.invalid', 'b'.repeat(3000)));
    assert.equal(await closed, 1009);
    assert.equal(server.inbox.size, 0);
  });

  for (const protocol of ['ws', 'wss'] as const) {
    test(`layer to layer over ${protocol}: the client layer connects, the answer comes back on its flow`, async () => {
      const opts = protocol === 'wss' ? tlsDriverOptions() : {};
      const server = ep(opts);
      const client = ep(opts);
      const srv = await server.layer.listen(protocol, '127.0.0.1', 0);
      client.layer.send(parse(request(protocol.toUpperCase(), 'client.invalid')), { destination: srv });
      client.layer.send(parse(request(protocol.toUpperCase(), 'client.invalid', 'second')), { destination: srv });
      const first = await server.inbox.next();
      const second = await server.inbox.next();
      assert.equal(second.flowId, first.flowId, 'one connection, reused');
      assert.equal(new TextDecoder().decode(second.message.body), 'second');
      server.layer.send(okFor(first), { destination: first.source, flowId: first.flowId });
      const answer = await client.inbox.next();
      assert.equal(answer.message.kind, 'response');
      assert.equal(answer.source.protocol, protocol);
      assert.equal(client.layer.stats().openConnections, 1);
      assert.equal(server.layer.stats().openConnections, 1);
      assert.equal(enc.encode('x').length, 1);
    });
  }
});
