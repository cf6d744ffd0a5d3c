/**
 * The digest formulas of RFC 2617 §3.2.2 / RFC 7616 §3.4 as SIP uses them (RFC 3261 §22.4, RFC 8760):
 * HA1 = H(username:realm:password), HA2 = H(method:digest-uri) (qop=auth; auth-int is not supported),
 * response = H(HA1:nonce:nc:cnonce:qop:HA2), or H(HA1:nonce:HA2) without qop (RFC 2069).
 * Who holds the password or HA1 computes these: the verifier, the user directory, a client; the SIP
 * front itself never does (it holds neither) and uses only the lengths.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { DigestAlgorithm } from './credential-verifier.js';

/** Hex digits of a digest value (response, HA1) per algorithm. */
export const DIGEST_HEX_LENGTH: Readonly<Record<DigestAlgorithm, number>> = Object.freeze({ MD5: 32, 'SHA-256': 64 });

/** H(text) in lowercase hex; text is UTF-8 (RFC 7616 §3.4.1 with charset=UTF-8; plain ASCII otherwise). */
export function digestHash(algorithm: DigestAlgorithm, text: string): string {
  return createHash(algorithm === 'MD5' ? 'md5' : 'sha256')
    .update(text, 'utf8')
    .digest('hex');
}

/** HA1 = H(username:realm:password) (RFC 7616 §3.4.2, algorithm without -sess). */
export function computeHa1(algorithm: DigestAlgorithm, username: string, realm: string, password: string): string {
  return digestHash(algorithm, `${username}:${realm}:${password}`);
}

/** What of an answer enters the response besides HA1. */
export interface DigestResponseInput {
  readonly algorithm: DigestAlgorithm;
  readonly method: string;
  readonly uri: string;
  readonly nonce: string;
  /** 'auth', or absent for RFC 2069 answers (then nc and cnonce are not used). */
  readonly qop?: 'auth' | undefined;
  readonly nc?: string | undefined;
  readonly cnonce?: string | undefined;
}

/** The expected `response` for an answer, from HA1 (RFC 7616 §3.4.1; RFC 2069 without qop). */
export function computeDigestResponse(ha1: string, input: DigestResponseInput): string {
  const ha2 = digestHash(input.algorithm, `${input.method}:${input.uri}`);
  if (input.qop === undefined) return digestHash(input.algorithm, `${ha1}:${input.nonce}:${ha2}`);
  return digestHash(input.algorithm, `${ha1}:${input.nonce}:${input.nc ?? ''}:${input.cnonce ?? ''}:${input.qop}:${ha2}`);
}

/** Equal hex strings (a response against the expected one), in time independent of where they differ; case-insensitive. */
export function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a.toLowerCase(), 'utf8');
  const y = Buffer.from(b.toLowerCase(), 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
