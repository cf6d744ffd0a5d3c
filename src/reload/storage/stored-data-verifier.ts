import type { StoredData } from '../codec/index.js';
import type { AccessIdentity } from './access-identity.js';

/** The outcome of checking one StoredData's signature (RFC 6940 §7.1). */
export type StoredDataVerification = { ok: true; signer: AccessIdentity } | { ok: false; info: string };

/**
 * Checks the signature over `resource_id || kind || storage_time || StoredDataValue ||
 * SignerIdentity` (RFC 6940 §7.1) and returns the signer's identity. Implemented by the
 * security layer; the storage engine only consumes it.
 */
export interface StoredDataVerifier {
  verify(resourceId: Uint8Array, kindId: number, data: StoredData): StoredDataVerification;
}
