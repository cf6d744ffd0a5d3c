import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createResponse } from '../../../../src/sip/message/index.js';
import type { ServerTransaction } from '../../../../src/sip/transaction/transaction-contract.js';
import type { TransportProtocol } from '../../../../src/sip/transport/sip-transport.js';
import { harness, inbound, isResponse, request, type Harness } from './tx-test-kit.js';

const invite = (via = 'SIP/2.0/UDP 192.0.2.10:5070') => request({ via });
const ack = (toTag: string, via = 'SIP/2.0/UDP 192.0.2.10:5070') => request({ method: 'ACK', via, toTag });

function start(protocol: TransportProtocol = 'udp'): Harness & { tx: ServerTransaction; terminated: number[] } {
  const h = harness();
  const terminated: number[] = [];
  h.user.onRequestHook = (tx) => {
    tx.onTerminated = () => terminated.push(h.clock.now());
  };
  const via = protocol === 'udp' ? 'SIP/2.0/UDP 192.0.2.10:5070' : `SIP/2.0/${protocol.toUpperCase()} 192.0.2.10:5070`;
  h.layer.receive(inbound(invite(via), protocol));
  const tx = h.user.requests[0];
  assert.ok(tx);
  return { ...h, tx, terminated };
}

describe('INVITE server transaction (RFC 3261 §17.2.1, RFC 6026)', () => {
  test('a new INVITE goes to the TU in Proceeding; no 100 is sent by the transaction', () => {
    const h = start();
    assert.equal(h.tx.state, 'proceeding');
    assert.equal(h.tx.isInvite, true);
    assert.equal(h.tx.request.method, 'INVITE');
    assert.equal(h.transport.sent.length, 0);
    assert.equal(h.layer.stats().serverTransactions, 1);
  });

  test('Proceeding: provisionals sent once; an INVITE retransmission resends the latest provisional', () => {
    const h = start();
    h.layer.receive(inbound(invite()));
    assert.equal(h.transport.sent.length, 0, 'nothing to resend yet');
    h.tx.respond(createResponse(h.tx.request, 100));
    h.tx.respond(createResponse(h.tx.request, 180, undefined, { toTag: 'uas' }));
    h.clock.advance(10_000);
    assert.equal(h.transport.sent.length, 2, 'provisionals are not retransmitted by timers');
    h.layer.receive(inbound(invite()));
    const sent = h.transport.sent.map((s) => (s.message.kind === 'response' ? s.message.status : 0));
    assert.deepEqual(sent, [100, 180, 180]);
    assert.equal(h.user.requests.length, 1, 'retransmissions never reach the TU');
    assert.equal(h.layer.stats().absorbedRetransmissions, 2);
    assert.deepEqual(h.transport.sent[0]!.target, { destination: { protocol: 'udp', host: '192.0.2.10', port: 5070 } });
    assert.equal(h.tx.state, 'proceeding');
  });

  test('UDP 300-699: Timer G at 500, 1500, 3500, 7500, 11500 … 31500; Timer H at 32 s ends it (TU told)', () => {
    const h = start();
    const busy = createResponse(h.tx.request, 486, undefined, { toTag: 'uas' });
    h.tx.respond(busy);
    assert.equal(h.tx.state, 'completed');
    assert.equal(h.tx.finalResponse, busy);
    h.clock.advance(31_999);
    assert.deepEqual(h.transport.times(isResponse(486)), [0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
    assert.deepEqual(h.terminated, []);
    h.clock.advance(1);
    assert.equal(h.tx.state, 'terminated');
    assert.deepEqual(h.terminated, [32_000]);
    assert.equal(h.clock.pendingTimers, 0);
    assert.equal(h.layer.stats().serverTransactions, 0);
  });

  test('Completed: an INVITE retransmission resends the final response; other finals are discarded', () => {
    const h = start();
    h.tx.respond(createResponse(h.tx.request, 486, undefined, { toTag: 'uas' }));
    h.clock.advance(100);
    h.layer.receive(inbound(invite()));
    h.tx.respond(createResponse(h.tx.request, 500, undefined, { toTag: 'uas' }));
    h.tx.respond(createResponse(h.tx.request, 200, undefined, { toTag: 'uas' }));
    assert.deepEqual(h.transport.times(isResponse(486)), [0, 100]);
    assert.equal(h.transport.responses(500).length + h.transport.responses(200).length, 0);
    assert.equal(h.user.requests.length, 1);
  });

  test('UDP: ACK → Confirmed stops Timer G; ACK retransmissions absorbed; Timer I = T4', () => {
    const h = start();
    h.tx.respond(createResponse(h.tx.request, 486, undefined, { toTag: 'uas' }));
    h.clock.advance(2000);
    h.layer.receive(inbound(ack('uas')));
    assert.equal(h.tx.state, 'confirmed');
    assert.equal(h.user.acks.length, 0, 'the ACK for a non-2xx stays in the transaction');
    h.layer.receive(inbound(ack('uas')));
    h.layer.receive(inbound(invite()));
    assert.equal(h.layer.stats().absorbedRetransmissions, 2);
    h.clock.advance(4999);
    assert.equal(h.tx.state, 'confirmed');
    assert.deepEqual(h.transport.times(isResponse(486)), [0, 500, 1500], 'no response in Confirmed, even for INVITE retransmissions');
    h.clock.advance(1);
    assert.equal(h.tx.state, 'terminated');
    assert.deepEqual(h.terminated, [7000]);
    assert.equal(h.clock.pendingTimers, 0);
  });

  test('TCP 300-699: no Timer G; ACK terminates at once (Timer I zero); Timer H still 64*T1', () => {
    const h = start('tcp');
    h.tx.respond(createResponse(h.tx.request, 480, undefined, { toTag: 'uas' }));
    assert.deepEqual(h.transport.sent[0]!.target, { destination: { protocol: 'tcp', host: '192.0.2.10', port: 5070 }, flowId: 'flow-1' });
    h.clock.advance(10_000);
    assert.equal(h.transport.sent.length, 1);
    h.layer.receive(inbound(ack('uas', 'SIP/2.0/TCP 192.0.2.10:5070'), 'tcp'));
    assert.equal(h.tx.state, 'terminated');
    assert.equal(h.clock.pendingTimers, 0);

    const h2 = start('tcp');
    h2.tx.respond(createResponse(h2.tx.request, 480, undefined, { toTag: 'uas' }));
    h2.clock.advance(32_000);
    assert.equal(h2.tx.state, 'terminated');
    assert.deepEqual(h2.terminated, [32_000]);
    assert.equal(h2.transport.sent.length, 1);
    assert.equal(h2.clock.pendingTimers, 0);
  });

  test('RFC 6026: 2xx → Accepted; INVITE retransmissions absorbed; ACKs go to the TU; TU 2xx resent; Timer L', () => {
    const h = start();
    h.tx.respond(createResponse(h.tx.request, 180, undefined, { toTag: 'uas' }));
    const ok = createResponse(h.tx.request, 200, undefined, { toTag: 'uas' });
    h.tx.respond(ok);
    assert.equal(h.tx.state, 'accepted');
    h.clock.advance(10_000);
    assert.equal(h.transport.responses(200).length, 1, 'the transaction never retransmits a 2xx itself');
    h.layer.receive(inbound(invite()));
    assert.equal(h.transport.sent.length, 2, 'a retransmitted INVITE gets nothing in Accepted');
    assert.equal(h.user.requests.length, 1);
    h.tx.respond(ok); // the TU's own 2xx retransmission (§13.3.1.4)
    assert.equal(h.transport.responses(200).length, 2);
    h.tx.respond(createResponse(h.tx.request, 486));
    h.tx.respond(createResponse(h.tx.request, 183));
    assert.equal(h.transport.sent.length, 3, 'non-2xx are discarded in Accepted');
    const theAck = inbound(ack('uas'));
    h.layer.receive(theAck);
    h.layer.receive(theAck);
    assert.deepEqual(h.user.acks, [theAck, theAck], 'every matching ACK reaches the TU');
    h.clock.advance(32_000 - 10_000 - 1);
    assert.equal(h.tx.state, 'accepted');
    h.clock.advance(1);
    assert.equal(h.tx.state, 'terminated');
    assert.deepEqual(h.terminated, [32_000]);
    assert.equal(h.clock.pendingTimers, 0);
    h.tx.respond(ok);
    assert.equal(h.transport.responses(200).length, 2, 'respond() after termination is ignored');
  });

  test('a transport error ends the transaction in Proceeding and Completed, not in Accepted', () => {
    const p = start();
    p.tx.respond(createResponse(p.tx.request, 180, undefined, { toTag: 'u' }));
    p.layer.onSendError(p.transport.sent[0]!.target, p.transport.sent[0]!.message, new Error('x'));
    assert.equal(p.tx.state, 'terminated');
    assert.equal(p.terminated.length, 1);

    const c = start();
    c.tx.respond(createResponse(c.tx.request, 486, undefined, { toTag: 'u' }));
    c.layer.onSendError(c.transport.sent[0]!.target, c.transport.sent[0]!.message, new Error('x'));
    assert.equal(c.tx.state, 'terminated');
    assert.equal(c.clock.pendingTimers, 0);

    const a = start();
    a.tx.respond(createResponse(a.tx.request, 200, undefined, { toTag: 'u' }));
    a.layer.onSendError(a.transport.sent[0]!.target, a.transport.sent[0]!.message, new Error('x'));
    assert.equal(a.tx.state, 'accepted');
  });

  test('an ACK before any final response is dropped', () => {
    const h = start();
    h.layer.receive(inbound(ack('zzz')));
    assert.equal(h.tx.state, 'proceeding');
    assert.equal(h.user.acks.length, 0);
  });

  test('responses with an impossible status are ignored', () => {
    const h = start();
    const bad = createResponse(h.tx.request, 180);
    bad.status = 99;
    h.tx.respond(bad);
    bad.status = 700;
    h.tx.respond(bad);
    assert.equal(h.transport.sent.length, 0);
    assert.equal(h.tx.state, 'proceeding');
  });
});
