/** DigestAuthenticator's options, each changed from its default and seen to bind (no network). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DigestAuthenticator, type DigestAuthOptions } from '../../../../src/sip/auth/digest-authenticator.js';
import type { AuthVerdict } from '../../../../src/sip/auth/request-authenticator.js';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { SeededRandom } from '../../../../src/lib/random.js';
import { isSipUri } from '../../../../src/sip/message/index.js';
import type { SipRequest, Uri } from '../../../../src/sip/message/sip-message.js';
import type { TransportAddress } from '../../../../src/sip/transport/sip-transport.js';
import { parse } from '../../../support/parse-sip.js';
import { answer, parseChallenge } from '../../../support/sip/digest-client.js';
import { PasswordTableVerifier } from '../../../support/sip/password-table-verifier.js';

const REALM = 'p2psip.local';
const domains = { isLocalDomainUri: (u: Uri) => isSipUri(u) && u.host === REALM };

function make(options: Partial<DigestAuthOptions> = {}): { auth: DigestAuthenticator; clock: ManualClock; verifier: PasswordTableVerifier } {
  const clock = new ManualClock(1_000);
  const verifier = new PasswordTableVerifier({ alice: 'wonderland' });
  const auth = new DigestAuthenticator({ clock, random: new SeededRandom(7), verifier, domains }, { realm: REALM, ...options });
  return { auth, clock, verifier };
}

function register(authorization?: string): SipRequest {
  return parse(
    [
      `REGISTER sip:${REALM} SIP/2.0`,
      'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKx',
      'Max-Forwards: 70',
      `From: <sip:alice@${REALM}>;tag=a`,
      `To: <sip:alice@${REALM}>`,
      'Call-ID: c',
      'CSeq: 1 REGISTER',
      ...(authorization === undefined ? [] : [`Authorization: ${authorization}`]),
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  ) as SipRequest;
}

const from = (host: string): TransportAddress => ({ protocol: 'udp', host, port: 5060 });

async function verdict(auth: DigestAuthenticator, req: SipRequest, source = from('192.0.2.1')): Promise<AuthVerdict> {
  return auth.authenticate(req, source);
}

function challengeOf(v: AuthVerdict): ReturnType<typeof parseChallenge> {
  assert.equal(v.kind, 'reply');
  if (v.kind !== 'reply') throw new Error('no challenge');
  assert.equal(v.status, 401);
  return parseChallenge(v.headers[0]![1]);
}

const ALICE = { username: 'alice', password: 'wonderland', method: 'REGISTER', uri: `sip:${REALM}` };

describe('DigestAuthenticator options', () => {
  test('nonceLifetimeS', async () => {
    const { auth, clock } = make({ nonceLifetimeS: 10 });
    const ch = challengeOf(await verdict(auth, register()));
    clock.advance(10_000);
    const v = await verdict(auth, register(answer(ch, ALICE)));
    assert.ok(challengeOf(v).stale);
  });

  test('maxNonceCounts bounds the nonce-count table', async () => {
    const { auth, clock } = make({ maxNonceCounts: 3 });
    for (let i = 0; i < 5; i++) {
      clock.advance(1); // a nonce issued no later than a forgotten live one is refused (stale): see NonceCounts
      const ch = challengeOf(await verdict(auth, register()));
      const v = await verdict(auth, register(answer(ch, ALICE)));
      assert.equal(v.kind, 'pass');
    }
    assert.equal(auth.stats().nonceCounts, 3);
    assert.equal(auth.stats().nonceEvictions, 2);
  });

  test('maxCredentialsLength', async () => {
    const { auth } = make({ maxCredentialsLength: 100 });
    const ch = challengeOf(await verdict(auth, register()));
    const v = await verdict(auth, register(answer(ch, ALICE)));
    assert.equal(v.kind, 'reply');
    if (v.kind === 'reply') {
      assert.equal(v.status, 400);
      assert.match(v.reason, /longer than 100 characters/);
    }
  });

  test('maxTrackedSources bounds the failure table; failures of a forgotten source start again', async () => {
    const { auth } = make({ maxTrackedSources: 2, maxFailuresPerSource: 1 });
    for (const host of ['192.0.2.1', '192.0.2.2', '192.0.2.3']) {
      const ch = challengeOf(await verdict(auth, register(), from(host)));
      const v = await verdict(auth, register(answer(ch, { ...ALICE, password: 'bad' })), from(host));
      assert.equal(v.kind === 'reply' && v.reason, 'Forbidden - Wrong user name or password');
    }
    assert.equal(auth.stats().trackedSources, 2);
    const ch = challengeOf(await verdict(auth, register(), from('192.0.2.1')));
    assert.equal((await verdict(auth, register(answer(ch, ALICE)), from('192.0.2.1'))).kind, 'pass');
    const ch3 = challengeOf(await verdict(auth, register(), from('192.0.2.3')));
    const v3 = await verdict(auth, register(answer(ch3, ALICE)), from('192.0.2.3'));
    assert.equal(v3.kind === 'reply' && v3.status, 403);
  });

  test('allowNoQop: false refuses RFC 2069 answers', async () => {
    const { auth } = make({ allowNoQop: false });
    const ch = challengeOf(await verdict(auth, register()));
    assert.equal((await verdict(auth, register(answer(ch, { ...ALICE, noQop: true })))).kind, 'reply');
    assert.equal(auth.stats().unsupported, 1);
  });

  test('a good answer passes with the user and without our credentials', async () => {
    const { auth } = make();
    const ch = challengeOf(await verdict(auth, register()));
    const v = await verdict(auth, register(answer(ch, ALICE)));
    assert.equal(v.kind, 'pass');
    if (v.kind === 'pass') {
      assert.equal(v.user, 'alice');
      assert.equal(v.request.headers.has('authorization'), false);
    }
  });

  test('bad options are refused', () => {
    assert.throws(() => make({ realm: '' }), RangeError);
    assert.throws(() => make({ algorithms: [] }), RangeError);
    assert.throws(() => make({ maxNonceCounts: 0 }), RangeError);
    assert.throws(() => make({ maxFailuresPerSource: 0 }), RangeError);
    assert.throws(() => make({ nonceLifetimeS: 0 }), RangeError);
    assert.throws(() => make({ verifyTimeoutMs: 0 }), RangeError);
  });
});
