import { toHex } from './bytes-hex.js';
import { readNodeCertificate } from './node-certificate.js';
import type { NodeCertificate } from './node-certificate.js';
import { SecurityError } from './security-error.js';
import { selfSignedRuleViolation } from './self-signed-identity.js';
import type { SelfSignedDigest } from './self-signed-identity.js';
import { isIssuedBy, readCertificateInfo } from './x509-certificate-info.js';
import type { CertificateInfo } from './x509-certificate-info.js';

/** Which node certificates an overlay accepts (from its configuration document, RFC 6940 §11.1). */
export interface TrustPolicy {
  /** Overlay name: a certificate's reload: URIs must name it. */
  overlay: string;
  /** DER root-cert trust anchors (enrolled overlays); may be empty. */
  rootCertificates: readonly Uint8Array[];
  /** self-signed-permitted (RFC 6940 §11.3.1). */
  selfSignedPermitted: boolean;
  selfSignedDigest: SelfSignedDigest;
  nodeIdLength: number;
  /** bad-node Node-IDs in hex (revoked, RFC 6940 §11.1). */
  badNodes?: readonly string[];
}

/** Roots read once; unreadable roots are reported, not silently dropped. */
export interface PreparedTrust {
  policy: TrustPolicy;
  roots: CertificateInfo[];
  badNodes: Set<string>;
}

/** Reads the policy's root certificates; {@link SecurityError} when one is not a usable CA certificate. */
export function prepareTrust(policy: TrustPolicy): PreparedTrust {
  const roots = policy.rootCertificates.map((der, i) => {
    try {
      const info = readCertificateInfo(der);
      if (!info.isCa) throw new SecurityError('CERT_INVALID', 'not a CA certificate (BasicConstraints cA is not set)');
      return info;
    } catch (e) {
      throw new SecurityError('CERT_INVALID', `root-cert ${i}: ${(e as Error).message}`, { cause: e });
    }
  });
  return { policy, roots, badNodes: new Set((policy.badNodes ?? []).map((h) => h.toLowerCase())) };
}

/**
 * Reads `der` as a node certificate and checks it against the overlay's trust: issued by a root
 * (enrolled overlays) or passing the self-signed rule (when permitted), naming this overlay, not
 * revoked by bad-node, valid at `now` (ms since 1970). Never throws: a refusal is a
 * {@link SecurityError} with a reason.
 */
export function checkNodeCertificate(
  der: Uint8Array,
  trust: PreparedTrust,
  now: number,
): { ok: true; certificate: NodeCertificate } | { ok: false; error: SecurityError } {
  let cert: NodeCertificate;
  try {
    cert = readNodeCertificate(der, { nodeIdLength: trust.policy.nodeIdLength });
  } catch (e) {
    return { ok: false, error: e instanceof SecurityError ? e : new SecurityError('CERT_INVALID', String(e)) };
  }
  const reason = trustRefusal(cert, trust, now);
  return reason === undefined ? { ok: true, certificate: cert } : { ok: false, error: reason };
}

/** The reason `cert` is not acceptable now, or undefined. */
export function trustRefusal(cert: NodeCertificate, trust: PreparedTrust, now: number): SecurityError | undefined {
  const p = trust.policy;
  if (cert.overlay.toLowerCase() !== p.overlay.toLowerCase()) {
    return new SecurityError('CERT_UNTRUSTED', `certificate is for overlay ${cert.overlay}, not ${p.overlay}`);
  }
  const validity = validityRefusal(cert, now);
  if (validity !== undefined) return validity;
  for (const id of cert.nodeIds) {
    if (trust.badNodes.has(toHex(id))) return new SecurityError('CERT_BAD_NODE', `Node-ID ${toHex(id)} is listed as bad-node`);
  }
  let why = '';
  for (const root of trust.roots) {
    if (isIssuedBy(cert, root)) {
      if (now < root.notBefore || now > root.notAfter) return new SecurityError('CERT_EXPIRED', 'the issuing root certificate is not valid now');
      return undefined;
    }
  }
  if (trust.roots.length > 0) why = 'not issued by a root-cert of the overlay';
  if (p.selfSignedPermitted) {
    const v = selfSignedRuleViolation(cert, p.selfSignedDigest);
    if (v === undefined) return undefined;
    why = why === '' ? `self-signed rule: ${v}` : `${why}; self-signed rule: ${v}`;
  } else if (why === '') {
    why = 'the overlay has no root-cert and does not permit self-signed certificates';
  }
  return new SecurityError('CERT_UNTRUSTED', `certificate ${cert.fingerprint.slice(0, 16)} refused: ${why}`);
}

/** RFC 6940 §7.1: the current time must be inside the certificate's validity period. */
export function validityRefusal(cert: CertificateInfo, now: number): SecurityError | undefined {
  if (now < cert.notBefore) return new SecurityError('CERT_EXPIRED', `certificate not valid before ${new Date(cert.notBefore).toISOString()}`);
  if (now > cert.notAfter) return new SecurityError('CERT_EXPIRED', `certificate expired at ${new Date(cert.notAfter).toISOString()}`);
  return undefined;
}
