import { chordResourceId } from '../storage/chord-resource-id.js';

/** RFC 6940 §14.6 Kind-IDs of the Certificate Store Usage (§8). */
export const CERTIFICATE_BY_NODE_KIND = 3;
export const CERTIFICATE_BY_USER_KIND = 16;

/** RFC 6940 §8: CERTIFICATE_BY_NODE is stored at the hash of the Node-ID (not at the Node-ID itself). */
export function certificateByNodeResourceId(nodeId: Uint8Array): Uint8Array {
  return chordResourceId(nodeId);
}

/** RFC 6940 §8: CERTIFICATE_BY_USER is stored at the hash of the user name (UTF-8), as USER-MATCH checks (§7.3.1). */
export function certificateByUserResourceId(userName: string): Uint8Array {
  return chordResourceId(new TextEncoder().encode(userName));
}

/** The value stored in a CERTIFICATE_BY_* array entry: the DER certificate (RFC 6940 §8). */
export function encodeCertificateValue(der: Uint8Array): Uint8Array {
  return new Uint8Array(der);
}

/** The DER certificate of a CERTIFICATE_BY_* value (the caller checks it with the CertificateStore). */
export function decodeCertificateValue(value: Uint8Array): Uint8Array {
  return new Uint8Array(value);
}
