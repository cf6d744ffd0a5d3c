import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { decodeFramedMessage, encodeFramedMessage, FramedStreamDecoder } from '../../../../src/reload/codec/index.js';
import { LinkLayer } from '../../../../src/reload/link/link-layer.js';
import { LinkError } from '../../../../src/reload/link/link-error.js';
import { MemoryLinkNet } from './memory-link-net.js';
import { RecordingUser, bytes, openPair } from './link-harness.js';

describe('LinkLayer framing (RFC 6940 §6.6.2)', () => {
  test('a message goes in a data frame with sequence 0, 1, …; each is ACKed with its sequence', async () => {
    const p = await openPair();
    assert.equal(p.ua.up[0]!.outbound, true);
    assert.equal(p.ub.up[0]!.outbound, false);
    assert.deepEqual(p.ua.up[0]!.remote, { host: '10.0.0.2', port: 6084 });
    assert.ok(p.a.send(p.idA, bytes(1, 2, 3)));
    assert.ok(p.a.send(p.idA, bytes(4)));
    p.net.pump();
    assert.deepEqual(p.ub.messages.map((m) => [...m.message]), [[1, 2, 3], [4]]);
    const out = p.da.written.map((w) => decodeFramedMessage(w.data));
    assert.deepEqual(out.map((r) => (r.ok && r.value.type === 'data' ? r.value.sequence : -1)), [0, 1]);
    // b's writes: one ACK per data frame, bitmask of the earlier arrivals.
    const acks = p.db.written.map((w) => decodeFramedMessage(w.data));
    assert.deepEqual(acks.map((r) => (r.ok ? r.value : undefined)), [
      { type: 'ack', ackSequence: 0, received: 0 },
      { type: 'ack', ackSequence: 1, received: 1 },
    ]);
    const sa = p.a.stats(p.idA)!;
    assert.equal(sa.unacked, 0);
    assert.equal(sa.messagesOut, 2);
    assert.equal(sa.acksIn, 2);
    assert.equal(sa.bytesOut, 8 + 3 + 8 + 1);
    assert.equal(sa.bytesIn, 18);
    const sb = p.b.stats(p.idB)!;
    assert.equal(sb.messagesIn, 2);
    assert.equal(sb.acksOut, 2);
    assert.equal(p.a.totals().bytesOut, 20);
    assert.equal(p.b.totals().bytesIn, 20);
  });

  test('frames split at every byte and coalesced chunks decode the same', async () => {
    const p = await openPair();
    const f1 = encodeFramedMessage({ type: 'data', sequence: 7, message: bytes(9, 9) });
    const f2 = encodeFramedMessage({ type: 'data', sequence: 8, message: bytes() });
    const all = new Uint8Array([...f1, ...f2]);
    for (const b of all) p.da.inject(p.idA, bytes(b));
    p.net.pump();
    assert.deepEqual(p.ua.messages.map((m) => [...m.message]), [[9, 9], []]);
    const acks = new FramedStreamDecoder().push(Uint8Array.from(p.da.written.flatMap((w) => [...w.data])));
    assert.ok(acks.ok);
    assert.deepEqual(acks.value, [
      { type: 'ack', ackSequence: 7, received: 0 },
      { type: 'ack', ackSequence: 8, received: 1 },
    ]);
  });

  test('garbage bytes close the link with protocol-error; nothing is thrown', async () => {
    const p = await openPair();
    p.da.inject(p.idA, bytes(0x17, 0x03, 0x03, 0, 5)); // a TLS record where a frame should be
    assert.doesNotThrow(() => p.net.pump());
    assert.equal(p.ua.down.length, 1);
    assert.equal(p.ua.down[0]!.reason, 'protocol-error');
    assert.equal((p.ua.down[0]!.error as { code?: string }).code, 'RELOAD_DECODE');
    assert.equal(p.a.stats(p.idA), undefined);
    assert.deepEqual(p.ub.down.map((d) => d.reason), ['closed']);
    assert.equal(p.a.totals().protocolErrors, 1);
  });

  test('a data frame above maxMessageSize is a protocol error', async () => {
    const p = await openPair({}, { maxMessageSize: 100 });
    assert.ok(p.a.send(p.idA, new Uint8Array(101)));
    p.net.pump();
    assert.deepEqual(p.ub.down.map((d) => d.reason), ['protocol-error']);
    assert.equal(p.ub.messages.length, 0);
  });

  test('frames before the garbage in earlier chunks are delivered; the chunk holding garbage closes the link', async () => {
    const p = await openPair();
    p.da.inject(p.idA, encodeFramedMessage({ type: 'data', sequence: 0, message: bytes(1) }));
    // FramedStreamDecoder.push gives only the error for a chunk that holds a bad frame: its good frames are dropped with the link
    p.da.inject(p.idA, new Uint8Array([...encodeFramedMessage({ type: 'data', sequence: 1, message: bytes(2) }), 0x42]));
    p.net.pump();
    assert.deepEqual(p.ua.events.slice(-2), [`message ${p.idA}`, `down ${p.idA} protocol-error`]);
    assert.deepEqual(p.ua.messages.map((m) => [...m.message]), [[1]]);
  });
});

