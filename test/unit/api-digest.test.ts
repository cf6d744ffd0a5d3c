/**
 * The user agent's digest answers (src/api/digest-client.ts, RFC 7616 §3.4, RFC 8760): which challenge
 * is answered, and that the SIP front's own authenticator (DigestAuthenticator, with a verifier that
 * knows the password) accepts the answers — MD5 and SHA-256, qop=auth and RFC 2069 style.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_CHALLENGE_LENGTH, digestAnswer, parseDigestChallenge, pickChallenge } from '../../src/api/digest-client.js';
import { DigestAuthenticator } from '../../src/sip/auth/digest-authenticator.js';
import type { CredentialVerifier, DigestCredentials, VerifyOutcome } from '../../src/sip/auth/credential-verifier.js';
import { computeDigestResponse, computeHa1, sameHex } from '../../src/sip/auth/digest-math.js';
import { ManualClock } from '../../src/lib/manual-clock.js';
import { SeededRandom } from '../../src/lib/random.js';
import { parseUri } from '../../src/sip/message/index.js';
import { parse } from '../support/parse-sip.js';
import type { SipRequest } from '../../src/sip/message/sip-message.js';

describe('parseDigestChallenge / pickChallenge', () => {
  test('what is answered and what is not', () => {
    assert.deepEqual(parseDigestChallenge('Digest realm="r", nonce="n", qop="auth,auth-int", algorithm=MD5, opaque="o"'), { realm: 'r', nonce: 'n', algorithm: 'MD5', qopAuth: true, opaque: 'o' });
    assert.equal(parseDigestChallenge('Digest realm="r", nonce="n"')?.qopAuth, false, 'no qop: RFC 2069 style');
    assert.equal(parseDigestChallenge('Digest realm="r", nonce="n", algorithm=SHA-512-256'), undefined);
    assert.equal(parseDigestChallenge('Digest realm="r", nonce="n", qop="auth-int"'), undefined);
    assert.equal(parseDigestChallenge('Basic realm="r"'), undefined);
    assert.equal(parseDigestChallenge('Digest nonce="n"'), undefined);
    assert.equal(parseDigestChallenge(`Digest realm="${'r'.repeat(MAX_CHALLENGE_LENGTH)}", nonce="n"`), undefined);
    assert.equal(pickChallenge(['Digest realm="r", nonce="a", algorithm=MD5, qop="auth"', 'Digest realm="r", nonce="b", algorithm=SHA-256, qop="auth"'])?.nonce, 'b', 'SHA-256 first (RFC 8760 §2.4)');
    assert.equal(pickChallenge(['Bearer x', 'Digest realm="r", nonce="a"'])?.nonce, 'a');
    assert.equal(pickChallenge([]), undefined);
  });

  test('quoted values are escaped', () => {
    const a = digestAnswer({ realm: 'r"x', nonce: 'n', algorithm: 'MD5', qopAuth: true, opaque: undefined }, { username: 'a\\b', password: 'p', method: 'MESSAGE', uri: 'sip:b@r', cnonce: 'c', nc: 1 });
    assert.match(a, /username="a\\\\b"/);
    assert.match(a, /realm="r\\"x"/);
    assert.match(a, /nc=00000001/);
  });
});

describe('answers the SIP front accepts', () => {
  const PASSWORD = 'correct horse';
  /** A verifier that knows the password (what the user directory's storing peers do with HA1). */
  const verifier: CredentialVerifier = {
    verify: async (c: DigestCredentials): Promise<VerifyOutcome> => {
      const ha1 = computeHa1(c.algorithm, c.username, c.realm, PASSWORD);
      const expected = computeDigestResponse(ha1, c);
      return sameHex(expected, c.response) ? { ok: true } : { ok: false, reason: 'bad-response' };
    },
  };

  function register(extra = ''): SipRequest {
    const text = ['REGISTER sip:p2psip.local SIP/2.0', 'Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKabc', 'Max-Forwards: 70', 'From: <sip:alice@p2psip.local>;tag=1', 'To: <sip:alice@p2psip.local>', 'Call-ID: c1', 'CSeq: 1 REGISTER', 'Contact: <sip:alice@127.0.0.1:5070>', ...(extra === '' ? [] : [extra]), 'Content-Length: 0', '', ''].join('\r\n');
    const m = parse(text);
    assert.equal(m.kind, 'request');
    return m as SipRequest;
  }

  for (const algorithms of [['MD5'], ['SHA-256']] as const) {
    test(`${algorithms[0]}, qop=auth: 401, then 'pass'`, async () => {
      const auth = new DigestAuthenticator({ clock: new ManualClock(0), random: new SeededRandom(1), verifier, domains: { isLocalDomainUri: () => true } }, { realm: 'p2psip.local', algorithms: [...algorithms] });
      const source = { protocol: 'udp' as const, host: '127.0.0.1', port: 5070 };
      const first = await auth.authenticate(register(), source);
      assert.equal(first.kind, 'reply');
      if (first.kind !== 'reply') return;
      assert.equal(first.status, 401);
      const challenge = pickChallenge(first.headers.filter(([n]) => n.toLowerCase() === 'www-authenticate').map(([, v]) => v));
      assert.ok(challenge !== undefined);
      const answer = digestAnswer(challenge, { username: 'alice', password: PASSWORD, method: 'REGISTER', uri: 'sip:p2psip.local', cnonce: 'cn1', nc: 1 });
      const second = await auth.authenticate(register(`Authorization: ${answer}`), source);
      assert.equal(second.kind, 'pass', JSON.stringify(second));
      const wrong = digestAnswer(challenge, { username: 'alice', password: 'wrong', method: 'REGISTER', uri: 'sip:p2psip.local', cnonce: 'cn2', nc: 2 });
      const third = await auth.authenticate(register(`Authorization: ${wrong}`), source);
      assert.equal(third.kind === 'reply' ? third.status : 0, 403);
    });
  }

  test('RFC 2069 style (no qop) is computed without nc and cnonce', () => {
    const c = { realm: 'r', nonce: 'n', algorithm: 'MD5' as const, qopAuth: false, opaque: undefined };
    const a = digestAnswer(c, { username: 'u', password: 'p', method: 'INVITE', uri: formatted('sip:b@r'), cnonce: 'x', nc: 1 });
    assert.doesNotMatch(a, /qop|nc=|cnonce/);
    assert.match(a, new RegExp(`response="${computeDigestResponse(computeHa1('MD5', 'u', 'r', 'p'), { algorithm: 'MD5', method: 'INVITE', uri: 'sip:b@r', nonce: 'n' })}"`));
  });
});

function formatted(u: string): string {
  parseUri(u);
  return u;
}
