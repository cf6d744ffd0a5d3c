import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { Reassembler, decodeReloadPdu, encodeFramedMessage, encodeReloadMessage } from '../../../../src/reload/codec/index.js';
import { SrLink } from '../../../../src/reload/link/sr-link.js';
import { resolveSrLinkOptions } from '../../../../src/reload/link/sr-link-options.js';
import { bigMessage } from '../codec/fragment-fixtures.js';
import { FakeWire, RecordingSrUser, numbered, numberOf, runUntil, srPair } from './sr-link-harness.js';
import type { SrPair } from './sr-link-harness.js';

/** Counts per message number of what `user` received. */
function deliveries(p: SrPair, side: 'a' | 'b' = 'b'): Map<number, number> {
  const counts = new Map<number, number>();
  for (const m of (side === 'b' ? p.ub : p.ua).messages) counts.set(numberOf(m), (counts.get(numberOf(m)) ?? 0) + 1);
  return counts;
}

function settled(p: SrPair): boolean {
  const s = p.a.stats();
  return s.inFlight === 0 && s.queued === 0 && p.wire.inTransit === 0;
}

/** A RELOAD message of exactly `size` bytes. */
function reloadMessageOf(size: number, transactionId = 77n): Uint8Array {
  const overhead = encodeReloadMessage(bigMessage(0, transactionId)).length;
  const m = encodeReloadMessage(bigMessage(size - overhead, transactionId));
  assert.equal(m.length, size);
  return m;
}

describe('SrLink: reliable delivery over a lossy datagram channel (RFC 6940 §6.6.3)', () => {
  test('1,000 messages, 5 % of data datagrams lost: every message delivered exactly once', () => {
    const p = srPair({ lossFromA: 0.05, delayMs: 10, seed: 42 }, { keepaliveIdleMs: Infinity });
    const n = 1000;
    for (let i = 0; i < n; i++) assert.ok(p.a.send(numbered(i)), `send ${i}`);
    assert.ok(runUntil(p.clock, () => settled(p)));
    const got = deliveries(p);
    assert.equal(got.size, n);
    for (let i = 0; i < n; i++) assert.equal(got.get(i), 1, `message ${i}`);
    const s = p.a.stats();
    const lost = p.wire.dataFrames('a').filter((f) => f.dropped).length;
    assert.ok(lost > 20, `${lost} data datagrams lost`);
    assert.equal(s.retransmissions, lost); // one retransmission per lost transmission, none spurious
    assert.equal(s.messagesAcked, n);
    assert.equal(s.messagesDropped, 0);
    assert.equal(p.b.stats().duplicatesIn, 0);
    assert.ok(s.lossReductions > 0);
    // far from stop-and-wait: 1,000 round trips of 20 ms would take 20 s
    assert.ok(p.clock.now() < 5000, `took ${p.clock.now()} ms of virtual time`);
  });

  test('5 % loss both ways (data and ACKs): every message delivered; a second delivery only where all ACKs of a transmission were lost', () => {
    const p = srPair({ lossFromA: 0.05, lossFromB: 0.05, delayMs: 10, seed: 7 }, { keepaliveIdleMs: Infinity });
    const n = 1000;
    for (let i = 0; i < n; i++) assert.ok(p.a.send(numbered(i)));
    assert.ok(runUntil(p.clock, () => settled(p)));
    const got = deliveries(p);
    for (let i = 0; i < n; i++) assert.ok((got.get(i) ?? 0) >= 1, `message ${i} delivered`);
    const extra = [...got.values()].reduce((a, c) => a + c - 1, 0);
    // a transmission received twice is impossible (new sequence number each time, no network duplicates)
    assert.equal(p.b.stats().duplicatesIn, 0);
    // every extra delivery is a retransmission of a message whose earlier transmission arrived but
    // whose ACK (and every later ACK's bitmask mentioning it) was lost
    const droppedAcks = p.wire.acks('b').filter((x) => x.dropped).length;
    assert.ok(extra <= droppedAcks, `${extra} extra deliveries, ${droppedAcks} ACKs lost`);
    const dataLost = p.wire.dataFrames('a').filter((f) => f.dropped).length;
    assert.equal(p.a.stats().retransmissions, dataLost + extra);
    assert.equal(p.a.stats().messagesAcked, n);
  });

  test('the window grows on a clean path (bounded by maxWindow) and the flight never exceeds it', () => {
    const p = srPair({ delayMs: 10 }, { keepaliveIdleMs: Infinity, maxWindow: 32 });
    let maxFlight = 0;
    const n = 2000;
    for (let i = 0; i < n; i++) p.a.send(numbered(i, 50));
    assert.ok(
      runUntil(p.clock, () => {
        const s = p.a.stats();
        maxFlight = Math.max(maxFlight, s.inFlight);
        assert.ok(s.inFlight <= Math.max(1, Math.floor(s.cwnd)));
        return settled(p);
      }),
    );
    assert.equal(p.ub.messages.length, n);
    assert.equal(maxFlight, 32);
    assert.equal(p.a.stats().cwnd, 32);
    assert.equal(p.a.stats().retransmissions, 0);
    // 2,000 messages at 32 per 20 ms round trip ≈ 63 round trips after slow start
    assert.ok(p.clock.now() < 2000, `took ${p.clock.now()} ms`);
  });

  test('an application-limited sender does not grow its window', () => {
    const p = srPair({ delayMs: 10 }, { keepaliveIdleMs: Infinity });
    for (let i = 0; i < 100; i++) {
      p.a.send(numbered(i));
      assert.ok(runUntil(p.clock, () => settled(p)));
    }
    assert.equal(p.a.stats().cwnd, 4);
  });
});

