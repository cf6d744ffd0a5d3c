/**
 * The ufrag and password of an AppAttach (RFC 6940 §6.5.2.1 takes them from ICE). RFC 8445 §5.3
 * (RFC 5245 §15.4): both are ice-chars (ALPHA / DIGIT / "+" / "/"), the ufrag at least 4 characters
 * and 24 bits of randomness, the password at least 22 characters and 128 bits. Random bytes are
 * not ice-chars (Wireshark flags a NUL inside them as "Trailing stray characters").
 */
import { randomToken } from '../../lib/random.js';
import type { Random } from '../../lib/random.js';

/** Lowercase alphanumerics: 8 × log2(36) ≈ 41 bits. */
export const ICE_UFRAG_LENGTH = 8;
/** 26 × log2(36) ≈ 134 bits (≥ 128, RFC 8445 §5.3). */
export const ICE_PASSWORD_LENGTH = 26;

const ascii = new TextEncoder();

export function iceCredentials(random: Random): { ufrag: Uint8Array; password: Uint8Array } {
  return { ufrag: ascii.encode(randomToken(random, ICE_UFRAG_LENGTH)), password: ascii.encode(randomToken(random, ICE_PASSWORD_LENGTH)) };
}
