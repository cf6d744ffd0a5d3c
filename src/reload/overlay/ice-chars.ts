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
