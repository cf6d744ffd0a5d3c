import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom } from '../../../../src/lib/random.js';
import {
  SecurityError,
  createNodeCertificate,
  generateNodeKeyPair,
  parseReloadNodeUri,
  readNodeCertificate,
  reloadNodeUri,
  toHex,
} from '../../../../src/reload/security/index.js';
import { NOW, OVERLAY, enrolledIdentity, makeCa, nodeId } from './security-fixtures.js';

describe('reload node URI (RFC 6940 §14.15)', () => {
  test('encodes a one-entry Destination List and parses back', () => {
    const id = nodeId(0xab);
    const uri = reloadNodeUri(id, OVERLAY);
    assert.equal(uri, `reload://0110${'ab'.repeat(16)}@${OVERLAY}/`);
    assert.deepEqual(parseReloadNodeUri(uri), { nodeId: id, overlay: OVERLAY });
  });
  test('accepts a bare hex Node-ID, refuses other shapes', () => {
    assert.deepEqual(parseReloadNodeUri(`reload://${'01'.repeat(20)}@o/`)?.nodeId, nodeId(1, 20));
    assert.equal(parseReloadNodeUri('reload://0110ab@o/'), undefined);
    assert.equal(parseReloadNodeUri('http://x/'), undefined);
    assert.equal(parseReloadNodeUri(`reload://0110${'ab'.repeat(16)}@o/extra`), undefined);
  });
});

describe('node certificates (RFC 6940 §11.3)', () => {
  test('a CA-issued certificate round-trips Node-IDs, user name, validity', async () => {
    const ca = await makeCa();
    const ids = [nodeId(1), nodeId(2)];
    const id = await enrolledIdentity(ca, ids, 'alice@test.p2psip');
    const c = readNodeCertificate(id.certificate.der);
    assert.deepEqual(c.nodeIds, ids);
    assert.deepEqual(c.nodeIdHex, ids.map(toHex));
    assert.equal(c.userName, 'alice@test.p2psip');
    assert.equal(c.overlay, OVERLAY);
    assert.equal(c.subject, '', 'subject DN is empty (RFC 6940 §11.3)');
    assert.equal(c.isCa, false);
    assert.ok(c.notBefore <= NOW && c.notAfter > NOW);
    assert.equal(c.fingerprint.length, 64);
    assert.equal(c.uris.length, 2);
  });

  test('RSA 2048 self-signed certificate', async () => {
    const keys = generateNodeKeyPair('rsa-2048');
    const der = await createNodeCertificate({
      subjectPublicKey: keys.publicKey,
      nodeIds: [nodeId(7)],
      userName: 'r@x',
      overlay: OVERLAY,
      notBefore: NOW,
      notAfter: NOW + 1000,
      serialNumber: new SeededRandom(1).bytes(16),
      selfKeys: keys,
    });
    const c = readNodeCertificate(der);
    assert.equal(c.publicKey.asymmetricKeyType, 'rsa');
    assert.equal(c.notAfter - c.notBefore, 1000);
  });

  test('refusals name the problem', async () => {
    assert.throws(() => readNodeCertificate(new Uint8Array([1, 2, 3])), (e: unknown) => e instanceof SecurityError && e.code === 'CERT_INVALID');
    assert.throws(() => readNodeCertificate(new Uint8Array(0)), /empty/);
    assert.throws(() => readNodeCertificate(new Uint8Array(20000)), /exceeds/);
    const ca = await makeCa();
    // the CA certificate has no reload: URI
    assert.throws(() => readNodeCertificate(ca.certificate), (e: unknown) => e instanceof SecurityError && e.code === 'CERT_NO_NODE_ID');
    const id = await enrolledIdentity(ca, [nodeId(1)]);
    assert.throws(() => readNodeCertificate(id.certificate.der, { nodeIdLength: 20 }), /16 bytes, the overlay uses 20/);
    const keys = generateNodeKeyPair('ecdsa-p256');
    await assert.rejects(
      createNodeCertificate({ subjectPublicKey: keys.publicKey, nodeIds: [], userName: 'a@b', overlay: 'o', notBefore: 0, notAfter: 1, serialNumber: new Uint8Array([1]), selfKeys: keys }),
      /at least one Node-ID/,
    );
    await assert.rejects(
      createNodeCertificate({ subjectPublicKey: keys.publicKey, nodeIds: [nodeId(1)], userName: 'no-at', overlay: 'o', notBefore: 0, notAfter: 1, serialNumber: new Uint8Array([1]), selfKeys: keys }),
      /user@domain/,
    );
  });
});
