import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom } from '../../../../src/lib/random.js';
import { admissionPolicy, type AdmissionVerdict, type OverlayAdmission } from '../../../../src/sip/core/admission-policy.js';
import { LocalIdentity } from '../../../../src/sip/core/local-identity.js';
import { MemoryLocationService } from '../../../../src/sip/core/memory-location-service.js';
import { parseMessage } from '../../../../src/sip/message/index.js';
import type { SipRequest } from '../../../../src/sip/message/sip-message.js';
import { PEER_HOST, SipWorld } from './sip-test-network.js';

function req(method: string, toTag?: string, opts: { uri?: string; callId?: string; contact?: boolean; extra?: string } = {}): SipRequest {
  const uri = opts.uri ?? (method === 'REGISTER' ? 'sip:p2psip.local' : 'sip:bob@p2psip.local');
  const text =
    `${method} ${uri} SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKadm\r\nMax-Forwards: 70\r\n` +
    `From: <sip:a@p2psip.local>;tag=1\r\nTo: <sip:bob@p2psip.local>${toTag ? `;tag=${toTag}` : ''}\r\nCall-ID: ${opts.callId ?? 'adm'}\r\nCSeq: 1 ${method}\r\n` +
    (opts.contact === false ? '' : 'Contact: <sip:bob@192.0.2.1:5060>\r\n') +
    (opts.extra ?? '') +
    'Content-Length: 0\r\n\r\n';
  const r = parseMessage(Buffer.from(text), { datagram: true });
  assert.ok(r.ok && r.message.kind === 'request');
  return r.message;
}

const identity = new LocalIdentity({ domains: ['p2psip.local'], hosts: [PEER_HOST], ports: [5060] });
const random = new SeededRandom(7);
const admitted = (v: AdmissionVerdict): boolean => v === true;

describe('admission policy (overload)', () => {
  test('admits everything while not overloaded', () => {
    const admit = admissionPolicy({ monitor: { overloaded: () => false }, identity, random });
    for (const m of ['INVITE', 'REGISTER', 'MESSAGE', 'OPTIONS']) assert.equal(admit(req(m)), true);
  });

  test('refuses new out-of-dialog requests while overloaded, admits what ends or continues a dialog', () => {
    const admit = admissionPolicy({ monitor: { overloaded: () => true }, identity, random });
    for (const m of ['INVITE', 'MESSAGE', 'SUBSCRIBE', 'OPTIONS']) assert.equal(admitted(admit(req(m))), false, m);
    for (const m of ['BYE', 'CANCEL', 'PRACK', 'REGISTER']) assert.equal(admit(req(m)), true, m);
    assert.equal(admit(req('INVITE', 'x')), true, 're-INVITE in a dialog');
    assert.equal(admit(req('INFO', 'x')), true);
  });

  test('health is answered ahead of work: OPTIONS for the peer itself passes even while overloaded', () => {
    const admit = admissionPolicy({ monitor: { overloaded: () => true }, identity, random });
    assert.equal(admit(req('OPTIONS', undefined, { uri: 'sip:p2psip.local' })), true);
    assert.equal(admit(req('OPTIONS', undefined, { uri: `sip:${PEER_HOST}:5060` })), true);
    assert.equal(admitted(admit(req('OPTIONS', undefined, { uri: 'sip:bob@p2psip.local' }))), false, 'OPTIONS for a user is a request like any other');
  });

  test('a refusal carries a small jittered Retry-After (1..4 s by default) and a reason', () => {
    const admit = admissionPolicy({ monitor: { overloaded: () => true }, identity, random: new SeededRandom(3) });
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const v = admit(req('INVITE'));
      assert.notEqual(v, true);
      if (v === true) continue;
      assert.ok(Number.isInteger(v.retryAfterS) && v.retryAfterS >= 1 && v.retryAfterS <= 4, String(v.retryAfterS));
      assert.match(v.reason, /^Service Unavailable/);
      seen.add(v.retryAfterS);
    }
    assert.deepEqual([...seen].sort(), [1, 2, 3, 4], 'spread over the range');
    const fixed = admissionPolicy({ monitor: { overloaded: () => true }, identity, random }, { retryAfterMinS: 2, retryAfterMaxS: 2 });
    const v = fixed(req('INVITE'));
    assert.equal(v !== true && v.retryAfterS, 2);
  });
});

