// RFC 6940 §7.4.2.2: an array entry's index is 0 in the signature input, so appended values verify.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StoredDataValue } from '../../../../src/reload/codec/index.js';
import { signStoredData, storedDataSignatureInput, verifyStoredData } from '../../../../src/reload/security/index.js';
import { policy, selfSigned, storeFor } from '../security/security-fixtures.js';

const RESOURCE = new Uint8Array(16).fill(0x44);
const entry = (index: number): StoredDataValue => ({ model: 'array', index, value: { exists: true, value: new Uint8Array([1, 2, 3]) } });

test('the signature input of an array entry has index 0 whatever the index', () => {
  const a = storedDataSignatureInput(RESOURCE, 3, 7n, entry(0xffffffff), { type: 'none' });
  const b = storedDataSignatureInput(RESOURCE, 3, 7n, entry(5), { type: 'none' });
  const c = storedDataSignatureInput(RESOURCE, 3, 7n, entry(0), { type: 'none' });
  assert.deepEqual(a, c);
  assert.deepEqual(b, c);
});

test('a value signed with index 0xffffffff (append) verifies at the index the storing peer gave it', async () => {
  const alice = await selfSigned('alice@x', 41);
  const store = storeFor(policy({ selfSignedPermitted: true }));
  const sd = signStoredData(alice, { resourceId: RESOURCE, kind: 3, storageTime: 9n, lifetime: 60, value: entry(0xffffffff) });
  const placed = { ...sd, value: entry(2) };
  const r = verifyStoredData(placed, RESOURCE, 3, store, [alice.certificate.der]);
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  // the value itself is still covered
  const tampered = { ...sd, value: { ...entry(2), value: { exists: true, value: new Uint8Array([9]) } } };
  assert.ok(!verifyStoredData(tampered, RESOURCE, 3, store, [alice.certificate.der]).ok);
});
