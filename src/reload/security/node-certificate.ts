import type { KeyObject } from 'node:crypto';
import { toHex } from './bytes-hex.js';
import { keyAlgorithmOf, spkiOf, importPublicKey, toWebCryptoKeys, webCryptoAlgorithm } from './node-keys.js';
import type { NodeKeyPair } from './node-keys.js';
import { parseReloadNodeUri, reloadNodeUri } from './reload-node-uri.js';
import { SecurityError } from './security-error.js';
import { readCertificateInfo } from './x509-certificate-info.js';
import type { CertificateInfo } from './x509-certificate-info.js';
import type { Extension, JsonGeneralName } from '@peculiar/x509';
import { loadX509 } from './x509-provider.js';

/** At most this many Node-IDs are read from one certificate. */
export const MAX_NODE_IDS_PER_CERTIFICATE = 16;

/** A node certificate as RFC 6940 §11.3 defines it, read. */
export interface NodeCertificate extends CertificateInfo {
  /** Node-IDs of the reload: URIs in subjectAltName, in order. */
  nodeIds: Uint8Array[];
  /** Hex of each Node-ID. */
  nodeIdHex: string[];
  /** The rfc822Name of subjectAltName (RFC 6940 §11.3: the user name). */
  userName: string;
  /** The overlay named by the first reload: URI. */
  overlay: string;
}

/**
 * Reads a node certificate: Node-IDs from the `reload://` URIs of subjectAltName and the user name
 * from its rfc822Name (RFC 6940 §11.3). Throws {@link SecurityError} ('CERT_INVALID',
 * 'CERT_NO_NODE_ID', 'CERT_NO_USER_NAME'); the caller decides about trust and validity time.
 */
export function readNodeCertificate(der: Uint8Array, options: { nodeIdLength?: number } = {}): NodeCertificate {
  const info = readCertificateInfo(der);
  const nodeIds: Uint8Array[] = [];
  let overlay: string | undefined;
  for (const uri of info.uris) {
    const parsed = parseReloadNodeUri(uri);
    if (parsed === undefined) continue;
    if (options.nodeIdLength !== undefined && parsed.nodeId.length !== options.nodeIdLength) {
      throw new SecurityError('CERT_NO_NODE_ID', `Node-ID in ${uri} is ${parsed.nodeId.length} bytes, the overlay uses ${options.nodeIdLength}`);
    }
    if (nodeIds.length >= MAX_NODE_IDS_PER_CERTIFICATE) throw new SecurityError('CERT_INVALID', `more than ${MAX_NODE_IDS_PER_CERTIFICATE} Node-IDs`);
    overlay ??= parsed.overlay;
    if (parsed.overlay.toLowerCase() !== overlay.toLowerCase()) {
      throw new SecurityError('CERT_INVALID', `Node-ID URIs name two overlays (${overlay}, ${parsed.overlay})`);
    }
    nodeIds.push(parsed.nodeId);
  }
  if (nodeIds.length === 0 || overlay === undefined) {
    throw new SecurityError('CERT_NO_NODE_ID', `certificate ${info.fingerprint.slice(0, 16)} has no reload:// Node-ID URI in subjectAltName`);
  }
  const userName = info.emails[0];
  if (userName === undefined || userName.length === 0) {
    throw new SecurityError('CERT_NO_USER_NAME', `certificate ${info.fingerprint.slice(0, 16)} has no rfc822Name user name in subjectAltName`);
  }
  return { ...info, nodeIds, nodeIdHex: nodeIds.map(toHex), userName, overlay };
}

/** Parameters of {@link createNodeCertificate}. */
export interface NodeCertificateParams {
  /** The public key the certificate binds. */
  subjectPublicKey: KeyObject;
  nodeIds: Uint8Array[];
  userName: string;
  overlay: string;
  /** Milliseconds since 1970 (UTC). */
  notBefore: number;
  notAfter: number;
  /** Positive serial number bytes (e.g. 16 random bytes; the top bit is cleared). */
  serialNumber: Uint8Array;
  /** The signer: a CA (certificate + key), or absent for a self-signed certificate signed by `selfKey`. */
  issuer?: { certificate: Uint8Array; keys: NodeKeyPair };
  /** For self-signed: the key pair of `subjectPublicKey`. */
  selfKeys?: NodeKeyPair;
}

