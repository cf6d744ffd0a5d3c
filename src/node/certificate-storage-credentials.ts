/** The storage layer's {@link StorageCredentials} over our NodeIdentity and the overlay's CertificateStore. */
import type { StoredData } from '../reload/codec/index.js';
import { createStoredDataVerifier, signStoredData } from '../reload/security/index.js';
import type { CertificateStore, NodeIdentity } from '../reload/security/index.js';
import type { StorageCredentials } from '../reload/storage/index.js';

export function certificateStorageCredentials(identity: NodeIdentity, store: CertificateStore): StorageCredentials {
  const nodeId = identity.certificate.nodeIds[0];
  if (nodeId === undefined) throw new Error('our certificate carries no Node-ID');
  return {
    identity: { userName: identity.certificate.userName, nodeIds: [nodeId] },
    certificate: identity.certificate.der,
    sign: (resourceId, kind, storageTime, lifetime, value) => signStoredData(identity, { resourceId, kind, storageTime, lifetime, value }, nodeId),
    verifier: createStoredDataVerifier(store),
    learn(der: Uint8Array): void {
      store.add(der);
    },
    certificateOf(data: StoredData): Uint8Array | undefined {
      const r = store.resolveSigner(data.signature.identity);
      return r.ok ? r.signer.certificate.der : undefined;
    },
  };
}
