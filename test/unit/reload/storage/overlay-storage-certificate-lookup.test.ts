/**
 * OverlayStorage.fetch with the certificate store usage (RFC 6940 §8): a FetchAns whose bag lacks
 * the signer's certificate (an older peer, a certificate store that forgot it) verifies after the
 * certificate is fetched from CERTIFICATE_BY_* and checked against the trust policy. The overlay is a
 * scripted stand-in answering Fetch requests; the security objects are the real ones.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { MessageCode, decodeFetchReq, encodeFetchAns } from '../../../../src/reload/codec/index.js';
import type { StoredData } from '../../../../src/reload/codec/index.js';
import type { OverlayAnswer } from '../../../../src/reload/overlay/overlay-types.js';
import { CertificateResolver, signStoredData } from '../../../../src/reload/security/index.js';
import type { NodeIdentity } from '../../../../src/reload/security/index.js';
import { MemoryStorageBackend, OverlayStorage, StorageEngine, certificatePlaces, chordResourceId } from '../../../../src/reload/storage/index.js';
import type { KindDefinition, StorageHost } from '../../../../src/reload/storage/index.js';
import { certificateStorageCredentials } from '../../../../src/node/certificate-storage-credentials.js';
import { enrolledIdentity, makeCa, NOW, nodeId, policy, storeFor } from '../security/security-fixtures.js';

const KINDS: KindDefinition[] = [
  { id: 1, name: 'SIP-REGISTRATION', dataModel: 'dictionary', accessControl: 'USER-NODE-MATCH', maxCount: 8, maxSize: 1000 },
  { id: 3, name: 'CERTIFICATE_BY_NODE', dataModel: 'array', accessControl: 'NODE-MATCH', maxCount: 4, maxSize: 4000 },
  { id: 16, name: 'CERTIFICATE_BY_USER', dataModel: 'array', accessControl: 'USER-MATCH', maxCount: 4, maxSize: 4000 },
  { id: 100, name: 'PROFILE', dataModel: 'single', accessControl: 'USER-MATCH', maxCount: 1, maxSize: 1000 },
];
const kinds = (id: number): KindDefinition | undefined => KINDS.find((k) => k.id === id);
const hash16 = (b: Uint8Array): Uint8Array => chordResourceId(b, 16);
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const codec = { dataModelOf: (k: number) => kinds(k)?.dataModel };

/** Bob's peer over a scripted overlay: `held` answers Fetches by "kind/resource-hex". */
function bobPeer(bob: NodeIdentity, trust: ReturnType<typeof storeFor>, held: Map<string, StoredData[]>) {
  const clock = new ManualClock(0);
  const requests: string[] = [];
  const host = {
    codecOptions: () => ({ maxMessageSize: 1_000_000, nodeIdLength: 16 }),
    idBytes: bob.certificate.nodeIds[0]!,
    async requestResource(resource: Uint8Array, code: number, body: Uint8Array): Promise<OverlayAnswer> {
      assert.equal(code, MessageCode.fetch_req);
      const req = decodeFetchReq(body, codec);
      assert.ok(req.ok);
      const kind = req.value.specifiers[0]!.kind;
      requests.push(`${kind}/${hex(resource)}`);
      const values = held.get(`${kind}/${hex(resource)}`) ?? [];
      return { ok: true, code: MessageCode.fetch_ans, body: encodeFetchAns({ kindResponses: [{ kind, generation: 1n, values }] }, codec), responder: nodeId(0xee), hops: 2, signer: undefined };
    },
  } as unknown as StorageHost;
  let storage: OverlayStorage | undefined;
  const resolver = new CertificateResolver({ store: trust, clock, fetchCertificates: (kind, resourceId) => storage!.fetchUnverified(kind, resourceId) });
  const credentials = {
    ...certificateStorageCredentials(bob, trust),
    resolveSigner: async (data: StoredData, places: readonly { kind: number; resourceId: Uint8Array }[]) => (await resolver.resolve(data.signature.identity, places)).ok,
  };
  const engine = new StorageEngine({ clock, backend: new MemoryStorageBackend(), kinds, hashResourceName: hash16 });
  storage = new OverlayStorage(
    { host, engine, clock, wallClock: () => NOW, credentials, security: { withCertificates: (_c, send) => send() }, kinds, hashResourceName: hash16 },
    { resyncIntervalMs: 0 },
  );
  return { storage, requests, resolver };
}

