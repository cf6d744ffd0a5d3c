// RELOAD storage (RFC 6940 §7): the one barrel of src/reload/storage.
export type { AccessIdentity } from './access-identity.js';
export { MAX_NODE_MULTIPLE, checkAccessPolicy, nodeMultipleResourceName, userResourceName } from './access-policy.js';
export type { AccessDecision, HashResourceName } from './access-policy.js';
export { planFetch, planStat, remainingLifetime, syntheticStoredData, valueDigest } from './fetch-handler.js';
export type { FetchEnv } from './fetch-handler.js';
export { planFind } from './find-handler.js';
export type { FindResource } from './find-handler.js';
export type { AccessPolicyName, DataModelName, KindDefinition } from './kind.js';
export { ENTRY_OVERHEAD } from './kind-record.js';
export type { KindRecord, StoredEntry } from './kind-record.js';
export { entryKey } from './kind-record.js';
export { RECORD_PREFIX } from './kind-record-codec.js';
export { MemoryStorageBackend } from './memory-storage-backend.js';
export { CHORD_RESOURCE_ID_LENGTH, chordResourceId } from './chord-resource-id.js';
export { bytesEqual, clockwiseDistance, fromHex, idValue, inRingInterval, toHex } from './resource-id-ring.js';
export type { StorageBackend, StorageBackendOp } from './storage-backend.js';
export { DEFAULT_STORAGE_ENGINE_OPTIONS, StorageEngine } from './storage-engine.js';
export type { StorageEngineDeps, StorageEngineOptions, StorageSummary, StoreResult } from './storage-engine.js';
export { DEFAULT_WRITER_QUOTAS } from './writer-quotas.js';
export type { WriterQuotaOptions } from './writer-quotas.js';
export { StorageError } from './storage-error.js';
export type { StorageErrorCode } from './storage-error.js';
export { MAX_UNKNOWN_KINDS } from './storage-failure.js';
export type { StorageFailure } from './storage-failure.js';
export { ARRAY_APPEND, planStore } from './store-handler.js';
export type { StoreContext, StorePlan, StorePlanEnv } from './store-handler.js';
export type { StoredDataVerification, StoredDataVerifier } from './stored-data-verifier.js';
export { BagSharingSecurity, MAX_LEARNED_PER_MESSAGE } from './bag-sharing-security.js';
export { OverlayStorage } from './overlay-storage.js';
export type {
  ClientFetchResult,
  ClientStatResult,
  ClientStoreResult,
  FetchedValue,
  OverlayStorageDeps,
  OverlayStorageOptions,
  ResourceRef,
  StorageRequestFailure,
  ValueSelector,
} from './overlay-storage.js';
export { DEFAULT_REPLICA_MAINTAINER_OPTIONS, HANDOVER_FIRST_RETRY_MS, ReplicaMaintainer } from './replica-maintainer.js';
export type { ReplicaCounters, ReplicaMaintainerDeps, ReplicaMaintainerOptions } from './replica-maintainer.js';
export type { StorageCredentials } from './storage-credentials.js';
export type { StorageHost, StorageNeighbours, StorageRing } from './storage-host.js';
export { DEFAULT_FETCH_FALLBACK_MS, MAX_FETCH_BAG_CERTIFICATES, StorageRequestHandlers } from './storage-request-handlers.js';
export type { StorageHandlerDeps } from './storage-request-handlers.js';
export { CERTIFICATE_BY_NODE, CERTIFICATE_BY_USER, publishCertificate } from './certificate-publisher.js';
export type { PublishResult } from './certificate-publisher.js';
export { certificatePlaces } from './certificate-places.js';
export type { CertificatePlace } from './certificate-places.js';
export { CERTIFICATE_PREFIX, DEFAULT_MAX_SIGNER_CERTIFICATES, SignerCertificates } from './signer-certificates.js';
export type { GuardDecision, GuardRequest, KindGuard, KindGuards } from './kind-guard.js';
export { WRITE_GRANT_KIND_ID, WRITE_GRANT_VALUE_SIZE, decodeWriteGrant, liveGrantUntil, writeGrantValue } from './write-grant.js';
