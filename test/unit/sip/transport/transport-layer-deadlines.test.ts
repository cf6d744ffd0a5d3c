/**
 * Issue 14: deadlines of the unauthenticated phases of a stream connection, on a ManualClock. A
 * slowloris (one byte at a time, each re-arming the idle timer) and a body announced and sent slowly
 * were kept forever; an idle connection between messages must still be governed by the idle timer alone.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_TRANSPORT_OPTIONS, type TransportLayerOptions } from '../../../../src/sip/transport/transport-layer-options.js';
import { Harness, enc, parse, request, response } from './layer-harness.js';

async function tcpHarness(options: TransportLayerOptions = {}): Promise<{ h: Harness; id: string }> {
  const h = new Harness(options);
  await h.layer.listen('tcp', '0.0.0.0', 5060);
  await h.layer.listen('tls', '0.0.0.0', 5061);
  const id = h.peerConnect('tcp');
  return { h, id };
}

function closed(h: Harness, id: string): boolean {
  return h.peerEvents.of('closed').some((e) => e.id === id);
}

function write(h: Harness, id: string, text: string): void {
  h.peer.write(id, enc.encode(text));
  h.settle();
}

function advance(h: Harness, ms: number): void {
  h.clock.advance(ms);
  h.settle();
}

/** Sends `text` one byte every `stepMs`; returns the ms from the first byte to the close, or undefined. */
function trickle(h: Harness, id: string, text: string, stepMs: number): number | undefined {
  const t0 = h.clock.now();
  for (const ch of text) {
    write(h, id, ch);
    if (closed(h, id)) return h.clock.now() - t0;
    advance(h, stepMs);
    if (closed(h, id)) return h.clock.now() - t0;
  }
  return undefined;
}

