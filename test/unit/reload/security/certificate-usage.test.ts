import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  CERTIFICATE_BY_NODE_KIND,
  CERTIFICATE_BY_USER_KIND,
  certificateByNodeResourceId,
  certificateByUserResourceId,
  decodeCertificateValue,
  encodeCertificateValue,
} from '../../../../src/reload/security/index.js';

test('certificate store usage (RFC 6940 §8): Kind-IDs and Resource-IDs', () => {
  assert.equal(CERTIFICATE_BY_NODE_KIND, 3);
  assert.equal(CERTIFICATE_BY_USER_KIND, 16);
  const id = new Uint8Array(16).fill(5);
  assert.deepEqual(certificateByNodeResourceId(id), new Uint8Array(createHash('sha1').update(id).digest()).slice(0, 16));
  assert.deepEqual(certificateByUserResourceId('alice@x'), new Uint8Array(createHash('sha1').update('alice@x').digest()).slice(0, 16));
  const der = new Uint8Array([0x30, 1, 2]);
  assert.deepEqual(decodeCertificateValue(encodeCertificateValue(der)), der);
});
