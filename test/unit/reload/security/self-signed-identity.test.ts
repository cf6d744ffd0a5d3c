import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { SeededRandom } from '../../../../src/lib/random.js';
import {
  createNodeCertificate,
  createSelfSignedIdentity,
  generateNodeKeyPair,
  readNodeCertificate,
  selfSignedNodeId,
  selfSignedRuleViolation,
  spkiOf,
} from '../../../../src/reload/security/index.js';
import { NOW, OVERLAY, selfSigned } from './security-fixtures.js';

describe('self-signed identities (RFC 6940 §11.3.1)', () => {
  test('Node-ID = digest(subjectPublicKeyInfo), high-order NodeIdLength bytes', async () => {
    const id = await selfSigned();
    const spki = id.certificate.spki;
    const expected = new Uint8Array(createHash('sha256').update(spki).digest()).slice(0, 16);
    assert.deepEqual(id.certificate.nodeIds, [expected]);
    assert.equal(selfSignedRuleViolation(id.certificate, 'sha256'), undefined);
    assert.match(selfSignedRuleViolation(id.certificate, 'sha1') ?? '', /not the sha1 hash/);
  });

  test('sha1 digest and 20-byte Node-IDs', async () => {
    const id = await createSelfSignedIdentity({ overlay: OVERLAY, userName: 'c@d', now: NOW, random: new SeededRandom(5), algorithm: 'ecdsa-p256', digest: 'sha1', nodeIdLength: 20 });
    assert.deepEqual(id.certificate.nodeIds[0], new Uint8Array(createHash('sha1').update(id.certificate.spki).digest()));
    assert.equal(selfSignedRuleViolation(id.certificate, 'sha1'), undefined);
  });

  test('several Node-IDs: digest(uint32 index || spki), index from 1', async () => {
    const id = await selfSigned('m@x', 9, 3);
    assert.equal(id.certificate.nodeIds.length, 3);
    for (let i = 0; i < 3; i++) {
      const prefix = Buffer.from([0, 0, 0, i + 1]);
      const expected = new Uint8Array(createHash('sha256').update(prefix).update(id.certificate.spki).digest()).slice(0, 16);
      assert.deepEqual(id.certificate.nodeIds[i], expected);
    }
    assert.equal(selfSignedRuleViolation(id.certificate, 'sha256'), undefined);
  });

  test('a self-signed certificate claiming another Node-ID is refused (Node-ID theft)', async () => {
    const keys = generateNodeKeyPair('ecdsa-p256');
    const other = generateNodeKeyPair('ecdsa-p256');
    const der = await createNodeCertificate({
      subjectPublicKey: keys.publicKey,
      nodeIds: [selfSignedNodeId(spkiOf(other.publicKey), 'sha256', 16)],
      userName: 'thief@x',
      overlay: OVERLAY,
      notBefore: NOW,
      notAfter: NOW + 1000,
      serialNumber: new Uint8Array([1, 2]),
      selfKeys: keys,
    });
    assert.match(selfSignedRuleViolation(readNodeCertificate(der), 'sha256') ?? '', /not the sha256 hash/);
  });

  test('RSA 2048 is the default key', async () => {
    const id = await createSelfSignedIdentity({ overlay: OVERLAY, userName: 'r@x', now: NOW, random: new SeededRandom(1) });
    assert.equal(id.keys.algorithm, 'rsa-2048');
    assert.equal(id.certificate.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
  });
});
