import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeededRandom } from '../../../src/lib/random.js';
import { defaultLanConfiguration, serializeOverlayConfiguration, signOverlayConfiguration } from '../../../src/reload/config/index.js';
import {
  EnrollmentAuthority,
  certificateToPem,
  createOverlayCa,
  issueCaSignedIdentity,
  issueTlsServerCertificate,
  parseUserTable,
  privateKeyToPem,
  selfSignedRuleViolation,
  toHex,
} from '../../../src/reload/security/index.js';
import { startEnrollmentServer } from '../../../src/platform/enrollment-server.js';
import type { RunningEnrollmentServer } from '../../../src/platform/enrollment-server.js';
import { prepareOverlayIdentity } from '../../../src/platform/enrollment-bootstrap.js';

const random = new SeededRandom(5);

describe('prepareOverlayIdentity (RFC 6940 §11)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'p2psip-prep-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  test('zero-config LAN: a self-signed identity made once, then loaded', async () => {
    const dataDir = join(dir, 'lan');
    const a = await prepareOverlayIdentity({ dataDir, overlay: 'lan.test', now: Date.now(), random, algorithm: 'ecdsa-p256' });
    assert.equal(a.source, 'created');
    assert.equal(a.config.selfSignedPermitted, true);
    assert.equal(selfSignedRuleViolation(a.identity.certificate, 'sha256'), undefined);
    assert.equal(a.identity.certificate.userName, 'peer@lan.test');
    const b = await prepareOverlayIdentity({ dataDir, overlay: 'lan.test', now: Date.now(), random, algorithm: 'ecdsa-p256' });
    assert.equal(b.source, 'loaded');
    assert.deepEqual(b.identity.certificate.nodeIds, a.identity.certificate.nodeIds);
    // another overlay name in the same directory: a new identity for it
    const c = await prepareOverlayIdentity({ dataDir, overlay: 'other.test', now: Date.now(), random, algorithm: 'ecdsa-p256' });
    assert.equal(c.source, 'created');
  });

  test('a configuration file; the overlay name must match', async () => {
    const file = join(dir, 'lan.xml');
    await writeFile(file, serializeOverlayConfiguration({ ...defaultLanConfiguration('file.test'), selfSignedDigest: 'sha1' }));
    const r = await prepareOverlayIdentity({ dataDir: join(dir, 'file'), overlay: 'file.test', config: file, now: Date.now(), random, algorithm: 'ecdsa-p256' });
    assert.equal(r.config.selfSignedDigest, 'sha1');
    assert.equal(selfSignedRuleViolation(r.identity.certificate, 'sha1'), undefined);
    assert.ok(r.configXml?.includes('file.test'));
    await assert.rejects(prepareOverlayIdentity({ dataDir: join(dir, 'file2'), overlay: 'x.test', config: file, now: Date.now(), random }), /no configuration for instance-name x.test/);
    await assert.rejects(prepareOverlayIdentity({ dataDir: join(dir, 'file3'), overlay: 'x.test', config: 'http://127.0.0.1/', now: Date.now(), random }), /only https/);
  });

  describe('an enrolled overlay over https', () => {
    let server: RunningEnrollmentServer;
    let caPem: string;
    let url: string;
    before(async () => {
      const now = Date.now();
      const ca = await createOverlayCa({ overlay: 'corp.test', now, random, algorithm: 'ecdsa-p256' });
      caPem = certificateToPem(ca.certificate);
      const tls = await issueTlsServerCertificate(ca, { hosts: ['127.0.0.1'], now, random, algorithm: 'ecdsa-p256' });
      const signerId = random.bytes(16);
      const signer = await issueCaSignedIdentity(ca, { overlay: 'corp.test', userName: 'configuration@corp.test', nodeIds: [signerId], now, random, algorithm: 'ecdsa-p256' });
      let doc = '';
      server = await startEnrollmentServer({
        host: '127.0.0.1',
        port: 0,
        tlsCertificate: certificateToPem(tls.certificate),
        tlsKey: privateKeyToPem(tls.keys.privateKey),
        authority: new EnrollmentAuthority({ overlay: 'corp.test', ca, users: parseUserTable('carol:pw', random), random }),
        configurationDocument: () => doc,
        now: () => Date.now(),
      });
      url = `https://127.0.0.1:${server.port}`;
      doc = signOverlayConfiguration(
        {
          ...defaultLanConfiguration('corp.test'),
          selfSignedPermitted: false,
          rootCertificates: [ca.certificate],
          enrollmentServers: [`${url}/enroll`],
          configurationSigners: [toHex(signerId)],
          kindSigners: [toHex(signerId)],
        },
        signer,
      );
    });
    after(async () => server.close());

    test('enrolls once, keeps the certificate, loads it after', async () => {
      const dataDir = join(dir, 'corp');
      const opts = { dataDir, overlay: 'corp.test', config: `${url}/.well-known/reload-config`, ca: caPem, random, algorithm: 'ecdsa-p256' as const };
      await assert.rejects(prepareOverlayIdentity({ ...opts, now: Date.now() }), (e: unknown) => (e as { code?: string }).code === 'ENROLL_CREDENTIALS');
      const a = await prepareOverlayIdentity({ ...opts, now: Date.now(), credentials: { username: 'carol', password: 'pw' } });
      assert.equal(a.source, 'enrolled');
      assert.equal(a.identity.certificate.userName, 'carol@corp.test');
      const b = await prepareOverlayIdentity({ ...opts, now: Date.now() });
      assert.equal(b.source, 'loaded');
      assert.deepEqual(b.identity.certificate.nodeIds, a.identity.certificate.nodeIds);
      await assert.rejects(
        prepareOverlayIdentity({ ...opts, dataDir: join(dir, 'corp2'), now: Date.now(), credentials: { username: 'carol', password: 'bad' } }),
        /failed_authentication/,
      );
    });
  });
});