describe('LinkLayer limits', () => {
  test('send refuses beyond maxQueuedBytes of unACKed frames, too-big messages, and closed links', async () => {
    const p = await openPair({ maxQueuedBytes: 100, maxMessageSize: 60 });
    p.net.blackholed.add(p.idB); // b's ACKs are lost
    assert.equal(p.a.send(p.idA, new Uint8Array(61)), false, 'above maxMessageSize');
    assert.ok(p.a.send(p.idA, new Uint8Array(40))); // 48 queued
    assert.ok(p.a.send(p.idA, new Uint8Array(40))); // 96 queued
    assert.equal(p.a.send(p.idA, new Uint8Array(1)), false, 'queue full');
    p.net.pump();
    assert.equal(p.a.stats(p.idA)!.unackedBytes, 96);
    p.net.blackholed.delete(p.idB);
    assert.equal(p.a.send(p.idA, new Uint8Array(1)), false, 'still full until an ACK');
    // one ACK for the last frame frees both (cumulative on a reliable stream)
    p.da.inject(p.idA, encodeFramedMessage({ type: 'ack', ackSequence: 1, received: 1 }));
    p.net.pump();
    assert.equal(p.a.stats(p.idA)!.unackedBytes, 0);
    assert.ok(p.a.send(p.idA, new Uint8Array(1)));
    assert.equal(p.a.send('nope', bytes(1)), false);
  });

  test('an ACK for a sequence never sent is counted and ignored', async () => {
    const p = await openPair();
    p.da.inject(p.idA, encodeFramedMessage({ type: 'ack', ackSequence: 5, received: 0 }));
    p.net.pump();
    assert.equal(p.a.stats(p.idA)!.unknownAcks, 1);
    assert.equal(p.ua.down.length, 0);
  });

  test('maxLinks: accepts beyond it are closed, connect throws LinkError', async () => {
    const net = new MemoryLinkNet();
    const clock = new ManualClock();
    const server = new LinkLayer({ driver: net.driver('10.0.0.9'), clock }, { maxLinks: 2 });
    const us = new RecordingUser();
    server.setUser(us);
    const ep = await server.listen('10.0.0.9', 1);
    const clients = [0, 1, 2].map((i) => {
      const l = new LinkLayer({ driver: net.driver(`10.0.1.${i}`), clock }, { maxLinks: 1 });
      const u = new RecordingUser();
      l.setUser(u);
      return { l, u, id: l.connect(ep) };
    });
    net.pump();
    assert.equal(us.up.length, 2);
    assert.equal(server.totals().linksRefused, 1);
    assert.equal(server.linkIds().length, 2);
    assert.deepEqual(clients[2]!.u.down.map((d) => d.reason), ['closed']);
    assert.throws(() => clients[0]!.l.connect(ep), (e: unknown) => e instanceof LinkError && e.code === 'RELOAD_LINK_LIMIT');
  });
});

