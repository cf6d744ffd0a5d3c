/**
 * The phone's side of digest authentication, for tests: answers a WWW-/Proxy-Authenticate challenge
 * like a UA would (RFC 2617 §3.2.2, RFC 7616 §3.4), with real hashes.
 */
import type { DigestAlgorithm } from '../../../src/sip/auth/credential-verifier.js';
import { parseCredentials } from '../../../src/sip/auth/digest-header.js';
import { computeDigestResponse, computeHa1 } from '../../../src/sip/auth/digest-math.js';

export interface ParsedChallenge {
  realm: string;
  nonce: string;
  algorithm: DigestAlgorithm;
  qop: string | undefined;
  stale: boolean;
  opaque: string | undefined;
}

export function parseChallenge(value: string): ParsedChallenge {
  const p = parseCredentials(value, 10_000);
  if (!p.ok || p.scheme !== 'Digest') throw new Error(`not a digest challenge: ${value}`);
  const alg = p.params.get('algorithm') ?? 'MD5';
  if (alg !== 'MD5' && alg !== 'SHA-256') throw new Error(`algorithm ${alg}`);
  return {
    realm: p.params.get('realm') ?? '',
    nonce: p.params.get('nonce') ?? '',
    algorithm: alg,
    qop: p.params.get('qop'),
    stale: p.params.get('stale') === 'true',
    opaque: p.params.get('opaque'),
  };
}

export interface AnswerOptions {
  username: string;
  password: string;
  method: string;
  uri: string;
  /** Default 1. */
  nc?: number;
  cnonce?: string;
  /** Answer without qop (RFC 2069 style). */
  noQop?: boolean;
  /** Write this qop value instead of auth (e.g. auth-int). */
  qop?: string;
  /** Override the realm / nonce / algorithm written (forgeries). */
  realm?: string;
  nonce?: string;
  algorithm?: string;
}

/** The Authorization / Proxy-Authorization value answering `challenge`. */
export function answer(challenge: ParsedChallenge, o: AnswerOptions): string {
  const nc = (o.nc ?? 1).toString(16).padStart(8, '0');
  const cnonce = o.cnonce ?? 'c0ffee42';
  const realm = o.realm ?? challenge.realm;
  const nonce = o.nonce ?? challenge.nonce;
  const ha1 = computeHa1(challenge.algorithm, o.username, realm, o.password);
  const response = computeDigestResponse(ha1, {
    algorithm: challenge.algorithm,
    method: o.method,
    uri: o.uri,
    nonce,
    ...(o.noQop === true ? {} : { qop: 'auth' as const, nc, cnonce }),
  });
  const parts = [`username="${o.username}"`, `realm="${realm}"`, `nonce="${nonce}"`, `uri="${o.uri}"`, `response="${response}"`, `algorithm=${o.algorithm ?? challenge.algorithm}`];
  if (o.noQop !== true) parts.push(`qop=${o.qop ?? 'auth'}`, `nc=${nc}`, `cnonce="${cnonce}"`);
  if (challenge.opaque !== undefined) parts.push(`opaque="${challenge.opaque}"`);
  return `Digest ${parts.join(', ')}`;
}
