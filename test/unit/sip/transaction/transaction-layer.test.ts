import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { createResponse, toTag } from '../../../../src/sip/message/index.js';
import type { SipResponse } from '../../../../src/sip/message/sip-message.js';
import { TransactionError } from '../../../../src/sip/transaction/transaction-error.js';
import { TransactionLayer } from '../../../../src/sip/transaction/transaction-layer.js';
import { FakeTransport, RecordingUser, harness, inbound, recordingClientUser, request, response, target } from './tx-test-kit.js';

function hasCode(code: string) {
  return (e: unknown): boolean => e instanceof TransactionError && e.code === code;
}

describe('TransactionLayer: cap (maxTransactions)', () => {
  test('past the cap new requests get a stateless 503 and new client transactions fail fast', () => {
    const h = harness({ maxTransactions: 2 });
    h.layer.receive(inbound(request({ branch: 'z9hG4bK1' })));
    const u1 = recordingClientUser(h.clock);
    h.layer.sendRequest(request({ method: 'OPTIONS', branch: 'z9hG4bKc1', via: 'SIP/2.0/UDP 127.0.0.1:5060' }), target(), u1);
    assert.equal(h.transport.sent.length, 1);

    h.layer.receive(inbound(request({ method: 'REGISTER', branch: 'z9hG4bK2' })));
    assert.equal(h.user.requests.length, 1, 'no transaction, no TU call');
    const [overload] = h.transport.responses(503);
    assert.ok(overload);
    const r = overload.message as SipResponse;
    assert.equal(r.headers.get('retry-after'), '5');
    const tag = toTag(r);
    assert.ok(tag !== undefined && tag.length > 0, '§8.2.7: a To tag is added');
    assert.deepEqual(overload.target, { destination: { protocol: 'udp', host: '192.0.2.10', port: 5070 } });
    // the same request again gets the same tag (stateless, §8.2.7)
    h.layer.receive(inbound(request({ method: 'REGISTER', branch: 'z9hG4bK2' })));
    assert.equal(toTag(h.transport.responses(503)[1]!.message), tag);

    // ACKs still pass (they never create a transaction)
    h.layer.receive(inbound(request({ method: 'ACK', branch: 'z9hG4bKa', toTag: 'x' })));
    assert.equal(h.user.acks.length, 1);

    const u2 = recordingClientUser(h.clock);
    const tx = h.layer.sendRequest(request({ method: 'OPTIONS', branch: 'z9hG4bKc2', via: 'SIP/2.0/UDP 127.0.0.1:5060' }), target(), u2);
    assert.equal(tx.state, 'terminated');
    assert.deepEqual(u2.events, [{ kind: 'transport-error', at: 0, code: 'SIP_TX_LIMIT' }]);
    assert.equal(h.transport.requests('OPTIONS').length, 1, 'nothing sent for the refused transaction');
    assert.deepEqual(h.layer.stats().serverTransactions + h.layer.stats().clientTransactions, 2);

    // capacity comes back when transactions end
    h.clock.advance(32_000);
    assert.equal(h.layer.stats().clientTransactions, 0);
    h.layer.receive(inbound(request({ method: 'REGISTER', branch: 'z9hG4bK3' })));
    assert.equal(h.user.requests.length, 2);
  });

  test('maxTransactions 0 refuses everything; a request that already has a To tag keeps it in the 503', () => {
    const h = harness({ maxTransactions: 0 });
    h.layer.receive(inbound(request({ method: 'BYE', toTag: 'dialog' })));
    assert.equal(toTag(h.transport.responses(503)[0]!.message), 'dialog');
    assert.equal(h.user.requests.length, 0);
  });

  test('a burst of 10 000 distinct requests stays within the cap', () => {
    const h = harness({ maxTransactions: 1000 });
    for (let i = 0; i < 10_000; i++) h.layer.receive(inbound(request({ method: 'MESSAGE', branch: `z9hG4bKb${i}` })));
    assert.equal(h.layer.stats().serverTransactions, 1000);
    assert.equal(h.transport.responses(503).length, 9000);
    for (const tx of h.user.requests) tx.respond(createResponse(tx.request, 200, undefined, { toTag: 't' }));
    h.clock.advance(32_000);
    assert.equal(h.layer.stats().serverTransactions, 0);
    assert.equal(h.clock.pendingTimers, 0);
  });
});

