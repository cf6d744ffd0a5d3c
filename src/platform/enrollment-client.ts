/**
 * The peer side of RFC 6940 §11.2/§11.3: fetch the configuration document over HTTPS (server
 * certificate checked against a given trust anchor or the system's), verify its signatures, and
 * enroll: a key pair, a PKCS#10 request, a multipart POST with the credentials, a certificate back
 * that must chain to the document's root-cert and carry our key.
 */
import { request } from 'node:https';
import { randomBytes } from 'node:crypto';
import { P2psipError } from '../lib/errors.js';
import { parseOverlayConfiguration, verifyOverlayConfiguration, trustPolicyOf } from '../reload/config/index.js';
import type { OverlayConfiguration, ParsedOverlayDocument } from '../reload/config/index.js';
import {
  CertificateStore,
  createCertificateRequest,
  generateNodeKeyPair,
  nodeIdentityOf,
} from '../reload/security/index.js';
import type { NodeIdentity, NodeKeyAlgorithm, VerifiedSigner } from '../reload/security/index.js';
import { encodeMultipartForm } from './enrollment-form.js';

export const DEFAULT_ENROLLMENT_TIMEOUT_MS = 15_000;
export const MAX_CONFIGURATION_RESPONSE = 1024 * 1024;
const MAX_CERTIFICATE_RESPONSE = 64 * 1024;

/** A failed fetch or enrollment; `token` is the RFC 6940 §11.3 refusal token when the server gave one. */
export class EnrollmentClientError extends P2psipError {
  readonly status: number | undefined;
  readonly token: string | undefined;

  constructor(code: string, message: string, status?: number, token?: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'EnrollmentClientError';
    this.status = status;
    this.token = token;
  }
}

export interface HttpsOptions {
  /** PEM trust anchor(s) for the server's certificate; default the system's. */
  ca?: string;
  timeoutMs?: number;
}

export interface HttpsResult {
  status: number;
  contentType: string;
  body: Buffer;
}

export function httpsRequest(url: string, o: HttpsOptions & { method: string; headers?: Record<string, string>; body?: Uint8Array; maxSize: number }): Promise<HttpsResult> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return Promise.reject(new EnrollmentClientError('ENROLL_URL', `not a URL: ${url}`));
  }
  if (u.protocol !== 'https:') return Promise.reject(new EnrollmentClientError('ENROLL_URL', `${url}: RFC 6940 §11.2/§11.3 require https:`));
  return new Promise((resolve, reject) => {
    const req = request(
      u,
      {
        method: o.method,
        headers: { ...(o.headers ?? {}), ...(o.body === undefined ? {} : { 'content-length': String(o.body.length) }) },
        ...(o.ca === undefined ? {} : { ca: o.ca }),
        timeout: o.timeoutMs ?? DEFAULT_ENROLLMENT_TIMEOUT_MS,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > o.maxSize) {
            req.destroy(new EnrollmentClientError('ENROLL_RESPONSE', `${url}: response larger than ${o.maxSize} bytes`));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new EnrollmentClientError('ENROLL_TIMEOUT', `${url}: no answer within ${o.timeoutMs ?? DEFAULT_ENROLLMENT_TIMEOUT_MS} ms`)));
    req.on('error', (e) => reject(e instanceof EnrollmentClientError ? e : new EnrollmentClientError('ENROLL_UNREACHABLE', `${url}: ${e.message}`, undefined, undefined, { cause: e })));
    req.end(o.body === undefined ? undefined : Buffer.from(o.body));
  });
}

export interface FetchConfigurationOptions extends HttpsOptions {
  /** The overlay expected (RFC 6940 §11.2: instance-name must match); default the document's first. */
  overlay?: string;
  /** Wall-clock ms since 1970 (signature certificates, expiration). */
  now: number;
  /** The configuration in force, for the §11.1 signer chain. */
  previous?: OverlayConfiguration;
  /** Accept a document without signatures (e.g. a self-signed LAN overlay published over HTTPS). Default false. */
  allowUnsigned?: boolean;
}

export interface FetchedConfiguration {
  xml: string;
  document: ParsedOverlayDocument;
  config: OverlayConfiguration;
  /** The configuration signer, when the document was signed and verified. */
  signer?: VerifiedSigner;
}

