// RELOAD security (RFC 6940 §6.3.4, §7.1, §8, §11.3): certificates, signatures, trust, enrollment.
export { SecurityError } from './security-error.js';
export type { SecurityErrorCode } from './security-error.js';
export { bytesEqual, fromHex, toHex } from './bytes-hex.js';
export {
  DEFAULT_KEY_ALGORITHM,
  generateNodeKeyPair,
  keyAlgorithmOf,
  privateKeyFromPem,
  privateKeyToPem,
  spkiOf,
} from './node-keys.js';
export type { NodeKeyAlgorithm, NodeKeyPair } from './node-keys.js';
export { sha256, signatureAlgorithmFor, signBytes, verifyBytes } from './signature-algorithm.js';
export { SIGNATURE_MEMO_ENTRIES, SignatureMemo, signatureMemo } from './signature-memo.js';
export { MAX_CERTIFICATE_SIZE, isIssuedBy, isSelfSigned, readCertificateInfo } from './x509-certificate-info.js';
export type { CertificateInfo } from './x509-certificate-info.js';
export { parseReloadNodeUri, reloadNodeUri } from './reload-node-uri.js';
export { MAX_NODE_IDS_PER_CERTIFICATE, createNodeCertificate, readNodeCertificate } from './node-certificate.js';
export type { NodeCertificate, NodeCertificateParams } from './node-certificate.js';
export { loadNodeIdentity, nodeIdentityOf } from './node-identity.js';
export type { NodeIdentity } from './node-identity.js';
export { createSelfSignedIdentity, selfSignedNodeId, selfSignedNodeIds, selfSignedRuleViolation } from './self-signed-identity.js';
export type { SelfSignedDigest, SelfSignedIdentityOptions } from './self-signed-identity.js';
export { checkNodeCertificate, prepareTrust, trustRefusal, validityRefusal } from './trust-policy.js';
export type { PreparedTrust, TrustPolicy } from './trust-policy.js';
export { CertificateStore, DEFAULT_CERTIFICATE_STORE_ENTRIES, DEFAULT_MAX_BAG_CERTIFICATES } from './certificate-store.js';
export type { CertificateStoreOptions, SignerResult, VerifiedSigner } from './certificate-store.js';
export { signerIdentityFor } from './signer-identity.js';
export { bagCertificates, signMessage, signMessageContents, verifyMessage, verifyMessageContents } from './message-signer.js';
export type { SignMessageOptions, VerifyMessageOptions } from './message-signer.js';
export { signStoredData, storedDataSignatureInput, verifyStoredData } from './stored-data-signer.js';
export type { StoredDataToSign } from './stored-data-signer.js';
export { createStoredDataVerifier } from './create-stored-data-verifier.js';
export { CertificateSecurity } from './certificate-security.js';
export { CertificateResolver } from './certificate-resolver.js';
export type { CertificateLookupPlace, CertificateResolverDeps, CertificateResolverOptions, CertificateResolverStats } from './certificate-resolver.js';
export type { CertificateSecurityOptions } from './certificate-security.js';
export {
  CERTIFICATE_BY_NODE_KIND,
  CERTIFICATE_BY_USER_KIND,
  certificateByNodeResourceId,
  certificateByUserResourceId,
  decodeCertificateValue,
  encodeCertificateValue,
} from './certificate-usage.js';
export { hashPassword, isPasswordHash, verifyPassword } from './password-hash.js';
export { ACCOUNT_NAME, MAX_USERS, parseUserTable } from './user-table.js';
export type { UserTable } from './user-table.js';
export { createOverlayCa, issueCaSignedIdentity, issueTlsServerCertificate } from './overlay-ca.js';
export type { OverlayCa } from './overlay-ca.js';
export { createCertificateRequest } from './certificate-request.js';
export { certificateFromPem, certificateToPem, pemBlocks } from './pem.js';
export { DEFAULT_MAX_NODE_IDS_PER_USER, EnrollmentAuthority, EnrollmentError, MAX_CSR_SIZE } from './enrollment-authority.js';
export type { EnrollmentAuthorityOptions, EnrollmentRefusal, EnrollmentRequest, EnrollmentResult } from './enrollment-authority.js';
