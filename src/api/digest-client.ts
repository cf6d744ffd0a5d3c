/**
 * The user agent's side of SIP digest authentication (RFC 3261 §22.2–§22.3, RFC 2617 §3.2.2,
 * RFC 7616 §3.4, RFC 8760): the Authorization / Proxy-Authorization value answering a
 * WWW-Authenticate / Proxy-Authenticate challenge, with the formulas of sip/auth/digest-math.ts.
 */
import type { DigestAlgorithm } from '../sip/auth/credential-verifier.js';
import { parseCredentials } from '../sip/auth/digest-header.js';
import { computeDigestResponse, computeHa1 } from '../sip/auth/digest-math.js';

/** Longest challenge value read (the SIP front writes ~150 characters). */
export const MAX_CHALLENGE_LENGTH = 4_096;

export interface DigestChallenge {
  realm: string;
  nonce: string;
  algorithm: DigestAlgorithm;
  /** 'auth' offered (we never answer auth-int); false: an RFC 2069 challenge without qop. */
  qopAuth: boolean;
  opaque: string | undefined;
}

/** A digest challenge we can answer, or undefined (another scheme, algorithm or qop; malformed). */
export function parseDigestChallenge(value: string): DigestChallenge | undefined {
  const p = parseCredentials(value, MAX_CHALLENGE_LENGTH);
  if (!p.ok || p.scheme.toLowerCase() !== 'digest') return undefined;
  const realm = p.params.get('realm');
  const nonce = p.params.get('nonce');
  if (realm === undefined || nonce === undefined) return undefined;
  const alg = (p.params.get('algorithm') ?? 'MD5').toUpperCase();
  if (alg !== 'MD5' && alg !== 'SHA-256') return undefined;
  const qop = p.params.get('qop');
  const qops = qop === undefined ? [] : qop.split(',').map((q) => q.trim().toLowerCase());
  if (qop !== undefined && !qops.includes('auth')) return undefined;
  return { realm, nonce, algorithm: alg, qopAuth: qops.includes('auth'), opaque: p.params.get('opaque') };
}

/** The challenge to answer among a response's challenges: SHA-256 before MD5 (RFC 8760 §2.4), else undefined. */
export function pickChallenge(values: readonly string[]): DigestChallenge | undefined {
  const parsed = values.map(parseDigestChallenge).filter((c): c is DigestChallenge => c !== undefined);
  return parsed.find((c) => c.algorithm === 'SHA-256') ?? parsed[0];
}

/** Writes a quoted-string (RFC 3261 §25.1): backslash and double quote escaped. */
function quoted(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

export interface DigestAnswerInput {
  username: string;
  password: string;
  method: string;
  /** The digest-uri: the Request-URI of the request, as sent. */
  uri: string;
  /** The client nonce (fresh per answer) and the nonce count (1 for a fresh nonce). */
  cnonce: string;
  nc: number;
}

/** The credentials value answering `c` (RFC 7616 §3.4). */
export function digestAnswer(c: DigestChallenge, a: DigestAnswerInput): string {
  const nc = a.nc.toString(16).padStart(8, '0');
  const ha1 = computeHa1(c.algorithm, a.username, c.realm, a.password);
  const response = computeDigestResponse(ha1, { algorithm: c.algorithm, method: a.method, uri: a.uri, nonce: c.nonce, ...(c.qopAuth ? { qop: 'auth' as const, nc, cnonce: a.cnonce } : {}) });
  const parts = [`username=${quoted(a.username)}`, `realm=${quoted(c.realm)}`, `nonce=${quoted(c.nonce)}`, `uri=${quoted(a.uri)}`, `response=${quoted(response)}`, `algorithm=${c.algorithm}`];
  if (c.qopAuth) parts.push('qop=auth', `nc=${nc}`, `cnonce=${quoted(a.cnonce)}`);
  if (c.opaque !== undefined) parts.push(`opaque=${quoted(c.opaque)}`);
  return `Digest ${parts.join(', ')}`;
}
