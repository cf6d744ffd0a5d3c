import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SIP_LIMITS } from '../../../../src/sip/message/sip-message.js';
import { Harness, PEER_V4, PEER_V6, SERVER_V4, SERVER_V6, enc, parse, request, response } from './layer-harness.js';

async function udpHarness(): Promise<{ h: Harness; from: Awaited<ReturnType<Harness['peerUdp']>> }> {
  const h = new Harness();
  await h.layer.listen('udp', '0.0.0.0', 5060);
  await h.layer.listen('udp', '::', 5060);
  const from = await h.peerUdp(5070);
  return { h, from };
}

function sendUdp(h: Harness, from: { port: number }, text: string | Uint8Array, to = SERVER_V4): void {
  const data = typeof text === 'string' ? enc.encode(text) : text;
  h.peer.sendDatagram({ protocol: 'udp', host: '0.0.0.0', port: from.port }, { protocol: 'udp', host: to, port: 5060 }, data);
  h.settle();
}

describe('TransportLayer receive path (RFC 3261 §18.2.1, RFC 3581)', () => {
  test('udp request: InboundMessage fields, Via untouched when sent-by is the source', async () => {
    const { h, from } = await udpHarness();
    sendUdp(h, from, request());
    assert.equal(h.received.length, 1);
    const m = h.received[0]!;
    assert.deepEqual(m.source, { protocol: 'udp', host: PEER_V4, port: 5070 });
    assert.deepEqual(m.local, { protocol: 'udp', host: '0.0.0.0', port: 5060 });
    assert.equal(m.flowId, undefined);
    assert.equal(m.message.headers.get('via'), `SIP/2.0/UDP ${PEER_V4}:5070;branch=z9hG4bK-1`);
    assert.equal(h.layer.stats().received, 1);
  });

  test('received added when sent-by is a name or another address', async () => {
    const { h, from } = await udpHarness();
    sendUdp(h, from, request({ via: 'SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK-2' }));
    sendUdp(h, from, request({ via: 'SIP/2.0/UDP 192.0.2.99:5070;branch=z9hG4bK-3' }));
    assert.equal(h.received[0]!.message.headers.get('via'), `SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK-2;received=${PEER_V4}`);
    assert.equal(h.received[1]!.message.headers.get('via'), `SIP/2.0/UDP 192.0.2.99:5070;branch=z9hG4bK-3;received=${PEER_V4}`);
  });

  test('empty rport is filled and received always added (RFC 3581 §4); a set rport is kept', async () => {
    const { h, from } = await udpHarness();
    sendUdp(h, from, request({ via: `SIP/2.0/UDP ${PEER_V4}:5070;rport;branch=z9hG4bK-4` }));
    sendUdp(h, from, request({ via: `SIP/2.0/UDP 192.0.2.99;rport=1234;branch=z9hG4bK-5` }));
    assert.equal(h.received[0]!.message.headers.get('via'), `SIP/2.0/UDP ${PEER_V4}:5070;rport=5070;branch=z9hG4bK-4;received=${PEER_V4}`);
    assert.equal(h.received[1]!.message.headers.get('via'), `SIP/2.0/UDP 192.0.2.99;rport=1234;branch=z9hG4bK-5;received=${PEER_V4}`);
  });

  test('only the top Via value is rewritten; the rest of its field and later fields keep their bytes', async () => {
    const { h, from } = await udpHarness();
    const via = 'SIP/2.0/UDP proxy.example.com;branch=z9hG4bK-6 ,SIP/2.0/TCP  a.example.com;branch=z9hG4bK-x';
    sendUdp(h, from, request({ via, extra: 'Via: SIP/2.0/UDP b.example.com;branch=z9hG4bK-y\r\n' }));
    const vias = h.received[0]!.message.headers.getAll('via');
    assert.deepEqual(vias, [
      `SIP/2.0/UDP proxy.example.com;branch=z9hG4bK-6;received=${PEER_V4},SIP/2.0/TCP  a.example.com;branch=z9hG4bK-x`,
      'SIP/2.0/UDP b.example.com;branch=z9hG4bK-y',
    ]);
  });

  test('IPv6: equal addresses in another spelling need no received; others get it without brackets', async () => {
    const { h, from } = await udpHarness();
    sendUdp(h, from, request({ via: 'SIP/2.0/UDP [2001:DB8:0::20]:5070;branch=z9hG4bK-7' }), SERVER_V6);
    sendUdp(h, from, request({ via: 'SIP/2.0/UDP [2001:db8::99]:5070;rport;branch=z9hG4bK-8' }), SERVER_V6);
    assert.equal(h.received[0]!.source.host, PEER_V6);
    assert.deepEqual(h.received[0]!.local, { protocol: 'udp', host: '::', port: 5060 });
    assert.equal(h.received[0]!.message.headers.get('via'), 'SIP/2.0/UDP [2001:DB8:0::20]:5070;branch=z9hG4bK-7');
    assert.equal(h.received[1]!.message.headers.get('via'), `SIP/2.0/UDP [2001:db8::99]:5070;rport=5070;branch=z9hG4bK-8;received=${PEER_V6}`);
  });

  test('responses are delivered without Via processing', async () => {
    const { h, from } = await udpHarness();
    const text = response(180, { via: 'SIP/2.0/UDP far.example.com;rport;branch=z9hG4bK-9' });
    sendUdp(h, from, text);
    assert.equal(h.received.length, 1);
    assert.equal(h.received[0]!.message.kind, 'response');
    assert.equal(h.received[0]!.message.headers.get('via'), 'SIP/2.0/UDP far.example.com;rport;branch=z9hG4bK-9');
  });

  test('an unparseable request is answered by the parser response, to the source', async () => {
    const { h, from } = await udpHarness();
    sendUdp(h, from, request().replace('CSeq: 1 OPTIONS', 'CSeq: one OPTIONS'));
    assert.equal(h.received.length, 0);
    const answers = h.peerDatagrams();
    assert.equal(answers.length, 1);
    assert.match(answers[0]!, /^SIP\/2\.0 400 /);
    assert.match(answers[0]!, /Call-ID: call-1@example.com/);
    const s = h.layer.stats();
    assert.equal(s.parseErrors, 1);
    assert.equal(s.errorResponsesSent, 1);
    assert.equal(s.droppedDatagrams, 0);
  });

  test('garbage, bad responses and oversized datagrams are dropped and counted; CRLF is a keep-alive', async () => {
    const { h, from } = await udpHarness();
    sendUdp(h, from, new Uint8Array([0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42])); // a STUN-like header
    sendUdp(h, from, response(200).replace('CSeq: 1 OPTIONS', 'CSeq: x'));
    sendUdp(h, from, new Uint8Array(DEFAULT_SIP_LIMITS.maxMessageBytes + 1).fill(0x41));
    sendUdp(h, from, '\r\n\r\n');
    const s = h.layer.stats();
    assert.equal(h.received.length, 0);
    assert.equal(s.droppedDatagrams, 3);
    assert.equal(s.parseErrors, 3);
    assert.equal(s.keepAlivesReceived, 1);
    assert.equal(h.peerDatagrams().length, 0);
  });

  test('every RFC 4475 / 5118 torture message is handled without throwing', async () => {
    const { readdirSync, readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { h, from } = await udpHarness();
    let n = 0;
    for (const dir of ['test/fixtures/torture/rfc4475', 'test/fixtures/torture/rfc5118']) {
      for (const f of readdirSync(dir).filter((x) => x.endsWith('.sip'))) {
        sendUdp(h, from, readFileSync(join(dir, f)));
        n++;
      }
    }
    const s = h.layer.stats();
    assert.equal(s.received + s.parseErrors, n);
    assert.ok(s.received > 20);
    assert.equal(h.warnings.length, 0, h.warnings.join('\n'));
  });

  test('a throwing user does not break the layer', async () => {
    const { h, from } = await udpHarness();
    h.onMessage = () => {
      throw new Error('boom');
    };
    sendUdp(h, from, request());
    sendUdp(h, from, request());
    assert.equal(h.received.length, 2);
    assert.equal(h.warnings.length, 2);
  });

  test('tcp: messages split across chunks arrive with their flow; answers go back on it', async () => {
    const h = new Harness({}, { maxChunkBytes: 5 });
    await h.layer.listen('tcp', '0.0.0.0', 5060);
    const id = h.peerConnect('tcp');
    h.peer.write(id, enc.encode('\r\n' + request({ transport: 'TCP', body: 'hello' }) + '\r\n\r\n' + request({ transport: 'TCP' })));
    h.settle();
    assert.equal(h.received.length, 2);
    const m = h.received[0]!;
    assert.ok(m.flowId !== undefined);
    assert.equal(m.source.protocol, 'tcp');
    assert.equal(m.source.host, PEER_V4);
    assert.deepEqual(m.local, { protocol: 'tcp', host: SERVER_V4, port: 5060 });
    assert.equal(new TextDecoder().decode(m.message.body), 'hello');
    assert.equal(h.received[1]!.flowId, m.flowId);
    // the CRLFCRLF ping between them got a CRLF pong
    assert.equal(h.peerEvents.streamText(id), '\r\n');
    assert.equal(h.layer.stats().keepAlivesReceived, 1);
    // a response on the same flow, to an address that is not listening at all
    h.layer.send(parse(response(200)), { destination: m.source, flowId: m.flowId });
    h.settle();
    assert.match(h.peerEvents.streamText(id), /^\r\nSIP\/2\.0 200 OK\r\n/);
    assert.equal(h.sendErrors.length, 0);
    assert.equal(h.layer.stats().openConnections, 1);
  });

  test('tcp framing error: 400 naming the problem, then the connection is closed', async () => {
    const h = new Harness();
    await h.layer.listen('tcp', '0.0.0.0', 5060);
    const id = h.peerConnect('tcp');
    const noLength = request({ transport: 'TCP' }).replace(/Content-Length: 0\r\n/, '');
    h.peer.write(id, enc.encode(noLength + 'more bytes that are never read'));
    h.settle();
    assert.equal(h.received.length, 0);
    assert.match(h.peerEvents.streamText(id), /^SIP\/2\.0 400 Bad Request - Missing Content-Length/);
    assert.equal(h.peerEvents.of('closed').length, 1);
    const s = h.layer.stats();
    assert.equal(s.framingErrors, 1);
    assert.equal(s.errorResponsesSent, 1);
    assert.equal(s.openConnections, 0);
  });

  test('tcp: a Content-Length over the limit gets 413 before any body is buffered', async () => {
    const h = new Harness({ limits: { ...DEFAULT_SIP_LIMITS, maxBodyBytes: 100, maxMessageBytes: 1000 } });
    await h.layer.listen('tcp', '0.0.0.0', 5060);
    const id = h.peerConnect('tcp');
    h.peer.write(id, enc.encode(request({ transport: 'TCP' }).replace('Content-Length: 0', 'Content-Length: 5000')));
    h.settle();
    assert.match(h.peerEvents.streamText(id), /^SIP\/2\.0 413 /);
    assert.equal(h.layer.stats().openConnections, 0);
  });

  test('tcp: a parse error inside a well-framed message is answered and the flow stays open', async () => {
    const h = new Harness();
    await h.layer.listen('tcp', '0.0.0.0', 5060);
    const id = h.peerConnect('tcp');
    h.peer.write(id, enc.encode(request({ transport: 'TCP' }).replace('Call-ID: call-1@example.com\r\n', '') + request({ transport: 'TCP' })));
    h.settle();
    assert.match(h.peerEvents.streamText(id), /^SIP\/2\.0 400 /);
    assert.equal(h.received.length, 1);
    assert.equal(h.layer.stats().openConnections, 1);
  });

  test('ws: one SIP message per WS message, pings answered, responses as text', async () => {
    const h = new Harness();
    await h.layer.listen('ws', '0.0.0.0', 80);
    const id = h.peerConnect('ws', SERVER_V4, 80);
    h.peer.write(id, enc.encode(request({ transport: 'WS', via: 'SIP/2.0/WS df7jal23ls0d.invalid;rport;branch=z9hG4bK-ws' }).replace('Content-Length: 0\r\n', '')));
    h.peer.write(id, enc.encode('\r\n\r\n'));
    h.settle();
    assert.equal(h.received.length, 1);
    const m = h.received[0]!;
    assert.equal(m.source.protocol, 'ws');
    assert.match(m.message.headers.get('via')!, new RegExp(`rport=\\d+;branch=z9hG4bK-ws;received=${PEER_V4}$`));
    h.layer.send(parse(response(200)), { destination: m.source, flowId: m.flowId });
    h.settle();
    const ws = h.peerEvents.of('ws');
    assert.equal(ws.length, 2);
    assert.equal(ws[0]!.text, '\r\n');
    assert.match(ws[1]!.text, /^SIP\/2\.0 200 OK/);
    assert.equal(ws[1]!.binary, false);
    assert.equal(h.layer.stats().keepAlivesReceived, 1);
  });

  test('ws: a non-UTF-8 body goes out as a binary message', async () => {
    const h = new Harness();
    await h.layer.listen('ws', '0.0.0.0', 80);
    const id = h.peerConnect('ws', SERVER_V4, 80);
    h.peer.write(id, enc.encode(request({ transport: 'WS' })));
    h.settle();
    const m = h.received[0]!;
    const res = parse(response(200));
    res.body = new Uint8Array([0xff, 0xfe, 0x00]);
    h.layer.send(res, { destination: m.source, flowId: m.flowId });
    h.settle();
    assert.equal(h.peerEvents.of('ws')[0]!.binary, true);
  });
});
