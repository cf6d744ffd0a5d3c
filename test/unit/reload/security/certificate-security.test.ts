import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UNFRAGMENTED, encodeMessageContents } from '../../../../src/reload/codec/index.js';
import { CertificateSecurity } from '../../../../src/reload/security/index.js';
import { enrolledIdentity, makeCa, nodeId, policy, selfSigned, storeFor } from './security-fixtures.js';

const header = { overlay: 7, configurationSequence: 0, version: 10, ttl: 100, fragment: { ...UNFRAGMENTED }, length: 0, transactionId: 99n, maxResponseLength: 0, viaList: [], destinationList: [], options: [] };

test('CertificateSecurity: the OverlaySecurity of a real peer', async () => {
  const alice = await selfSigned('alice@x', 51);
  const bob = await selfSigned('bob@x', 52);
  const p = policy({ selfSignedPermitted: true });
  const aSec = new CertificateSecurity(alice, storeFor(p));
  const bSec = new CertificateSecurity(bob, storeFor(p));
  const contents = encodeMessageContents({ messageCode: 0x17, body: new Uint8Array([1, 2]), extensions: [] });
  const block = aSec.sign(header, contents);
  const v = bSec.verify(header, contents, block);
  assert.deepEqual(v, { ok: true, signer: { userName: 'alice@x', nodeIds: [alice.certificate.nodeIds[0]] } });
  const bad = bSec.verify({ ...header, transactionId: 100n }, contents, block);
  assert.ok(!bad.ok && /SIGNATURE_INVALID/.test(bad.info));
  // link peers: Node-IDs of a trusted certificate, an Error otherwise
  assert.deepEqual(bSec.identifyPeer(alice.certificate.der), alice.certificate.nodeIds);
  assert.ok(bSec.identifyPeer(undefined) instanceof Error);
  const ca = await makeCa();
  const enrolled = await enrolledIdentity(ca, [nodeId(1)]);
  assert.ok(bSec.identifyPeer(enrolled.certificate.der) instanceof Error);
  // extra certificates travel in the bag
  const withExtra = aSec.sign(header, contents, [bob.certificate.der, alice.certificate.der]);
  assert.equal(withExtra.certificates.length, 2);
});