describe('SrLink: retransmission (RFC 6940 §6.6.3.1)', () => {
  test('a retransmission gets a new sequence number; the message is delivered once', () => {
    const p = srPair({ delayMs: 10 }, { keepaliveIdleMs: Infinity });
    let dropped = 0;
    p.wire.drop = (r) => r.from === 'a' && r.frame?.type === 'data' && dropped++ < 2;
    assert.ok(p.a.send(numbered(1)));
    assert.ok(runUntil(p.clock, () => settled(p)));
    const sent = p.wire.dataFrames('a');
    assert.deepEqual(sent.map((f) => f.sequence), [0, 1, 2]);
    for (const f of sent) assert.equal(numberOf(f.message), 1);
    assert.deepEqual(sent.map((f) => f.at), [0, 1000, 3000]); // RTO 1 s (RFC 6298 (2.1)), doubled
    assert.equal(p.ub.messages.length, 1);
    assert.deepEqual(p.wire.acks('b').map((x) => x.ackSequence), [2]);
    assert.equal(p.a.stats().retransmissions, 2);
    assert.equal(p.a.stats().lastRttMs, 20); // from the ACK of sequence 2: unambiguous
  });

  test('RTO doubles after each transmission; after 5 transmissions the message is dropped and the link fails', () => {
    const p = srPair({}, { keepaliveIdleMs: Infinity });
    p.wire.down = true;
    assert.ok(p.a.send(numbered(9)));
    runUntil(p.clock, () => p.ua.failed.length > 0);
    // RFC 6940 §6.6.3.1's example with RTO = 1000 instead of 500: 0, RTO, 3·RTO, 7·RTO, 15·RTO
    assert.deepEqual(p.wire.dataFrames('a').map((f) => f.at), [0, 1000, 3000, 7000, 15000]);
    assert.deepEqual(p.wire.dataFrames('a').map((f) => f.sequence), [0, 1, 2, 3, 4]);
    assert.equal(p.ua.failed.length, 1);
    assert.equal(p.ua.failed[0]!.code, 'RELOAD_LINK_TIMEOUT');
    assert.deepEqual(p.ua.events.at(-1), { at: 31000, what: 'failed' });
    assert.equal(p.a.state, 'failed');
    assert.equal(p.a.stats().messagesDropped, 1);
    assert.equal(p.a.send(numbered(10)), false);
    p.b.close();
    assert.equal(p.clock.pendingTimers, 0);
  });

  test('the ICE check RTT is the first RTT measurement (RFC 6298 (2.2)): RTO = RTT + 4·RTT/2', () => {
    const p = srPair({}, { keepaliveIdleMs: Infinity, initialRttMs: 100, minRtoMs: 1 });
    assert.equal(p.a.rto.rtoMs, 300);
    p.wire.down = true;
    p.a.send(numbered(1));
    runUntil(p.clock, () => p.ua.failed.length > 0);
    assert.deepEqual(p.wire.dataFrames('a').map((f) => f.at), [0, 300, 900, 2100, 4500]);
    assert.deepEqual(p.ua.events.map((e) => e.at), [2100, 9300]); // suspect, failed
  });

  test('a loss shown by an ACK bitmask is retransmitted before the RTO, and halves the window', () => {
    const p = srPair({ delayMs: 10 }, { keepaliveIdleMs: Infinity });
    p.wire.drop = (r) => r.from === 'a' && r.frame?.type === 'data' && r.frame.sequence === 1;
    for (let i = 0; i < 6; i++) p.a.send(numbered(i));
    assert.ok(runUntil(p.clock, () => settled(p)));
    const sent = p.wire.dataFrames('a');
    const retx = sent.find((f) => f.sequence >= 6 && numberOf(f.message) === 1);
    assert.ok(retx !== undefined);
    assert.ok(retx.at < 100, `retransmitted at ${retx.at} ms, long before the 1 s RTO`);
    const s = p.a.stats();
    assert.equal(s.fastRetransmissions, 1);
    assert.equal(s.timeouts, 0);
    assert.equal(s.lossReductions, 1);
    assert.deepEqual([...deliveries(p).entries()].sort((x, y) => x[0] - y[0]), [0, 1, 2, 3, 4, 5].map((i) => [i, 1]));
  });

  test('ACKs whose sequence numbers were never sent are ignored; garbage datagrams are counted, never thrown', () => {
    const p = srPair({}, { keepaliveIdleMs: Infinity });
    p.a.receive(encodeFramedMessage({ type: 'ack', ackSequence: 5, received: 0xffffffff }));
    for (const g of [new Uint8Array(0), new Uint8Array([0x80, 0, 0]), new Uint8Array([0x17, 0xfe, 0xfd]), new Uint8Array(2000).fill(0x81)]) {
      assert.doesNotThrow(() => p.a.receive(g));
    }
    const s = p.a.stats();
    assert.equal(s.unknownAcks, 1);
    assert.equal(s.malformedIn, 4);
    assert.equal(p.a.state, 'open');
  });
});

