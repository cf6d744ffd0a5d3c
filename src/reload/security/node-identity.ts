import { bytesEqual } from './bytes-hex.js';
import { privateKeyFromPem, spkiOf } from './node-keys.js';
import type { NodeKeyPair } from './node-keys.js';
import { readNodeCertificate } from './node-certificate.js';
import type { NodeCertificate } from './node-certificate.js';
import { SecurityError } from './security-error.js';

/** What a node signs with: its certificate (read) and the matching key pair. */
export interface NodeIdentity {
  certificate: NodeCertificate;
  keys: NodeKeyPair;
}

/** Pairs a certificate with its key; {@link SecurityError} when they do not match or the certificate is no node certificate. */
export function nodeIdentityOf(certificateDer: Uint8Array, keys: NodeKeyPair, options: { nodeIdLength?: number } = {}): NodeIdentity {
  const certificate = readNodeCertificate(certificateDer, options);
  if (!bytesEqual(certificate.spki, spkiOf(keys.publicKey))) {
    throw new SecurityError('KEY_INVALID', 'the private key does not match the certificate');
  }
  return { certificate, keys };
}

/** {@link nodeIdentityOf} from a PEM private key. */
export function loadNodeIdentity(certificateDer: Uint8Array, privateKeyPem: string, options: { nodeIdLength?: number } = {}): NodeIdentity {
  return nodeIdentityOf(certificateDer, privateKeyFromPem(privateKeyPem), options);
}