describe('TransportLayer message deadlines (issue 14)', () => {
  test('the defaults are explicit', () => {
    const d = DEFAULT_TRANSPORT_OPTIONS;
    assert.deepEqual(
      [d.firstMessageTimeoutMs, d.startLineTimeoutMs, d.headerTimeoutMs, d.bodyTimeoutMs, d.handshakeTimeoutMs, d.idleTimeoutMs],
      [10_000, 5_000, 10_000, 20_000, 10_000, 300_000],
    );
  });

  test('an accepted connection that starts no message is closed 10 s after it opened; CRLF pings do not count', async () => {
    const { h, id } = await tcpHarness();
    advance(h, 4_000);
    write(h, id, '\r\n\r\n'); // a keep-alive is not a message
    assert.equal(h.peerEvents.streamText(id), '\r\n', 'the ping is answered');
    advance(h, 5_999);
    assert.equal(closed(h, id), false, 'open before the deadline');
    advance(h, 1);
    assert.equal(closed(h, id), true, 'closed at 10 s');
    assert.equal(h.layer.stats().messageTimeouts, 1);
    assert.equal(h.layer.stats().openConnections, 0);
  });

  test('slowloris: a start line one byte a second is closed 5 s after its first byte', async () => {
    const { h, id } = await tcpHarness();
    advance(h, 3_000); // idle before the first byte: the first-message deadline (10 s) is not reached
    const took = trickle(h, id, request({ transport: 'TCP' }), 1_000);
    assert.equal(took, 5_000);
    assert.equal(h.received.length, 0);
    assert.equal(h.peerEvents.streamText(id), '', 'no answer: there is no Via before the header section ends');
    assert.equal(h.layer.stats().messageTimeouts, 1);
  });

  test('a header section trickling in after a prompt start line is closed 10 s after its first byte', async () => {
    const { h, id } = await tcpHarness();
    const text = request({ transport: 'TCP' });
    const firstLine = text.slice(0, text.indexOf('\n') + 1);
    write(h, id, firstLine);
    const took = trickle(h, id, text.slice(firstLine.length), 500);
    assert.equal(took, 10_000);
    assert.equal(h.received.length, 0);
  });

  test('a body announced and sent slowly gets 408 (it has a Via) and the connection is closed 20 s after the header section', async () => {
    const { h, id } = await tcpHarness();
    const body = 'x'.repeat(1000);
    const text = request({ transport: 'TCP', body });
    const header = text.slice(0, text.length - body.length);
    write(h, id, header);
    const took = trickle(h, id, body, 1_000);
    assert.equal(took, 20_000);
    assert.equal(h.received.length, 0);
    assert.match(h.peerEvents.streamText(id), /^SIP\/2\.0 408 Request Timeout - body not received within 20 s\r\n/);
    assert.match(h.peerEvents.streamText(id), /\r\nVia: SIP\/2\.0\/TCP 192\.0\.2\.20:5070;branch=z9hG4bK-1\r\n/);
    assert.equal(h.layer.stats().errorResponsesSent, 1);
  });

  test('a response whose body is late is closed without an answer', async () => {
    const { h, id } = await tcpHarness();
    write(h, id, request({ transport: 'TCP' })); // a first message, then a response with a late body
    write(h, id, response(200, { body: 'abc' }).slice(0, -2));
    advance(h, 20_000);
    assert.equal(closed(h, id), true);
    assert.equal(h.peerEvents.streamText(id), '');
  });

  test('each message has its own deadlines: a slow but timely stream of messages is served', async () => {
    const { h, id } = await tcpHarness();
    const body = 'v=0\r\n'.repeat(20);
    const text = request({ transport: 'TCP', body });
    for (let n = 0; n < 5; n++) {
      // each message in 4 pieces 3 s apart: start line in 3 s, header in 6 s, body 3 s after it
      const line = text.indexOf('\n') + 1;
      const headerEnd = text.length - body.length;
      for (const piece of [text.slice(0, line - 5), text.slice(line - 5, headerEnd - 10), text.slice(headerEnd - 10, headerEnd + 5), text.slice(headerEnd + 5)]) {
        write(h, id, piece);
        advance(h, 3_000);
      }
    }
    assert.equal(h.received.length, 5);
    assert.equal(closed(h, id), false);
    assert.equal(h.layer.stats().messageTimeouts, 0);
  });

  test('a new message that begins in the chunk ending the previous one starts its deadlines then', async () => {
    const { h, id } = await tcpHarness();
    const body = 'y'.repeat(100);
    const a = request({ transport: 'TCP', body });
    write(h, id, a.slice(0, a.length - 10));
    advance(h, 19_000); // the body deadline of message a is 1 s away
    write(h, id, a.slice(a.length - 10) + 'OPTIONS sip:bob@example.com SIP/2.0\r\n');
    assert.equal(h.received.length, 1);
    advance(h, 9_999); // the header deadline of message b runs from its first byte
    assert.equal(closed(h, id), false);
    advance(h, 1);
    assert.equal(closed(h, id), true);
  });

  test('an idle registered flow between messages is governed by the idle timer only (RFC 5626 keep-alives)', async () => {
    const { h, id } = await tcpHarness({ idleTimeoutMs: 120_000 });
    write(h, id, request({ transport: 'TCP', method: 'REGISTER' }));
    for (let i = 0; i < 10; i++) {
      advance(h, 90_000);
      write(h, id, '\r\n\r\n'); // keep-alive every 90 s
    }
    write(h, id, request({ transport: 'TCP' }));
    assert.equal(h.received.length, 2);
    assert.equal(closed(h, id), false);
    advance(h, 120_000);
    assert.equal(closed(h, id), true, 'idle timer');
    assert.equal(h.layer.stats().messageTimeouts, 0);
  });

  test('a connection we opened may stay silent: no first-message deadline; its messages have deadlines', async () => {
    const h = new Harness();
    await h.layer.listen('tcp', '0.0.0.0', 5060);
    await h.peer.listen('tcp', '0.0.0.0', 5070);
    h.layer.send(parse(request({ transport: 'TCP' })), { destination: { protocol: 'tcp', host: '192.0.2.20', port: 5070 } });
    h.settle();
    const opened = h.peerEvents.of('opened');
    assert.equal(opened.length, 1);
    const peerSide = opened[0]!.conn.id;
    advance(h, 60_000);
    assert.equal(closed(h, peerSide), false);
    write(h, peerSide, 'SIP/2.0 200 OK\r\n');
    advance(h, 10_000);
    assert.equal(closed(h, peerSide), true, 'header deadline');
  });

  test('ws: a connection that sends no SIP message in 10 s is closed; after one, idle is the idle timer', async () => {
    const h = new Harness({ idleTimeoutMs: 60_000 });
    await h.layer.listen('ws', '0.0.0.0', 80);
    const silent = h.peerConnect('ws', '192.0.2.10', 80);
    const talker = h.peerConnect('ws', '192.0.2.10', 80);
    write(h, talker, request({ transport: 'WS' }));
    advance(h, 10_000);
    assert.equal(closed(h, silent), true);
    assert.equal(closed(h, talker), false);
    advance(h, 50_000);
    assert.equal(closed(h, talker), true);
  });

  test('0 turns a deadline off', async () => {
    const { h, id } = await tcpHarness({ firstMessageTimeoutMs: 0, startLineTimeoutMs: 0, headerTimeoutMs: 0, bodyTimeoutMs: 0, idleTimeoutMs: 0 });
    advance(h, 60_000);
    write(h, id, 'OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.20;branch=z9hG4bK-9\r\nContent-Length: 5\r\n\r\n');
    advance(h, 600_000);
    assert.equal(closed(h, id), false);
  });

  test('a message in one chunk arms no timer', async () => {
    const { h, id } = await tcpHarness();
    write(h, id, request({ transport: 'TCP' }));
    advance(h, 10_000); // the first-message timer fires once and finds nothing
    const before = h.clock.pendingTimers;
    for (let i = 0; i < 100; i++) write(h, id, request({ transport: 'TCP' }));
    assert.equal(h.received.length, 101);
    assert.equal(h.clock.pendingTimers, before);
  });
});