/**
 * Makes a node certificate (RFC 6940 §11.3): empty subject, a critical subjectAltName with one
 * `reload://` URI per Node-ID and the user name as rfc822Name, nothing else in it. Usable as a TLS
 * client and server certificate (the overlay links are mutual TLS, §6.6).
 */
export async function createNodeCertificate(p: NodeCertificateParams): Promise<Uint8Array> {
  if (p.nodeIds.length === 0) throw new SecurityError('CERT_NO_NODE_ID', 'a node certificate needs at least one Node-ID');
  if (!/^[^\s\0@]+@[^\s\0@]+$/.test(p.userName)) throw new SecurityError('CERT_NO_USER_NAME', `user name ${JSON.stringify(p.userName)} is not of the form user@domain`);
  const signer = p.issuer?.keys ?? p.selfKeys;
  if (signer === undefined) throw new SecurityError('KEY_INVALID', 'createNodeCertificate needs an issuer or selfKeys');
  const x509 = await loadX509();
  const names: JsonGeneralName[] = p.nodeIds.map((id) => ({ type: 'url', value: reloadNodeUri(id, p.overlay) }));
  names.push({ type: 'email', value: p.userName });
  const subjectAlgorithm = keyAlgorithmOf(p.subjectPublicKey);
  const extensions: Extension[] = [
    new x509.SubjectAlternativeNameExtension(names, true),
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | (subjectAlgorithm === 'rsa-2048' ? x509.KeyUsageFlags.keyEncipherment : 0), true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
  ];
  return signCertificate({
    subject: '',
    subjectPublicKey: p.subjectPublicKey,
    notBefore: p.notBefore,
    notAfter: p.notAfter,
    serialNumber: p.serialNumber,
    extensions,
    signer,
    issuerCertificate: p.issuer?.certificate,
  });
}

/** Low-level: a certificate for `subjectPublicKey` signed by `signer` (the issuer's name from `issuerCertificate`, else self-issued). */
export async function signCertificate(p: {
  subject: string;
  subjectPublicKey: KeyObject;
  notBefore: number;
  notAfter: number;
  serialNumber: Uint8Array;
  extensions: Extension[];
  signer: NodeKeyPair;
  issuerCertificate?: Uint8Array | undefined;
}): Promise<Uint8Array> {
  if (!(p.notAfter > p.notBefore)) throw new SecurityError('CERT_INVALID', 'notAfter must be after notBefore');
  const x509 = await loadX509();
  const signerKeys = await toWebCryptoKeys(p.signer);
  const publicKey = await importPublicKey(spkiOf(p.subjectPublicKey), keyAlgorithmOf(p.subjectPublicKey));
  const issuer = p.issuerCertificate === undefined ? p.subject : new x509.X509Certificate(p.issuerCertificate).subject;
  const extensions = [...p.extensions, await x509.SubjectKeyIdentifierExtension.create(publicKey)];
  if (p.issuerCertificate !== undefined) {
    extensions.push(await x509.AuthorityKeyIdentifierExtension.create(new x509.X509Certificate(p.issuerCertificate)));
  }
  const serial = new Uint8Array(p.serialNumber);
  if (serial.length === 0) throw new SecurityError('CERT_INVALID', 'empty serial number');
  serial[0] = (serial[0]! & 0x7f) | 0x01; // positive, no leading zero byte
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: toHex(serial),
    subject: p.subject,
    issuer,
    notBefore: new Date(p.notBefore),
    notAfter: new Date(p.notAfter),
    signingAlgorithm: webCryptoAlgorithm(p.signer.algorithm),
    publicKey,
    signingKey: signerKeys.privateKey,
    extensions,
  });
  return new Uint8Array(cert.rawData);
}
