import type { Random } from '../../lib/random.js';
import { isIpLiteral, unbracket } from '../../lib/ip.js';
import { createNodeCertificate, signCertificate } from './node-certificate.js';
import { generateNodeKeyPair } from './node-keys.js';
import type { NodeKeyAlgorithm, NodeKeyPair } from './node-keys.js';
import { nodeIdentityOf } from './node-identity.js';
import type { NodeIdentity } from './node-identity.js';
import type { JsonGeneralName } from '@peculiar/x509';
import { loadX509 } from './x509-provider.js';

/** An overlay's certificate authority: the root-cert of its configuration (RFC 6940 §11.1) and its key. */
export interface OverlayCa {
  certificate: Uint8Array;
  keys: NodeKeyPair;
}

const DAY = 24 * 3600 * 1000;

/** A new self-signed CA for `overlay` (subject `CN=<overlay> RELOAD CA`), valid 10 years from `now` by default. */
export async function createOverlayCa(o: { overlay: string; now: number; random: Random; algorithm?: NodeKeyAlgorithm; validityMs?: number }): Promise<OverlayCa> {
  const x509 = await loadX509();
  const keys = generateNodeKeyPair(o.algorithm);
  const subject = `CN=${dnValue(`${o.overlay} RELOAD CA`)}`;
  const certificate = await signCertificate({
    subject,
    subjectPublicKey: keys.publicKey,
    notBefore: o.now - 60_000,
    notAfter: o.now + (o.validityMs ?? 3650 * DAY),
    serialNumber: o.random.bytes(16),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
    ],
    signer: keys,
  });
  return { certificate, keys };
}

/** A TLS server certificate for `hosts` (IP literals or DNS names) issued by the overlay CA (the enrollment server's HTTPS). */
export async function issueTlsServerCertificate(
  ca: OverlayCa,
  o: { hosts: string[]; now: number; random: Random; algorithm?: NodeKeyAlgorithm; validityMs?: number },
): Promise<{ certificate: Uint8Array; keys: NodeKeyPair }> {
  const x509 = await loadX509();
  const keys = generateNodeKeyPair(o.algorithm);
  const names: JsonGeneralName[] = o.hosts.map((h) => (isIpLiteral(h) ? { type: 'ip', value: unbracket(h) } : { type: 'dns', value: h }));
  const certificate = await signCertificate({
    subject: `CN=${dnValue(o.hosts[0] ?? 'localhost')}`,
    subjectPublicKey: keys.publicKey,
    notBefore: o.now - 60_000,
    notAfter: o.now + (o.validityMs ?? 365 * DAY),
    serialNumber: o.random.bytes(16),
    extensions: [
      new x509.SubjectAlternativeNameExtension(names),
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    ],
    signer: ca.keys,
    issuerCertificate: ca.certificate,
  });
  return { certificate, keys };
}

/**
 * A node identity issued by the CA with random Node-IDs: the configuration-signer / kind-signer
 * of an enrolled overlay's configuration document (RFC 6940 §11.1).
 */
export async function issueCaSignedIdentity(
  ca: OverlayCa,
  o: { overlay: string; userName: string; nodeIds: Uint8Array[]; now: number; random: Random; algorithm?: NodeKeyAlgorithm; validityMs?: number },
): Promise<NodeIdentity> {
  const keys = generateNodeKeyPair(o.algorithm);
  const der = await createNodeCertificate({
    subjectPublicKey: keys.publicKey,
    nodeIds: o.nodeIds,
    userName: o.userName,
    overlay: o.overlay,
    notBefore: o.now - 60_000,
    notAfter: o.now + (o.validityMs ?? 365 * DAY),
    serialNumber: o.random.bytes(16),
    issuer: { certificate: ca.certificate, keys: ca.keys },
  });
  return nodeIdentityOf(der, keys);
}

// RFC 4514 escaping of an attribute value.
function dnValue(v: string): string {
  return v.replace(/([,+"\\<>;=#])/g, '\\$1');
}
