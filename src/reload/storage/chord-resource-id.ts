/**
 * The CHORD-RELOAD hash of a Resource Name (RFC 6940 §10.2, used for Resource-IDs by §5.2): SHA-1,
 * its most significant bits, as many bytes as a Node-ID (16 by default, §11.1). The one
 * implementation: peers, the simulator, the SIP usage's AoRs (RFC 7904 §3) and the certificate
 * store usage (RFC 6940 §8) all hash with it.
 */
import { createHash } from 'node:crypto';

/** CHORD-RELOAD Resource-IDs are 128 bits (RFC 6940 §10.2). */
export const CHORD_RESOURCE_ID_LENGTH = 16;

/** The Resource-ID of `resourceName`: SHA-1 truncated to `length` bytes (RFC 6940 §10.2). */
export function chordResourceId(resourceName: Uint8Array, length: number = CHORD_RESOURCE_ID_LENGTH): Uint8Array {
  return new Uint8Array(createHash('sha1').update(resourceName).digest().subarray(0, length));
}
