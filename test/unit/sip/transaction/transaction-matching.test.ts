import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createResponse } from '../../../../src/sip/message/index.js';
import type { SipResponse } from '../../../../src/sip/message/sip-message.js';
import { MAX_RFC2543_GROUP } from '../../../../src/sip/transaction/transaction-layer.js';
import { harness, inbound, recordingClientUser, request, response, target, type RequestSpec } from './tx-test-kit.js';

const fromNet = (message: SipResponse) => inbound(message);

describe('matching responses to client transactions (RFC 3261 §17.1.3)', () => {
  test('branch + CSeq method: an INVITE and its CANCEL share a branch but are two transactions', () => {
    const h = harness();
    const ui = recordingClientUser(h.clock);
    const uc = recordingClientUser(h.clock);
    const via = 'SIP/2.0/UDP 127.0.0.1:5060';
    h.layer.sendRequest(request({ branch: 'z9hG4bKshared', via }), target(), ui);
    h.layer.receive(fromNet(response({ status: 180, branch: 'z9hG4bKshared', via, toTag: 'a' })));
    h.layer.sendRequest(request({ method: 'CANCEL', branch: 'z9hG4bKshared', via }), target(), uc);
    assert.equal(h.layer.stats().clientTransactions, 2);
    h.layer.receive(fromNet(response({ status: 200, method: 'CANCEL', branch: 'z9hG4bKshared', via, toTag: 'a' })));
    h.layer.receive(fromNet(response({ status: 487, branch: 'z9hG4bKshared', via, toTag: 'a' })));
    assert.deepEqual(
      ui.events.map((e) => (e.kind === 'response' ? e.status : e.kind)),
      [180, 487],
    );
    assert.deepEqual(
      uc.events.map((e) => (e.kind === 'response' ? e.status : e.kind)),
      [200],
    );
    assert.equal(h.transport.requests('ACK').length, 1, 'the 487 is ACKed by the INVITE transaction');
  });

  test('responses naming no live transaction are stray (other branch, other method, no branch, no Via)', () => {
    const h = harness();
    const u = recordingClientUser(h.clock);
    h.layer.sendRequest(request({ method: 'OPTIONS', branch: 'z9hG4bKmine' }), target(), u);
    const noBranch = response({ status: 200, method: 'OPTIONS', branch: 'z9hG4bKmine' });
    noBranch.headers.set('Via', 'SIP/2.0/UDP 192.0.2.10:5070');
    const strays = [
      response({ status: 200, method: 'OPTIONS', branch: 'z9hG4bKother' }),
      response({ status: 200, method: 'INFO', branch: 'z9hG4bKmine' }),
      noBranch,
    ];
    for (const s of strays) h.layer.receive(fromNet(s));
    assert.equal(u.events.length, 0);
    assert.equal(h.user.strays.length, 3);
    assert.equal(h.layer.stats().strayResponses, 3);
    const noVia = response({ status: 200, method: 'OPTIONS', branch: 'z9hG4bKmine' });
    noVia.headers.remove('via');
    assert.doesNotThrow(() => h.layer.receive(fromNet(noVia)));
    assert.equal(h.user.strays.length, 3, 'a response without Via is dropped');
  });
});

describe('matching requests to server transactions (RFC 3261 §17.2.3)', () => {
  test('branch + sent-by + method: another sent-by or method is another transaction', () => {
    const h = harness();
    h.layer.receive(inbound(request({ branch: 'z9hG4bKx' })));
    h.layer.receive(inbound(request({ branch: 'z9hG4bKx' })));
    h.layer.receive(inbound(request({ branch: 'z9hG4bKx', via: 'SIP/2.0/UDP 192.0.2.99:5070' })));
    h.layer.receive(inbound(request({ branch: 'z9hG4bKx', via: 'SIP/2.0/UDP 192.0.2.10' })));
    h.layer.receive(inbound(request({ branch: 'z9hG4bKx', method: 'CANCEL' })));
    h.layer.receive(inbound(request({ branch: 'z9hG4bKX' })));
    assert.deepEqual(
      h.user.requests.map((t) => t.request.method),
      ['INVITE', 'INVITE', 'INVITE', 'CANCEL', 'INVITE'],
    );
    assert.equal(h.layer.stats().absorbedRetransmissions, 1);
    assert.equal(h.layer.stats().serverTransactions, 5);
  });

  test('sent-by host compares case-insensitively', () => {
    const h = harness();
    h.layer.receive(inbound(request({ via: 'SIP/2.0/UDP PC33.Example.COM:5070' })));
    h.layer.receive(inbound(request({ via: 'SIP/2.0/UDP pc33.example.com:5070' })));
    assert.equal(h.user.requests.length, 1);
  });

  test('an ACK with the INVITE’s branch confirms it; an ACK with a new branch (for a 2xx) goes to the TU', () => {
    const h = harness();
    h.layer.receive(inbound(request()));
    const tx = h.user.requests[0]!;
    tx.respond(createResponse(tx.request, 404, undefined, { toTag: 'nf' }));
    const ack2xx = inbound(request({ method: 'ACK', branch: 'z9hG4bKnew', toTag: 'nf' }));
    h.layer.receive(ack2xx);
    assert.deepEqual(h.user.acks, [ack2xx]);
    assert.equal(tx.state, 'completed');
    h.layer.receive(inbound(request({ method: 'ACK', toTag: 'nf' })));
    assert.equal(tx.state, 'confirmed');
    assert.equal(h.user.acks.length, 1);
    assert.equal(h.user.requests.length, 1, 'ACK never creates a transaction');
  });

  test('a request without a usable Via is dropped without throwing', () => {
    const h = harness();
    const bad = request();
    bad.headers.remove('via');
    assert.doesNotThrow(() => h.layer.receive(inbound(bad)));
    const noCallIdAck = request({ method: 'ACK', branch: 'nocookie' });
    noCallIdAck.headers.remove('call-id');
    assert.doesNotThrow(() => h.layer.receive(inbound(noCallIdAck)));
    assert.equal(h.user.requests.length + h.user.acks.length, 0);
  });
});

