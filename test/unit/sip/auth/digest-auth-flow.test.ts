/**
 * The SIP front's digest authentication end to end on the in-memory network: a SipPeer with `auth`
 * (a PasswordTableVerifier) and scripted phones answering challenges with real MD5 / SHA-256.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PEER_HOST, SipWorld, type Phone } from '../core/sip-test-network.js';
import { PasswordTableVerifier } from '../../../support/sip/password-table-verifier.js';
import { answer, parseChallenge, type AnswerOptions } from '../../../support/sip/digest-client.js';
import type { SipAuthConfig } from '../../../../src/node/sip-peer.js';
import { DEFAULT_DIGEST_AUTH_OPTIONS } from '../../../../src/sip/auth/digest-authenticator.js';
import type { SipResponse } from '../../../../src/sip/message/sip-message.js';

const REALM = 'p2psip.local';
const CHALLENGE = /^Digest realm="p2psip\.local", nonce="[A-Za-z0-9_-]{36}", algorithm=(SHA-256|MD5), qop="auth"(, stale=true)?$/;

let w: SipWorld;
let verifier: PasswordTableVerifier;
let branchNo = 0;

/** A world whose peer offers SHA-256 and MD5 (unless `limits` says otherwise). */
async function start(limits: SipAuthConfig['limits'] = {}, extra: Partial<SipAuthConfig> = {}): Promise<void> {
  verifier = new PasswordTableVerifier({ alice: 'wonderland', bob: 'builder' });
  w = new SipWorld(undefined, { mode: 'none' }, () => ({}), { auth: { realm: REALM, verifier, limits: { algorithms: ['SHA-256', 'MD5'], ...limits }, ...extra } });
  await w.start();
}

afterEach(async () => w.stop());

/** A REGISTER of `aor` user from `phone`, with optional Authorization values. */
function registerText(phone: Phone, user: string, cseq: number, authorization: string[] = []): string {
  return [
    `REGISTER sip:${REALM} SIP/2.0`,
    `Via: SIP/2.0/UDP ${phone.addr.host}:${phone.addr.port};branch=z9hG4bKra${++branchNo};rport`,
    'Max-Forwards: 70',
    `From: <sip:${user}@${REALM}>;tag=r${phone.name}`,
    `To: <sip:${user}@${REALM}>`,
    `Call-ID: reg-${phone.name}`,
    `CSeq: ${cseq} REGISTER`,
    `Contact: <${phone.contact}>`,
    ...authorization.map((a) => `Authorization: ${a}`),
    'Expires: 600',
    'Content-Length: 0',
    '',
    '',
  ].join('\n');
}

async function send(phone: Phone, text: string): Promise<SipResponse> {
  const before = phone.inbox.length;
  phone.sendText(text);
  await w.settle();
  const got = phone.inbox.slice(before).filter((m): m is SipResponse => m.kind === 'response' && m.status >= 200);
  assert.ok(got.length > 0, 'a final response');
  return got[got.length - 1]!;
}

function challengesOf(res: SipResponse, header = 'www-authenticate'): ReturnType<typeof parseChallenge>[] {
  return res.headers.getAll(header).map(parseChallenge);
}

/** REGISTER → 401 → answered with `algorithm`'s challenge: the second answer's response. */
async function registerWithPassword(phone: Phone, user: string, password: string, algorithm: 'SHA-256' | 'MD5' = 'SHA-256', more: Partial<AnswerOptions> = {}): Promise<SipResponse> {
  const r401 = await send(phone, registerText(phone, user, 1));
  assert.equal(r401.status, 401);
  const ch = challengesOf(r401).find((c) => c.algorithm === algorithm)!;
  return send(phone, registerText(phone, user, 2, [answer(ch, { username: user, password, method: 'REGISTER', uri: `sip:${REALM}`, ...more })]));
}

async function bindings(user: string): Promise<number> {
  return (await w.peer.location.lookup(`sip:${user}@${REALM}`)).length;
}

