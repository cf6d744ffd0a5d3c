import { HashAlgorithm } from '../codec/index.js';
import type { SignerIdentity } from '../codec/index.js';
import { bytesEqual, concatBytes, toHex } from './bytes-hex.js';
import { readNodeCertificate } from './node-certificate.js';
import type { NodeCertificate } from './node-certificate.js';
import { SecurityError } from './security-error.js';
import { sha256 } from './signature-algorithm.js';
import { checkNodeCertificate, prepareTrust, validityRefusal } from './trust-policy.js';
import type { PreparedTrust, TrustPolicy } from './trust-policy.js';

/** The identity a verified signature belongs to (what storage access control needs, RFC 6940 §7.3). */
export interface VerifiedSigner {
  certificate: NodeCertificate;
  /** The Node-ID the SignerIdentity designates (the only one for cert_hash). */
  nodeId: Uint8Array;
  nodeIds: Uint8Array[];
  userName: string;
}

export type SignerResult = { ok: true; signer: VerifiedSigner } | { ok: false; error: SecurityError };

export interface CertificateStoreOptions {
  /** Wall-clock milliseconds since 1970 (certificate validity; RFC 6940 §7.1). */
  now: () => number;
  /** Trusted certificates kept (least recently used evicted). Default 1024. */
  maxEntries?: number;
  /** Certificates of one bag examined at most. Default 32. */
  maxBagCertificates?: number;
}

export const DEFAULT_CERTIFICATE_STORE_ENTRIES = 1024;
export const DEFAULT_MAX_BAG_CERTIFICATES = 32;

/**
 * Trusted certificates by hash (a bounded LRU), the overlay's trust rule, and the lookup of a
 * Signature's SignerIdentity (RFC 6940 §6.3.4) in the store or a message's certificate bag.
 */
export class CertificateStore {
  private readonly trust: PreparedTrust;
  private readonly now: () => number;
  private readonly maxEntries: number;
  private readonly maxBag: number;
  /** fingerprint → certificate, in LRU order. */
  private readonly byHash = new Map<string, NodeCertificate>();
  /** hex of cert_hash or cert_hash_node_id value → fingerprint and the designated Node-ID. */
  private readonly byIdentity = new Map<string, { fingerprint: string; nodeId: Uint8Array }>();

  /** Throws {@link SecurityError} when a root certificate of the policy is unusable. */
  constructor(policy: TrustPolicy, options: CertificateStoreOptions) {
    this.trust = prepareTrust(policy);
    this.now = options.now;
    this.maxEntries = Math.max(1, options.maxEntries ?? DEFAULT_CERTIFICATE_STORE_ENTRIES);
    this.maxBag = Math.max(1, options.maxBagCertificates ?? DEFAULT_MAX_BAG_CERTIFICATES);
  }

  get policy(): TrustPolicy {
    return this.trust.policy;
  }

  get size(): number {
    return this.byHash.size;
  }

  /**
   * For the TLS driver's `verifyPeer(certDer)`: undefined when the overlay trusts the certificate
   * now, else the reason it is refused. Trusted certificates are cached. Never throws.
   */
  trustsPeerCertificate(der: Uint8Array): string | undefined {
    const r = this.add(der);
    return r.ok ? undefined : r.error.message;
  }

  /** Checks and caches a certificate (from a bag, a TLS handshake, a CERTIFICATE_BY_* fetch). Never throws. */
  add(der: Uint8Array): { ok: true; certificate: NodeCertificate } | { ok: false; error: SecurityError } {
    const fp = der instanceof Uint8Array ? toHex(sha256(der)) : '';
    const cached = this.byHash.get(fp);
    if (cached !== undefined) {
      const v = validityRefusal(cached, this.now());
      if (v !== undefined) return { ok: false, error: v };
      this.touch(fp, cached);
      return { ok: true, certificate: cached };
    }
    const r = checkNodeCertificate(der, this.trust, this.now());
    if (r.ok) this.insert(r.certificate);
    return r;
  }

  /** A trusted certificate by its SHA-256 hash. */
  get(hash: Uint8Array): NodeCertificate | undefined {
    return this.byHash.get(toHex(hash));
  }

  /** Drops a certificate (e.g. when a new configuration lists its Node-ID as bad-node). */
  delete(hash: Uint8Array): void {
    const fp = toHex(hash);
    const cert = this.byHash.get(fp);
    if (cert === undefined) return;
    this.byHash.delete(fp);
    for (const key of identityKeys(cert)) this.byIdentity.delete(key.key);
  }

