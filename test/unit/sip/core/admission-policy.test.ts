import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { admissionPolicy } from '../../../../src/sip/core/admission-policy.js';
import { parseMessage } from '../../../../src/sip/message/index.js';
import type { SipRequest } from '../../../../src/sip/message/sip-message.js';
import { SipWorld } from './sip-test-network.js';

function req(method: string, toTag?: string): SipRequest {
  const text =
    `${method} sip:bob@p2psip.local SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKadm\r\nMax-Forwards: 70\r\n` +
    `From: <sip:a@p2psip.local>;tag=1\r\nTo: <sip:bob@p2psip.local>${toTag ? `;tag=${toTag}` : ''}\r\nCall-ID: adm\r\nCSeq: 1 ${method}\r\nContent-Length: 0\r\n\r\n`;
  const r = parseMessage(Buffer.from(text), { datagram: true });
  assert.ok(r.ok && r.message.kind === 'request');
  return r.message;
}

describe('admission policy (overload)', () => {
  test('admits everything while not overloaded', () => {
    const admit = admissionPolicy({ overloaded: () => false });
    for (const m of ['INVITE', 'REGISTER', 'MESSAGE', 'OPTIONS']) assert.equal(admit(req(m)), true);
  });

  test('refuses new out-of-dialog requests while overloaded, admits what ends or continues a dialog', () => {
    const admit = admissionPolicy({ overloaded: () => true });
    for (const m of ['INVITE', 'MESSAGE', 'SUBSCRIBE', 'OPTIONS']) assert.equal(admit(req(m)), false, m);
    for (const m of ['BYE', 'CANCEL', 'PRACK', 'REGISTER']) assert.equal(admit(req(m)), true, m);
    assert.equal(admit(req('INVITE', 'x')), true, 're-INVITE in a dialog');
    assert.equal(admit(req('INFO', 'x')), true);
  });
});

describe('a peer under overload', () => {
  let w: SipWorld;
  let overloaded = false;
  beforeEach(async () => {
    overloaded = false;
    w = new SipWorld({ overloaded: () => overloaded });
    await w.start();
  });
  afterEach(async () => w.stop());

  test('answers a new INVITE with a stateless 503 + Retry-After and keeps no transaction; a BYE still passes', async () => {
    const alice = await w.phone('alice');
    const bob = await w.phone('bob');
    bob.register();
    await w.settle();
    overloaded = true;
    const before = w.peer.transactions.stats().serverTransactions;
    alice.sendText(alice.request('INVITE', 'sip:bob@p2psip.local', { callId: 'shed' }));
    await w.settle();
    const r503 = alice.responses(503)[0];
    assert.ok(r503, '503');
    assert.equal(r503.headers.get('retry-after'), '1');
    assert.equal(bob.requests('INVITE').length, 0, 'not forwarded');
    assert.equal(w.peer.transactions.stats().serverTransactions, before, 'no transaction kept');
    assert.equal(w.peer.transactions.stats().shedRequests, 1);
    overloaded = false;
    alice.sendText(alice.request('INVITE', 'sip:bob@p2psip.local', { callId: 'ok' }));
    await w.settle();
    assert.equal(bob.requests('INVITE').length, 1, 'admitted again once the load is gone');
  });
});
