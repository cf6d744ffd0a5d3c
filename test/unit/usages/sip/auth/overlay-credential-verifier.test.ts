/**
 * Issue 15: the SIP front's CredentialVerifier in the overlay maps the storing peer's answer to a
 * VerifyOutcome: success, `p2psip-auth:<reason>` refusals, and anything else (no answer, other
 * errors, rate limits) as unavailable — never a 403 for something that is not the phone's fault.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ReloadErrorCode } from '../../../../../src/reload/codec/index.js';
import type { ClientStoreResult, ResourceRef } from '../../../../../src/reload/storage/index.js';
import { P2PSIP_AUTH_PROOF_KIND_ID } from '../../../../../src/reload/config/index.js';
import { decodeAuthProof } from '../../../../../src/usages/sip/auth/auth-proof.js';
import { OverlayCredentialVerifier } from '../../../../../src/usages/sip/auth/overlay-credential-verifier.js';
import type { DigestCredentials } from '../../../../../src/sip/auth/credential-verifier.js';

const creds: DigestCredentials = { username: 'alice', realm: 'p2psip.local', nonce: 'n', uri: 'sip:p2psip.local', response: 'a'.repeat(32), algorithm: 'MD5', qop: 'auth', nc: '00000001', cnonce: 'c', method: 'REGISTER' };

function verifierAnswering(result: ClientStoreResult | Error) {
  const calls: Array<{ kind: number; ref: ResourceRef; proof: unknown }> = [];
  const v = new OverlayCredentialVerifier(
    {
      store: async (kind, ref, values) => {
        const first = values[0]!;
        calls.push({ kind, ref, proof: decodeAuthProof(first.value.value) });
        if (result instanceof Error) throw result;
        return result;
      },
    },
    { realm: 'P2PSIP.local' },
  );
  return { v, calls };
}
const refused = (info: string, errorCode: number = ReloadErrorCode.Forbidden): ClientStoreResult => ({ ok: false, errorCode, info });

describe('OverlayCredentialVerifier', () => {
  test('Stores the answer as a proof at H(user@realm) and says ok on success', async () => {
    const { v, calls } = verifierAnswering({ ok: true, answer: { kindResponses: [] }, responder: undefined });
    assert.deepEqual(await v.verify(creds), { ok: true });
    assert.equal(calls[0]!.kind, P2PSIP_AUTH_PROOF_KIND_ID);
    assert.deepEqual(calls[0]!.ref, { resourceName: 'alice@p2psip.local' });
    assert.deepEqual(calls[0]!.proof, { ok: true, credentials: creds });
    await v.verify({ ...creds, username: 'alice@p2psip.local' });
    assert.deepEqual(calls[1]!.ref, { resourceName: 'alice@p2psip.local' });
  });

  test('refusals map to their reasons; other failures are unavailable', async () => {
    const cases: Array<[ClientStoreResult | Error, string]> = [
      [refused('Kind P2PSIP-AUTH-PROOF value 0: p2psip-auth:unknown-user: no such user'), 'unknown-user'],
      [refused('… p2psip-auth:bad-response: wrong'), 'bad-response'],
      [refused('… p2psip-auth:replay: used'), 'replay'],
      [refused('… p2psip-auth:bad-proof: malformed'), 'bad-response'],
      [refused('… p2psip-auth:rate-limited: slow down'), 'unavailable'],
      [refused('… p2psip-auth:grants-full: 10 peers'), 'unavailable'],
      [refused('… no usage on this peer accepts Stores of this Kind'), 'unavailable'],
      [refused('timeout', 0), 'unavailable'],
      [refused('not responsible', ReloadErrorCode.NotFound), 'unavailable'],
      [new Error('overlay gone'), 'unavailable'],
    ];
    for (const [answer, reason] of cases) {
      const { v } = verifierAnswering(answer);
      const r = await v.verify(creds);
      assert.equal(r.ok, false);
      assert.equal(!r.ok && r.reason, reason, JSON.stringify(answer instanceof Error ? answer.message : answer));
    }
  });

  test('another realm or domain, or a name that is no user, is refused without asking the overlay', async () => {
    const { v, calls } = verifierAnswering({ ok: true, answer: { kindResponses: [] }, responder: undefined });
    assert.equal((await v.verify({ ...creds, realm: 'other.example' })).ok, false);
    assert.equal((await v.verify({ ...creds, username: 'alice@other.example' })).ok, false);
    assert.equal((await v.verify({ ...creds, username: 'a b' })).ok, false);
    assert.equal(calls.length, 0);
    assert.deepEqual(v.stats, { asked: 3, ok: 0, refused: 3, unavailable: 0 });
  });
});
