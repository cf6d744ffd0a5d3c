import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { UNFRAGMENTED, encodeMessageContents } from '../../../../src/reload/codec/index.js';
import type { StoredData } from '../../../../src/reload/codec/index.js';
import {
  CERTIFICATE_BY_NODE_KIND,
  CERTIFICATE_BY_USER_KIND,
  CertificateResolver,
  CertificateSecurity,
  certificateByNodeResourceId,
  certificateByUserResourceId,
  signStoredData,
  verifyStoredData,
} from '../../../../src/reload/security/index.js';
import type { CertificateLookupPlace, NodeIdentity } from '../../../../src/reload/security/index.js';
import { enrolledIdentity, makeCa, nodeId, policy, selfSigned, storeFor } from './security-fixtures.js';

const RESOURCE = new Uint8Array(16).fill(0x5a);
const KIND = 100;

function signedValue(who: NodeIdentity, text = 'hello'): StoredData {
  return signStoredData(who, { resourceId: RESOURCE, kind: KIND, storageTime: 1n, lifetime: 60, value: { model: 'single', value: { exists: true, value: new TextEncoder().encode(text) } } });
}

/** A CERTIFICATE_BY_* array entry holding `der` (its own signature is not what the resolver checks). */
function certificateEntry(owner: NodeIdentity, der: Uint8Array): StoredData {
  return signStoredData(owner, { resourceId: RESOURCE, kind: CERTIFICATE_BY_USER_KIND, storageTime: 1n, lifetime: 60, value: { model: 'array', index: 0, value: { exists: true, value: der } } });
}

async function setup() {
  const ca = await makeCa(11);
  const alice = await enrolledIdentity(ca, [nodeId(0xa1)], 'alice@test.p2psip', 12);
  const mallory = await enrolledIdentity(ca, [nodeId(0x66)], 'mallory@test.p2psip', 13);
  const rogueCa = await makeCa(14);
  // same user and Node-ID as Alice, issued by a CA the overlay does not trust
  const rogue = await enrolledIdentity(rogueCa, [nodeId(0xa1)], 'alice@test.p2psip', 15);
  const store = storeFor(policy({ rootCertificates: [ca.certificate] }));
  const clock = new ManualClock(0);
  return { ca, alice, mallory, rogue, store, clock };
}

const placesOf = (user: string): CertificateLookupPlace[] => [{ kind: CERTIFICATE_BY_USER_KIND, resourceId: certificateByUserResourceId(user) }];

