import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom } from '../../../src/lib/random.js';
import { defaultLanConfiguration, signOverlayConfiguration } from '../../../src/reload/config/index.js';
import type { OverlayConfiguration } from '../../../src/reload/config/index.js';
import {
  EnrollmentAuthority,
  certificateToPem,
  createCertificateRequest,
  createOverlayCa,
  generateNodeKeyPair,
  issueCaSignedIdentity,
  issueTlsServerCertificate,
  parseUserTable,
  privateKeyToPem,
  readNodeCertificate,
  toHex,
} from '../../../src/reload/security/index.js';
import type { OverlayCa } from '../../../src/reload/security/index.js';
import { encodeMultipartForm, parseMultipartForm } from '../../../src/platform/enrollment-form.js';
import { createEnrollmentHandler, startEnrollmentServer } from '../../../src/platform/enrollment-server.js';
import type { RunningEnrollmentServer } from '../../../src/platform/enrollment-server.js';
import { enrollNode, fetchOverlayConfiguration, requestCertificate, EnrollmentClientError } from '../../../src/platform/enrollment-client.js';

const OVERLAY = 'enroll.test';
const NOW = Date.now();

describe('multipart/form-data (RFC 2388, RFC 6940 §11.3)', () => {
  test('round trip, binary safe', () => {
    const bin = new Uint8Array([0, 13, 10, 45, 45, 255]);
    const f = encodeMultipartForm([{ name: 'username', value: 'alice' }, { name: 'csr', value: bin, contentType: 'application/pkcs10' }], 'XyZ');
    const m = parseMultipartForm(f.body, f.contentType);
    assert.equal(Buffer.from(m.get('username')!.value).toString(), 'alice');
    assert.deepEqual(m.get('csr')!.value, bin);
    assert.equal(m.get('csr')!.contentType, 'application/pkcs10');
  });
  test('refusals', () => {
    assert.throws(() => parseMultipartForm(new Uint8Array(0), 'text/plain'), /multipart\/form-data/);
    assert.throws(() => parseMultipartForm(Buffer.from('nothing'), 'multipart/form-data; boundary=b'), /no multipart boundary/);
    assert.throws(() => parseMultipartForm(Buffer.from('--b\r\nX: y\r\n\r\nv\r\n--b--'), 'multipart/form-data; boundary=b'), /without Content-Disposition/);
    const many = Array.from({ length: 20 }, (_, i) => ({ name: `f${i}`, value: 'x' }));
    const f = encodeMultipartForm(many, 'b');
    assert.throws(() => parseMultipartForm(f.body, f.contentType), /more than 16/);
  });
});

