/**
 * The HTTPS enrollment and configuration server of an enrolled overlay (RFC 6940 §11.2, §11.3):
 * GET /.well-known/reload-config serves the signed configuration document; POST /enroll takes a
 * multipart/form-data request (username, password, optional nodeids, csr as application/pkcs10)
 * and answers the certificate as application/pkix-cert, or 403 with an RFC token. The routes are
 * a pure handler ({@link createEnrollmentHandler}) tested without a port.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { OVERLAY_CONFIGURATION_MEDIA_TYPE } from '../reload/config/index.js';
import { EnrollmentError, pemBlocks } from '../reload/security/index.js';
import type { EnrollmentAuthority } from '../reload/security/index.js';
import { FormError, parseMultipartForm } from './enrollment-form.js';
import { SIP_DIGEST_PATH, parseDigestCredentials, type EnrollmentDigestTable } from './enrollment-digest.js';

export const WELL_KNOWN_CONFIG_PATH = '/.well-known/reload-config';
export const ENROLL_PATH = '/enroll';
/** Request bodies above this are refused with 413 (a CSR is a few KiB). */
export const DEFAULT_MAX_ENROLLMENT_BODY = 64 * 1024;

export interface EnrollmentRequestIn {
  method: string;
  path: string;
  contentType: string | undefined;
  accept: string | undefined;
  body: Uint8Array;
}

export interface EnrollmentReply {
  status: number;
  contentType: string;
  body: Uint8Array | string;
}

export interface EnrollmentHandlerOptions {
  authority: EnrollmentAuthority;
  /** The (signed) configuration document served at /.well-known/reload-config. */
  configurationDocument: () => string;
  /** Wall-clock ms since 1970. */
  now: () => number;
  /** Called after each enrollment decision (logging). */
  onEnrollment?: (event: { username: string; ok: boolean; detail: string }) => void;
  /** Issue 15: checks SIP digest answers at POST /sip-digest (`--sip-digest`); absent: 404 there. */
  sipDigest?: EnrollmentDigestTable;
}

const text = (status: number, body: string): EnrollmentReply => ({ status, contentType: 'text/plain; charset=utf-8', body });

/** The routes, without HTTP I/O. Never rejects. */
export function createEnrollmentHandler(o: EnrollmentHandlerOptions): (req: EnrollmentRequestIn) => Promise<EnrollmentReply> {
  return async (req) => {
    if (req.path === WELL_KNOWN_CONFIG_PATH) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return text(405, 'use GET');
      return { status: 200, contentType: OVERLAY_CONFIGURATION_MEDIA_TYPE, body: o.configurationDocument() };
    }
    if (req.path === SIP_DIGEST_PATH && o.sipDigest !== undefined) {
      if (req.method !== 'POST') return text(405, 'use POST with the digest answer as JSON');
      const c = parseDigestCredentials(req.body);
      const r = c === undefined ? { ok: false, reason: 'bad-response', detail: 'malformed digest answer' } : o.sipDigest.verify(c, o.now());
      return { status: 200, contentType: 'application/json', body: JSON.stringify(r) };
    }
    if (req.path !== ENROLL_PATH && req.path !== '/') return text(404, 'not found: the configuration is at /.well-known/reload-config, enrollment at POST /enroll');
    if (req.method !== 'POST') return text(405, 'enrollment is a POST of multipart/form-data (RFC 6940 §11.3)');
    if (req.accept !== undefined && !/application\/pkix-cert|\*\/\*|application\/\*/i.test(req.accept)) {
      return text(406, 'the Accept header must include application/pkix-cert (RFC 6940 §11.3)');
    }
    let username = '';
    try {
      const form = parseMultipartForm(req.body, req.contentType);
      const field = (name: string): string | undefined => {
        const f = form.get(name);
        return f === undefined ? undefined : Buffer.from(f.value).toString('utf8');
      };
      username = field('username') ?? '';
      const password = field('password');
      const csrField = form.get('csr');
      if (username === '' || password === undefined) return text(400, 'missing form parameter username or password');
      if (csrField === undefined) return text(400, 'missing form parameter csr (application/pkcs10)');
      if (csrField.contentType !== undefined && !/^application\/pkcs10\b/i.test(csrField.contentType)) {
        return text(415, `csr must be application/pkcs10, not ${csrField.contentType}`);
      }
      const nodeidsText = field('nodeids');
      const nodeIds = nodeidsText === undefined ? 1 : /^\d{1,4}$/.test(nodeidsText.trim()) ? Number(nodeidsText.trim()) : NaN;
      const csr = csrDer(csrField.value);
      const r = await o.authority.enroll({ username, password, csr, nodeIds }, o.now());
      o.onEnrollment?.({ username, ok: true, detail: `${r.userName} ${r.nodeIds.length} Node-ID(s)` });
      return { status: 200, contentType: 'application/pkix-cert', body: r.certificate };
    } catch (e) {
      if (e instanceof FormError) return text(400, e.message);
      if (e instanceof EnrollmentError) {
        o.onEnrollment?.({ username, ok: false, detail: e.message });
        // RFC 6940 §11.3: 403 with the token alone as the body
        return text(e.status, e.token);
      }
      return text(500, 'internal error');
    }
  };
}

// application/pkcs10 is DER; a PEM CERTIFICATE REQUEST is accepted too.
function csrDer(value: Uint8Array): Uint8Array {
  const s = Buffer.from(value.subarray(0, 64)).toString('latin1');
  if (!s.includes('-----BEGIN')) return value;
  try {
    return pemBlocks(Buffer.from(value).toString('latin1'), 'CERTIFICATE REQUEST')[0]!;
  } catch {
    return value;
  }
}

export interface EnrollmentServerOptions extends EnrollmentHandlerOptions {
  host: string;
  port: number;
  /** PEM TLS certificate (chain) and key of the HTTPS server. */
  tlsCertificate: string;
  tlsKey: string;
  maxBodySize?: number;
}

export interface RunningEnrollmentServer {
  host: string;
  port: number;
  close(): Promise<void>;
}

/** Starts the HTTPS server; resolves once listening (port 0 = any free port). */
export function startEnrollmentServer(o: EnrollmentServerOptions): Promise<RunningEnrollmentServer> {
  const handler = createEnrollmentHandler(o);
  const maxBody = o.maxBodySize ?? DEFAULT_MAX_ENROLLMENT_BODY;
  const server: Server = createServer({ cert: o.tlsCertificate, key: o.tlsKey }, (req, res) => {
    const reply = (r: EnrollmentReply): void => {
      res.writeHead(r.status, { 'content-type': r.contentType, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : r.body);
    };
    readBody(req, maxBody).then(
      (body) => {
        if (body === undefined) {
          res.writeHead(413, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
          res.end(`request body exceeds ${maxBody} bytes`);
          return;
        }
        const url = new URL(req.url ?? '/', 'https://localhost');
        void handler({ method: req.method ?? 'GET', path: url.pathname, contentType: req.headers['content-type'], accept: req.headers.accept, body }).then(reply);
      },
      () => res.destroy(),
    );
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      const a = server.address();
      resolve({
        host: o.host,
        port: typeof a === 'object' && a !== null ? a.port : o.port,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}

/** The body, or undefined when it exceeds `max` (reading stops there). */
function readBody(req: IncomingMessage, max: number): Promise<Uint8Array | undefined> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > max) {
      req.resume();
      resolve(undefined);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > max) {
        done = true;
        req.pause();
        resolve(undefined);
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!done) resolve(new Uint8Array(Buffer.concat(chunks)));
    });
    req.on('error', reject);
  });
}