describe('CertificateResolver (RFC 6940 §8: certificates found through the certificate store usage)', () => {
  test('a StoredData whose signer is unknown verifies after the lookup; the certificate is cached', async () => {
    const { alice, store, clock } = await setup();
    const data = signedValue(alice);
    const before = verifyStoredData(data, RESOURCE, KIND, store);
    assert.ok(!before.ok && before.error.code === 'CERT_UNKNOWN');
    const asked: CertificateLookupPlace[] = [];
    const resolver = new CertificateResolver({
      store,
      clock,
      fetchCertificates: async (kind, resourceId) => {
        asked.push({ kind, resourceId });
        return [certificateEntry(alice, alice.certificate.der)];
      },
    });
    const r = await resolver.resolve(data.signature.identity, placesOf('alice@test.p2psip'));
    assert.ok(r.ok);
    assert.equal(r.signer.userName, 'alice@test.p2psip');
    assert.equal(asked.length, 1);
    assert.deepEqual(asked[0], placesOf('alice@test.p2psip')[0]);
    const after = verifyStoredData(data, RESOURCE, KIND, store);
    assert.ok(after.ok);
    // known now: no second fetch
    assert.ok((await resolver.resolve(data.signature.identity, placesOf('alice@test.p2psip'))).ok);
    assert.equal(asked.length, 1);
    assert.equal(resolver.stats.found, 1);
  });

  test('a fetched certificate of someone else (hash mismatch) or of an untrusted CA is refused', async () => {
    const { alice, mallory, rogue, store, clock } = await setup();
    const data = signedValue(alice);
    // Mallory's (trusted) certificate stored under Alice's name: its hash is not the SignerIdentity's
    const r1 = await new CertificateResolver({ store, clock, fetchCertificates: async () => [certificateEntry(mallory, mallory.certificate.der)] }).resolve(data.signature.identity, placesOf('alice@test.p2psip'));
    assert.ok(!r1.ok && r1.error.code === 'CERT_UNKNOWN');
    assert.ok(!verifyStoredData(data, RESOURCE, KIND, store).ok);
    // a value signed by a rogue "alice": the hash matches the fetched certificate, the trust policy refuses it
    const forged = signedValue(rogue, 'mine now');
    const resolver = new CertificateResolver({ store, clock, fetchCertificates: async () => [certificateEntry(rogue, rogue.certificate.der)] });
    const r2 = await resolver.resolve(forged.signature.identity, placesOf('alice@test.p2psip'));
    assert.ok(!r2.ok);
    assert.notEqual(r2.error.code, 'CERT_UNKNOWN', 'the refusal says why (trust), not merely unknown');
    assert.equal(resolver.stats.refused, 1);
    assert.ok(!verifyStoredData(forged, RESOURCE, KIND, store).ok);
    assert.equal(store.get(rogue.certificate.hash), undefined, 'the rogue certificate is not cached');
    // garbage bytes as a certificate value: refused, never a throw
    const g = await new CertificateResolver({ store, clock, fetchCertificates: async () => [certificateEntry(alice, new Uint8Array([0x30, 0x03, 1, 2, 3]))] }).resolve(data.signature.identity, placesOf('alice@test.p2psip'));
    assert.ok(!g.ok);
  });

  test('no lookup storm: concurrent callers share one lookup, misses are cached, running lookups are capped, a lookup times out', async () => {
    const { ca, alice, store, clock } = await setup();
    const data = signedValue(alice);
    let fetches = 0;
    let release: (v: StoredData[]) => void = () => undefined;
    const resolver = new CertificateResolver(
      {
        store,
        clock,
        fetchCertificates: () => {
          fetches++;
          return new Promise<StoredData[]>((r) => (release = r));
        },
      },
      { negativeTtlMs: 1000, maxInFlight: 3, timeoutMs: 5000 },
    );
    const many = Array.from({ length: 50 }, () => resolver.resolve(data.signature.identity, placesOf('alice@test.p2psip')));
    await Promise.resolve();
    await Promise.resolve();
    assert.equal(fetches, 1, 'one fetch for 50 verifications of the same signer');
    assert.equal(resolver.stats.coalesced, 49);
    release([]); // nothing found
    const results = await Promise.all(many);
    assert.ok(results.every((r) => !r.ok));
    // negative cache: no fetch until it expires
    await resolver.resolve(data.signature.identity, placesOf('alice@test.p2psip'));
    assert.equal(fetches, 1);
    assert.equal(resolver.stats.negativeHits, 1);
    clock.advance(1001);
    const again = resolver.resolve(data.signature.identity, placesOf('alice@test.p2psip'));
    await Promise.resolve();
    await Promise.resolve();
    assert.equal(fetches, 2);
    release([certificateEntry(alice, alice.certificate.der)]);
    assert.ok((await again).ok);

    // distinct unknown signers: at most maxInFlight lookups at once, the rest refused at once
    const strangers = await Promise.all(Array.from({ length: 6 }, (_, i) => enrolledIdentity(ca, [nodeId(0x10 + i)], `s${i}@test.p2psip`, 40 + i)));
    const before = fetches;
    const pending = strangers.map((s) => resolver.resolve(signedValue(s).signature.identity, placesOf(`s${strangers.indexOf(s)}@test.p2psip`)));
    await Promise.resolve();
    await Promise.resolve();
    assert.equal(resolver.running, 3);
    assert.equal(fetches - before, 3);
    assert.equal(resolver.stats.busy, 3);
    // the fetches never answer: each lookup gives up after timeoutMs (ManualClock)
    clock.advance(5000);
    const done = await Promise.all(pending);
    assert.ok(done.every((r) => !r.ok));
    assert.equal(resolver.stats.timeouts, 3);
    assert.equal(resolver.running, 0);
  });

  test('an unknown message signer: the message is refused, its certificate looked up at CERTIFICATE_BY_NODE of the originator, later messages verify', async () => {
    const { alice, store, clock } = await setup();
    const asked: CertificateLookupPlace[] = [];
    const resolver = new CertificateResolver({
      store,
      clock,
      fetchCertificates: async (kind, resourceId) => {
        asked.push({ kind, resourceId });
        return [certificateEntry(alice, alice.certificate.der)];
      },
    });
    const ca = await makeCa(11);
    const bob = await enrolledIdentity(ca, [nodeId(0xb0)], 'bob@test.p2psip', 16);
    const bobSec = new CertificateSecurity(bob, store, { resolver });
    const aliceSec = new CertificateSecurity(alice, storeFor(policy({ rootCertificates: [ca.certificate] })), { includeCertificate: false });
    const header = {
      overlay: 7, configurationSequence: 0, version: 10, ttl: 100, fragment: { ...UNFRAGMENTED }, length: 0, transactionId: 5n, maxResponseLength: 0,
      viaList: [{ type: 'node' as const, nodeId: nodeId(0xa1) }], destinationList: [], options: [],
    };
    const contents = encodeMessageContents({ messageCode: 0x17, body: new Uint8Array([1]), extensions: [] });
    const block = aliceSec.sign(header, contents);
    assert.equal(block.certificates.length, 0);
    const first = bobSec.verify(header, contents, block);
    assert.ok(!first.ok && /CERT_UNKNOWN.*certificate store usage/.test(first.info));
    await Promise.resolve();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(asked, [{ kind: CERTIFICATE_BY_NODE_KIND, resourceId: certificateByNodeResourceId(nodeId(0xa1)) }]);
    const second = bobSec.verify(header, contents, block);
    assert.ok(second.ok);
    assert.equal(second.signer?.userName, 'alice@test.p2psip');
    // a message with no Via List (from a neighbour, whose certificate TLS gave us) triggers no lookup
    const stranger = await enrolledIdentity(ca, [nodeId(0x77)], 'carol@test.p2psip', 17);
    const carolSec = new CertificateSecurity(stranger, storeFor(policy({ rootCertificates: [ca.certificate] })), { includeCertificate: false });
    const direct = { ...header, viaList: [] };
    assert.ok(!bobSec.verify(direct, contents, carolSec.sign(direct, contents)).ok);
    await new Promise((r) => setImmediate(r));
    assert.equal(asked.length, 1);
  });

  test('self-signed overlay: a fetched self-signed certificate is accepted when the self-signed rule holds, refused when the overlay forbids it', async () => {
    const carol = await selfSigned('carol@test.p2psip', 31);
    const data = signedValue(carol);
    const clock = new ManualClock(0);
    const fetchCertificates = async (): Promise<StoredData[]> => [certificateEntry(carol, carol.certificate.der)];
    const open = storeFor(policy({ selfSignedPermitted: true }));
    const r = await new CertificateResolver({ store: open, clock, fetchCertificates }).resolve(data.signature.identity, placesOf('carol@test.p2psip'));
    assert.ok(r.ok);
    assert.ok(verifyStoredData(data, RESOURCE, KIND, open).ok);
    const closed = storeFor(policy({ rootCertificates: [(await makeCa(32)).certificate] }));
    const refused = await new CertificateResolver({ store: closed, clock, fetchCertificates }).resolve(data.signature.identity, placesOf('carol@test.p2psip'));
    assert.ok(!refused.ok && refused.error.code !== 'CERT_UNKNOWN');
  });
});
