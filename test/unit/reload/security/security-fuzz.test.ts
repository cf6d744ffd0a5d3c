import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { UNFRAGMENTED } from '../../../../src/reload/codec/index.js';
import type { ReloadMessage, SignerIdentity } from '../../../../src/reload/codec/index.js';
import { signMessage, verifyMessage, verifyStoredData } from '../../../../src/reload/security/index.js';
import { policy, selfSigned, storeFor } from './security-fixtures.js';

const bytes = (max: number) => fc.uint8Array({ maxLength: max });
const identity: fc.Arbitrary<SignerIdentity> = fc.oneof(
  fc.record({ type: fc.constant('cert_hash' as const), hashAlg: fc.integer({ min: 0, max: 255 }), certificateHash: bytes(40) }),
  fc.record({ type: fc.constant('cert_hash_node_id' as const), hashAlg: fc.integer({ min: 0, max: 255 }), certificateNodeIdHash: bytes(40) }),
  fc.constant({ type: 'none' as const }),
);

test('random security blocks and certificate bags never throw and never verify', async () => {
  const alice = await selfSigned('alice@x', 41);
  const store = storeFor(policy({ selfSignedPermitted: true }));
  const header = { overlay: 1, configurationSequence: 0, version: 10, ttl: 100, fragment: { ...UNFRAGMENTED }, length: 0, transactionId: 5n, maxResponseLength: 0, viaList: [], destinationList: [], options: [] };
  const contents = { messageCode: 1, body: new Uint8Array([1]), extensions: [] };
  const real = signMessage(alice, header, contents);
  fc.assert(
    fc.property(
      fc.array(fc.oneof(bytes(600), fc.constant(real.certificates[0]!.certificate)), { maxLength: 12 }),
      identity,
      bytes(300),
      fc.integer({ min: 0, max: 255 }),
      fc.integer({ min: 0, max: 255 }),
      (certs, id, sig, h, s) => {
        const m: ReloadMessage = {
          header,
          contents,
          securityBlock: { certificates: certs.map((c) => ({ type: 0, certificate: c })), signature: { algorithm: { hash: h, signature: s }, identity: id, signatureValue: sig } },
        };
        assert.equal(verifyMessage(m, store).ok, false);
        const sd = { storageTime: 1n, lifetime: 1, value: { model: 'single' as const, value: { exists: true, value: sig } }, signature: m.securityBlock.signature };
        assert.equal(verifyStoredData(sd, new Uint8Array(16), 1, store, certs).ok, false);
      },
    ),
    { numRuns: 300, seed: 17 },
  );
});

test('mutated certificates in the bag never throw', async () => {
  const alice = await selfSigned('alice@x', 42);
  const der = alice.certificate.der;
  fc.assert(
    fc.property(fc.integer({ min: 0, max: der.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, x) => {
      const copy = new Uint8Array(der);
      copy[at]! ^= x;
      const store = storeFor(policy({ selfSignedPermitted: true }));
      const reason = store.trustsPeerCertificate(copy);
      // a flipped bit anywhere breaks the signature, the DER or the Node-ID rule
      assert.equal(typeof reason, 'string');
    }),
    { numRuns: 200, seed: 3 },
  );
});
