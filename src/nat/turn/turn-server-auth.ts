/**
 * The long-term credential mechanism on the server side (RFC 8489 §9.2.4), for TURN requests
 * (RFC 8656 §6): a request without MESSAGE-INTEGRITY is challenged (401 with REALM and NONCE); one
 * with integrity but no USERNAME, REALM or NONCE is a 400; a nonce that is not ours or has expired is
 * a 438 with a fresh one; an unknown user, a foreign realm or a wrong MAC is a 401. Only MD5 keys
 * (MESSAGE-INTEGRITY, HMAC-SHA1): no PASSWORD-ALGORITHMS is offered, so MESSAGE-INTEGRITY-SHA256
 * alone counts as no integrity. Stateless: nothing is remembered about a client that fails.
 */
import { attr, checkIntegrity, readText, StunAttr } from '../stun/stun-message.js';
import type { DecodedStun, StunAddress } from '../stun/stun-message.js';
import type { TurnNonces } from './turn-nonce.js';

/** The credential lookup the owner injects: the long-term key MD5(username:realm:password), or undefined. */
export type TurnKeyLookup = (username: string, realm: string) => Uint8Array | undefined;

export type AuthFailureKind = 'challenge' | 'bad-request' | 'stale-nonce' | 'bad-credentials';

export type AuthResult =
  | { readonly ok: true; readonly username: string; readonly key: Uint8Array }
  | {
      readonly ok: false;
      readonly kind: AuthFailureKind;
      readonly code: 400 | 401 | 438;
      readonly reason: string;
      /** The NONCE to send with REALM (401 and 438); absent on a 400. */
      readonly nonce?: string;
    };

/** Longest USERNAME, REALM and NONCE accepted (RFC 8489 §14.3, §14.9, §14.10: < 509 bytes / 128 characters). */
const MAX_USERNAME_BYTES = 508;
const MAX_REALM_BYTES = 763;
const MAX_NONCE_BYTES = 763;

export function authenticate(req: DecodedStun, from: StunAddress, realm: string, nonces: TurnNonces, lookupKey: TurnKeyLookup): AuthResult {
  const fresh = (): string => nonces.issue(from.host);
  if (req.integrityAt === undefined) return { ok: false, kind: 'challenge', code: 401, reason: 'Unauthenticated', nonce: fresh() };
  const u = attr(req, StunAttr.USERNAME);
  const r = attr(req, StunAttr.REALM);
  const n = attr(req, StunAttr.NONCE);
  if (u === undefined || r === undefined || n === undefined) return { ok: false, kind: 'bad-request', code: 400, reason: 'Bad Request: USERNAME, REALM and NONCE are required' };
  if (u.length > MAX_USERNAME_BYTES || r.length > MAX_REALM_BYTES || n.length > MAX_NONCE_BYTES) return { ok: false, kind: 'bad-request', code: 400, reason: 'Bad Request: attribute too long' };
  const verdict = nonces.check(readText(n) ?? '', from.host);
  if (verdict !== 'valid') return { ok: false, kind: 'stale-nonce', code: 438, reason: 'Stale Nonce', nonce: fresh() };
  const username = readText(u) ?? '';
  if (readText(r) !== realm) return { ok: false, kind: 'bad-credentials', code: 401, reason: 'Unauthenticated', nonce: fresh() };
  const key = lookupKey(username, realm);
  if (key === undefined || !checkIntegrity(req, key)) return { ok: false, kind: 'bad-credentials', code: 401, reason: 'Unauthenticated', nonce: fresh() };
  return { ok: true, username, key };
}
