import { createHash, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { HashAlgorithm, SignatureAlgorithm } from '../codec/index.js';
import type { SignatureAndHashAlgorithm } from '../codec/index.js';
import { keyAlgorithmOf } from './node-keys.js';
import { signatureMemo } from './signature-memo.js';

/** The TLS SignatureAndHashAlgorithm a key signs with: rsa/sha256 (RFC 6940 §6.3.4) or ecdsa/sha256. */
export function signatureAlgorithmFor(key: KeyObject): SignatureAndHashAlgorithm {
  return keyAlgorithmOf(key) === 'rsa-2048'
    ? { hash: HashAlgorithm.sha256, signature: SignatureAlgorithm.rsa }
    : { hash: HashAlgorithm.sha256, signature: SignatureAlgorithm.ecdsa };
}

/** Signs `data` with SHA-256 (RSASSA-PKCS1-v1_5, or DER-encoded ECDSA as TLS does). */
export function signBytes(privateKey: KeyObject, data: Uint8Array): Uint8Array {
  const signature = new Uint8Array(sign('sha256', data, privateKey));
  signatureMemo.remember(privateKey, data, signature);
  return signature;
}

/**
 * Verifies a signature made with `algorithm` by `publicKey`. Only sha256 with the key's own
 * signature algorithm is accepted; anything else is false, never a throw. A signature this process
 * made itself over the same bytes is not verified again (signature-memo.ts).
 */
export function verifyBytes(algorithm: SignatureAndHashAlgorithm, publicKey: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  if (algorithm.hash !== HashAlgorithm.sha256) return false;
  const expected = publicKey.asymmetricKeyType === 'rsa' ? SignatureAlgorithm.rsa : publicKey.asymmetricKeyType === 'ec' ? SignatureAlgorithm.ecdsa : -1;
  if (algorithm.signature !== expected) return false;
  // made here, with this key's private half, over exactly these bytes (signature-memo.ts)
  if (signatureMemo.madeHere(publicKey, data, signature)) return true;
  try {
    return verify('sha256', data, publicKey, signature);
  } catch {
    return false;
  }
}

/** SHA-256 of bytes (certificate hashes of SignerIdentity, RFC 6940 §6.3.4). */
export function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}
