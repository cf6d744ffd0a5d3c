import { HashAlgorithm } from '../codec/index.js';
import type { SignerIdentity } from '../codec/index.js';
import { bytesEqual, concatBytes, toHex } from './bytes-hex.js';
import type { NodeIdentity } from './node-identity.js';
import { SecurityError } from './security-error.js';
import { sha256 } from './signature-algorithm.js';

/**
 * The SignerIdentity of `identity` (RFC 6940 §6.3.4): cert_hash = SHA-256(certificate) when the
 * certificate has one Node-ID, else cert_hash_node_id = SHA-256(NodeId || certificate) for `nodeId`
 * (default: the first).
 */
export function signerIdentityFor(identity: NodeIdentity, nodeId?: Uint8Array): SignerIdentity {
  const cert = identity.certificate;
  if (nodeId !== undefined && !cert.nodeIds.some((id) => bytesEqual(id, nodeId))) {
    throw new SecurityError('SIGNER_MISMATCH', `Node-ID ${toHex(nodeId)} is not in the certificate`);
  }
  if (cert.nodeIds.length === 1) return { type: 'cert_hash', hashAlg: HashAlgorithm.sha256, certificateHash: cert.hash };
  const id = nodeId ?? cert.nodeIds[0]!;
  return { type: 'cert_hash_node_id', hashAlg: HashAlgorithm.sha256, certificateNodeIdHash: sha256(concatBytes(id, cert.der)) };
}
