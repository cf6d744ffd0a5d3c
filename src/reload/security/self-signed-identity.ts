import { createHash } from 'node:crypto';
import { DEFAULT_NODE_ID_LENGTH } from '../codec/index.js';
import type { Random } from '../../lib/random.js';
import { bytesEqual } from './bytes-hex.js';
import { createNodeCertificate } from './node-certificate.js';
import type { NodeCertificate } from './node-certificate.js';
import { generateNodeKeyPair } from './node-keys.js';
import type { NodeKeyAlgorithm } from './node-keys.js';
import { nodeIdentityOf } from './node-identity.js';
import type { NodeIdentity } from './node-identity.js';
import { isSelfSigned } from './x509-certificate-info.js';

/** The digest of the configuration's self-signed-permitted element (RFC 6940 §11.1). */
export type SelfSignedDigest = 'sha1' | 'sha256';

/**
 * RFC 6940 §11.3.1: the Node-ID of a self-signed certificate is the digest of the DER
 * subjectPublicKeyInfo, truncated to its high-order `nodeIdLength` bytes; with several Node-IDs,
 * Node-ID i (1-based) is the digest of uint32(i) || subjectPublicKeyInfo.
 * (SHA-1 gives 20 bytes, enough for any NodeIdLength of 16..20.)
 */
export function selfSignedNodeId(spki: Uint8Array, digest: SelfSignedDigest, nodeIdLength: number, index?: number): Uint8Array {
  const h = createHash(digest);
  if (index !== undefined) {
    const prefix = new Uint8Array(4);
    new DataView(prefix.buffer).setUint32(0, index);
    h.update(prefix);
  }
  return new Uint8Array(h.update(spki).digest()).slice(0, nodeIdLength);
}

/** The Node-IDs a self-signed certificate with `count` Node-IDs must carry. */
export function selfSignedNodeIds(spki: Uint8Array, digest: SelfSignedDigest, nodeIdLength: number, count: number): Uint8Array[] {
  if (count === 1) return [selfSignedNodeId(spki, digest, nodeIdLength)];
  return Array.from({ length: count }, (_, i) => selfSignedNodeId(spki, digest, nodeIdLength, i + 1));
}

/**
 * Why `cert` fails the self-signed rule (RFC 6940 §11.3.1: self-signed, and its Node-IDs match its
 * public key — no Node-ID theft), or undefined when it passes.
 */
export function selfSignedRuleViolation(cert: NodeCertificate, digest: SelfSignedDigest): string | undefined {
  if (!isSelfSigned(cert)) return 'not self-signed';
  const expected = selfSignedNodeIds(cert.spki, digest, cert.nodeIds[0]!.length, cert.nodeIds.length);
  for (let i = 0; i < expected.length; i++) {
    if (!bytesEqual(expected[i]!, cert.nodeIds[i]!)) return `Node-ID ${cert.nodeIdHex[i]} is not the ${digest} hash of the certificate's public key`;
  }
  return undefined;
}

export interface SelfSignedIdentityOptions {
  overlay: string;
  /** Any user name the user likes (RFC 6940 §11.3.1), of the form user@domain. */
  userName: string;
  /** Milliseconds since 1970 (UTC): the start of validity. */
  now: number;
  random: Random;
  digest?: SelfSignedDigest;
  /** Default 16 (RFC 6940 §11.1). */
  nodeIdLength?: number;
  /** Default 1. */
  nodeIdCount?: number;
  /** Default 'rsa-2048'. */
  algorithm?: NodeKeyAlgorithm;
  /** Default 365 days. */
  validityMs?: number;
}

/** A fresh key pair and self-signed node certificate whose Node-ID is the hash of the key (RFC 6940 §11.3.1). */
export async function createSelfSignedIdentity(o: SelfSignedIdentityOptions): Promise<NodeIdentity> {
  const keys = generateNodeKeyPair(o.algorithm);
  const nodeIdLength = o.nodeIdLength ?? DEFAULT_NODE_ID_LENGTH;
  const nodeIds = selfSignedNodeIds(
    new Uint8Array(keys.publicKey.export({ format: 'der', type: 'spki' })),
    o.digest ?? 'sha256',
    nodeIdLength,
    o.nodeIdCount ?? 1,
  );
  const der = await createNodeCertificate({
    subjectPublicKey: keys.publicKey,
    nodeIds,
    userName: o.userName,
    overlay: o.overlay,
    notBefore: o.now - 60_000,
    notAfter: o.now + (o.validityMs ?? 365 * 24 * 3600 * 1000),
    serialNumber: o.random.bytes(16),
    selfKeys: keys,
  });
  return nodeIdentityOf(der, keys, { nodeIdLength });
}
