import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { SeededRandom } from '../../../../src/lib/random.js';
import {
  EnrollmentAuthority,
  EnrollmentError,
  createCertificateRequest,
  generateNodeKeyPair,
  parseUserTable,
  readNodeCertificate,
} from '../../../../src/reload/security/index.js';
import type { EnrollmentRefusal, NodeKeyPair } from '../../../../src/reload/security/index.js';
import { NOW, OVERLAY, makeCa, policy, storeFor } from './security-fixtures.js';

async function setup() {
  const ca = await makeCa();
  const users = parseUserTable('# accounts\nalice:secret\nbob@corp.example:hunter2\n', new SeededRandom(1));
  const authority = new EnrollmentAuthority({ overlay: OVERLAY, ca, users, random: new SeededRandom(2), maxNodeIdsPerUser: 2 });
  return { ca, authority };
}

async function refused(p: Promise<unknown>, token: EnrollmentRefusal): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof EnrollmentError && e.token === token && e.status === 403);
}

describe('EnrollmentAuthority (RFC 6940 §11.3)', () => {
  test('issues a CA-signed certificate with random Node-IDs and the account user name', async () => {
    const { ca, authority } = await setup();
    const keys = generateNodeKeyPair('ecdsa-p256');
    const r = await authority.enroll({ username: 'alice', password: 'secret', csr: await createCertificateRequest(keys) }, NOW);
    const cert = readNodeCertificate(r.certificate);
    assert.equal(cert.userName, 'alice@test.p2psip');
    assert.equal(cert.nodeIds.length, 1);
    assert.deepEqual(cert.nodeIds, r.nodeIds);
    assert.equal(cert.subject, '');
    const store = storeFor(policy({ rootCertificates: [ca.certificate] }));
    assert.equal(store.trustsPeerCertificate(r.certificate), undefined, 'chains to the overlay root');
    // a returning user gets the same Node-ID; asking for two adds one
    const again = await authority.enroll({ username: 'alice', password: 'secret', csr: await createCertificateRequest(keys), nodeIds: 2 }, NOW);
    assert.deepEqual(again.nodeIds[0], r.nodeIds[0]);
    assert.equal(again.nodeIds.length, 2);
    assert.deepEqual([...authority.assignments.keys()], ['alice']);
  });

  test('an account with a domain keeps it; a CSR may request exactly that name', async () => {
    const { authority } = await setup();
    const keys = generateNodeKeyPair('ecdsa-p256');
    const r = await authority.enroll({ username: 'bob@corp.example', password: 'hunter2', csr: await createCertificateRequest(keys, 'bob@corp.example') }, NOW);
    assert.equal(r.userName, 'bob@corp.example');
    await refused(authority.enroll({ username: 'bob@corp.example', password: 'hunter2', csr: await createCertificateRequest(keys, 'ceo@corp.example') }, NOW), 'username_not_available');
  });

  test('refuses wrong passwords and unknown accounts', async () => {
    const { authority } = await setup();
    const csr = await createCertificateRequest(generateNodeKeyPair('ecdsa-p256'));
    await refused(authority.enroll({ username: 'alice', password: 'wrong', csr }, NOW), 'failed_authentication');
    await refused(authority.enroll({ username: 'nobody', password: 'secret', csr }, NOW), 'failed_authentication');
    await refused(authority.enroll({ username: 'alice', password: '', csr }, NOW), 'failed_authentication');
  });

  test('refuses bad CSRs: garbage, broken signature, weak key', async () => {
    const { authority } = await setup();
    const auth = { username: 'alice', password: 'secret' };
    await refused(authority.enroll({ ...auth, csr: new Uint8Array([0x30, 0x01, 0x00]) }, NOW), 'bad_CSR');
    await refused(authority.enroll({ ...auth, csr: new Uint8Array(0) }, NOW), 'bad_CSR');
    await refused(authority.enroll({ ...auth, csr: new Uint8Array(20000) }, NOW), 'bad_CSR');
    const csr = await createCertificateRequest(generateNodeKeyPair('ecdsa-p256'));
    const broken = new Uint8Array(csr);
    broken[broken.length - 5]! ^= 0xff; // inside the signature
    await refused(authority.enroll({ ...auth, csr: broken }, NOW), 'bad_CSR');
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const weakPair = { algorithm: 'rsa-2048', privateKey: weak.privateKey, publicKey: weak.publicKey } as NodeKeyPair;
    await refused(authority.enroll({ ...auth, csr: await createCertificateRequest(weakPair) }, NOW), 'bad_CSR');
  });

  test('refuses Node-ID counts outside 1..max', async () => {
    const { authority } = await setup();
    const csr = await createCertificateRequest(generateNodeKeyPair('ecdsa-p256'));
    await refused(authority.enroll({ username: 'alice', password: 'secret', csr, nodeIds: 3 }, NOW), 'Node-IDs_not_available');
    await refused(authority.enroll({ username: 'alice', password: 'secret', csr, nodeIds: 0 }, NOW), 'Node-IDs_not_available');
  });
});
