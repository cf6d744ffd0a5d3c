import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { callId, cseqOf, parseVia, toTag, topVia } from '../../../../src/sip/message/index.js';
import type { SipRequest } from '../../../../src/sip/message/sip-message.js';
import { harness, isRequest, recordingClientUser, request, response, target } from './tx-test-kit.js';

const BRANCH = 'z9hG4bKinv1';

function invite(extra: string[] = []): SipRequest {
  return request({ branch: BRANCH, via: 'SIP/2.0/UDP 127.0.0.1:5060', extra });
}

function reply(status: number, toTag?: string) {
  return response({ status, branch: BRANCH, via: 'SIP/2.0/UDP 127.0.0.1:5060', ...(toTag !== undefined ? { toTag } : {}) });
}

describe('INVITE client transaction (RFC 3261 §17.1.1, RFC 6026)', () => {
  test('UDP: Timer A retransmits at 0, 500, 1500, 3500, 7500, 15500, 31500; Timer B times out at 32 s', () => {
    const h = harness();
    const u = recordingClientUser(h.clock);
    const tx = h.layer.sendRequest(invite(), target(), u);
    assert.equal(tx.state, 'calling');
    assert.equal(tx.isInvite, true);
    h.clock.advance(31_999);
    assert.deepEqual(h.transport.times(), [0, 500, 1500, 3500, 7500, 15500, 31500]);
    assert.deepEqual(u.events, []);
    h.clock.advance(1);
    assert.deepEqual(u.events, [{ kind: 'timeout', at: 32_000 }]);
    assert.equal(tx.state, 'terminated');
    assert.equal(h.layer.stats().clientTransactions, 0);
    assert.equal(h.clock.pendingTimers, 0);
    // every send went to the target given
    for (const s of h.transport.sent) assert.deepEqual(s.target, target());
  });

  test('TCP: no Timer A, Timer B still times out at 64*T1', () => {
    const h = harness();
    const u = recordingClientUser(h.clock);
    const tx = h.layer.sendRequest(invite(), target('tcp'), u);
    h.clock.advance(40_000);
    assert.deepEqual(h.transport.times(), [0]);
    assert.deepEqual(u.events, [{ kind: 'timeout', at: 32_000 }]);
    assert.equal(tx.state, 'terminated');
    assert.equal(h.clock.pendingTimers, 0);
  });

  test('timers follow T1 from options', () => {
    const h = harness({ timers: { t1: 100 } });
    const u = recordingClientUser(h.clock);
    h.layer.sendRequest(invite(), target(), u);
    h.clock.advance(10_000);
    assert.deepEqual(h.transport.times(), [0, 100, 300, 700, 1500, 3100, 6300]);
    assert.deepEqual(u.events, [{ kind: 'timeout', at: 6400 }]);
  });

  test('a provisional response stops retransmissions and Timer B (Proceeding)', () => {
    const h = harness();
    const u = recordingClientUser(h.clock);
    const tx = h.layer.sendRequest(invite(), target(), u);
    h.clock.advance(600);
    h.layer.receive({ message: reply(180, 'uas1'), source: target().destination, local: target().destination, flowId: undefined });
    assert.equal(tx.state, 'proceeding');
    h.clock.advance(100_000);
    assert.deepEqual(h.transport.times(), [0, 500]);
    assert.deepEqual(u.events, [{ kind: 'response', status: 180, at: 600, state: 'proceeding' }]);
    assert.equal(h.clock.pendingTimers, 0, 'no Timer B in Proceeding: the TU runs Timer C');
    h.layer.receive(inboundFrom(reply(183, 'uas1')));
    assert.equal(u.events.length, 2, 'further provisionals go to the TU');
    h.layer.receive(inboundFrom(reply(486, 'uas1')));
    assert.equal(tx.state, 'completed');
    h.clock.advance(32_000);
    assert.equal(tx.state, 'terminated');
    assert.equal(h.clock.pendingTimers, 0);
  });

  test('UDP 300-699: ACK built per §17.1.1.3, retransmitted finals re-ACKed and absorbed, Timer D = 32 s', () => {
    const h = harness();
    const u = recordingClientUser(h.clock);
    const original = invite(['Route: <sip:p1.example.com;lr>', 'Route: <sip:p2.example.com;lr>, <sip:p3.example.com;lr>']);
    original.headers.append('Via', 'SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bKlower');
    const tx = h.layer.sendRequest(original, target(), u);
    h.clock.advance(1000);
    h.layer.receive(inboundFrom(reply(486, 'busy1')));
    assert.equal(tx.state, 'completed');
    assert.deepEqual(u.events, [{ kind: 'response', status: 486, at: 1000, state: 'completed' }]);
    const acks = h.transport.requests('ACK');
    assert.equal(acks.length, 1);
    const ack = acks[0]!.message as SipRequest;
    assert.deepEqual(acks[0]!.target, target(), 'ACK goes where the INVITE went');
    assert.deepEqual(ack.uri, original.uri);
    assert.equal(callId(ack), callId(original));
    assert.equal(ack.headers.get('from'), original.headers.get('from'));
    assert.deepEqual(cseqOf(ack), { seq: cseqOf(original).seq, method: 'ACK' });
    assert.equal(toTag(ack), 'busy1', 'To comes from the response');
    assert.equal(ack.headers.count('via'), 1);
    assert.deepEqual(parseVia(ack.headers.get('via')!), [topVia(original)]);
    assert.deepEqual(ack.headers.getAll('route'), original.headers.getAll('route'));
    assert.equal(ack.body.length, 0);
    // retransmitted final: ACK again, not passed up
    h.clock.advance(500);
    h.layer.receive(inboundFrom(reply(486, 'busy1')));
    assert.equal(h.transport.requests('ACK').length, 2);
    assert.equal(u.events.length, 1);
    assert.equal(h.layer.stats().absorbedRetransmissions, 1);
    // no INVITE retransmission after the final response
    assert.deepEqual(h.transport.times(isRequest('INVITE')), [0, 500]);
    h.clock.advance(32_000 - 500 - 1);
    assert.equal(tx.state, 'completed');
    h.clock.advance(1);
    assert.equal(tx.state, 'terminated', 'Timer D fired 32 s after Completed');
    assert.equal(h.clock.pendingTimers, 0);
    // a late retransmission is now a stray response
    h.layer.receive(inboundFrom(reply(486, 'busy1')));
    assert.equal(h.layer.stats().strayResponses, 1);
    assert.equal(h.user.strays.length, 1);
  });

  test('TCP 300-699: ACK still sent, Timer D zero', () => {
    const h = harness();
    const u = recordingClientUser(h.clock);
    const tx = h.layer.sendRequest(invite(), target('tcp'), u);
    h.layer.receive(inboundFrom(reply(603, 'no')));
    assert.equal(h.transport.requests('ACK').length, 1);
    assert.equal(tx.state, 'terminated');
    assert.deepEqual(u.events, [{ kind: 'response', status: 603, at: 0, state: 'completed' }]);
    assert.equal(h.clock.pendingTimers, 0);
    assert.equal(h.layer.stats().clientTransactions, 0);
  });

  test('RFC 6026: 2xx moves to Accepted, later 2xx (retransmissions, other forks) go to the TU, Timer M = 64*T1', () => {
    const h = harness();
    const u = recordingClientUser(h.clock);
    const tx = h.layer.sendRequest(invite(), target(), u);
    h.layer.receive(inboundFrom(reply(180, 'a')));
    h.clock.advance(2000);
    h.layer.receive(inboundFrom(reply(200, 'a')));
    assert.equal(tx.state, 'accepted');
    assert.equal(h.transport.requests('ACK').length, 0, 'the ACK for 2xx is the TU’s');
    h.clock.advance(1000);
    h.layer.receive(inboundFrom(reply(200, 'a')));
    h.layer.receive(inboundFrom(reply(200, 'b')));
    h.layer.receive(inboundFrom(reply(486, 'c')));
    h.layer.receive(inboundFrom(reply(180, 'd')));
    assert.deepEqual(
      u.events.map((e) => (e.kind === 'response' ? e.status : e.kind)),
      [180, 200, 200, 200],
    );
    assert.equal(h.layer.stats().strayResponses, 0);
    h.clock.advance(32_000 - 1000 - 1);
    assert.equal(tx.state, 'accepted');
    h.clock.advance(1);
    assert.equal(tx.state, 'terminated');
    assert.equal(h.clock.pendingTimers, 0);
    h.layer.receive(inboundFrom(reply(200, 'a')));
    assert.equal(h.user.strays.length, 1, 'after Timer M a 2xx is stray (the proxy core forwards it)');
  });

  test('transport error in Calling: onTransportError, terminated, no timers', () => {
    const h = harness();
    const u = recordingClientUser(h.clock);
    const tx = h.layer.sendRequest(invite(), target(), u);
    h.clock.advance(700);
    h.layer.onSendError(target(), tx.request, new Error('ICMP port unreachable'));
    assert.equal(tx.state, 'terminated');
    assert.deepEqual(u.events, [{ kind: 'transport-error', at: 700, code: undefined }]);
    assert.equal(h.clock.pendingTimers, 0);
  });

  test('a transport error reported synchronously by the first send terminates at once', () => {
    const h = harness();
    const u = recordingClientUser(h.clock);
    h.transport.failWith = (t, m) => h.layer.onSendError(t, m, new Error('connection refused'));
    const tx = h.layer.sendRequest(invite(), target('tcp'), u);
    assert.equal(tx.state, 'terminated');
    assert.deepEqual(u.events, [{ kind: 'transport-error', at: 0, code: undefined }]);
    assert.equal(h.clock.pendingTimers, 0);
    assert.equal(h.layer.stats().clientTransactions, 0);
  });

  test('transport error sending the ACK (Completed) informs the TU (Figure 5)', () => {
    const h = harness();
    const u = recordingClientUser(h.clock);
    const tx = h.layer.sendRequest(invite(), target(), u);
    h.layer.receive(inboundFrom(reply(486, 'x')));
    const ack = h.transport.requests('ACK')[0]!.message;
    h.layer.onSendError(target(), ack, new Error('unreachable'));
    assert.equal(tx.state, 'terminated');
    assert.deepEqual(
      u.events.map((e) => e.kind),
      ['response', 'transport-error'],
    );
    assert.equal(h.clock.pendingTimers, 0);
  });

  test('transport errors in Proceeding/Accepted are ignored (nothing of the transaction is in flight)', () => {
    const h = harness();
    const u = recordingClientUser(h.clock);
    const tx = h.layer.sendRequest(invite(), target(), u);
    h.layer.receive(inboundFrom(reply(180, 'x')));
    h.layer.onSendError(target(), tx.request, new Error('late'));
    assert.equal(tx.state, 'proceeding');
    h.layer.receive(inboundFrom(reply(200, 'x')));
    h.layer.onSendError(target(), tx.request, new Error('late'));
    assert.equal(tx.state, 'accepted');
    tx.terminate();
    assert.equal(h.clock.pendingTimers, 0);
  });

  test('terminate() stops retransmissions without telling the TU', () => {
    const h = harness();
    const u = recordingClientUser(h.clock);
    const tx = h.layer.sendRequest(invite(), target(), u);
    h.clock.advance(600);
    tx.terminate();
    tx.terminate();
    assert.equal(tx.state, 'terminated');
    h.clock.advance(100_000);
    assert.deepEqual(h.transport.times(), [0, 500]);
    assert.deepEqual(u.events, []);
    assert.equal(h.clock.pendingTimers, 0);
    h.layer.receive(inboundFrom(reply(200, 'x')));
    assert.deepEqual(u.events, [], 'a terminated transaction gets nothing');
  });
});

function inboundFrom(message: ReturnType<typeof reply>) {
  return { message, source: target().destination, local: { protocol: 'udp' as const, host: '127.0.0.1', port: 5060 }, flowId: undefined };
}
