import { scryptSync, timingSafeEqual } from 'node:crypto';
import type { Random } from '../../lib/random.js';

/** scrypt cost parameters of new hashes (N = 2^14, r = 8, p = 1: ~16 MiB, tens of ms). */
export const SCRYPT_N = 16384;
export const SCRYPT_R = 8;
export const SCRYPT_P = 1;
const KEY_LENGTH = 32;
/** Hashes with a larger cost than this are refused (a users file must not make the server allocate gigabytes). */
const MAX_N = 1 << 20;

/** `scrypt$N$r$p$<salt base64>$<hash base64>` of a password (UTF-8). */
export function hashPassword(password: string, random: Random): string {
  const salt = random.bytes(16);
  const hash = scryptSync(password.normalize('NFC'), salt, KEY_LENGTH, { N: SCRYPT_N, r: SCRYPT_R, p: SCRYPT_P });
  return `scrypt$${SCRYPT_N}$${SCRYPT_R}$${SCRYPT_P}$${Buffer.from(salt).toString('base64')}$${hash.toString('base64')}`;
}

/** True when `stored` is a well-formed scrypt hash line. */
export function isPasswordHash(stored: string): boolean {
  return parseHash(stored) !== undefined;
}

/**
 * Whether `password` matches `stored` (RFC 6940 §11.3: UTF-8 strings compared as binary; here NFC
 * first, the string preparation this application defines). Constant-time compare; false for a
 * malformed hash, never a throw.
 */
export function verifyPassword(password: string, stored: string): boolean {
  const h = parseHash(stored);
  if (h === undefined) return false;
  try {
    const got = scryptSync(password.normalize('NFC'), h.salt, h.hash.length, { N: h.N, r: h.r, p: h.p, maxmem: 256 * h.N * h.r + 1024 * 1024 });
    return timingSafeEqual(got, h.hash);
  } catch {
    return false;
  }
}

function parseHash(stored: string): { N: number; r: number; p: number; salt: Buffer; hash: Buffer } | undefined {
  const m = /^scrypt\$(\d{1,8})\$(\d{1,3})\$(\d{1,3})\$([A-Za-z0-9+/=]{4,88})\$([A-Za-z0-9+/=]{4,88})$/.exec(stored);
  if (m === null) return undefined;
  const N = Number(m[1]);
  const r = Number(m[2]);
  const p = Number(m[3]);
  if (N < 2 || N > MAX_N || (N & (N - 1)) !== 0 || r < 1 || r > 32 || p < 1 || p > 16) return undefined;
  const salt = Buffer.from(m[4]!, 'base64');
  const hash = Buffer.from(m[5]!, 'base64');
  if (salt.length < 8 || hash.length < 16) return undefined;
  return { N, r, p, salt, hash };
}