describe('SrLink: ACK bitmask (RFC 6940 §6.6.2)', () => {
  test('received = bit N-M-1 for each of the 32 previous sequence numbers M received; a duplicate is ACKed, not delivered', () => {
    const clock = new ManualClock();
    const acks: { ackSequence: number; received: number }[] = [];
    const user = new RecordingSrUser(clock);
    const wire = new FakeWire(clock);
    const link = new SrLink('r', { clock, channel: { send: (d) => { const f = decodeAck(d); if (f) acks.push(f); } }, user }, { keepaliveIdleMs: Infinity });
    void wire;
    for (const seq of [0, 1, 2, 4, 5, 40, 5]) link.receive(encodeFramedMessage({ type: 'data', sequence: seq, message: new Uint8Array([seq]) }));
    assert.deepEqual(acks, [
      { ackSequence: 0, received: 0 },
      { ackSequence: 1, received: 0b1 }, // 0
      { ackSequence: 2, received: 0b11 }, // 1, 0
      { ackSequence: 4, received: 0b1110 }, // 2 (N-M=2), 1, 0; 3 missing
      { ackSequence: 5, received: 0b11101 }, // 4, 2, 1, 0
      { ackSequence: 40, received: 0 }, // nothing in (8, 40)
      { ackSequence: 5, received: 0b11101 },
    ]);
    assert.deepEqual(user.messages.map((m) => m[0]), [0, 1, 2, 4, 5, 40]);
    assert.equal(link.stats().duplicatesIn, 1);
    // sequence numbers wrap modulo 2^32
    const acks2: { ackSequence: number; received: number }[] = [];
    const l2 = new SrLink('w', { clock, channel: { send: (d) => { const f = decodeAck(d); if (f) acks2.push(f); } }, user }, { keepaliveIdleMs: Infinity });
    for (const seq of [0xfffffffe, 0xffffffff, 0, 1]) l2.receive(encodeFramedMessage({ type: 'data', sequence: seq, message: new Uint8Array(1) }));
    assert.deepEqual(acks2.map((a) => a.received), [0, 0b1, 0b11, 0b111]);
    link.close();
    l2.close();
  });

  test('the sender takes every transmission marked in a bitmask as ACKed: lost ACKs cost nothing', () => {
    const p = srPair({ delayMs: 10 }, { keepaliveIdleMs: Infinity });
    p.wire.drop = (r) => r.from === 'b' && r.frame?.type === 'ack' && r.frame.ackSequence < 2;
    for (let i = 0; i < 3; i++) p.a.send(numbered(i));
    assert.ok(runUntil(p.clock, () => settled(p)));
    p.clock.advance(60_000);
    assert.equal(p.a.stats().retransmissions, 0);
    assert.equal(p.a.stats().messagesAcked, 3);
    assert.equal(p.ub.messages.length, 3);
  });
});