describe('REGISTER (RFC 3261 §22.2)', () => {
  test('challenged with 401: SHA-256 first, then MD5, one nonce, qop="auth" (RFC 8760 §2.4), statelessly', async () => {
    await start();
    const alice = await w.phone('alice');
    const r = await send(alice, registerText(alice, 'alice', 1));
    assert.equal(r.status, 401);
    assert.equal(r.reason, 'Unauthorized');
    const values = r.headers.getAll('www-authenticate');
    assert.equal(values.length, 2);
    for (const v of values) assert.match(v, CHALLENGE);
    assert.deepEqual(values.map((v) => parseChallenge(v).algorithm), ['SHA-256', 'MD5']);
    assert.equal(parseChallenge(values[0]!).nonce, parseChallenge(values[1]!).nonce);
    assert.match(r.headers.get('to') ?? '', /;tag=/);
    assert.equal(await bindings('alice'), 0);
    assert.equal(verifier.calls.length, 0);
    assert.equal(w.peer.auth?.stats().challenges, 1);
  });

  test('by default only MD5 is offered (SHA-256 is opt-in: see DigestAuthOptions.algorithms)', async () => {
    await start({ algorithms: DEFAULT_DIGEST_AUTH_OPTIONS.algorithms });
    const alice = await w.phone('alice');
    const r = await send(alice, registerText(alice, 'alice', 1));
    assert.deepEqual(challengesOf(r).map((c) => c.algorithm), ['MD5']);
    const sha = await send(alice, registerText(alice, 'alice', 2, [answer({ ...challengesOf(r)[0]!, algorithm: 'SHA-256' }, { username: 'alice', password: 'wonderland', method: 'REGISTER', uri: `sip:${REALM}` })]));
    assert.equal(sha.status, 401, 'an algorithm not offered is challenged again');
  });

  for (const algorithm of ['SHA-256', 'MD5'] as const) {
    test(`a good ${algorithm} answer registers (200)`, async () => {
      await start();
      const alice = await w.phone('alice');
      const r = await registerWithPassword(alice, 'alice', 'wonderland', algorithm);
      assert.equal(r.status, 200);
      assert.equal(await bindings('alice'), 1);
      assert.equal(verifier.calls.length, 1);
      assert.equal(verifier.calls[0]!.algorithm, algorithm);
      assert.equal(verifier.calls[0]!.method, 'REGISTER');
      assert.equal(w.peer.auth?.stats().successes, 1);
    });
  }

  test('a wrong password gets 403 and nothing is registered; an unknown user gets the same text', async () => {
    await start();
    const alice = await w.phone('alice');
    const r = await registerWithPassword(alice, 'alice', 'looking-glass');
    assert.equal(r.status, 403);
    assert.equal(r.reason, 'Forbidden - Wrong user name or password');
    assert.equal(await bindings('alice'), 0);
    const mallory = await w.phone('mallory');
    const r2 = await registerWithPassword(mallory, 'mallory', 'x');
    assert.equal(r2.status, 403);
    assert.equal(r2.reason, r.reason);
    assert.equal(await bindings('mallory'), 0);
    const s = w.peer.auth!.stats();
    assert.equal(s.failures.badResponse, 1);
    assert.equal(s.failures.unknownUser, 1);
  });

  test("credentials of another user than the To's: 403, the verifier not asked", async () => {
    await start();
    const alice = await w.phone('alice');
    const ch = challengesOf(await send(alice, registerText(alice, 'bob', 1)))[0]!;
    const r = await send(alice, registerText(alice, 'bob', 2, [answer(ch, { username: 'alice', password: 'wonderland', method: 'REGISTER', uri: `sip:${REALM}` })]));
    assert.equal(r.status, 403);
    assert.match(r.reason, /not for the To user/);
    assert.equal(verifier.calls.length, 0);
    assert.equal(await bindings('bob'), 0);
  });

  test('an expired nonce is challenged again with stale=true; the new one works', async () => {
    await start();
    const alice = await w.phone('alice');
    const ch = challengesOf(await send(alice, registerText(alice, 'alice', 1)))[0]!;
    await w.advance(300_000, 10_000);
    const r = await send(alice, registerText(alice, 'alice', 2, [answer(ch, { username: 'alice', password: 'wonderland', method: 'REGISTER', uri: `sip:${REALM}` })]));
    assert.equal(r.status, 401);
    const again = challengesOf(r);
    assert.equal(again.length, 2);
    assert.ok(again.every((c) => c.stale));
    assert.equal(verifier.calls.length, 0);
    const ok = await send(alice, registerText(alice, 'alice', 3, [answer(again[0]!, { username: 'alice', password: 'wonderland', method: 'REGISTER', uri: `sip:${REALM}` })]));
    assert.equal(ok.status, 200);
    assert.equal(w.peer.auth!.stats().stale, 1);
  });

  test('a forged nonce (altered MAC) is challenged afresh, without stale, the verifier not asked', async () => {
    await start();
    const alice = await w.phone('alice');
    const ch = challengesOf(await send(alice, registerText(alice, 'alice', 1)))[0]!;
    const forged = ch.nonce.slice(0, -1) + (ch.nonce.endsWith('A') ? 'B' : 'A');
    const r = await send(alice, registerText(alice, 'alice', 2, [answer(ch, { username: 'alice', password: 'wonderland', method: 'REGISTER', uri: `sip:${REALM}`, nonce: forged })]));
    assert.equal(r.status, 401);
    assert.ok(challengesOf(r).every((c) => !c.stale));
    assert.equal(verifier.calls.length, 0);
    assert.equal(w.peer.auth!.stats().foreignNonces, 1);
  });

  test('a replayed nonce count is challenged again; a higher one passes', async () => {
    await start();
    const alice = await w.phone('alice');
    const ch = challengesOf(await send(alice, registerText(alice, 'alice', 1)))[0]!;
    const a1 = answer(ch, { username: 'alice', password: 'wonderland', method: 'REGISTER', uri: `sip:${REALM}`, nc: 1 });
    assert.equal((await send(alice, registerText(alice, 'alice', 2, [a1]))).status, 200);
    assert.equal((await send(alice, registerText(alice, 'alice', 3, [a1]))).status, 401);
    assert.equal(w.peer.auth!.stats().replays, 1);
    const a2 = answer(ch, { username: 'alice', password: 'wonderland', method: 'REGISTER', uri: `sip:${REALM}`, nc: 2 });
    assert.equal((await send(alice, registerText(alice, 'alice', 4, [a2]))).status, 200);
    assert.equal(verifier.calls.length, 2);
  });

  test('malformed credentials get 400 naming the problem', async () => {
    await start();
    const alice = await w.phone('alice');
    const cases: Array<[string, RegExp]> = [
      [`Digest username="alice", realm="${REALM}", nonce="x"`, /Malformed credentials: no uri/],
      [`Digest username="alice", realm="${REALM}`, /unterminated quoted value of realm/],
      [`Digest username="alice", realm="${REALM}", nonce="x", uri="sip:${REALM}", response="zz", qop=auth, nc=1, cnonce="c"`, /nc must be 8 hex digits/],
      [`Digest username="alice", realm="${REALM}", nonce="x", uri="sip:${REALM}", response="zz", qop=auth, nc=00000001, cnonce="c", algorithm=SHA-256`, /response must be 64 hex digits/],
    ];
    let cseq = 1;
    for (const [value, reason] of cases) {
      const r = await send(alice, registerText(alice, 'alice', cseq++, [value]));
      assert.equal(r.status, 400, value);
      assert.match(r.reason, reason);
    }
    assert.equal(verifier.calls.length, 0);
  });

  test('auth-int and unknown algorithms are challenged again; no qop (RFC 2069) only for MD5, one use per nonce', async () => {
    await start();
    const alice = await w.phone('alice');
    const [sha, md5] = challengesOf(await send(alice, registerText(alice, 'alice', 1)));
    const base = { username: 'alice', password: 'wonderland', method: 'REGISTER', uri: `sip:${REALM}` };
    assert.equal((await send(alice, registerText(alice, 'alice', 2, [answer(sha!, { ...base, qop: 'auth-int' })]))).status, 401);
    assert.equal((await send(alice, registerText(alice, 'alice', 3, [answer(sha!, { ...base, algorithm: 'SHA-512-256' })]))).status, 401);
    assert.equal((await send(alice, registerText(alice, 'alice', 4, [answer(sha!, { ...base, noQop: true })]))).status, 401);
    assert.equal(w.peer.auth!.stats().unsupported, 3);
    const rfc2069 = answer(md5!, { ...base, noQop: true });
    assert.equal((await send(alice, registerText(alice, 'alice', 5, [rfc2069]))).status, 200);
    assert.equal((await send(alice, registerText(alice, 'alice', 6, [rfc2069]))).status, 401);
  });

  test('another realm\'s credentials are not ours: challenged', async () => {
    await start();
    const alice = await w.phone('alice');
    const ch = challengesOf(await send(alice, registerText(alice, 'alice', 1)))[0]!;
    const r = await send(alice, registerText(alice, 'alice', 2, [answer(ch, { username: 'alice', password: 'wonderland', method: 'REGISTER', uri: `sip:${REALM}`, realm: 'example.org' })]));
    assert.equal(r.status, 401);
    assert.equal(verifier.calls.length, 0);
  });
});

