/**
 * Issue 18: the wait timers (D, I, J, K, L, M) of all transactions share one clock timer per delay
 * (LingerQueue), and what a lingering transaction keeps of its messages is small and its own.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { createResponse } from '../../../../src/sip/message/index.js';
import { LingerQueue, type Lingering } from '../../../../src/sip/transaction/linger-queue.js';
import { FinalMark, PackedMessage } from '../../../../src/sip/transaction/retained-identity.js';
import type { ServerTransaction } from '../../../../src/sip/transaction/transaction-contract.js';
import { harness, inbound, request } from './tx-test-kit.js';

function item(clock: ManualClock, log: Array<[string, number]>, name: string): Lingering {
  return { lingerExpired: () => void log.push([name, clock.now()]) };
}

describe('LingerQueue', () => {
  test('each item ends exactly its delay after it began to wait, in order, on one timer per delay', () => {
    const clock = new ManualClock();
    const q = new LingerQueue(clock);
    const log: Array<[string, number]> = [];
    q.add(item(clock, log, 'a'), 32_000);
    clock.advance(10);
    q.add(item(clock, log, 'b'), 32_000);
    q.add(item(clock, log, 'k'), 5_000);
    clock.advance(5);
    q.add(item(clock, log, 'c'), 32_000);
    assert.equal(clock.pendingTimers, 2, 'one timer per delay, not per item');
    assert.equal(q.size, 4);
    clock.advance(40_000);
    assert.deepEqual(log, [
      ['k', 5_010],
      ['a', 32_000],
      ['b', 32_010],
      ['c', 32_015],
    ]);
    assert.equal(clock.pendingTimers, 0);
    assert.equal(q.size, 0);
  });

  test('an item that leaves is not called; a queue left empty holds no timer; leaving twice is harmless', () => {
    const clock = new ManualClock();
    const q = new LingerQueue(clock);
    const log: Array<[string, number]> = [];
    const a = item(clock, log, 'a');
    const b = item(clock, log, 'b');
    q.add(a, 1000);
    q.add(b, 1000);
    q.leave(a, 1000);
    q.leave(a, 1000);
    clock.advance(1000);
    assert.deepEqual(log, [['b', 1000]]);
    q.add(a, 1000);
    q.leave(a, 1000);
    assert.equal(clock.pendingTimers, 0);
    assert.equal(q.size, 0);
  });

  test('many items: the consumed prefix is compacted and order and times hold', () => {
    const clock = new ManualClock();
    const q = new LingerQueue(clock);
    const ended: number[] = [];
    for (let i = 0; i < 5000; i++) {
      q.add({ lingerExpired: () => void ended.push(i) }, 100);
      if (i % 10 === 9) clock.advance(1);
    }
    clock.advance(1000);
    assert.equal(ended.length, 5000);
    assert.deepEqual(ended.slice(0, 3), [0, 1, 2]);
    assert.ok(ended.every((v, i) => v === i));
  });

  test('clear() forgets everything and stops every timer', () => {
    const clock = new ManualClock();
    const q = new LingerQueue(clock);
    const log: Array<[string, number]> = [];
    q.add(item(clock, log, 'a'), 10);
    q.add(item(clock, log, 'b'), 20);
    q.clear();
    clock.advance(100);
    assert.deepEqual(log, []);
    assert.equal(clock.pendingTimers, 0);
  });
});

describe('what lingering transactions keep (issue 18)', () => {
  test('1,000 INVITE server transactions in Accepted share one clock timer and each ends 64*T1 after its 2xx', () => {
    const h = harness();
    const ended: number[] = [];
    h.user.onRequestHook = (tx: ServerTransaction) => {
      tx.onTerminated = () => ended.push(h.clock.now());
    };
    for (let i = 0; i < 1000; i++) {
      h.layer.receive(inbound(request({ branch: `z9hG4bKheld${i}`, callId: `held-${i}` })));
      const tx = h.user.requests[i]!;
      tx.respond(createResponse(tx.request, 200, undefined, { toTag: `t${i}` }));
      if (i % 100 === 99) h.clock.advance(7);
    }
    assert.equal(h.layer.stats().serverTransactions, 1000);
    assert.equal(h.clock.pendingTimers, 1, 'one timer for every Timer L');
    h.clock.advance(32_000 + 100);
    assert.equal(ended.length, 1000);
    // transaction i answered at 7 * floor(i / 100) ms: it ends 32 s later
    assert.ok(ended.every((t, i) => t === 32_000 + 7 * Math.floor(i / 100)));
    assert.equal(h.layer.stats().serverTransactions, 0);
    assert.equal(h.clock.pendingTimers, 0);
  });

  test('an INVITE server transaction in Accepted keeps its request identity and only the status and To of its 2xx', () => {
    const h = harness();
    h.layer.receive(inbound(request({ extra: ['Contact: <sip:alice@192.0.2.10:5070>', 'Content-Type: application/sdp'] })));
    const tx = h.user.requests[0]!;
    tx.respond(createResponse(tx.request, 200, undefined, { toTag: 'uas1', headers: [['Contact', '<sip:bob@192.0.2.30>']] }));
    assert.equal(tx.state, 'accepted');
    const final = tx.finalResponse!;
    assert.equal(final.status, 200);
    assert.deepEqual([...final.headers].map((f) => f.key), ['to']);
    assert.match(final.headers.get('to')!, /;tag=uas1$/);
    assert.deepEqual([...tx.request.headers].map((f) => f.key).sort(), ['call-id', 'cseq', 'from', 'to', 'via']);
    assert.equal(tx.request.body.length, 0);
  });

  test('a packed identity reads back equal to the identity: URI, every identity field in order, no body; compact names, UTF-8, IPv6, tel', () => {
    const cases = [
      request({ uri: 'sip:a-rather-long-user-name@a-long-host-name.example.com;transport=udp', extra: ['Route: <sip:proxy.example.com;lr>', 'Subject: kept out', 'Content-Type: application/sdp'] }),
      request({ uri: 'sip:bob@[2001:db8::10]:5070;user=phone', via: 'SIP/2.0/UDP [2001:db8::1]:5060;rport;received=2001:db8::2', extra: ['Route: <sip:[2001:db8::9];lr>, <sip:p2.example.com;lr>'] }),
      request({ uri: 'tel:+15551234567;phone-context=example.com', method: 'MESSAGE', extra: ['v: SIP/2.0/TCP 198.51.100.7;branch=z9hG4bKsecond', 'Contact: <sip:x@198.51.100.7>'] }),
      request({ extra: ['Record-Route: <sip:rr.example.com;lr>'] }),
    ];
    // a display name in UTF-8 (octets above 0x7f) survives the one-byte packing
    const utf8 = request();
    utf8.headers.set('From', '"Zoë Šimić 日本" <sip:zoe@example.com>;tag=u8');
    cases.push(utf8);
    for (const r of cases) {
      const packed = new PackedMessage(r);
      const back = packed.unpack();
      const keys = ['via', 'from', 'to', 'call-id', 'cseq', 'route'];
      assert.equal(back.method, r.method);
      assert.deepEqual(back.uri, r.uri);
      assert.deepEqual([...back.headers].map((f) => [f.key, f.value]), [...r.headers].filter((f) => keys.includes(f.key)).map((f) => [f.key, f.value]));
      assert.equal(back.body.length, 0);
      assert.notEqual(packed.unpack(), back, 'each read is a fresh object');
      assert.ok(packed.size < 600, `${packed.size} characters`);
    }
    assert.equal(new PackedMessage(utf8).unpack().headers.get('from'), '"Zoë Šimić 日本" <sip:zoe@example.com>;tag=u8');
  });

  test('a FinalMark gives status, reason and To only, as its own strings', () => {
    const r = request();
    const res = createResponse(r, 486, 'Busy Here', { toTag: 'x1', headers: [['Contact', '<sip:bob@192.0.2.30>']] });
    const mark = new FinalMark(res).response();
    assert.equal(mark.status, 486);
    assert.equal(mark.reason, 'Busy Here');
    assert.equal(mark.headers.get('to'), res.headers.get('to'));
    assert.equal(mark.headers.size, 1);
    assert.equal(mark.body.length, 0);
  });
});
