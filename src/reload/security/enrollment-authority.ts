import { createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { DEFAULT_NODE_ID_LENGTH } from '../codec/index.js';
import { P2psipError } from '../../lib/errors.js';
import type { Random } from '../../lib/random.js';
import { fromHex, toHex } from './bytes-hex.js';
import { createNodeCertificate } from './node-certificate.js';
import { keyAlgorithmOf } from './node-keys.js';
import type { OverlayCa } from './overlay-ca.js';
import { verifyPassword } from './password-hash.js';
import { ACCOUNT_NAME } from './user-table.js';
import type { UserTable } from './user-table.js';
import type { Pkcs10CertificateRequest } from '@peculiar/x509';
import { loadX509 } from './x509-provider.js';

/** RFC 6940 §11.3 refusal tokens (text/plain body of a 403). */
export type EnrollmentRefusal = 'failed_authentication' | 'username_not_available' | 'Node-IDs_not_available' | 'bad_CSR';

/** A refused enrollment: `token` is the RFC body, `status` the HTTP status (403, RFC 6940 §11.3). */
export class EnrollmentError extends P2psipError {
  readonly token: EnrollmentRefusal;
  readonly status: number;

  constructor(token: EnrollmentRefusal, detail: string) {
    super(`ENROLL_${token.toUpperCase().replace(/-/g, '_')}`, `${token}: ${detail}`);
    this.name = 'EnrollmentError';
    this.token = token;
    this.status = 403;
  }
}

export const MAX_CSR_SIZE = 16 * 1024;
export const DEFAULT_MAX_NODE_IDS_PER_USER = 4;

export interface EnrollmentAuthorityOptions {
  overlay: string;
  ca: OverlayCa;
  users: UserTable;
  random: Random;
  /** Default 16 (RFC 6940 §11.1 node-id-length). */
  nodeIdLength?: number;
  /** Largest `nodeids` a user may ask for. Default 4. */
  maxNodeIdsPerUser?: number;
  /** Validity of issued certificates. Default 365 days. */
  certificateValidityMs?: number;
  /** Node-IDs already given to users (account → hex Node-IDs), restored from the server's data. */
  assignments?: ReadonlyMap<string, readonly string[]>;
}

export interface EnrollmentRequest {
  username: string;
  password: string;
  /** DER PKCS#10. */
  csr: Uint8Array;
  /** The `nodeids` form parameter; default 1. */
  nodeIds?: number;
}

export interface EnrollmentResult {
  /** DER X.509 (application/pkix-cert). */
  certificate: Uint8Array;
  nodeIds: Uint8Array[];
  userName: string;
}

/**
 * The enrollment logic of RFC 6940 §11.3, without HTTP: authenticates the account, validates the
 * CSR (signature, RSA >= 2048 or P-256 key, requested user name), picks cryptographically random
 * Node-IDs (the same ones again for a returning user) and issues the certificate.
 */
export class EnrollmentAuthority {
  private readonly o: EnrollmentAuthorityOptions;
  private readonly nodeIdLength: number;
  private readonly assigned = new Map<string, string[]>();

  constructor(options: EnrollmentAuthorityOptions) {
    this.o = options;
    this.nodeIdLength = options.nodeIdLength ?? DEFAULT_NODE_ID_LENGTH;
    for (const [user, ids] of options.assignments ?? []) this.assigned.set(user, [...ids]);
  }

  /** Node-IDs given so far (account → hex), for the server to persist. */
  get assignments(): ReadonlyMap<string, readonly string[]> {
    return this.assigned;
  }

  /** The rfc822Name an account gets: the account itself when it has an @domain, else account@overlay. */
  userNameOf(account: string): string {
    return account.includes('@') ? account : `${account}@${this.o.overlay}`;
  }

  /** Issues a certificate or throws {@link EnrollmentError}. `now`: ms since 1970. */
  async enroll(req: EnrollmentRequest, now: number): Promise<EnrollmentResult> {
    const stored = typeof req.username === 'string' ? this.o.users.get(req.username) : undefined;
    // verify even for unknown accounts so timing does not reveal which accounts exist
    const ok = verifyPassword(typeof req.password === 'string' ? req.password : '', stored ?? DUMMY_HASH) && stored !== undefined;
    if (!ok) throw new EnrollmentError('failed_authentication', 'unknown account or wrong password');
    const count = req.nodeIds ?? 1;
    const max = this.o.maxNodeIdsPerUser ?? DEFAULT_MAX_NODE_IDS_PER_USER;
    if (!Number.isInteger(count) || count < 1 || count > max) {
      throw new EnrollmentError('Node-IDs_not_available', `${String(count)} Node-IDs requested; 1..${max} allowed`);
    }
    const { publicKey, requestedName } = await readCsr(req.csr);
    const userName = this.userNameOf(req.username);
    if (!ACCOUNT_NAME.test(userName)) throw new EnrollmentError('username_not_available', `${JSON.stringify(userName)} is not a legal user name`);
    if (requestedName !== undefined && requestedName !== userName) {
      throw new EnrollmentError('username_not_available', `the CSR asks for ${JSON.stringify(requestedName)}; this account may use ${userName}`);
    }
    const nodeIds = this.nodeIdsFor(req.username, count);
    const certificate = await createNodeCertificate({
      subjectPublicKey: publicKey,
      nodeIds,
      userName,
      overlay: this.o.overlay,
      notBefore: now - 60_000,
      notAfter: now + (this.o.certificateValidityMs ?? 365 * 24 * 3600 * 1000),
      serialNumber: this.o.random.bytes(16),
      issuer: { certificate: this.o.ca.certificate, keys: this.o.ca.keys },
    });
    return { certificate, nodeIds, userName };
  }

  // RFC 6940 §11.3: random, unpredictable Node-IDs, the same again for a returning user.
  private nodeIdsFor(account: string, count: number): Uint8Array[] {
    const ids = this.assigned.get(account) ?? [];
    while (ids.length < count) ids.push(toHex(this.o.random.bytes(this.nodeIdLength)));
    this.assigned.set(account, ids);
    return ids.slice(0, count).map((h) => fromHex(h)!);
  }
}

// A well-formed hash of a random password: makes failed lookups cost the same as failed passwords.
const DUMMY_HASH = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

/** Validates a PKCS#10 request: parses, self-signature verifies, key acceptable; the requested rfc822Name if any. */
async function readCsr(der: Uint8Array): Promise<{ publicKey: KeyObject; requestedName: string | undefined }> {
  if (!(der instanceof Uint8Array) || der.length === 0) throw new EnrollmentError('bad_CSR', 'empty CSR');
  if (der.length > MAX_CSR_SIZE) throw new EnrollmentError('bad_CSR', `CSR of ${der.length} bytes exceeds ${MAX_CSR_SIZE}`);
  const x509 = await loadX509();
  let csr: Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(der);
  } catch (e) {
    throw new EnrollmentError('bad_CSR', `not a DER PKCS#10 request: ${(e as Error).message}`);
  }
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: 'der', type: 'spki' });
    keyAlgorithmOf(publicKey);
  } catch (e) {
    throw new EnrollmentError('bad_CSR', (e as Error).message);
  }
  let verified = false;
  try {
    verified = await csr.verify();
  } catch {
    verified = false;
  }
  if (!verified) throw new EnrollmentError('bad_CSR', 'the CSR signature does not verify');
  let requestedName: string | undefined;
  try {
    const ext = csr.extensions.find((e) => e.type === '2.5.29.17');
    if (ext !== undefined) {
      const san = new x509.SubjectAlternativeNameExtension(ext.rawData);
      requestedName = san.names.items.find((n) => n.type === 'email')?.value;
    }
  } catch (e) {
    throw new EnrollmentError('bad_CSR', `unreadable subjectAltName request: ${(e as Error).message}`);
  }
  return { publicKey, requestedName };
}