describe('limits', () => {
  test('past maxFailuresPerSource failures in the window: 403 without asking the verifier; free again after the window', async () => {
    await start({ maxFailuresPerSource: 3, failureWindowS: 60 });
    const alice = await w.phone('alice');
    const ch = challengesOf(await send(alice, registerText(alice, 'alice', 1)))[0]!;
    let nc = 0;
    const attempt = (password: string, cseq: number): Promise<SipResponse> =>
      send(alice, registerText(alice, 'alice', cseq, [answer(ch, { username: 'alice', password, method: 'REGISTER', uri: `sip:${REALM}`, nc: ++nc })]));
    for (let i = 0; i < 3; i++) assert.equal((await attempt(`guess${i}`, 2 + i)).reason, 'Forbidden - Wrong user name or password');
    const blocked = await attempt('wonderland', 10);
    assert.equal(blocked.status, 403);
    assert.match(blocked.reason, /Too many failed authentication attempts/);
    assert.equal(verifier.calls.length, 3);
    assert.equal(w.peer.auth!.stats().throttled, 1);
    // another source is not affected
    const bob = await w.phone('bob');
    assert.equal((await registerWithPassword(bob, 'bob', 'builder')).status, 200);
    await w.advance(60_000, 10_000);
    assert.equal((await attempt('wonderland', 11)).status, 200);
  });

  test('verifier unavailable → 503 with Retry-After; a throw too; no answer within verifyTimeoutMs → 503', async () => {
    await start({ verifyTimeoutMs: 2_000, unavailableRetryAfterS: 7 });
    const alice = await w.phone('alice');
    verifier.outage = 'unavailable';
    let r = await registerWithPassword(alice, 'alice', 'wonderland');
    assert.equal(r.status, 503);
    assert.equal(r.headers.get('retry-after'), '7');
    verifier.outage = 'throw';
    r = await registerWithPassword(alice, 'alice', 'wonderland');
    assert.equal(r.status, 503);
    verifier.outage = 'hang';
    const before = alice.inbox.length;
    const ch = challengesOf(await send(alice, registerText(alice, 'alice', 1)))[0]!;
    alice.sendText(registerText(alice, 'alice', 2, [answer(ch, { username: 'alice', password: 'wonderland', method: 'REGISTER', uri: `sip:${REALM}` })]));
    await w.settle();
    assert.equal(alice.inbox.length, before + 1, 'only the 401 so far');
    assert.equal(w.peer.auth!.stats().pending, 1);
    await w.advance(2_000);
    const last = alice.last() as SipResponse;
    assert.equal(last.status, 503);
    assert.equal(w.peer.auth!.stats().pending, 0);
    assert.equal(w.peer.auth!.stats().failures.unavailable, 3);
    assert.equal(await bindings('alice'), 0);
  });

  test('past maxPendingVerifications in flight: 503 at once', async () => {
    await start({ maxPendingVerifications: 1, verifyTimeoutMs: 5_000 });
    verifier.outage = 'hang';
    const alice = await w.phone('alice');
    const bob = await w.phone('bob');
    const cha = challengesOf(await send(alice, registerText(alice, 'alice', 1)))[0]!;
    const chb = challengesOf(await send(bob, registerText(bob, 'bob', 1)))[0]!;
    alice.sendText(registerText(alice, 'alice', 2, [answer(cha, { username: 'alice', password: 'wonderland', method: 'REGISTER', uri: `sip:${REALM}` })]));
    await w.settle();
    const r = await send(bob, registerText(bob, 'bob', 2, [answer(chb, { username: 'bob', password: 'builder', method: 'REGISTER', uri: `sip:${REALM}` })]));
    assert.equal(r.status, 503);
    assert.match(r.reason, /Too many authentications in progress/);
    await w.advance(5_000);
  });
});

