/**
 * A fixture PKI made at test time (until src/reload/security exists): a CA and node certificates of
 * the RFC 6940 §11.3 shape, subjectAltName URI `reload://<hex Node-ID>@<overlay>/` and rfc822Name
 * user name. EC P-256 keys; PEM out, for node:tls. Test-only: the keys live in memory.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

// @peculiar/x509's crypto provider stays at its default, globalThis.crypto (Node's webcrypto): no global change here.

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

export interface TestCa {
  certPem: string;
  keyPem: string;
  cert: x509.X509Certificate;
  keys: webcrypto.CryptoKeyPair;
}

export interface TestNodeCert {
  certPem: string;
  keyPem: string;
  /** DER of the certificate. */
  der: Uint8Array;
  nodeId: Uint8Array;
  userName: string;
}

export interface NodeCertOptions {
  nodeId: Uint8Array;
  overlay: string;
  /** rfc822Name, e.g. alice@example.org. Default node-<hex>@<overlay>. */
  userName?: string;
  /** Validity start offset from now, ms (negative: in the past). Default −1 day. */
  notBeforeOffsetMs?: number;
  /** Lifetime, ms. Default 30 days. */
  lifetimeMs?: number;
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN ${label}-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END ${label}-----\n`;
}

async function keyPem(k: webcrypto.CryptoKey): Promise<string> {
  return pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', k));
}

let serial = 1;
function nextSerial(): string {
  return (serial++).toString(16).padStart(4, '0');
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** A self-signed CA named `name`. */
export async function createTestCa(name = 'p2psip test overlay CA'): Promise<TestCa> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: nextSerial(),
    name: `CN=${name}`,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 3650 * DAY),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await keyPem(keys.privateKey), cert, keys };
}

/** A node certificate issued by `ca` (or self-signed when `ca` is undefined), RFC 6940 §11.3 shape. */
export async function createNodeCert(ca: TestCa | undefined, o: NodeCertOptions): Promise<TestNodeCert> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const now = Date.now() + (o.notBeforeOffsetMs ?? -DAY);
  const userName = o.userName ?? `node-${hex(o.nodeId).slice(0, 8)}@${o.overlay}`;
  const extensions = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
    // Both: a link's two ends are TLS client and server (RFC 6940 §6.6.5).
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
    new x509.SubjectAlternativeNameExtension([
      { type: 'url', value: `reload://${hex(o.nodeId)}@${o.overlay}/` },
      { type: 'email', value: userName },
    ]),
  ];
  const common = {
    serialNumber: nextSerial(),
    subject: `CN=${userName}`,
    notBefore: new Date(now),
    notAfter: new Date(now + (o.lifetimeMs ?? 30 * DAY)),
    publicKey: keys.publicKey,
    signingAlgorithm: ALG,
    extensions,
  };
  const cert =
    ca === undefined
      ? await x509.X509CertificateGenerator.create({ ...common, issuer: common.subject, signingKey: keys.privateKey })
      : await x509.X509CertificateGenerator.create({ ...common, issuer: ca.cert.subject, signingKey: ca.keys.privateKey });
  return { certPem: cert.toString('pem'), keyPem: await keyPem(keys.privateKey), der: new Uint8Array(cert.rawData), nodeId: o.nodeId, userName };
}

/** The Node-IDs (hex) of the reload:// URIs and the rfc822Names in a certificate's subjectAltName. */
export function certificateIdentities(der: Uint8Array): { nodeIds: string[]; userNames: string[] } {
  const cert = new x509.X509Certificate(der);
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const nodeIds: string[] = [];
  const userNames: string[] = [];
  for (const n of san?.names.items ?? []) {
    if (n.type === 'url') {
      const m = /^reload:\/\/([0-9a-f]+)@/.exec(n.value);
      if (m !== null) nodeIds.push(m[1]!);
    } else if (n.type === 'email') userNames.push(n.value);
  }
  return { nodeIds, userNames };
}