async function world() {
  const ca = await makeCa(21);
  const alice = await enrolledIdentity(ca, [nodeId(0xa1)], 'alice@test.p2psip', 22);
  const bob = await enrolledIdentity(ca, [nodeId(0xb0)], 'bob@test.p2psip', 23);
  const mallory = await enrolledIdentity(ca, [nodeId(0x66)], 'mallory@test.p2psip', 24);
  const trust = storeFor(policy({ rootCertificates: [ca.certificate] }));
  const aliceRes = hash16(utf8('alice@test.p2psip'));
  const profile = signStoredData(alice, { resourceId: aliceRes, kind: 100, storageTime: 5n, lifetime: 600, value: { model: 'single', value: { exists: true, value: utf8('hello') } } });
  const certEntry = (owner: NodeIdentity, der: Uint8Array, resourceId: Uint8Array, kind: number): StoredData =>
    signStoredData(owner, { resourceId, kind, storageTime: 1n, lifetime: 600, value: { model: 'array', index: 0, value: { exists: true, value: der } } });
  return { alice, bob, mallory, trust, aliceRes, profile, certEntry };
}

describe('OverlayStorage.fetch finds an unknown signer through the certificate store usage (RFC 6940 §8)', () => {
  test('a value fetched without its certificate in the bag verifies after CERTIFICATE_BY_USER is fetched', async () => {
    const w = await world();
    const held = new Map([
      [`100/${hex(w.aliceRes)}`, [w.profile]],
      [`16/${hex(w.aliceRes)}`, [w.certEntry(w.alice, w.alice.certificate.der, w.aliceRes, 16)]],
    ]);
    const bob = bobPeer(w.bob, w.trust, held);
    const [f1, f2] = await Promise.all([bob.storage.fetch(100, { resourceName: 'alice@test.p2psip' }), bob.storage.fetch(100, { resourceName: 'alice@test.p2psip' })]);
    for (const f of [f1, f2]) {
      assert.ok(f.ok, f.ok ? '' : f.info);
      assert.deepEqual(f.rejected, []);
      assert.equal(f.values.length, 1);
      assert.equal(f.values[0]!.signer.userName, 'alice@test.p2psip');
    }
    // two Fetches of the value, ONE of the certificate (the lookup is shared), none afterwards (cached)
    assert.deepEqual(bob.requests.filter((r) => r.startsWith('16/')), [`16/${hex(w.aliceRes)}`]);
    const f3 = await bob.storage.fetch(100, { resourceName: 'alice@test.p2psip' });
    assert.ok(f3.ok && f3.values.length === 1);
    assert.equal(bob.requests.filter((r) => r.startsWith('16/')).length, 1);
  });

  test('a forged certificate under the user name is refused; the miss is cached (no lookup storm)', async () => {
    const w = await world();
    const held = new Map([
      [`100/${hex(w.aliceRes)}`, [w.profile]],
      // Mallory's own (trusted) certificate where Alice's should be: not the SignerIdentity's hash
      [`16/${hex(w.aliceRes)}`, [w.certEntry(w.mallory, w.mallory.certificate.der, w.aliceRes, 16)]],
    ]);
    const bob = bobPeer(w.bob, w.trust, held);
    for (let i = 0; i < 5; i++) {
      const f = await bob.storage.fetch(100, { resourceName: 'alice@test.p2psip' });
      assert.ok(f.ok);
      assert.equal(f.values.length, 0);
      assert.equal(f.rejected.length, 1);
      assert.match(f.rejected[0]!.info, /no certificate|CERT_UNKNOWN|SignerIdentity/);
    }
    assert.equal(bob.requests.filter((r) => r.startsWith('16/')).length, 1, 'one certificate fetch for five rejected values');
    assert.equal(bob.resolver.stats.negativeHits, 4);
  });

  test('where a signer\'s certificate is looked for, by the Kind\'s access policy', () => {
    const key = nodeId(0xa1);
    const r = new Uint8Array(16).fill(3);
    const has = (): boolean => true;
    assert.deepEqual(certificatePlaces(kinds(100)!, r, { model: 'single', value: { exists: true, value: utf8('x') } }, hash16, has), [{ kind: 16, resourceId: r }]);
    assert.deepEqual(certificatePlaces(kinds(3)!, r, { model: 'array', index: 0, value: { exists: true, value: utf8('x') } }, hash16, has), [{ kind: 3, resourceId: r }]);
    assert.deepEqual(certificatePlaces(kinds(1)!, r, { model: 'dictionary', key, value: { exists: true, value: utf8('x') } }, hash16, has), [
      { kind: 3, resourceId: hash16(key) },
      { kind: 16, resourceId: r },
    ]);
    const multiple: KindDefinition = { id: 2, name: 'TURN-SERVICE', dataModel: 'single', accessControl: 'NODE-MULTIPLE', maxCount: 1, maxSize: 10 };
    assert.deepEqual(certificatePlaces(multiple, r, { model: 'single', value: { exists: true, value: utf8('x') } }, hash16, has), []);
    // Kinds missing from the configuration are not asked for
    assert.deepEqual(certificatePlaces(kinds(100)!, r, { model: 'single', value: { exists: true, value: utf8('x') } }, hash16, (k) => k !== 16), []);
  });
});
