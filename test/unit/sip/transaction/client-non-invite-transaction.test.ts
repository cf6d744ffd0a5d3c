import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SipResponse } from '../../../../src/sip/message/sip-message.js';
import type { InboundMessage } from '../../../../src/sip/transport/sip-transport.js';
import { harness, recordingClientUser, request, response, target } from './tx-test-kit.js';

const BRANCH = 'z9hG4bKopt1';
const VIA = 'SIP/2.0/UDP 127.0.0.1:5060';

const options = () => request({ method: 'OPTIONS', branch: BRANCH, via: VIA });
const reply = (status: number): SipResponse => response({ status, method: 'OPTIONS', branch: BRANCH, via: VIA, toTag: 't' });
const from = (message: SipResponse): InboundMessage => ({
  message,
  source: target().destination,
  local: { protocol: 'udp', host: '127.0.0.1', port: 5060 },
  flowId: undefined,
});

describe('non-INVITE client transaction (RFC 3261 §17.1.2)', () => {
  test('UDP: Timer E doubles up to T2 (0, 500, 1500, 3500, 7500, 11500 … 31500); Timer F at 32 s', () => {
    const h = harness();
    const u = recordingClientUser(h.clock);
    const tx = h.layer.sendRequest(options(), target(), u);
    assert.equal(tx.state, 'trying');
    assert.equal(tx.isInvite, false);
    h.clock.advance(31_999);
    assert.deepEqual(h.transport.times(), [0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
    assert.deepEqual(u.events, []);
    h.clock.advance(1);
    assert.deepEqual(u.events, [{ kind: 'timeout', at: 32_000 }]);
    assert.equal(tx.state, 'terminated');
    assert.equal(h.clock.pendingTimers, 0);
    assert.equal(h.layer.stats().clientTransactions, 0);
  });

  test('T2 from options caps the interval', () => {
    const h = harness({ timers: { t1: 500, t2: 2000 } });
    h.layer.sendRequest(options(), target(), recordingClientUser(h.clock));
    h.clock.advance(9000);
    assert.deepEqual(h.transport.times(), [0, 500, 1500, 3500, 5500, 7500]);
  });

  test('TCP: no Timer E; Timer F at 64*T1', () => {
    const h = harness();
    const u = recordingClientUser(h.clock);
    h.layer.sendRequest(options(), target('tcp'), u);
    h.clock.advance(40_000);
    assert.deepEqual(h.transport.times(), [0]);
    assert.deepEqual(u.events, [{ kind: 'timeout', at: 32_000 }]);
    assert.equal(h.clock.pendingTimers, 0);
  });

  test('Proceeding: retransmissions continue every T2; Timer F still applies', () => {
    const h = harness();
    const u = recordingClientUser(h.clock);
    const tx = h.layer.sendRequest(options(), target(), u);
    h.clock.advance(600);
    h.layer.receive(from(reply(100)));
    assert.equal(tx.state, 'proceeding');
    h.clock.advance(40_000);
    // the pending E (due 1500) fires in Proceeding and from then on the interval is T2
    assert.deepEqual(h.transport.times(), [0, 500, 1500, 5500, 9500, 13500, 17500, 21500, 25500, 29500]);
    assert.deepEqual(u.events, [
      { kind: 'response', status: 100, at: 600, state: 'proceeding' },
      { kind: 'timeout', at: 32_000 },
    ]);
    assert.equal(h.clock.pendingTimers, 0);
  });

  test('UDP final: Completed absorbs retransmitted responses for T4, then terminates', () => {
    const h = harness();
    const u = recordingClientUser(h.clock);
    const tx = h.layer.sendRequest(options(), target(), u);
    h.clock.advance(700);
    h.layer.receive(from(reply(180)));
    h.layer.receive(from(reply(200)));
    assert.equal(tx.state, 'completed');
    h.clock.advance(1000);
    h.layer.receive(from(reply(200)));
    h.layer.receive(from(reply(180)));
    assert.deepEqual(
      u.events.map((e) => (e.kind === 'response' ? `${e.status}@${e.state}` : e.kind)),
      ['180@proceeding', '200@completed'],
    );
    assert.equal(h.layer.stats().absorbedRetransmissions, 2);
    assert.deepEqual(h.transport.times(), [0, 500], 'no retransmission after the final response');
    h.clock.advance(5000 - 1000 - 1);
    assert.equal(tx.state, 'completed');
    h.clock.advance(1);
    assert.equal(tx.state, 'terminated', 'Timer K = T4');
    assert.equal(h.clock.pendingTimers, 0);
  });

  test('TCP final: Timer K zero', () => {
    const h = harness();
    const u = recordingClientUser(h.clock);
    const tx = h.layer.sendRequest(options(), target('tls'), u);
    h.layer.receive(from(reply(404)));
    assert.equal(tx.state, 'terminated');
    assert.deepEqual(u.events, [{ kind: 'response', status: 404, at: 0, state: 'completed' }]);
    assert.equal(h.clock.pendingTimers, 0);
  });

  test('transport error (§17.1.4) in Trying and in Proceeding', () => {
    for (const provisional of [false, true]) {
      const h = harness();
      const u = recordingClientUser(h.clock);
      const tx = h.layer.sendRequest(options(), target(), u);
      if (provisional) h.layer.receive(from(reply(100)));
      h.clock.advance(1500);
      h.layer.onSendError(target(), tx.request, new Error('port unreachable'));
      assert.equal(tx.state, 'terminated');
      assert.equal(u.events.at(-1)?.kind, 'transport-error');
      assert.equal(h.clock.pendingTimers, 0);
    }
  });

  test('a transport error after the final response changes nothing', () => {
    const h = harness();
    const u = recordingClientUser(h.clock);
    const tx = h.layer.sendRequest(options(), target(), u);
    h.layer.receive(from(reply(200)));
    h.layer.onSendError(target(), tx.request, new Error('late'));
    assert.equal(tx.state, 'completed');
    assert.equal(u.events.length, 1);
    h.clock.advance(5000);
    assert.equal(h.clock.pendingTimers, 0);
  });

  test('terminate() in Completed cancels Timer K', () => {
    const h = harness();
    const tx = h.layer.sendRequest(options(), target(), recordingClientUser(h.clock));
    h.layer.receive(from(reply(200)));
    tx.terminate();
    assert.equal(tx.state, 'terminated');
    assert.equal(h.clock.pendingTimers, 0);
    assert.equal(h.layer.stats().clientTransactions, 0);
  });
});
