/**
 * HTTP digest arithmetic (RFC 2617 §3.2.2, RFC 7616 §3.4.1, RFC 8760 for SIP): HA1, the expected
 * response, a constant-time comparison. What the user's storing peers compute to check a phone's
 * answer (proof-guard.ts) and what `p2psip user passwd|remove` computes to prove the old password.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { DigestAlgorithm, DigestCredentials } from '../../../sip/auth/credential-verifier.js';

const hashName = (a: DigestAlgorithm): string => (a === 'MD5' ? 'md5' : 'sha256');

/** H(text) in lowercase hex. */
export function digestHash(algorithm: DigestAlgorithm, text: string): string {
  return createHash(hashName(algorithm)).update(text, 'utf8').digest('hex');
}

/** HA1 = H(username ":" realm ":" password) (RFC 2617 §3.2.2.2, algorithm without -sess). */
export function ha1(algorithm: DigestAlgorithm, username: string, realm: string, password: string): string {
  return digestHash(algorithm, `${username}:${realm}:${password}`);
}

/** The response a correct answer carries, from HA1 and the answer's other fields (qop=auth or none). */
export function expectedResponse(ha1Hex: string, c: Pick<DigestCredentials, 'algorithm' | 'nonce' | 'uri' | 'method' | 'qop' | 'nc' | 'cnonce'>): string {
  const ha2 = digestHash(c.algorithm, `${c.method}:${c.uri}`);
  return c.qop === 'auth' ? digestHash(c.algorithm, `${ha1Hex}:${c.nonce}:${c.nc ?? ''}:${c.cnonce ?? ''}:auth:${ha2}`) : digestHash(c.algorithm, `${ha1Hex}:${c.nonce}:${ha2}`);
}

/** Equal hex strings, in time independent of where they differ (case-insensitive). */
export function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a.toLowerCase(), 'utf8');
  const y = Buffer.from(b.toLowerCase(), 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