describe('SrLink: limits', () => {
  test('the queue is bounded in bytes: send refuses when full, accepts again once ACKs free it', () => {
    const p = srPair({ delayMs: 10 }, { keepaliveIdleMs: Infinity, maxQueuedBytes: 1000 });
    p.wire.down = true;
    assert.ok(p.a.send(numbered(0, 400)));
    assert.ok(p.a.send(numbered(1, 400)));
    assert.equal(p.a.send(numbered(2, 400)), false);
    assert.ok(p.a.send(numbered(3, 200)));
    assert.equal(p.a.send(numbered(4, 4)), false);
    assert.equal(p.a.stats().refusedQueueFull, 2);
    assert.equal(p.a.queuedBytes, 1000);
    p.wire.down = false;
    assert.ok(runUntil(p.clock, () => settled(p)));
    assert.equal(p.a.queuedBytes, 0);
    assert.ok(p.a.send(numbered(5, 400)));
    assert.ok(runUntil(p.clock, () => settled(p)));
    assert.deepEqual([...deliveries(p).keys()].sort((x, y) => x - y), [0, 1, 3, 5]);
  });

  test('MTU: a 5,000-byte RELOAD message goes in fragments of at most maxPayloadBytes, reassembled by the codec Reassembler', () => {
    const p = srPair({ delayMs: 10, lossFromA: 0.05, seed: 3 }, { keepaliveIdleMs: Infinity });
    const whole = reloadMessageOf(5000);
    assert.ok(p.a.send(whole));
    assert.ok(runUntil(p.clock, () => settled(p)));
    const frames = p.wire.dataFrames('a');
    for (const f of frames) assert.ok(f.message.length <= 1200 - 32, `fragment of ${f.message.length} bytes`);
    for (const r of p.wire.log) assert.ok(r.datagram.length <= 1208, `datagram of ${r.datagram.length} bytes`);
    assert.equal(p.a.stats().fragmentsSent, 5);
    assert.equal(p.ub.messages.length, 5);
    const reassembler = new Reassembler(p.clock);
    const results = p.ub.messages.map((m) => {
      const pdu = decodeReloadPdu(m);
      assert.ok(pdu.ok);
      return reassembler.accept(pdu.value, 'peer-a');
    });
    assert.deepEqual(results.slice(0, -1).map((r) => r.kind), ['incomplete', 'incomplete', 'incomplete', 'incomplete']);
    const done = results.at(-1)!;
    assert.equal(done.kind, 'complete');
    assert.deepEqual(done.kind === 'complete' ? done.message : undefined, whole);
    reassembler.clear();
  });

  test('a message larger than maxPayloadBytes that is not a RELOAD message, or larger than maxMessageSize, is refused', () => {
    const p = srPair({}, { keepaliveIdleMs: Infinity, maxPayloadBytes: 1200 });
    assert.equal(p.a.send(new Uint8Array(1201)), false);
    assert.equal(p.a.send(reloadMessageOf(5001 - 1)), true);
    assert.equal(p.a.send(new Uint8Array(5001)), false);
    assert.ok(p.a.send(new Uint8Array(1200)));
    assert.equal(p.a.stats().refusedTooBig, 2);
  });

  test('options are checked', () => {
    assert.throws(() => resolveSrLinkOptions({ maxWindow: 2, initialWindow: 4 }), RangeError);
    assert.throws(() => resolveSrLinkOptions({ reorderThreshold: 32 }), RangeError);
    assert.throws(() => resolveSrLinkOptions({ maxPayloadBytes: 0 }), RangeError);
    assert.equal(resolveSrLinkOptions().maxPayloadBytes, 1200);
  });
});

