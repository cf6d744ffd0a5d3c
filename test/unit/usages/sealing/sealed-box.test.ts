/** Issue 16: sealed values (encrypted to a user's certificates) and the certificate lookup behind them. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { CertificateSealing, type TrustedUserCertificate } from '../../../../src/usages/sealing/certificate-sealing.js';
import {
  ALG_ECDH_P256,
  ALG_RSA_OAEP,
  certificateHashOf,
  looksSealed,
  MAX_SEALED_RECIPIENTS,
  openSealed,
  openWithKey,
  readSealedHeader,
  seal,
  SealedBoxError,
  SEALED_CHUNK_OVERHEAD,
  sealWithKey,
  type SealOpener,
  type SealRecipient,
} from '../../../../src/usages/sealing/sealed-box.js';

const utf8 = new TextEncoder();

interface Party {
  recipient: SealRecipient;
  opener: SealOpener;
}

function party(kind: 'rsa' | 'ec', name: string): Party {
  const keys = kind === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const certificateHash = certificateHashOf(utf8.encode(`certificate of ${name}`));
  return { recipient: { certificateHash, publicKey: keys.publicKey }, opener: { certificateHash, privateKey: keys.privateKey } };
}

const rsaAlice = party('rsa', 'alice-1');
const ecAlice = party('ec', 'alice-2');
const ecBob = party('ec', 'bob');
const aad = utf8.encode('P2PSIP-MESSAGE alice@example.org 0102');
const secret = utf8.encode('meet me at noon — a secret for alice');

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof SealedBoxError, `a SealedBoxError, not ${String(e)}`);
    return e.code;
  }
  assert.fail('did not throw');
}

describe('sealed box', () => {
  test('RSA-OAEP and ECDH-ES P-256 recipients: each opens, the plaintext is not in the envelope', () => {
    const sealed = seal([rsaAlice.recipient, ecAlice.recipient], secret, aad);
    assert.ok(looksSealed(sealed));
    assert.equal(Buffer.from(sealed).indexOf(Buffer.from('secret')), -1);
    const h = readSealedHeader(sealed);
    assert.deepEqual(h.recipients.map((r) => r.algorithm), [ALG_RSA_OAEP, ALG_ECDH_P256]);
    assert.deepEqual(h.recipients.map((r) => r.wrapped.length), [256, 113]);
    assert.equal(sealed.length, 6 + (35 + 256) + (35 + 113) + 12 + secret.length + 16, 'the size is the documented layout');
    for (const who of [rsaAlice, ecAlice]) {
      const r = openSealed(sealed, who.opener, aad);
      assert.deepEqual(r.plaintext, secret);
      assert.equal(r.contentKey.length, 32);
    }
  });

  test('not for us, another aad, a changed byte, a changed recipient list: refused with a code, never opened', () => {
    const sealed = seal([ecAlice.recipient], secret, aad);
    assert.equal(code(() => openSealed(sealed, ecBob.opener, aad)), 'SEALED_NOT_FOR_US');
    // Bob claims Alice's certificate hash but holds his own key
    assert.equal(code(() => openSealed(sealed, { certificateHash: ecAlice.opener.certificateHash, privateKey: ecBob.opener.privateKey }, aad)), 'SEALED_INVALID');
    assert.equal(code(() => openSealed(sealed, ecAlice.opener, utf8.encode('P2PSIP-MESSAGE mallory@example.org 0102'))), 'SEALED_INVALID');
    for (let i = 0; i < sealed.length; i++) {
      const bad = Uint8Array.from(sealed);
      bad[i]! ^= 0x01;
      let opened: Uint8Array | undefined;
      try {
        opened = openSealed(bad, ecAlice.opener, aad).plaintext;
      } catch (e) {
        assert.ok(e instanceof SealedBoxError, `byte ${i}: ${String(e)}`);
      }
      assert.equal(opened, undefined, `a flip of byte ${i} opened`);
    }
  });

  test('malformed envelopes are refused by the header reader with the reason (what a storing peer checks)', () => {
    const sealed = seal([rsaAlice.recipient], secret, aad);
    assert.equal(code(() => readSealedHeader(utf8.encode('{"v":1}'))), 'SEALED_MALFORMED');
    const v2 = Uint8Array.from(sealed);
    v2[4] = 2;
    assert.throws(() => readSealedHeader(v2), /version 2/);
    const none = Uint8Array.from(sealed);
    none[5] = 0;
    assert.throws(() => readSealedHeader(none), /0 recipients/);
    const many = Uint8Array.from(sealed);
    many[5] = MAX_SEALED_RECIPIENTS + 1;
    assert.throws(() => readSealedHeader(many), /recipients, 1 to 4/);
    const alg = Uint8Array.from(sealed);
    alg[6 + 32] = 9;
    assert.throws(() => readSealedHeader(alg), /unknown algorithm 9/);
    for (let n = 0; n < 6 + 35 + 256 + 28; n++) assert.equal(code(() => readSealedHeader(sealed.subarray(0, n))), 'SEALED_MALFORMED', `truncated to ${n}`);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (junk) => {
        const withMagic = Uint8Array.from([0x50, 0x32, 0x53, 0x42, ...junk]);
        try {
          openSealed(withMagic, rsaAlice.opener, aad);
          return false;
        } catch (e) {
          return e instanceof SealedBoxError;
        }
      }),
      { numRuns: 300, seed: 16 },
    );
  });

  test('recipients: 1 to 4, RSA of at least 2048 bits or P-256; chunks under one content key, bound to their place', () => {
    assert.equal(code(() => seal([], secret, aad)), 'SEALED_BAD_KEY');
    assert.equal(code(() => seal(Array.from({ length: 5 }, () => ecAlice.recipient), secret, aad)), 'SEALED_BAD_KEY');
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey as KeyObject;
    assert.equal(code(() => seal([{ certificateHash: ecAlice.recipient.certificateHash, publicKey: p384 }], secret, aad)), 'SEALED_BAD_KEY');
    const { contentKey } = openSealed(seal([ecAlice.recipient], secret, aad), ecAlice.opener, aad);
    const chunkAad = utf8.encode('P2PSIP-VOICEMAIL-CHUNK alice@example.org 01 0');
    const audio = Uint8Array.from({ length: 2400 }, (_, i) => i & 0xff);
    const piece = sealWithKey(contentKey, audio, chunkAad);
    assert.equal(piece.length, audio.length + SEALED_CHUNK_OVERHEAD);
    assert.deepEqual(openWithKey(contentKey, piece, chunkAad), audio);
    assert.equal(code(() => openWithKey(contentKey, piece, utf8.encode('P2PSIP-VOICEMAIL-CHUNK alice@example.org 01 1'))), 'SEALED_INVALID');
    assert.equal(code(() => openWithKey(contentKey, piece.subarray(0, 20), chunkAad)), 'SEALED_MALFORMED');
  });
});

describe('CertificateSealing (a user\'s certificates from the overlay)', () => {
  function trustedOf(p: Party, userName: string, notBefore: number): TrustedUserCertificate {
    return { userName, publicKey: p.recipient.publicKey, hash: p.recipient.certificateHash, notBefore };
  }

  test('seals to the trusted certificates naming the user, newest first; others are skipped; the owner opens', async () => {
    const clock = new ManualClock(0);
    const byDer = new Map<string, TrustedUserCertificate>([
      ['rsa-alice', trustedOf(rsaAlice, 'alice@example.org', 1)],
      ['ec-alice', trustedOf(ecAlice, 'Alice@example.org', 2)],
      ['bob-under-alice', trustedOf(ecBob, 'bob@example.org', 3)],
    ]);
    const fetched: string[] = [];
    const s = new CertificateSealing({
      clock,
      fetchUserCertificates: async (user) => {
        fetched.push(user);
        return { ok: true, ders: user === 'alice@example.org' ? ['rsa-alice', 'ec-alice', 'bob-under-alice', 'untrusted', 'ec-alice'].map((d) => utf8.encode(d)) : [] };
      },
      trusted: (der) => byDer.get(new TextDecoder().decode(der)),
      self: ecAlice.opener,
    });
    const r = await s.seal('sip:alice@example.org', secret, aad);
    assert.ok(r.ok);
    const h = readSealedHeader(r.sealed);
    assert.deepEqual(h.recipients.map((x) => Buffer.from(x.certificateHash).toString('hex')), [ecAlice, rsaAlice].map((p) => Buffer.from(p.recipient.certificateHash).toString('hex')), 'the newest first, no duplicate, not bob');
    assert.deepEqual(s.open(r.sealed, aad), secret);
    assert.equal(s.open(r.sealed, utf8.encode('elsewhere')), undefined);
    assert.equal(await s.hasUser('sip:alice@example.org'), true);
    assert.deepEqual(fetched, ['alice@example.org'], 'one lookup, then the cache');
    const none = await s.seal('sip:nobody@example.org', secret, aad);
    assert.deepEqual(none.ok ? 'sealed' : none.reason, 'no-certificate');
    assert.equal(await s.hasUser('sip:nobody@example.org'), false);
    assert.equal(fetched.filter((u) => u === 'nobody@example.org').length, 1, 'a user without certificates is asked again only after negativeTtlMs');
    clock.advance(30_001);
    await s.hasUser('sip:nobody@example.org');
    assert.equal(fetched.filter((u) => u === 'nobody@example.org').length, 2);
  });

  test('a failed lookup is a failure (not "no user"), concurrent asks share one Fetch, the cache is bounded', async () => {
    const clock = new ManualClock(0);
    let calls = 0;
    let fail = true;
    const s = new CertificateSealing(
      {
        clock,
        fetchUserCertificates: async () => {
          calls++;
          await Promise.resolve();
          return fail ? { ok: false, info: 'timeout' } : { ok: true, ders: [utf8.encode('c')] };
        },
        trusted: () => trustedOf(ecBob, 'bob@example.org', 1),
        self: ecBob.opener,
      },
      { maxCached: 2 },
    );
    const r = await s.seal('sip:bob@example.org', secret, aad);
    assert.deepEqual(r.ok ? 'sealed' : [r.reason, r.info], ['failed', 'the certificates of bob@example.org could not be fetched (timeout)']);
    fail = false;
    calls = 0;
    const both = await Promise.all([s.hasUser('sip:bob@example.org'), s.hasUser('sip:bob@example.org')]);
    assert.deepEqual(both, [true, true]);
    assert.equal(calls, 1);
    assert.throws(() => new CertificateSealing({ clock, fetchUserCertificates: async () => ({ ok: true, ders: [] }), trusted: () => undefined, self: ecBob.opener }, { ttlMs: -1 }), /ttlMs -1/);
  });
});