describe('CANCEL matching (RFC 3261 §9.2)', () => {
  const cancel = (spec: RequestSpec = {}) => request({ method: 'CANCEL', ...spec });

  test('the INVITE server transaction with the same branch, sent-by, Request-URI, Call-ID, From tag and CSeq number', () => {
    const h = harness();
    h.layer.receive(inbound(request()));
    const invite = h.user.requests[0]!;
    h.layer.receive(inbound(cancel()));
    const cancelTx = h.user.requests[1]!;
    assert.equal(cancelTx.request.method, 'CANCEL', 'the CANCEL gets its own server transaction');
    assert.equal(h.layer.findCancelTarget(cancelTx.request), invite);
    assert.equal(h.layer.findCancelTarget(cancel({ uri: 'sip:bob@EXAMPLE.com' })), invite, 'URI comparison per §19.1.4');
  });

  test('no target when any identifying field differs, or for non-INVITE transactions', () => {
    const h = harness();
    h.layer.receive(inbound(request()));
    h.layer.receive(inbound(request({ method: 'OPTIONS', branch: 'z9hG4bKopt' })));
    const misses: RequestSpec[] = [
      { branch: 'z9hG4bKother' },
      { via: 'SIP/2.0/UDP 192.0.2.11:5070' },
      { uri: 'sip:carol@example.com' },
      { callId: 'another-call' },
      { fromTag: 'other' },
      { cseq: 2 },
      { branch: 'z9hG4bKopt' },
    ];
    for (const spec of misses) assert.equal(h.layer.findCancelTarget(cancel(spec)), undefined, JSON.stringify(spec));
  });

  test('no target once the INVITE transaction is gone', () => {
    const h = harness();
    h.layer.receive(inbound(request({ via: 'SIP/2.0/TCP 192.0.2.10:5070' }), 'tcp'));
    const invite = h.user.requests[0]!;
    invite.respond(createResponse(invite.request, 486, undefined, { toTag: 'b' }));
    h.layer.receive(inbound(request({ method: 'ACK', via: 'SIP/2.0/TCP 192.0.2.10:5070', toTag: 'b' }), 'tcp'));
    assert.equal(invite.state, 'terminated');
    assert.equal(h.layer.findCancelTarget(cancel({ via: 'SIP/2.0/TCP 192.0.2.10:5070' })), undefined);
  });
});