describe('SrLink: liveness', () => {
  test('suspect after an RTO without ACKs and three retransmissions beyond it; recovered when ACKs resume', () => {
    const p = srPair({ delayMs: 10 }, { keepaliveIdleMs: Infinity });
    assert.ok(p.a.send(numbered(0)));
    assert.ok(runUntil(p.clock, () => settled(p))); // RTT 20 ms → RTO at its 200 ms floor
    assert.equal(p.a.rto.rtoMs, 200);
    const t0 = p.clock.now();
    p.wire.down = true;
    assert.ok(p.a.send(numbered(1)));
    runUntil(p.clock, () => p.ua.events.length > 0);
    // retransmissions at +200, +600, +1400: the third beyond the first silent RTO
    assert.deepEqual(p.wire.dataFrames('a').slice(1).map((f) => f.at - t0), [0, 200, 600, 1400]);
    assert.deepEqual(p.ua.events, [{ at: t0 + 1400, what: 'suspect' }]);
    assert.ok(p.a.suspect);
    p.wire.down = false;
    runUntil(p.clock, () => p.ua.events.length > 1);
    assert.deepEqual(p.ua.events[1], { at: t0 + 3000 + 20, what: 'recovered' });
    assert.equal(p.a.suspect, false);
    assert.equal(p.a.state, 'open');
    assert.deepEqual([...deliveries(p).entries()], [[0, 1], [1, 1]]);
  });

  test('keepalive: an idle link asks its user for a message and sends it', () => {
    const p = srPair({ delayMs: 10 }, { keepaliveIdleMs: 20_000 });
    p.ua.keepaliveMessage = numbered(99, 20);
    p.clock.advance(19_999);
    assert.equal(p.ua.keepalives, 0);
    p.clock.advance(1);
    assert.equal(p.ua.keepalives, 1);
    assert.equal(p.ub.keepalives, 1); // b gives none: nothing is sent for it
    p.clock.advance(20);
    assert.deepEqual(p.ub.messages.map(numberOf), [99]);
    assert.equal(p.a.stats().keepalives, 1);
    assert.equal(p.b.stats().keepalives, 0);
    // a's idle time restarts at its send (20,000), b's at the keepalive's arrival (20,010); ACKs are not activity
    p.clock.advance(19_979);
    assert.deepEqual([p.ua.keepalives, p.ub.keepalives], [1, 1]);
    p.clock.advance(1);
    assert.deepEqual([p.ua.keepalives, p.ub.keepalives], [2, 1]);
    p.clock.advance(10);
    assert.deepEqual([p.ua.keepalives, p.ub.keepalives], [2, 2]);
  });

  test('no timer is left after close, and a closed link ignores input and refuses sends', () => {
    const p = srPair({ delayMs: 10, lossFromA: 0.2, seed: 5 });
    for (let i = 0; i < 50; i++) p.a.send(numbered(i));
    p.clock.advance(15);
    p.a.close();
    p.b.close();
    assert.equal(p.clock.pendingTimers, p.wire.inTransit);
    p.clock.runUntilIdle();
    assert.equal(p.clock.pendingTimers, 0);
    assert.equal(p.a.send(numbered(1)), false);
    assert.equal(p.a.state, 'closed');
    assert.equal(p.a.stats().inFlight, 0);
    const before = p.ub.messages.length;
    p.b.receive(encodeFramedMessage({ type: 'data', sequence: 1000, message: numbered(1) }));
    assert.equal(p.ub.messages.length, before);
  });
});

function decodeAck(d: Uint8Array): { ackSequence: number; received: number } | undefined {
  if (d[0] !== 129 || d.length !== 9) return undefined;
  const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
  return { ackSequence: v.getUint32(1), received: v.getUint32(5) };
}
