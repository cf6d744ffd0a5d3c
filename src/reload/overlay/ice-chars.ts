import type { Random } from '../../lib/random.js';

const ICE_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const encoder = new TextEncoder();

/**
 * RFC 5245 §15.1: ice-ufrag (4–256) and ice-pwd (22–256) are ice-chars (ALPHA / DIGIT / "+" / "/").
 * Every 3 random bytes become 4 such characters (base64 without padding; a trailing 1–2 bytes are
 * dropped), so 6 bytes give an 8-character ufrag and 18 bytes a 24-character password (144 bits).
 */
export function iceChars(random: Uint8Array): Uint8Array {
  let out = '';
  for (let i = 0; i + 2 < random.length; i += 3) {
    const n = (random[i]! << 16) | (random[i + 1]! << 8) | random[i + 2]!;
    out += ICE_CHARS[(n >> 18) & 63]! + ICE_CHARS[(n >> 12) & 63]! + ICE_CHARS[(n >> 6) & 63]! + ICE_CHARS[n & 63]!;
  }
  return encoder.encode(out);
}

/** An 8-character ufrag (48 random bits). */
export const ICE_UFRAG_LENGTH = 8;
/** A 24-character password (144 random bits, ≥ 128: RFC 8445 §5.3). */
export const ICE_PASSWORD_LENGTH = 24;

/**
 * The ufrag and password of an Attach or AppAttach (RFC 6940 §6.5.1, §6.5.2.1 take them from ICE):
 * ice-chars, random bytes are not (Wireshark flags a NUL inside them as "Trailing stray characters").
 */
export function iceCredentials(random: Random): { ufrag: Uint8Array; password: Uint8Array } {
  const ufrag = iceChars(random.bytes((ICE_UFRAG_LENGTH / 4) * 3));
  return { ufrag, password: iceChars(random.bytes((ICE_PASSWORD_LENGTH / 4) * 3)) };
}
