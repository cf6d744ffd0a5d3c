import type { StoredData } from '../codec/index.js';
import type { StoredDataVerifier } from '../storage/index.js';
import type { CertificateStore } from './certificate-store.js';
import { verifyStoredData } from './stored-data-signer.js';

/**
 * The storage engine's {@link StoredDataVerifier} over a certificate store (RFC 6940 §7.1). The
 * signer's identity lists only the Node-ID its SignerIdentity names (§7.3.2–§7.3.4). `bag`: the
 * certificates of the message carrying the data (a StoreReq or FetchAns), also looked in.
 */
export function createStoredDataVerifier(store: CertificateStore, bag: readonly Uint8Array[] = []): StoredDataVerifier {
  return {
    verify(resourceId: Uint8Array, kindId: number, data: StoredData) {
      const r = verifyStoredData(data, resourceId, kindId, store, bag);
      if (!r.ok) return { ok: false, info: r.error.message };
      return { ok: true, signer: { userName: r.signer.userName, nodeIds: [r.signer.nodeId] } };
    },
  };
}
