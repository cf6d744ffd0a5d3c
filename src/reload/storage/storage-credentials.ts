import type { StoredData, StoredDataValue } from '../codec/index.js';
import type { AccessIdentity } from './access-identity.js';
import type { CertificatePlace } from './certificate-places.js';
import type { StoredDataVerifier } from './stored-data-verifier.js';

/**
 * What the overlay storage needs of the security layer (implemented over a NodeIdentity and a
 * CertificateStore in the composition root; storage does not import security).
 */
export interface StorageCredentials {
  /** Who we are: the user name and Node-ID our certificate carries (RFC 6940 §11.3). */
  identity: AccessIdentity;
  /** Our certificate (DER), for the certificate store usage (RFC 6940 §8). */
  certificate: Uint8Array;
  /** Signs a value we write (RFC 6940 §7.1). */
  sign(resourceId: Uint8Array, kind: number, storageTime: bigint, lifetime: number, value: StoredDataValue): StoredData;
  /** Checks a value's signature and returns its signer; certificates come from the store (which learns message bags). */
  verifier: StoredDataVerifier;
  /** The DER certificate of a value's signer when known (for the bag of a FetchAns or replica StoreReq, §6.3.4). */
  certificateOf(data: StoredData): Uint8Array | undefined;
  /** Offers a certificate to the certificate store (kept signer certificates after a restart). */
  learn?(der: Uint8Array): void;
  /**
   * Looks up the certificate of a value's signer that the store does not know through the
   * Certificate Store Usage at `places` (RFC 6940 §8); true when the signer is known now. Bounded
   * by the implementation (one lookup per signer at a time, negative cache, timeout). Never rejects.
   */
  resolveSigner?(data: StoredData, places: readonly CertificatePlace[]): Promise<boolean>;
}
