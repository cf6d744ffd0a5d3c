import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { StoredData, StoredDataValue } from '../../../../src/reload/codec/index.js';
import { createStoredDataVerifier, signStoredData, storedDataSignatureInput, verifyStoredData } from '../../../../src/reload/security/index.js';
import { nodeId, policy, selfSigned, storeFor } from './security-fixtures.js';

const RESOURCE = new Uint8Array(16).fill(0x33);
const value: StoredDataValue = { model: 'dictionary', key: nodeId(1), value: { exists: true, value: new Uint8Array([9, 9]) } };

describe('StoredData signatures (RFC 6940 §7.1)', () => {
  test('signature input is resource_id || kind || storage_time || StoredDataValue || SignerIdentity', () => {
    const input = storedDataSignatureInput(new Uint8Array([0xaa, 0xbb]), 1, 0x0102n, { model: 'single', value: { exists: true, value: new Uint8Array([7]) } }, { type: 'none' });
    assert.deepEqual(
      [...input],
      [0xaa, 0xbb, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 2, 1, 0, 0, 0, 1, 7, 3, 0, 0],
    );
  });

  test('signed by the writer, verified by storer and fetcher; tampering refused', async () => {
    const alice = await selfSigned('alice@x', 31);
    const store = storeFor(policy({ selfSignedPermitted: true }));
    const sd = signStoredData(alice, { resourceId: RESOURCE, kind: 1, storageTime: 1000n, lifetime: 60, value });
    const bag = [alice.certificate.der];
    const r = verifyStoredData(sd, RESOURCE, 1, store, bag);
    assert.ok(r.ok, r.ok ? '' : r.error.message);
    assert.equal(r.signer.userName, 'alice@x');
    const tampered: StoredData[] = [
      { ...sd, storageTime: 1001n },
      { ...sd, value: { ...value, value: { exists: true, value: new Uint8Array([9, 8]) } } },
      { ...sd, value: { ...value, key: nodeId(2) } },
    ];
    for (const t of tampered) {
      const x = verifyStoredData(t, RESOURCE, 1, store, bag);
      assert.ok(!x.ok && x.error.code === 'SIGNATURE_INVALID');
    }
    assert.ok(!verifyStoredData(sd, new Uint8Array(16), 1, store, bag).ok, 'other Resource-ID');
    assert.ok(!verifyStoredData(sd, RESOURCE, 2, store, bag).ok, 'other Kind');
    // lifetime is not covered by the signature (RFC 6940 §7.1)
    assert.ok(verifyStoredData({ ...sd, lifetime: 1 }, RESOURCE, 1, store, bag).ok);
  });

  test('a value signed by another writer, claiming Alice, is refused', async () => {
    const alice = await selfSigned('alice@x', 31);
    const mallory = await selfSigned('mallory@x', 32);
    const store = storeFor(policy({ selfSignedPermitted: true }));
    const byAlice = signStoredData(alice, { resourceId: RESOURCE, kind: 1, storageTime: 5n, lifetime: 60, value });
    const byMallory = signStoredData(mallory, { resourceId: RESOURCE, kind: 1, storageTime: 5n, lifetime: 60, value });
    const forged = { ...byMallory, signature: { ...byMallory.signature, identity: byAlice.signature.identity } };
    const r = verifyStoredData(forged, RESOURCE, 1, store, [alice.certificate.der, mallory.certificate.der]);
    assert.ok(!r.ok && r.error.code === 'SIGNATURE_INVALID');
  });

  test("the storage engine's verifier interface", async () => {
    const alice = await selfSigned('alice@x', 31);
    const store = storeFor(policy({ selfSignedPermitted: true }));
    const sd = signStoredData(alice, { resourceId: RESOURCE, kind: 1, storageTime: 5n, lifetime: 60, value });
    const v = createStoredDataVerifier(store, [alice.certificate.der]).verify(RESOURCE, 1, sd);
    assert.deepEqual(v, { ok: true, signer: { userName: 'alice@x', nodeIds: [alice.certificate.nodeIds[0]] } });
    const bad = createStoredDataVerifier(storeFor(policy({ selfSignedPermitted: true }))).verify(RESOURCE, 1, sd);
    assert.ok(!bad.ok && /no certificate/.test(bad.info));
  });
});