describe('admission policy: the overlay work budget', () => {
  let saturated = true;
  const bound = new Map<string, string[]>([['sip:alice@p2psip.local', ['alice-reg']]]);
  const overlay: OverlayAdmission = {
    budget: { saturated: () => saturated },
    localCallIds: (aor) => bound.get(aor) ?? [],
    servedLocally: (r) => r.uri.scheme === 'sip' && 'params' in r.uri && r.uri.params.some((p) => p.name === 'p2psip'),
  };
  const aliceReg = (callId: string, contact = true): SipRequest => {
    const r = req('REGISTER', undefined, { callId, contact });
    r.headers.set('To', '<sip:alice@p2psip.local>');
    return r;
  };

  test('while saturated: a new REGISTER and a request that needs a Fetch are refused; refreshes, queries and dialogs pass', () => {
    saturated = true;
    const admit = admissionPolicy({ overlay, identity, random });
    const refused = admit(aliceReg('new-phone'));
    assert.notEqual(refused, true, 'a new REGISTER is a Store');
    assert.match(refused !== true ? refused.reason : '', /Overlay busy/);
    assert.equal(admit(aliceReg('alice-reg')), true, 'a refresh (Call-ID bound here) passes');
    assert.equal(admit(aliceReg('query', false)), true, 'a REGISTER without Contact (query) passes');
    assert.notEqual(admit(req('INVITE')), true, 'an INVITE for a user of ours needs a Fetch');
    assert.notEqual(admit(req('MESSAGE')), true);
    assert.equal(admit(req('INVITE', undefined, { uri: 'sip:bob@198.18.0.1:5060;p2psip=peer' })), true, 'forwarded by a peer to our phones: no Fetch');
    assert.equal(admit(req('INVITE', undefined, { uri: 'sip:bob@elsewhere.test' })), true, 'a foreign domain: no overlay work');
    assert.equal(admit(req('INVITE', 'tag')), true, 'in-dialog');
    for (const m of ['BYE', 'CANCEL', 'ACK', 'PRACK']) assert.equal(admit(req(m)), true, m);
    assert.equal(admit(req('OPTIONS', undefined, { uri: 'sip:p2psip.local' })), true, 'health');
  });

  test('below the budget everything passes; with the monitor overloaded too, only what adds no overlay work', () => {
    saturated = false;
    let overloaded = false;
    const admit = admissionPolicy({ overlay, monitor: { overloaded: () => overloaded }, identity, random });
    assert.equal(admit(aliceReg('new-phone')), true);
    assert.equal(admit(req('INVITE')), true);
    overloaded = true;
    assert.notEqual(admit(aliceReg('new-phone')), true, 'overloaded: a new REGISTER (a Store) is refused as well');
    assert.equal(admit(aliceReg('alice-reg')), true, 'a refresh still passes');
  });
});

describe('a peer past its overlay work budget', () => {
  let w: SipWorld;
  let saturated = false;
  beforeEach(async () => {
    saturated = false;
    w = new SipWorld(undefined, { mode: 'none' }, (clock) => {
      const location = new MemoryLocationService(clock);
      return { location, overlayWork: { budget: { saturated: () => saturated }, localCallIds: (aor) => location.lookupNow(aor).map((b) => b.callId) } };
    });
    await w.start();
  });
  afterEach(async () => w.stop());

  test('new REGISTERs get a stateless 503 + Retry-After; refreshes, in-dialog requests and health pass', async () => {
    const alice = await w.phone('alice');
    const bob = await w.phone('bob');
    const carol = await w.phone('carol');
    alice.register();
    bob.register();
    await w.settle();
    assert.equal(alice.responses(200).length, 1);
    // a call set up before the overlay got busy
    alice.sendText(alice.request('INVITE', 'sip:bob@p2psip.local', { callId: 'old-call', cseq: 1 }));
    await w.settle();
    const inv = bob.requests('INVITE')[0]!;
    bob.reply(inv, 200);
    await w.settle();
    const route = alice.responses(200).find((r) => r.headers.get('call-id') === 'old-call')!.headers.get('record-route')!;
    saturated = true;
    const before = w.peer.transactions.stats();
    carol.register();
    await w.settle();
    const r503 = carol.responses(503)[0];
    assert.ok(r503, 'a new REGISTER is refused');
    const retry = Number(r503.headers.get('retry-after'));
    assert.ok(retry >= 1 && retry <= 4, `Retry-After ${retry}`);
    assert.match(r503.reason, /Overlay busy/);
    assert.equal(carol.responses(200).length, 0);
    assert.equal(w.peer.transactions.stats().shedRequests, before.shedRequests + 1);
    // alice refreshes (same Call-ID): admitted
    alice.register();
    await w.settle();
    assert.equal(alice.responses(200).filter((r) => r.headers.get('cseq')?.endsWith('REGISTER')).length, 2, 'the refresh passes');
    // a new call needs a lookup: refused; a call already set up goes on
    carol.sendText(carol.request('INVITE', 'sip:bob@p2psip.local', { callId: 'new-call' }));
    await w.settle();
    assert.equal(carol.responses(503).length, 2);
    assert.equal(bob.requests('INVITE').length, 1, 'only the call set up before');
    alice.sendText(alice.request('BYE', bob.contact, { callId: 'old-call', cseq: 2, toTag: 'bob-tt', extra: [`Route: ${route}`] }));
    alice.sendText(alice.request('OPTIONS', `sip:${PEER_HOST}:5060`, { callId: 'ping' }));
    await w.settle();
    assert.equal(bob.requests('BYE').length, 1, 'in-dialog requests pass');
    assert.equal(alice.responses(200).filter((r) => r.headers.get('call-id') === 'ping').length, 1, 'OPTIONS to the peer answered');
    // the budget frees up: carol registers
    saturated = false;
    carol.register();
    await w.settle();
    assert.equal(carol.responses(200).length, 1);
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
    const retry = Number(r503.headers.get('retry-after'));
    assert.ok(retry >= 1 && retry <= 4, `Retry-After ${retry}`);
    assert.equal(bob.requests('INVITE').length, 0, 'not forwarded');
    assert.equal(w.peer.transactions.stats().serverTransactions, before, 'no transaction kept');
    assert.equal(w.peer.transactions.stats().shedRequests, 1);
    overloaded = false;
    alice.sendText(alice.request('INVITE', 'sip:bob@p2psip.local', { callId: 'ok' }));
    await w.settle();
    assert.equal(bob.requests('INVITE').length, 1, 'admitted again once the load is gone');
  });
});