describe('RFC 2543 fallback matching (RFC 3261 §17.2.3, branch without z9hG4bK)', () => {
  const old = (spec: RequestSpec = {}) => request({ branch: '7a3f09', ...spec });

  test('INVITE retransmission matched on Request-URI, To tag, From tag, Call-ID, CSeq and top Via', () => {
    const h = harness();
    h.layer.receive(inbound(old()));
    const tx = h.user.requests[0]!;
    assert.match(tx.id, /^rfc2543\|/);
    tx.respond(createResponse(tx.request, 180, undefined, { toTag: 'r' }));
    h.layer.receive(inbound(old()));
    assert.equal(h.transport.responses(180).length, 2, 'retransmission answered with the last provisional');
    assert.equal(h.user.requests.length, 1);
    const others: RequestSpec[] = [
      { uri: 'sip:carol@example.com' },
      { toTag: 'zz' },
      { fromTag: 'other' },
      { callId: 'other-call' },
      { cseq: 7 },
      { via: 'SIP/2.0/UDP 192.0.2.10:5071' },
      { branch: '7a3f0a' },
    ];
    for (const spec of others) h.layer.receive(inbound(old(spec)));
    assert.equal(h.user.requests.length, 1 + others.length, 'each differing field makes a new transaction');
  });

  test('a Via without any branch parameter uses the fallback too', () => {
    const h = harness();
    const noBranch = () => {
      const r = old();
      r.headers.set('Via', 'SIP/2.0/UDP 192.0.2.10:5070');
      return r;
    };
    h.layer.receive(inbound(noBranch()));
    h.layer.receive(inbound(noBranch()));
    assert.equal(h.user.requests.length, 1);
    assert.equal(h.layer.stats().absorbedRetransmissions, 1);
  });

  test('ACK matches on the To tag of the final response sent; another To tag is not this transaction', () => {
    const h = harness();
    h.layer.receive(inbound(old()));
    const tx = h.user.requests[0]!;
    tx.respond(createResponse(tx.request, 486, undefined, { toTag: 'busy' }));
    h.layer.receive(inbound(old({ method: 'ACK', toTag: 'wrong' })));
    assert.equal(tx.state, 'completed');
    assert.equal(h.user.acks.length, 1, 'unmatched ACK goes to the TU');
    h.layer.receive(inbound(old({ method: 'ACK', toTag: 'busy', cseqMethod: 'ACK' })));
    assert.equal(tx.state, 'confirmed');
    assert.equal(h.user.acks.length, 1);
  });

  test('an ACK before any final response matches nothing', () => {
    const h = harness();
    h.layer.receive(inbound(old()));
    h.layer.receive(inbound(old({ method: 'ACK' })));
    assert.equal(h.user.acks.length, 1);
    assert.equal(h.user.requests[0]!.state, 'proceeding');
  });

  test('ACK for a 2xx in Accepted reaches the TU; non-INVITE retransmissions are absorbed; CANCEL finds its INVITE', () => {
    const h = harness();
    h.layer.receive(inbound(old()));
    const tx = h.user.requests[0]!;
    assert.equal(h.layer.findCancelTarget(old({ method: 'CANCEL' })), tx);
    assert.equal(h.layer.findCancelTarget(old({ method: 'CANCEL', toTag: 'x' })), undefined);
    tx.respond(createResponse(tx.request, 200, undefined, { toTag: 'ok' }));
    h.layer.receive(inbound(old({ method: 'ACK', toTag: 'ok' })));
    assert.equal(h.user.acks.length, 1);
    assert.equal(tx.state, 'accepted');
    h.layer.receive(inbound(old({ method: 'BYE', toTag: 'ok', cseq: 2 })));
    h.layer.receive(inbound(old({ method: 'BYE', toTag: 'ok', cseq: 2 })));
    assert.equal(h.user.requests.length, 2);
    assert.equal(h.layer.stats().absorbedRetransmissions, 1);
  });

  test(`at most ${MAX_RFC2543_GROUP} transactions share one Call-ID/CSeq/From tag/Via; past it 503`, () => {
    const h = harness();
    for (let i = 0; i <= MAX_RFC2543_GROUP; i++) h.layer.receive(inbound(old({ uri: `sip:u${i}@example.com` })));
    assert.equal(h.user.requests.length, MAX_RFC2543_GROUP);
    assert.equal(h.transport.responses(503).length, 1);
    // termination frees the group
    for (const tx of h.user.requests) tx.respond(createResponse(tx.request, 500, undefined, { toTag: 't' }));
    h.clock.advance(32_000);
    assert.equal(h.layer.stats().serverTransactions, 0);
    assert.equal(h.clock.pendingTimers, 0);
    h.layer.receive(inbound(old({ uri: 'sip:late@example.com' })));
    assert.equal(h.user.requests.length, MAX_RFC2543_GROUP + 1);
  });
});

describe('unmatched messages (RFC 3261 §17.1.3, §17.2.3, RFC 6026 §8)', () => {
  test('unmatched ACK → onAck, unmatched response → onStrayResponse, new request → onRequest', () => {
    const h = harness();
    const a = inbound(request({ method: 'ACK', toTag: 'x', branch: 'z9hG4bKack' }));
    const r = inbound(response({ status: 200, toTag: 'x' }));
    const n = inbound(request({ method: 'MESSAGE', branch: 'z9hG4bKmsg' }));
    h.layer.receive(a);
    h.layer.receive(r);
    h.layer.receive(n);
    assert.deepEqual(h.user.acks, [a]);
    assert.deepEqual(h.user.strays, [r]);
    assert.equal(h.user.requests.length, 1);
    assert.equal(h.user.requests[0]!.inbound, n);
    assert.deepEqual(h.layer.stats(), { serverTransactions: 1, clientTransactions: 0, absorbedRetransmissions: 0, strayResponses: 1, shedRequests: 0, statelessRequests: 0 });
  });
});
