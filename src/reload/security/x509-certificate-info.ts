import { X509Certificate as NodeX509Certificate } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { toHex } from './bytes-hex.js';
import { SecurityError } from './security-error.js';
import { sha256 } from './signature-algorithm.js';
import { readCertificateDerFields } from './certificate-der-fields.js';
import type { CertificateDerFields } from './certificate-der-fields.js';

/** Certificates larger than this are refused before parsing (they arrive from the network). */
export const MAX_CERTIFICATE_SIZE = 16 * 1024;

/** What any X.509 certificate tells this layer (node certificates and CA roots alike). */
export interface CertificateInfo {
  der: Uint8Array;
  /** SHA-256 of the DER (the SignerIdentity cert_hash, RFC 6940 §6.3.4). */
  hash: Uint8Array;
  /** Hex of {@link hash}. */
  fingerprint: string;
  publicKey: KeyObject;
  /** DER SubjectPublicKeyInfo. */
  spki: Uint8Array;
  /** Milliseconds since 1970 (UTC). */
  notBefore: number;
  notAfter: number;
  subject: string;
  issuer: string;
  /** BasicConstraints cA. */
  isCa: boolean;
  /** subjectAltName uniformResourceIdentifier values. */
  uris: string[];
  /** subjectAltName rfc822Name values. */
  emails: string[];
  /** subjectAltName dNSName / iPAddress values. */
  dnsNames: string[];
  ips: string[];
  /** node's parsed certificate (issuer checks, signature verification). */
  x509: NodeX509Certificate;
}

/** Parses DER; {@link SecurityError} 'CERT_INVALID' naming the problem, never another throw. */
export function readCertificateInfo(der: Uint8Array): CertificateInfo {
  if (!(der instanceof Uint8Array) || der.length === 0) throw new SecurityError('CERT_INVALID', 'empty certificate');
  if (der.length > MAX_CERTIFICATE_SIZE) throw new SecurityError('CERT_INVALID', `certificate of ${der.length} bytes exceeds ${MAX_CERTIFICATE_SIZE}`);
  let node: NodeX509Certificate;
  let fields: CertificateDerFields;
  try {
    node = new NodeX509Certificate(der);
  } catch (e) {
    throw new SecurityError('CERT_INVALID', `not a DER X.509 certificate: ${(e as Error).message}`, { cause: e });
  }
  try {
    // node:crypto has no structured subjectAltName; a DER walk is ~20x cheaper than a full ASN.1 parse
    fields = readCertificateDerFields(der);
  } catch (e) {
    throw new SecurityError('CERT_INVALID', `unreadable certificate extensions: ${(e as Error).message}`, { cause: e });
  }
  const hash = sha256(der);
  const publicKey = node.publicKey;
  return {
    der: new Uint8Array(der),
    hash,
    fingerprint: toHex(hash),
    publicKey,
    spki: fields.spki,
    notBefore: Date.parse(node.validFrom),
    notAfter: Date.parse(node.validTo),
    subject: distinguishedName(node.subject),
    issuer: distinguishedName(node.issuer),
    isCa: fields.isCa,
    uris: fields.uris,
    emails: fields.emails,
    dnsNames: fields.dnsNames,
    ips: fields.ips,
    x509: node,
  };
}

// node:crypto prints a DN one RDN per line (undefined when empty); one line, comma-separated, as RFC 4514 writes it
function distinguishedName(dn: string | undefined): string {
  return dn === undefined ? '' : dn.split('\n').join(', ');
}

/** True when `cert` was signed by `issuer` (names chain and the signature verifies). Never throws. */
export function isIssuedBy(cert: CertificateInfo, issuer: CertificateInfo): boolean {
  try {
    return cert.x509.checkIssued(issuer.x509) && cert.x509.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/**
 * True when `cert` is self-issued and its signature verifies with its own key. (Not node's
 * checkIssued: that also wants keyCertSign, which a self-signed node certificate does not have.)
 */
export function isSelfSigned(cert: CertificateInfo): boolean {
  try {
    return cert.issuer === cert.subject && cert.x509.verify(cert.publicKey);
  } catch {
    return false;
  }
}