describe('LinkLayer liveness (RFC 6940 §6.6.5)', () => {
  test('RTT and RTO come from the framing ACKs', async () => {
    const p = await openPair({ minRtoMs: 1 });
    p.a.send(p.idA, bytes(1));
    p.clock.advance(40);
    p.net.pump();
    const s = p.a.stats(p.idA)!;
    assert.equal(s.srttMs, 40);
    assert.equal(s.lastRttMs, 40);
    assert.equal(s.rtoMs, 40 + 4 * 20);
  });

  test('suspect when an ACK is overdue by an RTO, recovered when ACKs resume', async () => {
    const p = await openPair({ minRtoMs: 1 });
    p.a.send(p.idA, bytes(1));
    p.clock.advance(100);
    p.net.pump(); // RTO = 100 + 4·50 = 300
    p.net.blackholed.add(p.idB);
    p.a.send(p.idA, bytes(2));
    p.net.pump();
    p.clock.advance(299);
    assert.ok(!p.ua.events.includes(`suspect ${p.idA}`));
    p.clock.advance(1);
    assert.ok(p.ua.events.includes(`suspect ${p.idA}`));
    assert.equal(p.a.stats(p.idA)!.suspect, true);
    p.net.blackholed.delete(p.idB);
    p.a.send(p.idA, bytes(3));
    p.net.pump();
    assert.equal(p.ua.events.at(-1), `recovered ${p.idA}`);
    assert.equal(p.a.stats(p.idA)!.suspect, false);
    assert.equal(p.a.stats(p.idA)!.unacked, 0);
  });

  test('deadlines at fractional times fire once (oldest + RTO - oldest < RTO in floating point)', { timeout: 5000 }, async () => {
    const p = await openPair();
    p.clock.advance(0.1); // 1000.1 + 1000 - 1000.1 = 999.9999999999999
    p.net.blackholed.add(p.idB);
    p.a.send(p.idA, bytes(1));
    p.net.pump();
    const fired = p.clock.firedCount;
    p.clock.advance(1500);
    assert.ok(p.ua.events.includes(`suspect ${p.idA}`));
    assert.ok(p.clock.firedCount - fired < 20, `${p.clock.firedCount - fired} timers fired`);
  });

  test('no ACK for failureTimeoutMs: onLinkDown timeout and the link is closed', async () => {
    const p = await openPair();
    p.net.blackholed.add(p.idB);
    p.a.send(p.idA, bytes(1));
    p.net.pump();
    p.clock.advance(29_999);
    assert.equal(p.ua.down.length, 0);
    assert.ok(p.ua.events.includes(`suspect ${p.idA}`));
    p.clock.advance(1);
    assert.deepEqual(p.ua.down.map((d) => d.reason), ['timeout']);
    assert.equal((p.ua.down[0]!.error as LinkError).code, 'RELOAD_LINK_TIMEOUT');
    p.net.pump();
    assert.deepEqual(p.ub.down.map((d) => d.reason), ['closed']);
    assert.equal(p.ua.down.length, 1, 'one onLinkDown only');
    assert.equal(p.clock.pendingTimers, 0);
  });

  test('keepalive: an idle link asks the user for a message and sends it; its ACK keeps the link alive', async () => {
    const p = await openPair({ keepaliveIdleMs: 20_000 });
    p.ua.keepaliveMessage = bytes(0xee);
    p.ub.keepaliveMessage = undefined;
    p.clock.advance(19_999);
    assert.equal(p.ua.keepalives, 0);
    p.clock.advance(1);
    assert.equal(p.ua.keepalives, 1);
    assert.equal(p.ub.keepalives, 1);
    p.net.pump();
    assert.deepEqual(p.ub.messages.map((m) => [...m.message]), [[0xee]]);
    assert.equal(p.a.stats(p.idA)!.unacked, 0);
    // b saw data at 20 s: its next idle period ends at 40 s, a's too
    p.clock.advance(20_000);
    assert.equal(p.ua.keepalives, 2);
    assert.equal(p.ub.keepalives, 2);
  });

  test('a dead peer is found by the keepalive: suspect, then timeout', async () => {
    const p = await openPair({ keepaliveIdleMs: 20_000 });
    p.ua.keepaliveMessage = bytes(1);
    p.net.blackholed.add(p.idB);
    p.clock.advance(20_000);
    p.net.pump();
    p.clock.advance(1000); // initial RTO, no sample yet
    assert.ok(p.ua.events.includes(`suspect ${p.idA}`));
    p.clock.advance(29_000);
    assert.deepEqual(p.ua.down.map((d) => d.reason), ['timeout']);
  });

  test('connect: refused → failed; no answer within connectTimeoutMs → timeout', async () => {
    const net = new MemoryLinkNet();
    const clock = new ManualClock();
    const l = new LinkLayer({ driver: net.driver(), clock }, { connectTimeoutMs: 500 });
    const u = new RecordingUser();
    l.setUser(u);
    const id = l.connect({ host: '10.9.9.9', port: 1 });
    net.pump();
    assert.deepEqual(u.down.map((d) => [d.id, d.reason]), [[id, 'failed']]);
    const id2 = l.connect({ host: '10.9.9.9', port: 1 }); // never pumped
    clock.advance(500);
    assert.deepEqual(u.down.at(-1)?.id, id2);
    assert.equal(u.down.at(-1)?.reason, 'timeout');
    net.pump();
    assert.equal(u.down.length, 2);
    assert.equal(u.up.length, 0);
  });

  test('close: onLinkDown closed on both sides; shutdown: no events after', async () => {
    const p = await openPair();
    p.a.close(p.idA);
    p.net.pump();
    assert.deepEqual(p.ua.down.map((d) => d.reason), ['closed']);
    assert.deepEqual(p.ub.down.map((d) => d.reason), ['closed']);
    const q = await openPair();
    await q.a.shutdown();
    q.net.pump();
    assert.equal(q.ua.down.length, 0);
    assert.deepEqual(q.ub.down.map((d) => d.reason), ['closed']);
    assert.equal(q.a.send(q.idA, bytes(1)), false);
    assert.throws(() => q.a.connect({ host: '10.0.0.2', port: 6084 }), LinkError);
  });

  test('sequence numbers and ACK accounting survive wrap-around at 2^32', async () => {
    const p = await openPair();
    // b's peer sends from 0xfffffffe: ACK bitmasks wrap too
    for (const s of [0xfffffffe, 0xffffffff, 0]) p.db.inject(p.idB, encodeFramedMessage({ type: 'data', sequence: s, message: bytes() }));
    p.net.pump();
    const acks = p.db.written.map((w) => decodeFramedMessage(w.data)).map((r) => (r.ok ? r.value : undefined));
    assert.deepEqual(acks.at(-1), { type: 'ack', ackSequence: 0, received: 0b11 });
  });
});