  /**
   * The certificate and Node-ID a SignerIdentity designates (cert_hash or cert_hash_node_id over
   * SHA-256), from the store or the certificate bag that came with the signature; checked for trust
   * and validity now. Never throws.
   */
  resolveSigner(identity: SignerIdentity, bag: readonly Uint8Array[] = []): SignerResult {
    let value: Uint8Array;
    if (identity.type === 'cert_hash') value = identity.certificateHash;
    else if (identity.type === 'cert_hash_node_id') value = identity.certificateNodeIdHash;
    else return { ok: false, error: new SecurityError('CERT_UNKNOWN', `SignerIdentity ${identity.type} names no certificate`) };
    if (identity.hashAlg !== HashAlgorithm.sha256) {
      return { ok: false, error: new SecurityError('SIGNATURE_ALGORITHM_UNSUPPORTED', `certificate hash algorithm ${identity.hashAlg} (only sha256)`) };
    }
    const key = `${identity.type}:${toHex(value)}`;
    const hit = this.byIdentity.get(key);
    if (hit !== undefined) {
      const cert = this.byHash.get(hit.fingerprint);
      if (cert !== undefined) {
        // trusted when cached (the policy is fixed per store); only time moves on
        const refusal = validityRefusal(cert, this.now());
        if (refusal !== undefined) return { ok: false, error: refusal };
        this.touch(hit.fingerprint, cert);
        return { ok: true, signer: signerOf(cert, hit.nodeId) };
      }
    }
    const n = Math.min(bag.length, this.maxBag);
    for (let i = 0; i < n; i++) {
      const der = bag[i]!;
      if (identity.type === 'cert_hash') {
        if (!bytesEqual(sha256(der), value)) continue;
        const r = this.add(der);
        if (!r.ok) return r;
        if (r.certificate.nodeIds.length !== 1) {
          return { ok: false, error: new SecurityError('SIGNER_MISMATCH', 'cert_hash used with a certificate of several Node-IDs (RFC 6940 §6.3.4: cert_hash_node_id)') };
        }
        return { ok: true, signer: signerOf(r.certificate, r.certificate.nodeIds[0]!) };
      }
      const r = this.add(der);
      if (!r.ok) {
        // report why the signer's own certificate is refused rather than "unknown"
        if (namesSigner(der, value)) return r;
        continue;
      }
      const nodeId = r.certificate.nodeIds.find((id) => bytesEqual(sha256(concatBytes(id, der)), value));
      if (nodeId !== undefined) return { ok: true, signer: signerOf(r.certificate, nodeId) };
    }
    return { ok: false, error: new SecurityError('CERT_UNKNOWN', `no certificate for SignerIdentity ${identity.type} ${toHex(value).slice(0, 16)}…`) };
  }

  private insert(cert: NodeCertificate): void {
    this.byHash.set(cert.fingerprint, cert);
    for (const k of identityKeys(cert)) this.byIdentity.set(k.key, { fingerprint: cert.fingerprint, nodeId: k.nodeId });
    while (this.byHash.size > this.maxEntries) {
      const oldest = this.byHash.keys().next().value as string;
      this.delete(new Uint8Array(Buffer.from(oldest, 'hex')));
    }
  }

  private touch(fp: string, cert: NodeCertificate): void {
    this.byHash.delete(fp);
    this.byHash.set(fp, cert);
  }
}

function signerOf(certificate: NodeCertificate, nodeId: Uint8Array): VerifiedSigner {
  return { certificate, nodeId, nodeIds: certificate.nodeIds, userName: certificate.userName };
}

function identityKeys(cert: NodeCertificate): { key: string; nodeId: Uint8Array }[] {
  const keys = cert.nodeIds.map((id) => ({ key: `cert_hash_node_id:${toHex(sha256(concatBytes(id, cert.der)))}`, nodeId: id }));
  if (cert.nodeIds.length === 1) keys.push({ key: `cert_hash:${cert.fingerprint}`, nodeId: cert.nodeIds[0]! });
  return keys;
}

// True when some Node-ID of the (untrusted) certificate `der` gives the cert_hash_node_id `value`.
function namesSigner(der: Uint8Array, value: Uint8Array): boolean {
  try {
    return readNodeCertificate(der).nodeIds.some((id) => bytesEqual(sha256(concatBytes(id, der)), value));
  } catch {
    return false;
  }
}
