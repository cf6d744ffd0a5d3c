import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { UNFRAGMENTED, decodeReloadMessage, encodeReloadMessage } from '../../../../src/reload/codec/index.js';
import type { ReloadMessage, SecurityBlock } from '../../../../src/reload/codec/index.js';
import { signMessage, verifyMessage } from '../../../../src/reload/security/index.js';
import type { NodeIdentity } from '../../../../src/reload/security/index.js';
import { enrolledIdentity, makeCa, nodeId, policy, selfSigned, storeFor } from './security-fixtures.js';

function message(identity: NodeIdentity, body = new Uint8Array([1, 2, 3]), transactionId = 42n, opts: Parameters<typeof signMessage>[3] = {}): ReloadMessage {
  const header = {
    overlay: 0x1234abcd,
    configurationSequence: 1,
    version: 10,
    ttl: 100,
    fragment: { ...UNFRAGMENTED },
    length: 0,
    transactionId,
    maxResponseLength: 0,
    viaList: [],
    destinationList: [{ type: 'node' as const, nodeId: nodeId(9) }],
    options: [],
  };
  const contents = { messageCode: 0x17, body, extensions: [] };
  return { header, contents, securityBlock: signMessage(identity, header, contents, opts) };
}

describe('message signatures (RFC 6940 §6.3.4)', () => {
  test('signed message verifies after encode/decode; the signer identity comes back', async () => {
    const alice = await selfSigned('alice@x', 21);
    const store = storeFor(policy({ selfSignedPermitted: true }));
    const decoded = decodeReloadMessage(encodeReloadMessage(message(alice)));
    assert.ok(decoded.ok);
    const r = verifyMessage(decoded.value, store, { expectedNodeId: alice.certificate.nodeIds[0] });
    assert.ok(r.ok, r.ok ? '' : r.error.message);
    assert.equal(r.signer.userName, 'alice@x');
    assert.deepEqual(r.signer.nodeId, alice.certificate.nodeIds[0]);
    assert.equal(decoded.value.securityBlock.signature.identity.type, 'cert_hash');
    assert.equal(store.size, 1, 'the bag certificate is cached');
    // later messages may omit the certificate: the store has it
    const noBag = message(alice, new Uint8Array([5]), 43n, { includeCertificate: false });
    assert.equal(noBag.securityBlock.certificates.length, 0);
    assert.ok(verifyMessage(noBag, store).ok);
  });

  test('RSA 2048 with SHA-256 (mandatory algorithm)', async () => {
    const ca = await makeCa();
    const { createSelfSignedIdentity } = await import('../../../../src/reload/security/index.js');
    const { SeededRandom } = await import('../../../../src/lib/random.js');
    const rsa = await createSelfSignedIdentity({ overlay: 'test.p2psip', userName: 'rsa@x', now: Date.UTC(2026, 0, 15), random: new SeededRandom(3) });
    const m = message(rsa);
    assert.deepEqual(m.securityBlock.signature.algorithm, { hash: 4, signature: 1 });
    assert.ok(verifyMessage(m, storeFor(policy({ selfSignedPermitted: true, rootCertificates: [ca.certificate] }))).ok);
  });

  test('tampered contents, transaction id or overlay are refused', async () => {
    const alice = await selfSigned('alice@x', 21);
    const store = storeFor(policy({ selfSignedPermitted: true }));
    const m = message(alice);
    const body = { ...m, contents: { ...m.contents, body: new Uint8Array([1, 2, 4]) } };
    const tx = { ...m, header: { ...m.header, transactionId: 43n } };
    const ov = { ...m, header: { ...m.header, overlay: 1 } };
    const code = { ...m, contents: { ...m.contents, messageCode: 0x18 } };
    for (const bad of [body, tx, ov, code]) {
      const r = verifyMessage(bad, store);
      assert.ok(!r.ok && r.error.code === 'SIGNATURE_INVALID');
    }
  });

  test('straight from the authenticated link peer that signed it: trust is checked, the signature bytes are not; any other signer is verified in full', async () => {
    const alice = await selfSigned('alice@x', 21);
    const bob = await selfSigned('bob@x', 22);
    const store = storeFor(policy({ selfSignedPermitted: true }));
    const m = message(alice);
    // a message whose signature does not verify (its body changed after signing)
    const bad = { ...m, contents: { ...m.contents, body: new Uint8Array([1, 2, 4]) } };
    assert.ok(!verifyMessage(bad, store).ok, 'without a link peer: verified, refused');
    const fromAlice = verifyMessage(bad, store, { linkPeer: alice.certificate.nodeIds[0]! });
    assert.ok(fromAlice.ok, 'over alice\'s own authenticated link: the link vouches for the bytes');
    assert.equal(fromAlice.signer.userName, 'alice@x');
    const viaBob = verifyMessage(bad, store, { linkPeer: bob.certificate.nodeIds[0]! });
    assert.ok(!viaBob.ok && viaBob.error.code === 'SIGNATURE_INVALID', 'bob passing on alice\'s message: alice\'s signature is checked');
    // trust and validity are checked as always
    const untrusted = verifyMessage(bad, storeFor(policy()), { linkPeer: alice.certificate.nodeIds[0]! });
    assert.ok(!untrusted.ok, 'a certificate the overlay does not trust is refused whatever the link');
  });

  test('a replayed signature on other contents is refused', async () => {
    const alice = await selfSigned('alice@x', 21);
    const store = storeFor(policy({ selfSignedPermitted: true }));
    const original = message(alice, new Uint8Array([1]), 1n);
    const other = message(alice, new Uint8Array([2]), 2n);
    const replay: ReloadMessage = { ...other, securityBlock: original.securityBlock };
    const r = verifyMessage(replay, store);
    assert.ok(!r.ok && r.error.code === 'SIGNATURE_INVALID');
  });

  test('signed with another key than the certificate named: refused', async () => {
    const alice = await selfSigned('alice@x', 21);
    const mallory = await selfSigned('mallory@x', 22);
    const store = storeFor(policy({ selfSignedPermitted: true }));
    const m = message(mallory);
    // keep Mallory's signature value, claim Alice's certificate
    const claimed = message(alice);
    const forged: SecurityBlock = { certificates: claimed.securityBlock.certificates, signature: { ...m.securityBlock.signature, identity: claimed.securityBlock.signature.identity } };
    const r = verifyMessage({ ...m, securityBlock: forged }, store);
    assert.ok(!r.ok && r.error.code === 'SIGNATURE_INVALID');
  });

  test('unknown certificate, untrusted certificate, wrong sender Node-ID', async () => {
    const alice = await selfSigned('alice@x', 21);
    const unknown = verifyMessage(message(alice, undefined, 1n, { includeCertificate: false }), storeFor(policy({ selfSignedPermitted: true })));
    assert.ok(!unknown.ok && unknown.error.code === 'CERT_UNKNOWN');
    const untrusted = verifyMessage(message(alice), storeFor(policy()));
    assert.ok(!untrusted.ok && untrusted.error.code === 'CERT_UNTRUSTED');
    const wrong = verifyMessage(message(alice), storeFor(policy({ selfSignedPermitted: true })), { expectedNodeId: nodeId(1) });
    assert.ok(!wrong.ok && wrong.error.code === 'SIGNER_MISMATCH');
  });

  test('several Node-IDs: cert_hash_node_id names the signing one', async () => {
    const ca = await makeCa();
    const multi = await enrolledIdentity(ca, [nodeId(1), nodeId(2)]);
    const store = storeFor(policy({ rootCertificates: [ca.certificate] }));
    const m = message(multi, undefined, 7n, { nodeId: nodeId(2) });
    assert.equal(m.securityBlock.signature.identity.type, 'cert_hash_node_id');
    const r = verifyMessage(m, store, { expectedNodeId: nodeId(2) });
    assert.ok(r.ok, r.ok ? '' : r.error.message);
    assert.deepEqual(r.signer.nodeId, nodeId(2));
    assert.throws(() => message(multi, undefined, 8n, { nodeId: nodeId(3) }), /not in the certificate/);
    // and again from the cache, without a bag
    assert.ok(verifyMessage(message(multi, undefined, 9n, { nodeId: nodeId(1), includeCertificate: false }), store, { expectedNodeId: nodeId(1) }).ok);
  });

  test('malformed structures are refusals, not throws', async () => {
    const alice = await selfSigned('alice@x', 21);
    const m = message(alice);
    const bad = { ...m, contents: { ...m.contents, messageCode: 0x1ffff } };
    const r = verifyMessage(bad, storeFor(policy({ selfSignedPermitted: true })));
    assert.ok(!r.ok);
    const badAlg = { ...m, securityBlock: { ...m.securityBlock, signature: { ...m.securityBlock.signature, algorithm: { hash: 2, signature: 3 } } } };
    const r2 = verifyMessage(badAlg, storeFor(policy({ selfSignedPermitted: true })));
    assert.ok(!r2.ok && r2.error.code === 'SIGNATURE_INVALID');
  });
});
