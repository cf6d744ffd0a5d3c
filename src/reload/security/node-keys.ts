import { createPrivateKey, createPublicKey, generateKeyPairSync, webcrypto } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
import { SecurityError } from './security-error.js';

/**
 * Key types of node and CA keys: RSA 2048 with SHA-256 is mandatory to implement (RFC 6940
 * §6.3.4); ECDSA P-256 with SHA-256 is an option (much faster keys and signatures: simulator, bench).
 */
export type NodeKeyAlgorithm = 'rsa-2048' | 'ecdsa-p256';

export const DEFAULT_KEY_ALGORITHM: NodeKeyAlgorithm = 'rsa-2048';

export interface NodeKeyPair {
  algorithm: NodeKeyAlgorithm;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** A fresh key pair (node:crypto; CPU only, no I/O). */
export function generateNodeKeyPair(algorithm: NodeKeyAlgorithm = DEFAULT_KEY_ALGORITHM): NodeKeyPair {
  const pair =
    algorithm === 'rsa-2048'
      ? generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 0x10001 })
      : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { algorithm, privateKey: pair.privateKey, publicKey: pair.publicKey };
}

/** The algorithm of a key, or a {@link SecurityError} ('KEY_INVALID') for anything else. */
export function keyAlgorithmOf(key: KeyObject): NodeKeyAlgorithm {
  if (key.asymmetricKeyType === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 2048) throw new SecurityError('KEY_INVALID', `RSA key of ${bits} bits; at least 2048 required`);
    return 'rsa-2048';
  }
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ecdsa-p256';
  throw new SecurityError('KEY_INVALID', `unsupported key type ${String(key.asymmetricKeyType)}: RSA (>= 2048 bits) or ECDSA P-256 required`);
}

/** PKCS#8 PEM of a private key (what identity files keep). */
export function privateKeyToPem(key: KeyObject): string {
  return key.export({ format: 'pem', type: 'pkcs8' }).toString();
}

/** A private key from PEM (PKCS#8 or PKCS#1/SEC1); {@link SecurityError} when unreadable or unsupported. */
export function privateKeyFromPem(pem: string): NodeKeyPair {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (e) {
    throw new SecurityError('KEY_INVALID', `cannot read the private key: ${(e as Error).message}`, { cause: e });
  }
  const algorithm = keyAlgorithmOf(privateKey);
  return { algorithm, privateKey, publicKey: createPublicKey(privateKey) };
}

/** DER SubjectPublicKeyInfo of a public key (the input of the self-signed Node-ID rule, RFC 6940 §11.3.1). */
export function spkiOf(publicKey: KeyObject): Uint8Array {
  return new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
}

/** The WebCrypto algorithm for a key of `algorithm` signing with SHA-256 (for @peculiar/x509). */
export function webCryptoAlgorithm(algorithm: NodeKeyAlgorithm): webcrypto.RsaHashedImportParams | (webcrypto.EcKeyImportParams & { hash: string }) {
  return algorithm === 'rsa-2048'
    ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }
    : { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
}

/** WebCrypto keys of a node key pair (certificate and CSR generation). */
export async function toWebCryptoKeys(pair: NodeKeyPair): Promise<CryptoKeyPair> {
  const alg = webCryptoAlgorithm(pair.algorithm);
  const usagesPriv: webcrypto.KeyUsage[] = ['sign'];
  const privateKey = await webcrypto.subtle.importKey('pkcs8', pair.privateKey.export({ format: 'der', type: 'pkcs8' }), alg, true, usagesPriv);
  const publicKey = await importPublicKey(spkiOf(pair.publicKey), pair.algorithm);
  return { privateKey, publicKey } as CryptoKeyPair;
}

/** A WebCrypto public key from DER SubjectPublicKeyInfo. */
export async function importPublicKey(spki: Uint8Array, algorithm: NodeKeyAlgorithm): Promise<CryptoKey> {
  return (await webcrypto.subtle.importKey('spki', spki, webCryptoAlgorithm(algorithm), true, ['verify'])) as CryptoKey;
}
