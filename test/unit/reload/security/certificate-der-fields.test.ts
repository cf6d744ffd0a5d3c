import { test } from 'node:test';
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import fc from 'fast-check';
import { readCertificateDerFields } from '../../../../src/reload/security/certificate-der-fields.js';
import { SecurityError, readCertificateInfo, spkiOf } from '../../../../src/reload/security/index.js';
import { loadX509 } from '../../../../src/reload/security/x509-provider.js';
import { enrolledIdentity, makeCa, nodeId, selfSigned } from './security-fixtures.js';

const x509 = await loadX509();

// @peculiar/x509 (a full ASN.1 parser) is the reference the DER walk must agree with
function reference(der: Uint8Array): { uris: string[]; emails: string[]; dnsNames: string[]; ips: string[]; isCa: boolean } {
  const c = new x509.X509Certificate(der);
  const names = c.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? [];
  return {
    uris: names.filter((n) => n.type === 'url').map((n) => n.value),
    emails: names.filter((n) => n.type === 'email').map((n) => n.value),
    dnsNames: names.filter((n) => n.type === 'dns').map((n) => n.value),
    ips: names.filter((n) => n.type === 'ip').map((n) => n.value),
    isCa: c.getExtension(x509.BasicConstraintsExtension)?.ca === true,
  };
}

test('node certificates: subjectAltName, cA and SPKI as a full ASN.1 parse reads them', async () => {
  const ca = await makeCa(5);
  const certs = [(await selfSigned('bob@test.p2psip', 6, 3)).certificate.der, (await enrolledIdentity(ca, [nodeId(1), nodeId(2)], 'al@test.p2psip', 7)).certificate.der, ca.certificate];
  for (const der of certs) {
    const f = readCertificateDerFields(der);
    const { spki, ...rest } = f;
    assert.deepEqual(rest, reference(der));
    assert.deepEqual(spki, spkiOf(readCertificateInfo(der).publicKey));
  }
  assert.equal(readCertificateDerFields(ca.certificate).isCa, true);
  assert.equal(readCertificateDerFields(certs[0]!).uris.length, 3);
});

test('dNSName and iPAddress names (IPv4, IPv6) are read', async () => {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=x, O=y',
    notBefore: new Date(Date.UTC(2026, 0, 1)),
    notAfter: new Date(Date.UTC(2027, 0, 1)),
    signingAlgorithm: alg,
    keys,
    extensions: [
      new x509.SubjectAlternativeNameExtension([
        { type: 'dns', value: 'peer.example' },
        { type: 'ip', value: '127.0.0.1' },
        { type: 'ip', value: '2001:db8:0:0:0:0:0:1' },
        { type: 'url', value: 'reload://00@o/' },
      ]),
    ],
  });
  const der = new Uint8Array(cert.rawData);
  const f = readCertificateDerFields(der);
  assert.deepEqual(f.dnsNames, ['peer.example']);
  assert.deepEqual(f.uris, ['reload://00@o/']);
  assert.equal(f.ips[0], '127.0.0.1');
  assert.equal(f.ips[1], '2001:db8:0:0:0:0:0:1');
  assert.equal(f.isCa, false);
  assert.equal(readCertificateInfo(der).subject, 'CN=x, O=y');
});

test('truncated and mutated DER: a SecurityError or a result, never another throw', async () => {
  const der = (await selfSigned('m@test.p2psip', 8)).certificate.der;
  for (let n = 0; n < der.length; n += 7) {
    try {
      readCertificateDerFields(der.subarray(0, n));
    } catch (e) {
      assert.ok(e instanceof SecurityError, String(e));
    }
  }
  fc.assert(
    fc.property(fc.integer({ min: 0, max: der.length - 1 }), fc.integer({ min: 1, max: 255 }), fc.uint8Array({ maxLength: 40 }), (at, x, tail) => {
      const copy = new Uint8Array([...der, ...tail]);
      copy[at]! ^= x;
      try {
        readCertificateDerFields(copy);
      } catch (e) {
        assert.ok(e instanceof SecurityError, String(e));
      }
    }),
    { numRuns: 2000, seed: 23 },
  );
});
