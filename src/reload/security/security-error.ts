import { P2psipError } from '../../lib/errors.js';

/**
 * Stable codes of the security layer (certificates, signatures, trust, enrollment).
 * The overlay maps them to RELOAD errors in one place (e.g. Error_Forbidden).
 */
export type SecurityErrorCode =
  | 'CERT_INVALID'
  | 'CERT_NO_NODE_ID'
  | 'CERT_NO_USER_NAME'
  | 'CERT_EXPIRED'
  | 'CERT_UNTRUSTED'
  | 'CERT_BAD_NODE'
  | 'CERT_UNKNOWN'
  | 'SIGNATURE_ALGORITHM_UNSUPPORTED'
  | 'SIGNATURE_INVALID'
  | 'SIGNER_MISMATCH'
  | 'KEY_INVALID'
  | 'USERS_INVALID'
  /** The certificate-making library could not be loaded (x509-provider.ts). */
  | 'X509_UNAVAILABLE';

/** A certificate or signature refused (RFC 6940 §6.3.4, §7.1, §11.3). */
export class SecurityError extends P2psipError {
  declare readonly code: SecurityErrorCode;

  constructor(code: SecurityErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'SecurityError';
  }
}
