import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createResponse } from '../../../../src/sip/message/index.js';
import type { ServerTransaction } from '../../../../src/sip/transaction/transaction-contract.js';
import type { TransportProtocol } from '../../../../src/sip/transport/sip-transport.js';
import { harness, inbound, request, type Harness } from './tx-test-kit.js';

const register = (via = 'SIP/2.0/UDP 192.0.2.10:5070') => request({ method: 'REGISTER', uri: 'sip:example.com', via });

function start(protocol: TransportProtocol = 'udp'): Harness & { tx: ServerTransaction; terminated: number[] } {
  const h = harness();
  const terminated: number[] = [];
  h.user.onRequestHook = (tx) => {
    tx.onTerminated = () => terminated.push(h.clock.now());
  };
  h.layer.receive(inbound(register(`SIP/2.0/${protocol.toUpperCase()} 192.0.2.10:5070`), protocol));
  const tx = h.user.requests[0];
  assert.ok(tx);
  return { ...h, tx, terminated };
}

const statuses = (h: Harness) => h.transport.sent.map((s) => (s.message.kind === 'response' ? s.message.status : 0));

describe('non-INVITE server transaction (RFC 3261 §17.2.2)', () => {
  test('Trying: retransmissions are absorbed silently', () => {
    const h = start();
    assert.equal(h.tx.state, 'trying');
    assert.equal(h.tx.isInvite, false);
    h.layer.receive(inbound(register()));
    h.layer.receive(inbound(register()));
    assert.equal(h.transport.sent.length, 0);
    assert.equal(h.user.requests.length, 1);
    assert.equal(h.layer.stats().absorbedRetransmissions, 2);
  });

  test('UDP: 1xx → Proceeding (retransmission resends it); final → Completed (resent on retransmission); Timer J = 64*T1', () => {
    const h = start();
    h.tx.respond(createResponse(h.tx.request, 100));
    assert.equal(h.tx.state, 'proceeding');
    h.layer.receive(inbound(register()));
    assert.deepEqual(statuses(h), [100, 100]);
    h.clock.advance(1000);
    const ok = createResponse(h.tx.request, 200, undefined, { toTag: 'reg' });
    h.tx.respond(ok);
    assert.equal(h.tx.state, 'completed');
    assert.equal(h.tx.finalResponse, ok);
    h.tx.respond(createResponse(h.tx.request, 500, undefined, { toTag: 'reg' }));
    h.tx.respond(createResponse(h.tx.request, 180));
    h.layer.receive(inbound(register()));
    assert.deepEqual(statuses(h), [100, 100, 200, 200], 'other responses are discarded in Completed');
    h.clock.advance(32_000 - 1);
    assert.equal(h.tx.state, 'completed');
    assert.equal(h.transport.sent.length, 4, 'responses are never retransmitted by timer');
    h.clock.advance(1);
    assert.equal(h.tx.state, 'terminated');
    assert.deepEqual(h.terminated, [33_000]);
    assert.equal(h.clock.pendingTimers, 0);
    assert.equal(h.layer.stats().serverTransactions, 0);
    // a retransmission now is a new request (the TU answers it again)
    h.layer.receive(inbound(register()));
    assert.equal(h.user.requests.length, 2);
  });

  test('final response straight from Trying', () => {
    const h = start();
    h.tx.respond(createResponse(h.tx.request, 403, undefined, { toTag: 'x' }));
    assert.equal(h.tx.state, 'completed');
    h.clock.advance(32_000);
    assert.equal(h.tx.state, 'terminated');
    assert.equal(h.clock.pendingTimers, 0);
  });

  test('TCP: Timer J zero — terminated as soon as the final response is sent, on the connection', () => {
    const h = start('tcp');
    h.tx.respond(createResponse(h.tx.request, 200, undefined, { toTag: 'x' }));
    assert.equal(h.tx.state, 'terminated');
    assert.deepEqual(h.terminated, [0]);
    assert.deepEqual(h.transport.sent[0]!.target, { destination: { protocol: 'tcp', host: '192.0.2.10', port: 5070 }, flowId: 'flow-1' });
    assert.equal(h.clock.pendingTimers, 0);
    h.tx.respond(createResponse(h.tx.request, 200, undefined, { toTag: 'x' }));
    assert.equal(h.transport.sent.length, 1, 'respond() after termination is ignored');
  });

  test('a transport error ends the transaction (Figure 8)', () => {
    const h = start();
    h.tx.respond(createResponse(h.tx.request, 200, undefined, { toTag: 'x' }));
    const s = h.transport.sent[0]!;
    h.layer.onSendError(s.target, s.message, new Error('unreachable'));
    assert.equal(h.tx.state, 'terminated');
    assert.equal(h.terminated.length, 1);
    assert.equal(h.clock.pendingTimers, 0);
  });
});
