import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CertificateType, HashAlgorithm, SignatureAlgorithm, UNFRAGMENTED } from '../../../../src/reload/codec/index.js';
import type { ForwardingHeader, SecurityBlock } from '../../../../src/reload/codec/index.js';
import type { OverlaySecurity } from '../../../../src/reload/overlay/overlay-types.js';
import { BagSharingSecurity, MAX_LEARNED_PER_MESSAGE } from '../../../../src/reload/storage/index.js';

const header: ForwardingHeader = { overlay: 1, configurationSequence: 0, version: 10, ttl: 100, fragment: UNFRAGMENTED, length: 0, transactionId: 1n, maxResponseLength: 0, viaList: [], destinationList: [], options: [] };
const block = (certs: Uint8Array[], type: number = CertificateType.X509): SecurityBlock => ({
  certificates: certs.map((c) => ({ type, certificate: c })),
  signature: { algorithm: { hash: HashAlgorithm.none, signature: SignatureAlgorithm.anonymous }, identity: { type: 'none' }, signatureValue: new Uint8Array(0) },
});

class Recording implements OverlaySecurity {
  extras: Array<readonly Uint8Array[] | undefined> = [];
  accept = true;
  identifyPeer(c: Uint8Array | undefined): Uint8Array[] | Error {
    return c ? [c] : new Error('none');
  }
  sign(_h: ForwardingHeader, _c: Uint8Array, extra?: readonly Uint8Array[]): SecurityBlock {
    this.extras.push(extra);
    return block([...(extra ?? [])]);
  }
  verify(): { ok: true; signer: undefined } | { ok: false; info: string } {
    return this.accept ? { ok: true, signer: undefined } : { ok: false, info: 'bad' };
  }
}

test('withCertificates adds certificates to what send() signs, only during send', () => {
  const inner = new Recording();
  const s = new BagSharingSecurity(inner, () => undefined);
  const a = Uint8Array.of(1);
  const b = Uint8Array.of(2);
  const out = s.withCertificates([a], () => s.sign(header, new Uint8Array(0), [b]));
  assert.deepEqual(out.certificates.map((c) => c.certificate), [b, a]);
  s.sign(header, new Uint8Array(0));
  assert.deepEqual(inner.extras[1], []);
  assert.throws(() => s.withCertificates([a], () => { throw new Error('x'); }));
  s.sign(header, new Uint8Array(0));
  assert.deepEqual(inner.extras[2], [], 'restored after a throw');
});

test('a verified message teaches its bag (X.509 only, at most MAX_LEARNED_PER_MESSAGE); a refused one teaches nothing', () => {
  const inner = new Recording();
  const learned: Uint8Array[] = [];
  const s = new BagSharingSecurity(inner, (der) => {
    if (der[0] === 99) throw new Error('refused');
    learned.push(der);
  });
  const many = Array.from({ length: 50 }, (_, i) => Uint8Array.of(i));
  assert.ok(s.verify(header, new Uint8Array(0), block(many)).ok);
  assert.equal(learned.length, MAX_LEARNED_PER_MESSAGE);
  learned.length = 0;
  assert.ok(s.verify(header, new Uint8Array(0), block([Uint8Array.of(99), Uint8Array.of(7)])).ok, 'a learn failure is no refusal');
  assert.deepEqual(learned, [Uint8Array.of(7)]);
  learned.length = 0;
  s.verify(header, new Uint8Array(0), block([Uint8Array.of(5)], CertificateType.OpenPGP));
  assert.equal(learned.length, 0);
  inner.accept = false;
  assert.ok(!s.verify(header, new Uint8Array(0), block([Uint8Array.of(5)])).ok);
  assert.equal(learned.length, 0);
});