describe('requests other than REGISTER (RFC 3261 §22.3)', () => {
  async function registered(): Promise<{ alice: Phone; bob: Phone }> {
    await start();
    const alice = await w.phone('alice');
    const bob = await w.phone('bob');
    assert.equal((await registerWithPassword(bob, 'bob', 'builder')).status, 200);
    return { alice, bob };
  }

  test('an INVITE from our domain gets 407; with a good Proxy-Authorization it is forwarded without our credentials, others kept', async () => {
    const { alice, bob } = await registered();
    const invite = (cseq: number, extra: string[] = []): string => alice.request('INVITE', `sip:bob@${REALM}`, { callId: 'call-1', cseq, extra });
    const r = await send(alice, invite(1));
    assert.equal(r.status, 407);
    assert.equal(r.reason, 'Proxy Authentication Required');
    const chs = r.headers.getAll('proxy-authenticate');
    assert.equal(chs.length, 2);
    for (const v of chs) assert.match(v, CHALLENGE);
    assert.equal(bob.requests('INVITE').length, 0);
    const ch = parseChallenge(chs[0]!);
    const other = 'Digest username="alice", realm="example.org", nonce="n", uri="sip:bob@p2psip.local", response="00"';
    alice.sendText(invite(2, [`Proxy-Authorization: ${answer(ch, { username: 'alice', password: 'wonderland', method: 'INVITE', uri: `sip:bob@${REALM}` })}`, `Proxy-Authorization: ${other}`]));
    await w.settle();
    const got = bob.requests('INVITE');
    assert.equal(got.length, 1);
    assert.deepEqual(got[0]!.headers.getAll('proxy-authorization'), [other]);
    assert.equal(verifier.calls.at(-1)!.method, 'INVITE');
  });

  test("a Proxy-Authorization of another user than the From's: 403", async () => {
    const { alice } = await registered();
    const r407 = await send(alice, alice.request('MESSAGE', `sip:bob@${REALM}`, { callId: 'm1', cseq: 1 }));
    const ch = parseChallenge(r407.headers.getAll('proxy-authenticate')[0]!);
    const r = await send(alice, alice.request('MESSAGE', `sip:bob@${REALM}`, { callId: 'm1', cseq: 2, extra: [`Proxy-Authorization: ${answer(ch, { username: 'bob', password: 'builder', method: 'MESSAGE', uri: `sip:bob@${REALM}` })}`] }));
    assert.equal(r.status, 403);
    assert.match(r.reason, /not for the From user/);
  });

  test('not challenged: a foreign From (inbound call), a peer-forwarded request, in-dialog requests, CANCEL, OPTIONS for the peer', async () => {
    const { alice, bob } = await registered();
    // an inbound call from another domain
    alice.sendText(alice.request('INVITE', `sip:bob@${REALM}`, { callId: 'in-1' }).replace(`From: <sip:alice@${REALM}>`, 'From: <sip:carol@example.org>'));
    await w.settle();
    assert.equal(bob.requests('INVITE').length, 1);
    // forwarded by another peer to its callee's peer (RFC 7904 target)
    alice.sendText(alice.request('INVITE', `sip:bob@${PEER_HOST};p2psip=peer`, { callId: 'peer-1' }));
    await w.settle();
    assert.equal(bob.requests('INVITE').length, 2);
    // in-dialog (a To tag): routed as before (here to bob's binding), never challenged
    alice.sendText(alice.request('BYE', `sip:bob@${REALM}`, { callId: 'dlg', toTag: 'tt' }));
    await w.settle();
    assert.equal(bob.requests('BYE').length, 1);
    assert.equal(alice.responses(407).length, 0);
    const cancel = await send(alice, alice.request('CANCEL', `sip:bob@${REALM}`, { callId: 'nothing' }));
    assert.equal(cancel.status, 481);
    const options = await send(alice, alice.request('OPTIONS', `sip:${REALM}`, { callId: 'ka' }));
    assert.equal(options.status, 200);
    assert.equal(w.peer.auth!.stats().challenges, 1, "only bob's first REGISTER");
  });

  test('the peer predicate can be stricter than the mark (a SIP channel required)', async () => {
    await start({}, { fromPeer: () => false });
    const alice = await w.phone('alice');
    const r = await send(alice, alice.request('INVITE', `sip:bob@${PEER_HOST};p2psip=peer`, { callId: 'peer-2' }));
    assert.equal(r.status, 407);
  });

  test('an INVITE waiting for the verifier gets 100 Trying once, then its answer', async () => {
    const { alice, bob } = await registered();
    const r = await send(alice, alice.request('INVITE', `sip:bob@${REALM}`, { callId: 'c2', cseq: 1 }));
    const ch = parseChallenge(r.headers.getAll('proxy-authenticate')[0]!);
    const before = alice.inbox.length;
    alice.sendText(alice.request('INVITE', `sip:bob@${REALM}`, { callId: 'c2', cseq: 2, extra: [`Proxy-Authorization: ${answer(ch, { username: 'alice', password: 'wonderland', method: 'INVITE', uri: `sip:bob@${REALM}` })}`] }));
    await w.settle();
    const trying = alice.inbox.slice(before).filter((m) => m.kind === 'response' && m.status === 100);
    assert.equal(trying.length, 1);
    assert.equal(bob.requests('INVITE').length, 1);
  });
});
