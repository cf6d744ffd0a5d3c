/**
 * AoR → Resource-ID for the SIP usage (RFC 7904 §3). The Resource Name is the AoR without its
 * scheme, `user@domain` — the form of a certificate's user name (RFC 6940 §13.3 rfc822Name), so
 * that USER-NODE-MATCH (RFC 6940 §7.3.3) can compare the two. It is hashed with the overlay's
 * hash: SHA-1 truncated to 128 bits (RFC 6940 §11.1 default for CHORD-RELOAD, §5.2).
 */
import { chordResourceId } from '../../reload/storage/chord-resource-id.js';
import { SipUsageError } from './sip-usage-error.js';

const utf8 = new TextEncoder();

/** Most bytes of a Resource Name we hash (an AoR longer than this is refused). */
export const MAX_AOR_LENGTH = 1024;

/** `sip:alice@overlay` → `alice@overlay`; throws SipUsageError for a non-sip AoR or one without user. */
export function aorResourceName(aor: string): string {
  const m = /^sips?:([^@]+)@(.+)$/i.exec(aor);
  if (m === null || aor.length > MAX_AOR_LENGTH) throw new SipUsageError('bad-aor', `not a sip AoR with a user: ${aor.slice(0, 80)}`);
  return `${m[1]}@${m[2]!.toLowerCase()}`;
}

/** The Resource-ID of an AoR: the CHORD-RELOAD hash of its Resource Name, `length` bytes (default 16). */
export function aorResourceId(aor: string, length = 16): Uint8Array {
  return chordResourceId(utf8.encode(aorResourceName(aor)), length);
}

/** True when a canonical AoR is in the overlay's domain (RFC 7904 §3: only those live in the overlay). */
export function isOverlayAor(aor: string, overlayName: string): boolean {
  const at = aor.lastIndexOf('@');
  return /^sips?:/i.test(aor) && at > 0 && aor.slice(at + 1).toLowerCase() === overlayName.toLowerCase();
}
