import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { enrollNode, fetchOverlayConfiguration, requestCertificate, EnrollmentClientError } from '../../src/platform/enrollment-client.js';
import { createCertificateRequest, generateNodeKeyPair, readNodeCertificate } from '../../src/reload/security/index.js';
import { startEnrollServerProcess } from './helpers/enroll-server-process.js';
import type { EnrollServerProcess } from './helpers/enroll-server-process.js';

const OVERLAY = 'enrolled.test';

describe('p2psip enroll-server (RFC 6940 §11.1–§11.3) in a child process', () => {
  let dir: string;
  let server: EnrollServerProcess;
  let caPem: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'p2psip-enroll-'));
    await writeFile(join(dir, 'users.txt'), '# test accounts\nalice:wonderland\nbob@corp.test:builder\n');
    server = await startEnrollServerProcess([
      '--overlay', OVERLAY,
      '--listen', '127.0.0.1:0',
      '--data-dir', join(dir, 'data'),
      '--users', join(dir, 'users.txt'),
      '--bootstrap', '127.0.0.1:6084',
      '--key-algorithm', 'ecdsa-p256',
    ]);
    caPem = await readFile(join(dir, 'data', 'ca.pem'), 'utf8');
  });

  after(async () => {
    const code = await server?.stop();
    assert.equal(code, 0, server?.output());
    await rm(dir, { recursive: true, force: true });
  });

  test('serves a signed configuration document that verifies against the overlay CA', async () => {
    assert.match(server.configUrl, /^https:\/\/127\.0\.0\.1:\d+\/\.well-known\/reload-config$/);
    const fetched = await fetchOverlayConfiguration(server.configUrl, { ca: caPem, overlay: OVERLAY, now: Date.now() });
    assert.equal(fetched.config.instanceName, OVERLAY);
    assert.equal(fetched.config.rootCertificates.length, 1);
    assert.deepEqual(fetched.config.enrollmentServers, [`${server.url}/enroll`]);
    assert.deepEqual(fetched.config.bootstrapNodes, [{ address: '127.0.0.1', port: 6084 }]);
    assert.equal(fetched.config.selfSignedPermitted, false);
    assert.ok(fetched.signer !== undefined);
    assert.equal((await stat(join(dir, 'data', 'ca.key'))).mode & 0o777, 0o600);
  });

  test('enrolls with good credentials: a certificate with a Node-ID SAN and the user name', async () => {
    const { config } = await fetchOverlayConfiguration(server.configUrl, { ca: caPem, overlay: OVERLAY, now: Date.now() });
    const identity = await enrollNode({ config, username: 'alice', password: 'wonderland', ca: caPem, now: Date.now(), algorithm: 'ecdsa-p256' });
    assert.equal(identity.certificate.userName, `alice@${OVERLAY}`);
    assert.equal(identity.certificate.nodeIds.length, 1);
    assert.equal(identity.certificate.nodeIds[0]!.length, 16);
    assert.match(identity.certificate.uris[0]!, new RegExp(`^reload://0110[0-9a-f]{32}@${OVERLAY.replace('.', '\\.')}/$`));
    // two Node-IDs for bob, whose account has its own domain
    const csr = await createCertificateRequest(generateNodeKeyPair('ecdsa-p256'));
    const der = await requestCertificate(`${server.url}/enroll`, { ca: caPem, username: 'bob@corp.test', password: 'builder', csr, nodeIds: 2 });
    const bob = readNodeCertificate(der);
    assert.equal(bob.userName, 'bob@corp.test');
    assert.equal(bob.nodeIds.length, 2);
    assert.match(server.output(), /enrollment issued: alice/);
  });

  test('a bad password is refused (403 failed_authentication)', async () => {
    const csr = await createCertificateRequest(generateNodeKeyPair('ecdsa-p256'));
    await assert.rejects(
      requestCertificate(`${server.url}/enroll`, { ca: caPem, username: 'alice', password: 'looking-glass', csr }),
      (e: unknown) => e instanceof EnrollmentClientError && e.status === 403 && e.token === 'failed_authentication',
    );
  });

  test('a bad CSR is refused (403 bad_CSR)', async () => {
    await assert.rejects(
      requestCertificate(`${server.url}/enroll`, { ca: caPem, username: 'alice', password: 'wonderland', csr: new TextEncoder().encode('not a CSR') }),
      (e: unknown) => e instanceof EnrollmentClientError && e.status === 403 && e.token === 'bad_CSR',
    );
  });
});

test('enroll-server usage errors exit 2', async () => {
  await assert.rejects(startEnrollServerProcess(['--listen', '127.0.0.1:0', '--users', '/nonexistent/users.txt', '--data-dir', join(tmpdir(), 'p2psip-never')], 20_000), /exited with 2/);
});