/** GETs and verifies an overlay configuration document (RFC 6940 §11.1, §11.2). */
export async function fetchOverlayConfiguration(url: string, o: FetchConfigurationOptions): Promise<FetchedConfiguration> {
  const res = await httpsRequest(url, { ...o, method: 'GET', headers: { accept: 'application/p2p-overlay+xml' }, maxSize: MAX_CONFIGURATION_RESPONSE });
  if (res.status !== 200) throw new EnrollmentClientError('CONFIG_FETCH', `${url}: HTTP ${res.status} ${res.body.toString('utf8').slice(0, 200)}`, res.status);
  const xml = res.body.toString('utf8');
  const parsed = parseOverlayConfiguration(xml, o.overlay === undefined ? {} : { instanceName: o.overlay });
  if (!parsed.ok) throw new EnrollmentClientError('CONFIG_INVALID', `${url}: ${parsed.error.message}`, undefined, undefined, { cause: parsed.error });
  const out: FetchedConfiguration = { xml, document: parsed.document, config: parsed.config };
  if (parsed.document.signature === undefined && o.allowUnsigned === true) return out;
  const trustAnchors = o.ca === undefined ? [] : safePemCertificates(o.ca);
  const v = verifyOverlayConfiguration(parsed.document, { now: o.now, trustAnchors, ...(o.previous === undefined ? {} : { previous: o.previous }) });
  if (!v.ok) throw new EnrollmentClientError('CONFIG_SIGNATURE_INVALID', `${url}: ${v.error.message}`, undefined, undefined, { cause: v.error });
  out.signer = v.signer;
  return out;
}

function safePemCertificates(pem: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const m of pem.matchAll(/-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/g)) {
    out.push(new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64')));
  }
  return out;
}

export interface EnrollRequestOptions extends HttpsOptions {
  username: string;
  password: string;
  /** DER PKCS#10. */
  csr: Uint8Array;
  /** Node-IDs wanted (form parameter nodeids, sent when > 1). */
  nodeIds?: number;
}

/** POSTs an RFC 6940 §11.3 certificate request; resolves with the DER certificate. */
export async function requestCertificate(enrollmentUrl: string, o: EnrollRequestOptions): Promise<Uint8Array> {
  const fields = [
    { name: 'username', value: o.username },
    { name: 'password', value: o.password },
    ...(o.nodeIds !== undefined && o.nodeIds > 1 ? [{ name: 'nodeids', value: String(o.nodeIds) }] : []),
    { name: 'csr', value: o.csr, contentType: 'application/pkcs10' },
  ];
  const form = encodeMultipartForm(fields, `p2psip-${randomBytes(12).toString('hex')}`);
  const res = await httpsRequest(enrollmentUrl, {
    ...o,
    method: 'POST',
    headers: { 'content-type': form.contentType, accept: 'application/pkix-cert' },
    body: form.body,
    maxSize: MAX_CERTIFICATE_RESPONSE,
  });
  if (res.status === 200 && /application\/pkix-cert/i.test(res.contentType)) return new Uint8Array(res.body);
  const body = res.body.toString('utf8').trim().slice(0, 300);
  const token = ['failed_authentication', 'username_not_available', 'Node-IDs_not_available', 'bad_CSR'].includes(body) ? body : undefined;
  throw new EnrollmentClientError('ENROLL_REFUSED', `enrollment refused by ${enrollmentUrl}: HTTP ${res.status} ${body || '(no body)'}`, res.status, token);
}

export interface EnrollNodeOptions extends HttpsOptions {
  config: OverlayConfiguration;
  username: string;
  password: string;
  now: number;
  nodeIds?: number;
  algorithm?: NodeKeyAlgorithm;
}

/**
 * Enrolls once (RFC 6940 §11.3): new key, CSR, POST to the first enrollment-server; the returned
 * certificate must chain to a root-cert of the configuration (§11.3: "The client MUST check")
 * and bind our key. Resolves with the identity (certificate + key) to keep.
 */
export async function enrollNode(o: EnrollNodeOptions): Promise<NodeIdentity> {
  const url = o.config.enrollmentServers[0];
  if (url === undefined) throw new EnrollmentClientError('ENROLL_NO_SERVER', `overlay ${o.config.instanceName} has no enrollment-server`);
  const keys = generateNodeKeyPair(o.algorithm);
  const csr = await createCertificateRequest(keys);
  const der = await requestCertificate(url, { ...o, csr, ...(o.nodeIds === undefined ? {} : { nodeIds: o.nodeIds }) });
  const store = new CertificateStore({ ...trustPolicyOf(o.config), selfSignedPermitted: false }, { now: () => o.now });
  const refusal = store.trustsPeerCertificate(der);
  if (refusal !== undefined) throw new EnrollmentClientError('ENROLL_BAD_CERTIFICATE', `the enrollment server's certificate is not acceptable: ${refusal}`);
  try {
    return nodeIdentityOf(der, keys, { nodeIdLength: o.config.nodeIdLength });
  } catch (e) {
    throw new EnrollmentClientError('ENROLL_BAD_CERTIFICATE', `the enrollment server's certificate is not acceptable: ${(e as Error).message}`, undefined, undefined, { cause: e });
  }
}