describe('enrollment server and client over loopback HTTPS', () => {
  let ca: OverlayCa;
  let server: RunningEnrollmentServer;
  let config: OverlayConfiguration;
  let caPem: string;
  let url: string;
  let doc = '';

  before(async () => {
    const random = new SeededRandom(7);
    ca = await createOverlayCa({ overlay: OVERLAY, now: NOW, random, algorithm: 'ecdsa-p256' });
    caPem = certificateToPem(ca.certificate);
    const tls = await issueTlsServerCertificate(ca, { hosts: ['127.0.0.1'], now: NOW, random, algorithm: 'ecdsa-p256' });
    const signerId = random.bytes(16);
    const signer = await issueCaSignedIdentity(ca, { overlay: OVERLAY, userName: `configuration@${OVERLAY}`, nodeIds: [signerId], now: NOW, random, algorithm: 'ecdsa-p256' });
    const authority = new EnrollmentAuthority({ overlay: OVERLAY, ca, users: parseUserTable('alice:secret', random), random });
    server = await startEnrollmentServer({
      host: '127.0.0.1',
      port: 0,
      tlsCertificate: certificateToPem(tls.certificate),
      tlsKey: privateKeyToPem(tls.keys.privateKey),
      authority,
      configurationDocument: () => doc,
      now: () => Date.now(),
      maxBodySize: 8192,
    });
    url = `https://127.0.0.1:${server.port}`;
    config = {
      ...defaultLanConfiguration(OVERLAY),
      selfSignedPermitted: false,
      rootCertificates: [ca.certificate],
      enrollmentServers: [`${url}/enroll`],
      configurationSigners: [toHex(signerId)],
      kindSigners: [toHex(signerId)],
    };
    doc = signOverlayConfiguration(config, signer);
  });
  after(async () => server.close());

  test('fetches and verifies the configuration; enrolls with good credentials', async () => {
    const fetched = await fetchOverlayConfiguration(`${url}/.well-known/reload-config`, { ca: caPem, overlay: OVERLAY, now: Date.now() });
    assert.deepEqual(fetched.config, config);
    assert.equal(fetched.signer?.userName, `configuration@${OVERLAY}`);
    const identity = await enrollNode({ config: fetched.config, username: 'alice', password: 'secret', ca: caPem, now: Date.now(), algorithm: 'ecdsa-p256' });
    assert.equal(identity.certificate.userName, `alice@${OVERLAY}`);
    assert.equal(identity.certificate.nodeIds.length, 1);
  });

  test('refusals come back with the RFC token', async () => {
    const csr = await createCertificateRequest(generateNodeKeyPair('ecdsa-p256'));
    await assert.rejects(requestCertificate(`${url}/enroll`, { ca: caPem, username: 'alice', password: 'nope', csr }), (e: unknown) => e instanceof EnrollmentClientError && e.status === 403 && e.token === 'failed_authentication');
    await assert.rejects(requestCertificate(`${url}/enroll`, { ca: caPem, username: 'alice', password: 'secret', csr: new Uint8Array([1, 2, 3]) }), (e: unknown) => e instanceof EnrollmentClientError && e.token === 'bad_CSR');
    await assert.rejects(requestCertificate(`${url}/enroll`, { ca: caPem, username: 'alice', password: 'secret', csr: new Uint8Array(9000) }), (e: unknown) => e instanceof EnrollmentClientError && e.status === 413);
  });

  test('the server certificate is checked: an unknown CA is refused', async () => {
    const other = await createOverlayCa({ overlay: OVERLAY, now: NOW, random: new SeededRandom(99), algorithm: 'ecdsa-p256' });
    await assert.rejects(fetchOverlayConfiguration(`${url}/.well-known/reload-config`, { ca: certificateToPem(other.certificate), now: Date.now() }), (e: unknown) => e instanceof EnrollmentClientError && e.code === 'ENROLL_UNREACHABLE');
    await assert.rejects(fetchOverlayConfiguration(`http://127.0.0.1:${server.port}/`, { now: Date.now() }), /require https/);
  });

  test('handler routes without a port', async () => {
    const h = createEnrollmentHandler({ authority: new EnrollmentAuthority({ overlay: OVERLAY, ca, users: new Map(), random: new SeededRandom(1) }), configurationDocument: () => '<overlay/>', now: () => NOW });
    const get = await h({ method: 'GET', path: '/.well-known/reload-config', contentType: undefined, accept: undefined, body: new Uint8Array(0) });
    assert.equal(get.status, 200);
    assert.equal(get.contentType, 'application/p2p-overlay+xml');
    assert.equal((await h({ method: 'GET', path: '/enroll', contentType: undefined, accept: undefined, body: new Uint8Array(0) })).status, 405);
    assert.equal((await h({ method: 'GET', path: '/x', contentType: undefined, accept: undefined, body: new Uint8Array(0) })).status, 404);
    assert.equal((await h({ method: 'POST', path: '/enroll', contentType: 'text/plain', accept: undefined, body: new Uint8Array(0) })).status, 400);
    assert.equal((await h({ method: 'POST', path: '/enroll', contentType: undefined, accept: 'text/html', body: new Uint8Array(0) })).status, 406);
    const noCsr = encodeMultipartForm([{ name: 'username', value: 'a' }, { name: 'password', value: 'b' }], 'q');
    const r = await h({ method: 'POST', path: '/enroll', contentType: noCsr.contentType, accept: 'application/pkix-cert', body: noCsr.body });
    assert.equal(r.status, 400);
    assert.match(String(r.body), /csr/);
    const wrongType = encodeMultipartForm([{ name: 'username', value: 'a' }, { name: 'password', value: 'b' }, { name: 'csr', value: 'x', contentType: 'text/plain' }], 'q');
    assert.equal((await h({ method: 'POST', path: '/enroll', contentType: wrongType.contentType, accept: undefined, body: wrongType.body })).status, 415);
    // PEM CSRs are accepted as well as DER
    const users = parseUserTable('bob:pw', new SeededRandom(2));
    const h2 = createEnrollmentHandler({ authority: new EnrollmentAuthority({ overlay: OVERLAY, ca, users, random: new SeededRandom(3) }), configurationDocument: () => '', now: () => NOW });
    const der = await createCertificateRequest(generateNodeKeyPair('ecdsa-p256'));
    const pem = `-----BEGIN CERTIFICATE REQUEST-----\n${Buffer.from(der).toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    const form = encodeMultipartForm([{ name: 'username', value: 'bob' }, { name: 'password', value: 'pw' }, { name: 'csr', value: pem, contentType: 'application/pkcs10' }], 'q');
    const ok = await h2({ method: 'POST', path: '/enroll', contentType: form.contentType, accept: 'application/pkix-cert', body: form.body });
    assert.equal(ok.status, 200);
    assert.equal(readNodeCertificate(ok.body as Uint8Array).userName, `bob@${OVERLAY}`);
  });
});