describe('LinkLayer close while connecting', () => {
  test('close() of a link still connecting gives onLinkDown closed, never up', async () => {
    const net = new MemoryLinkNet();
    const clock = new ManualClock();
    const server = new LinkLayer({ driver: net.driver('10.0.0.2'), clock });
    server.setUser(new RecordingUser());
    const ep = await server.listen('10.0.0.2', 1);
    const l = new LinkLayer({ driver: net.driver(), clock });
    const u = new RecordingUser();
    l.setUser(u);
    const id = l.connect(ep);
    l.close(id);
    net.pump();
    assert.deepEqual(u.down.map((d) => [d.id, d.reason]), [[id, 'closed']]);
    assert.equal(u.up.length, 0);
    assert.equal(clock.pendingTimers, 0);
  });
});

describe('LinkLayer after close()', () => {
  test('no message is delivered or sent once the user closed the link, even from the same chunk', async () => {
    const p = await openPair();
    p.ub.onLinkMessage = (id: string, message: Uint8Array): void => {
      p.ub.messages.push({ id, message });
      p.b.close(id);
    };
    const f0 = encodeFramedMessage({ type: 'data', sequence: 0, message: bytes(1) });
    const f1 = encodeFramedMessage({ type: 'data', sequence: 1, message: bytes(2) });
    p.db.inject(p.idB, new Uint8Array([...f0, ...f1])); // one chunk, two messages
    p.net.pump();
    assert.equal(p.ub.messages.length, 1);
    assert.equal(p.b.send(p.idB, bytes(3)), false);
    assert.deepEqual(p.ub.down.map((d) => d.reason), ['closed']);
  });

  test('maxTrackedFrames: frames beyond it are queued and ACKed but give no RTT sample', async () => {
    const p = await openPair({ maxTrackedFrames: 1, minRtoMs: 1 });
    p.a.send(p.idA, bytes(1)); // timed
    p.a.send(p.idA, bytes(2)); // not timed
    p.clock.advance(10);
    p.net.pump();
    const s = p.a.stats(p.idA)!;
    assert.equal(s.unacked, 0);
    assert.equal(s.lastRttMs, 10);
    assert.equal(s.srttMs, 10, 'one sample only');
  });
});
