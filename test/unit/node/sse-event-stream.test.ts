/**
 * The dashboard's Server-Sent Events core (issue 17), on a fake clock with fake sockets: what each
 * client is sent, in order; the client limit (refused past it); the per-client queue bound (a slow
 * client is dropped, never buffered without bound); heartbeats; close on client disconnect and on
 * peer stop.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/lib/manual-clock.js';
import { EventStreamHub, SSE_HEARTBEAT, formatSseEvent } from '../../../src/node/dashboard/event-stream.js';
import type { ApiStream, ApiStreamSink } from '../../../src/node/status-api.js';

/** A socket stand-in: records writes; `accept` decides whether write() says the buffer has room. */
class FakeSink implements ApiStreamSink {
  readonly chunks: string[] = [];
  accept = true;
  ended = false;
  destroyed = false;
  write(chunk: string): boolean {
    if (this.ended || this.destroyed) return false;
    this.chunks.push(chunk);
    return this.accept;
  }
  end(): void {
    this.ended = true;
  }
  destroy(): void {
    this.destroyed = true;
  }
  /** Names of the events received, in order. */
  events(): string[] {
    return this.chunks.filter((c) => c.startsWith('event: ')).map((c) => /^event: (\S+)/.exec(c)![1]!);
  }
}

function setup(limits = {}) {
  const clock = new ManualClock(0);
  const hub = new EventStreamHub({ clock }, limits);
  const connect = (): { stream: ApiStream; sink: FakeSink; first: string } => {
    const o = hub.open();
    assert.ok(o.ok, 'stream accepted');
    const sink = new FakeSink();
    o.stream.start(sink);
    return { stream: o.stream, sink, first: o.first };
  };
  return { clock, hub, connect };
}

describe('SSE wire format', () => {
  test('event, id and one data line of JSON; the reply starts with the reconnection delay', () => {
    assert.equal(formatSseEvent('registration', { aor: 'sip:a@x', n: 1 }, 7), 'event: registration\nid: 7\ndata: {"aor":"sip:a@x","n":1}\n\n');
    // line breaks inside values stay escaped inside the JSON: one data line whatever the value
    assert.equal(formatSseEvent('log', { msg: 'a\nb\r\nc' }).split('\n').filter((l) => l.startsWith('data: ')).length, 1);
    assert.throws(() => formatSseEvent('bad\nname', {}), RangeError);
    assert.throws(() => formatSseEvent('', {}), RangeError);
    const { connect } = setup({ retryMs: 3000 });
    assert.equal(connect().first, 'retry: 3000\n\n');
  });
});

describe('SSE hub: events to every client, in order', () => {
  test('each open client gets each event once, ids increasing; a closed client gets nothing more', () => {
    const { hub, connect } = setup();
    const a = connect();
    const b = connect();
    hub.publish('registration', { aor: 'a' });
    hub.publish('call', { callId: 'c1' });
    assert.deepEqual(a.sink.events(), ['registration', 'call']);
    assert.deepEqual(b.sink.events(), ['registration', 'call']);
    assert.match(a.sink.chunks[1]!, /^event: call\nid: 2\n/);
    b.stream.closed();
    assert.equal(hub.clientCount, 1);
    hub.publish('log', { msg: 'x' });
    assert.deepEqual(b.sink.events(), ['registration', 'call']);
    assert.deepEqual(a.sink.events(), ['registration', 'call', 'log']);
    assert.equal(hub.stats.closedByClient, 1);
    assert.equal(hub.stats.eventsSent, 5);
  });

  test('events published before the server starts the stream wait in its queue and go first, in order', () => {
    const { hub } = setup();
    const o = hub.open();
    assert.ok(o.ok);
    hub.publish('state', { state: 'joining' });
    hub.publish('state', { state: 'joined' });
    const sink = new FakeSink();
    o.stream.start(sink);
    hub.publish('summary', {});
    assert.deepEqual(sink.events(), ['state', 'state', 'summary']);
    assert.match(sink.chunks[1]!, /"joined"/);
  });

  test('an event larger than maxEventBytes is not sent (counted); smaller ones still are', () => {
    const { hub, connect } = setup({ maxEventBytes: 200 });
    const a = connect();
    hub.publish('log', { msg: 'x'.repeat(300) });
    hub.publish('log', { msg: 'short' });
    assert.equal(a.sink.chunks.length, 1);
    assert.equal(hub.stats.eventsTooLarge, 1);
  });
});

