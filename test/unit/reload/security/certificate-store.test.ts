import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { CertificateStore, HashAlgorithmSha256, signerIdentityFor } from './store-test-imports.js';
import { NOW, enrolledIdentity, makeCa, nodeId, policy, selfSigned, storeFor } from './security-fixtures.js';

describe('CertificateStore trust (RFC 6940 §11.1, §11.3, §11.3.1)', () => {
  test('enrolled overlay: certificates of the root are trusted, others refused', async () => {
    const ca = await makeCa(1);
    const otherCa = await makeCa(2);
    const store = storeFor(policy({ rootCertificates: [ca.certificate] }));
    const good = await enrolledIdentity(ca, [nodeId(1)]);
    const foreign = await enrolledIdentity(otherCa, [nodeId(2)]);
    assert.equal(store.trustsPeerCertificate(good.certificate.der), undefined);
    assert.match(store.trustsPeerCertificate(foreign.certificate.der) ?? '', /not issued by a root-cert/);
    const self = await selfSigned();
    assert.match(store.trustsPeerCertificate(self.certificate.der) ?? '', /refused/);
    assert.match(store.trustsPeerCertificate(new Uint8Array([0x30, 0x03, 1, 2, 3])) ?? '', /not a DER/);
    assert.equal(store.size, 1);
  });

  test('self-signed overlay: the Node-ID rule decides', async () => {
    const store = storeFor(policy({ selfSignedPermitted: true }));
    const self = await selfSigned();
    assert.equal(store.trustsPeerCertificate(self.certificate.der), undefined);
    const ca = await makeCa();
    const enrolled = await enrolledIdentity(ca, [nodeId(3)]);
    assert.match(store.trustsPeerCertificate(enrolled.certificate.der) ?? '', /self-signed rule: not self-signed/);
  });

  test('no roots and no self-signed: nothing is trusted', async () => {
    const store = storeFor(policy());
    const self = await selfSigned();
    assert.match(store.trustsPeerCertificate(self.certificate.der) ?? '', /does not permit self-signed/);
  });

  test('validity period, overlay name and bad-node are checked', async () => {
    const ca = await makeCa();
    const id = await enrolledIdentity(ca, [nodeId(4)]);
    const p = policy({ rootCertificates: [ca.certificate] });
    assert.match(storeFor(p, NOW + 400 * 24 * 3600 * 1000).trustsPeerCertificate(id.certificate.der) ?? '', /expired/);
    assert.match(storeFor(p, NOW - 3600_000).trustsPeerCertificate(id.certificate.der) ?? '', /not valid before/);
    assert.match(storeFor({ ...p, overlay: 'other.overlay' }).trustsPeerCertificate(id.certificate.der) ?? '', /for overlay test.p2psip/);
    assert.match(storeFor({ ...p, badNodes: ['04'.repeat(16)] }).trustsPeerCertificate(id.certificate.der) ?? '', /bad-node/);
  });

  test('a root that is not a CA is refused when the store is built', async () => {
    const ca = await makeCa();
    const id = await enrolledIdentity(ca, [nodeId(5)]);
    assert.throws(() => new CertificateStore(policy({ rootCertificates: [id.certificate.der] }), { now: () => NOW }), /root-cert 0: not a CA/);
  });

  test('bounded LRU; lookups by SignerIdentity', async () => {
    const store = storeFor(policy({ selfSignedPermitted: true }), NOW, 2);
    const a = await selfSigned('a@x', 11);
    const b = await selfSigned('b@x', 12);
    const c = await selfSigned('c@x', 13);
    for (const id of [a, b]) assert.equal(store.trustsPeerCertificate(id.certificate.der), undefined);
    assert.ok(store.get(a.certificate.hash));
    store.trustsPeerCertificate(a.certificate.der); // a is now most recent
    store.trustsPeerCertificate(c.certificate.der);
    assert.equal(store.size, 2);
    assert.equal(store.get(b.certificate.hash), undefined, 'least recently used evicted');
    const r = store.resolveSigner(signerIdentityFor(a));
    assert.ok(r.ok && r.signer.userName === 'a@x');
    const miss = store.resolveSigner(signerIdentityFor(b));
    assert.ok(!miss.ok && miss.error.code === 'CERT_UNKNOWN');
    const fromBag = store.resolveSigner(signerIdentityFor(b), [c.certificate.der, b.certificate.der]);
    assert.ok(fromBag.ok && fromBag.signer.userName === 'b@x');
    const sha1 = store.resolveSigner({ type: 'cert_hash', hashAlg: HashAlgorithmSha256 - 2, certificateHash: new Uint8Array(20) });
    assert.ok(!sha1.ok && sha1.error.code === 'SIGNATURE_ALGORITHM_UNSUPPORTED');
    const none = store.resolveSigner({ type: 'none' });
    assert.ok(!none.ok && none.error.code === 'CERT_UNKNOWN');
  });
});