describe('TransactionLayer: close()', () => {
  test('cancels every timer, forgets every transaction, then ignores input silently', () => {
    const h = harness();
    const terminated: string[] = [];
    h.user.onRequestHook = (tx) => {
      tx.onTerminated = () => terminated.push(tx.id);
    };
    const u = recordingClientUser(h.clock);
    const inv = h.layer.sendRequest(request({ branch: 'z9hG4bKc', via: 'SIP/2.0/UDP 127.0.0.1:5060' }), target(), u);
    h.layer.receive(inbound(request({ method: 'OPTIONS', branch: 'z9hG4bKs' })));
    h.layer.receive(inbound(request({ branch: 'z9hG4bKs2' })));
    h.user.requests[1]!.respond(createResponse(h.user.requests[1]!.request, 486, undefined, { toTag: 'x' }));
    h.layer.receive(inbound(request({ branch: '2543' })));
    assert.ok(h.clock.pendingTimers > 0);
    const sentBefore = h.transport.sent.length;

    h.layer.close();
    assert.equal(h.clock.pendingTimers, 0);
    assert.equal(inv.state, 'terminated');
    for (const tx of h.user.requests) assert.equal(tx.state, 'terminated');
    assert.deepEqual(h.layer.stats(), { serverTransactions: 0, clientTransactions: 0, absorbedRetransmissions: 0, strayResponses: 0, shedRequests: 0, statelessRequests: 0 });
    assert.deepEqual(terminated, [], 'close() tells nobody');
    assert.deepEqual(u.events, []);

    h.layer.receive(inbound(request({ branch: 'z9hG4bKafter' })));
    h.layer.receive(inbound(response({ status: 200, branch: 'z9hG4bKc' })));
    const late = h.layer.sendRequest(request({ method: 'OPTIONS', branch: 'z9hG4bKlate', via: 'SIP/2.0/UDP 127.0.0.1:5060' }), target(), u);
    assert.equal(late.state, 'terminated');
    h.layer.onSendError(target(), late.request, new Error('x'));
    assert.equal(h.layer.findCancelTarget(request({ method: 'CANCEL', branch: 'z9hG4bKs2' })), undefined);
    h.clock.advance(100_000);
    assert.equal(h.transport.sent.length, sentBefore);
    assert.equal(h.user.requests.length, 3);
    assert.deepEqual(u.events, []);
    h.layer.close();
  });
});

