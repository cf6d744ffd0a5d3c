import { Writer, writeDataValue, writeModelEntry, writeSignerIdentity } from '../codec/index.js';
import type { Signature, SignerIdentity, StoredData, StoredDataValue } from '../codec/index.js';
import type { CertificateStore, SignerResult } from './certificate-store.js';
import type { NodeIdentity } from './node-identity.js';
import { SecurityError } from './security-error.js';
import { signatureAlgorithmFor, signBytes, verifyBytes } from './signature-algorithm.js';
import { signerIdentityFor } from './signer-identity.js';

/**
 * The bytes a StoredData signature covers (RFC 6940 §7.1):
 * resource_id || kind || storage_time || StoredDataValue || SignerIdentity.
 * resource_id is the Resource-ID's raw bytes (no length prefix, as NodeIds in §6.3.4), kind a
 * uint32, storage_time a uint64, StoredDataValue and SignerIdentity in their wire encoding.
 * RFC 6940 §7.4.2.2: an array entry's index is set to 0 before the signature is computed, so a
 * value appended with index 0xffffffff still verifies at the index the storing peer gave it.
 */
export function storedDataSignatureInput(
  resourceId: Uint8Array,
  kind: number,
  storageTime: bigint,
  value: StoredDataValue,
  identity: SignerIdentity,
): Uint8Array {
  const w = new Writer('StoredDataSignatureInput');
  w.bytes(resourceId, 'resource_id');
  w.u32(kind, 'kind');
  w.u64(storageTime, 'storage_time');
  const signed: StoredDataValue = value.model === 'array' ? { ...value, index: 0 } : value;
  w.scoped('value', () => writeModelEntry(w, signed, writeDataValue));
  w.scoped('identity', () => writeSignerIdentity(w, identity));
  return w.finish();
}

export interface StoredDataToSign {
  resourceId: Uint8Array;
  kind: number;
  /** Milliseconds since 1970 (RFC 6940 §7.2). */
  storageTime: bigint;
  /** Seconds. */
  lifetime: number;
  value: StoredDataValue;
}

/** A StoredData signed by `identity` (RFC 6940 §7.1); `nodeId` picks the signing Node-ID of a multi-Node-ID certificate. */
export function signStoredData(identity: NodeIdentity, data: StoredDataToSign, nodeId?: Uint8Array): StoredData {
  const signerIdentity = signerIdentityFor(identity, nodeId);
  const input = storedDataSignatureInput(data.resourceId, data.kind, data.storageTime, data.value, signerIdentity);
  const signature: Signature = {
    algorithm: signatureAlgorithmFor(identity.keys.privateKey),
    identity: signerIdentity,
    signatureValue: signBytes(identity.keys.privateKey, input),
  };
  return { storageTime: data.storageTime, lifetime: data.lifetime, value: data.value, signature };
}

/**
 * Verifies a StoredData's signature for the Resource-ID and Kind it is stored under (RFC 6940 §7.1):
 * by the storing peer on Store and by the fetcher on Fetch. The signer's certificate comes from
 * the store or `bag` (the message's certificates) and must be trusted and valid now. Returns the
 * signer's identity (user name, Node-IDs) for access control (§7.3). Never throws.
 */
export function verifyStoredData(
  stored: StoredData,
  resourceId: Uint8Array,
  kind: number,
  store: CertificateStore,
  bag: readonly Uint8Array[] = [],
): SignerResult {
  try {
    const sig = stored.signature;
    const resolved = store.resolveSigner(sig.identity, bag);
    if (!resolved.ok) return resolved;
    const input = storedDataSignatureInput(resourceId, kind, stored.storageTime, stored.value, sig.identity);
    if (!verifyBytes(sig.algorithm, resolved.signer.certificate.publicKey, input, sig.signatureValue)) {
      return { ok: false, error: new SecurityError('SIGNATURE_INVALID', `StoredData signature does not verify with the certificate of ${resolved.signer.userName}`) };
    }
    return resolved;
  } catch (e) {
    return { ok: false, error: new SecurityError('SIGNATURE_INVALID', `cannot verify StoredData: ${(e as Error).message}`, { cause: e }) };
  }
}
