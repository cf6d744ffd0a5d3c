import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HashAlgorithm, SignatureAlgorithm } from '../../../../src/reload/codec/index.js';
import type { StoredData } from '../../../../src/reload/codec/index.js';
import { MemoryStorageBackend, SignerCertificates, StorageEngine } from '../../../../src/reload/storage/index.js';
import { ManualClock } from '../../../../src/lib/manual-clock.js';

const data = (n: number, type: 'cert_hash' | 'cert_hash_node_id' | 'none' = 'cert_hash_node_id'): StoredData => ({
  storageTime: 1n,
  lifetime: 60,
  value: { model: 'single', value: { exists: true, value: new Uint8Array([n]) } },
  signature: {
    algorithm: { hash: HashAlgorithm.sha256, signature: SignatureAlgorithm.ecdsa },
    identity:
      type === 'none'
        ? { type: 'none' }
        : type === 'cert_hash'
          ? { type, hashAlg: HashAlgorithm.sha256, certificateHash: new Uint8Array(32).fill(n) }
          : { type, hashAlg: HashAlgorithm.sha256, certificateNodeIdHash: new Uint8Array(32).fill(n) },
    signatureValue: new Uint8Array(8),
  },
});

test('signer certificates are kept by SignerIdentity, bounded, and survive a reopen of the backend', () => {
  const backend = new MemoryStorageBackend();
  const kept = new SignerCertificates(backend, 3);
  for (let i = 1; i <= 5; i++) kept.keep(data(i), Uint8Array.of(0x30, i));
  kept.keep(data(9, 'none'), Uint8Array.of(0x30, 9));
  assert.equal(kept.size, 3);
  assert.equal(kept.get(data(1)), undefined, 'the oldest went first');
  assert.deepEqual(kept.get(data(5)), Uint8Array.of(0x30, 5));
  assert.equal(kept.get(data(5, 'cert_hash')), undefined, 'the identity type is part of the key');
  const again = new SignerCertificates(backend, 3);
  assert.deepEqual(again.certificates().map((d) => d[1]).sort(), [3, 4, 5]);
  // the storage engine ignores these entries of its backend
  const engine = new StorageEngine({ clock: new ManualClock(0), backend, kinds: () => undefined, hashResourceName: (b) => b });
  assert.equal(engine.summary().resources, 0);
  assert.equal(new SignerCertificates(backend, 3).size, 3, 'and leaves them alone');
});