describe('SSE hub: limits', () => {
  test('at most maxClients streams: the next is refused as full; one closing makes room', () => {
    const { hub, connect } = setup({ maxClients: 2 });
    const a = connect();
    connect();
    const third = hub.open();
    assert.deepEqual(third, { ok: false, reason: 'full' });
    assert.equal(hub.stats.refused, 1);
    a.stream.closed();
    assert.ok(hub.open().ok, 'room again after a client left');
  });

  test('a client whose socket stops taking data queues up to maxQueuedBytes, then is dropped (connection destroyed)', () => {
    const { hub, connect } = setup({ maxQueuedBytes: 1000 });
    const slow = connect();
    const fast = connect();
    slow.sink.accept = false;
    hub.publish('log', { msg: 'first' }); // written, socket says full
    const perEvent = Buffer.byteLength(formatSseEvent('log', { msg: 'y'.repeat(100) }, 10));
    let sent = 0;
    while (!slow.sink.destroyed && sent < 100) {
      hub.publish('log', { msg: 'y'.repeat(100) });
      sent++;
    }
    assert.ok(slow.sink.destroyed, 'dropped');
    // the socket saw the first write only; the queue held what fits in 1000 bytes, then the drop
    assert.equal(slow.sink.chunks.length, 1);
    assert.equal(sent, Math.floor(1000 / perEvent) + 1);
    assert.equal(hub.stats.droppedSlow, 1);
    assert.equal(hub.clientCount, 1);
    // the other client got everything
    assert.equal(fast.sink.events().length, sent + 1);
    // the server's close notice after the drop changes nothing
    slow.stream.closed();
    assert.equal(hub.stats.closedByClient, 0);
  });

  test('a client that drains in time gets the queued events in order and stays', () => {
    const { hub, connect } = setup({ maxQueuedBytes: 10_000 });
    const c = connect();
    c.sink.accept = false;
    for (let i = 0; i < 5; i++) hub.publish('n', { i });
    assert.equal(c.sink.chunks.length, 1, 'only the first reached the socket');
    c.sink.accept = true;
    c.stream.drained();
    assert.deepEqual(
      c.sink.chunks.map((x) => JSON.parse(/data: (.*)/.exec(x)![1]!).i),
      [0, 1, 2, 3, 4],
    );
    assert.equal(c.sink.destroyed, false);
    // still blocked half way: the rest waits for the next drain
    c.sink.accept = false;
    hub.publish('n', { i: 5 });
    hub.publish('n', { i: 6 });
    c.sink.accept = true;
    c.stream.drained();
    assert.equal(c.sink.chunks.length, 7);
  });
});

describe('SSE hub: heartbeats and closing', () => {
  test('a keep-alive comment every heartbeatMs while a client is open; no timer without clients', () => {
    const { clock, hub, connect } = setup({ heartbeatMs: 15_000 });
    assert.equal(clock.pendingTimers, 0);
    const a = connect();
    clock.advance(14_999);
    assert.equal(a.sink.chunks.length, 0);
    clock.advance(1);
    assert.deepEqual(a.sink.chunks, [SSE_HEARTBEAT]);
    clock.advance(30_000);
    assert.equal(a.sink.chunks.length, 3);
    a.stream.closed();
    assert.equal(hub.clientCount, 0);
    assert.equal(clock.pendingTimers, 0, 'the heartbeat stops with the last client');
  });

  test('close() ends every stream cleanly, refuses new ones, and stops the heartbeat', () => {
    const { clock, hub, connect } = setup();
    const a = connect();
    const b = connect();
    hub.close();
    assert.ok(a.sink.ended && b.sink.ended);
    assert.equal(a.sink.destroyed, false, 'a clean end, not a reset');
    assert.deepEqual(hub.open(), { ok: false, reason: 'closed' });
    assert.equal(clock.pendingTimers, 0);
    hub.publish('log', {});
    assert.equal(a.sink.chunks.length, 0);
    // a stream the server had not started yet when the hub closed ends as soon as it starts
    const { hub: h2 } = setup();
    const o = h2.open();
    assert.ok(o.ok);
    h2.close();
    const late = new FakeSink();
    o.stream.start(late);
    assert.ok(late.ended);
  });
});
