/**
 * Issue 15: the enrollment server's SIP digest check (POST /sip-digest): HA1s from the users file's
 * name:password lines only, good / bad / replay / unknown, the per-user failure limit, malformed
 * bodies; the route of the pure handler; the configuration element round trip.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EnrollmentDigestTable, SIP_DIGEST_PATH, digestSecretsFromUsers, parseDigestCredentials } from '../../../src/platform/enrollment-digest.js';
import { createEnrollmentHandler } from '../../../src/platform/enrollment-server.js';
import { computeDigestResponse, computeHa1 } from '../../../src/sip/auth/digest-math.js';
import { hashPassword, isPasswordHash } from '../../../src/reload/security/index.js';
import { SeededRandom } from '../../../src/lib/random.js';
import type { EnrollmentAuthority } from '../../../src/reload/security/index.js';
import { defaultLanConfiguration, parseOverlayConfiguration, serializeOverlayConfiguration } from '../../../src/reload/config/index.js';
import type { DigestCredentials } from '../../../src/sip/auth/credential-verifier.js';

const REALM = 'corp.test';
const USERS = `alice:wonder\n# comment\nbob:${hashPassword('x', new SeededRandom(3))}\n\ncarol:pw:with:colons\n`;
let n = 0;
function answer(user: string, password: string, o: Partial<DigestCredentials> = {}): DigestCredentials {
  const base = { username: user, realm: REALM, nonce: `n${++n}`, uri: `sip:${REALM}`, algorithm: 'MD5' as const, method: 'REGISTER', qop: 'auth' as const, nc: '00000001', cnonce: `c${n}`, ...o };
  return { ...base, response: computeDigestResponse(computeHa1(base.algorithm, user, REALM, password), base) };
}

describe('enrollment server digest check', () => {
  test('secrets from name:password lines only', () => {
    const s = digestSecretsFromUsers(USERS, REALM, isPasswordHash);
    assert.deepEqual([...s.keys()], ['alice', 'carol']);
    assert.equal(s.get('alice')!.md5, computeHa1('MD5', 'alice', REALM, 'wonder'));
    assert.equal(s.get('carol')!.sha256, computeHa1('SHA-256', 'carol', REALM, 'pw:with:colons'));
  });

  test('good, bad, replay, unknown, other realm; failures per user limited', () => {
    const t = new EnrollmentDigestTable(digestSecretsFromUsers(USERS, REALM, isPasswordHash), { realm: REALM, maxFailuresPerMinute: 3 });
    const good = answer('alice', 'wonder');
    assert.deepEqual(t.verify(good, 0), { ok: true });
    assert.equal((t.verify(good, 1) as { reason: string }).reason, 'replay');
    assert.deepEqual(t.verify(answer('alice', 'wonder', { algorithm: 'SHA-256' }), 2), { ok: true });
    assert.equal((t.verify(answer('bob', 'x'), 3) as { reason: string }).reason, 'unknown-user', 'an scrypt line has no digest secret');
    assert.equal((t.verify(answer('alice', 'wonder', { realm: 'other' }), 3) as { reason: string }).reason, 'bad-response');
    for (let i = 0; i < 3; i++) assert.equal((t.verify(answer('alice', 'guess'), 10 + i) as { reason: string }).reason, 'bad-response');
    assert.equal((t.verify(answer('alice', 'wonder'), 20) as { reason: string }).reason, 'unavailable', 'past the failure limit: not checked');
    assert.deepEqual(t.verify(answer('alice', 'wonder'), 60_011), { ok: true }, 'the next minute');
  });

  test('malformed bodies are no credentials', () => {
    const enc = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));
    assert.equal(parseDigestCredentials(new Uint8Array([0xff, 0xfe])), undefined);
    assert.equal(parseDigestCredentials(enc({})), undefined);
    assert.equal(parseDigestCredentials(enc({ ...answer('a', 'b'), qop: 'auth-int' })), undefined);
    assert.equal(parseDigestCredentials(enc({ ...answer('a', 'b'), nc: 'zz' })), undefined);
    assert.equal(parseDigestCredentials(new Uint8Array(5000)), undefined);
    assert.ok(parseDigestCredentials(enc(answer('a', 'b'))));
  });

  test('the handler route: POST only, JSON verdicts; absent without --sip-digest', async () => {
    const t = new EnrollmentDigestTable(digestSecretsFromUsers(USERS, REALM, isPasswordHash), { realm: REALM });
    const base = { authority: {} as EnrollmentAuthority, configurationDocument: () => '', now: () => 0 };
    const h = createEnrollmentHandler({ ...base, sipDigest: t });
    const body = new TextEncoder().encode(JSON.stringify(answer('alice', 'wonder')));
    const r = await h({ method: 'POST', path: SIP_DIGEST_PATH, contentType: 'application/json', accept: undefined, body });
    assert.deepEqual([r.status, JSON.parse(String(r.body))], [200, { ok: true }]);
    const bad = await h({ method: 'POST', path: SIP_DIGEST_PATH, contentType: 'application/json', accept: undefined, body: new Uint8Array([1]) });
    assert.equal(JSON.parse(String(bad.body)).reason, 'bad-response');
    assert.equal((await h({ method: 'GET', path: SIP_DIGEST_PATH, contentType: undefined, accept: undefined, body: new Uint8Array(0) })).status, 405);
    const none = createEnrollmentHandler(base);
    assert.equal((await none({ method: 'POST', path: SIP_DIGEST_PATH, contentType: 'application/json', accept: undefined, body })).status, 404);
  });

  test('p2psip:sip-digest-verifier round-trips through the document; only https', () => {
    const c = { ...defaultLanConfiguration(REALM, 'open'), sipDigestVerifier: 'https://127.0.0.1:8443/sip-digest' };
    const r = parseOverlayConfiguration(serializeOverlayConfiguration(c));
    assert.ok(r.ok && r.config.sipDigestVerifier === c.sipDigestVerifier);
    const bad = parseOverlayConfiguration(serializeOverlayConfiguration({ ...c, sipDigestVerifier: 'http://x/' }));
    assert.equal(bad.ok, false);
  });
});