describe('TransactionLayer: robustness', () => {
  test('sendRequest refuses ACK, a branch without the cookie, a CSeq of another method, a duplicate', () => {
    const h = harness();
    const u = recordingClientUser(h.clock);
    assert.throws(() => h.layer.sendRequest(request({ method: 'ACK' }), target(), u), hasCode('SIP_TX_BAD_REQUEST'));
    assert.throws(() => h.layer.sendRequest(request({ branch: 'old2543' }), target(), u), hasCode('SIP_TX_BAD_REQUEST'));
    assert.throws(() => h.layer.sendRequest(request({ branch: 'z9hG4bK' }), target(), u), hasCode('SIP_TX_BAD_REQUEST'));
    const otherCSeq = request();
    otherCSeq.headers.set('CSeq', '1 BYE');
    assert.throws(() => h.layer.sendRequest(otherCSeq, target(), u), hasCode('SIP_TX_BAD_REQUEST'));
    const noCallId = request();
    noCallId.headers.remove('call-id');
    assert.throws(() => h.layer.sendRequest(noCallId, target(), u), hasCode('SIP_TX_BAD_REQUEST'));
    h.layer.sendRequest(request(), target(), u);
    assert.throws(() => h.layer.sendRequest(request(), target(), u), hasCode('SIP_TX_DUPLICATE'));
    assert.equal(h.transport.sent.length, 1);
  });

  test('options are validated', () => {
    const clock = new ManualClock();
    const deps = { clock, transport: new FakeTransport(clock), user: new RecordingUser() };
    assert.throws(() => new TransactionLayer(deps, { timers: { t1: 0 } }), hasCode('SIP_TX_BAD_OPTIONS'));
    assert.throws(() => new TransactionLayer(deps, { timers: { t2: Number.NaN } }), hasCode('SIP_TX_BAD_OPTIONS'));
    assert.throws(() => new TransactionLayer(deps, { maxTransactions: -1 }), hasCode('SIP_TX_BAD_OPTIONS'));
    assert.throws(() => new TransactionLayer(deps, { maxTransactions: 1.5 }), hasCode('SIP_TX_BAD_OPTIONS'));
  });

  test('a throwing TU never breaks the layer; errors go to onError', () => {
    const clock = new ManualClock();
    const transport = new FakeTransport(clock);
    const errors: unknown[] = [];
    const boom = (): never => {
      throw new Error('TU bug');
    };
    const layer = new TransactionLayer({
      clock,
      transport,
      user: { onRequest: boom, onAck: boom, onStrayResponse: boom },
      onError: (e) => errors.push(e),
    });
    layer.receive(inbound(request()));
    layer.receive(inbound(request({ method: 'ACK', branch: 'z9hG4bKother', toTag: 'x' })));
    layer.receive(inbound(response({ status: 200 })));
    const tx = layer.sendRequest(request({ method: 'OPTIONS', branch: 'z9hG4bKc', via: 'SIP/2.0/UDP 127.0.0.1:5060' }), target(), {
      onResponse: boom,
      onTimeout: boom,
      onTransportError: boom,
    });
    layer.receive(inbound(response({ status: 200, method: 'OPTIONS', branch: 'z9hG4bKc', via: 'SIP/2.0/UDP 127.0.0.1:5060' })));
    assert.equal(tx.state, 'completed', 'the state machine moved on despite the TU');
    clock.advance(60_000);
    assert.equal(tx.state, 'terminated');
    const noVia = request({ branch: 'z9hG4bKnovia' });
    noVia.headers.remove('via');
    layer.receive(inbound(noVia));
    const badCSeq = request({ branch: 'old' });
    badCSeq.headers.set('CSeq', 'x');
    layer.receive(inbound(badCSeq));
    assert.equal(errors.length, 4, 'malformed input is dropped, not reported');
    assert.equal(clock.pendingTimers, 0);
    assert.deepEqual(layer.stats().serverTransactions, 1);
  });

  test('onSendError for messages of no transaction is ignored', () => {
    const h = harness();
    assert.doesNotThrow(() => {
      h.layer.onSendError(target(), request({ branch: 'z9hG4bKnobody' }), new Error('x'));
      h.layer.onSendError(target(), response({ status: 200, branch: 'z9hG4bKnobody' }), new Error('x'));
      h.layer.onSendError(target(), response({ status: 200, branch: 'rfc2543' }), new Error('x'));
      const noVia = request();
      noVia.headers.remove('via');
      h.layer.onSendError(target(), noVia, new Error('x'));
    });
  });

  test('onSendError finds RFC 2543 server transactions by the response they sent', () => {
    const h = harness();
    h.layer.receive(inbound(request({ branch: 'old1' })));
    const tx = h.user.requests[0]!;
    tx.respond(createResponse(tx.request, 486, undefined, { toTag: 'b' }));
    const s = h.transport.sent[0]!;
    h.layer.onSendError(s.target, s.message, new Error('unreachable'));
    assert.equal(tx.state, 'terminated');
    assert.equal(h.layer.stats().serverTransactions, 0);
    assert.equal(h.clock.pendingTimers, 0);
  });
});
