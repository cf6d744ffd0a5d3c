// Re-exports for the CertificateStore test (codec constant + security API).
export { CertificateStore, signerIdentityFor } from '../../../../src/reload/security/index.js';
import { HashAlgorithm } from '../../../../src/reload/codec/index.js';
export const HashAlgorithmSha256 = HashAlgorithm.sha256;
