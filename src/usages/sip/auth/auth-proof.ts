/**
 * A digest proof (issue 15): the phone's Authorization fields, as the SIP front got them, stored by
 * the front peer at H(`user@domain`) as the single value of Kind P2PSIP-AUTH-PROOF. The user's
 * responsible peer checks it against the user record (proof-guard.ts) and keeps nothing of it but
 * the write grant it earns. JSON, validated field by field, bounded.
 */
import type { DigestAlgorithm, DigestCredentials } from '../../../sip/auth/credential-verifier.js';

/** Longest text field of a proof (nonce, cnonce, uri, opaque, username). */
export const MAX_PROOF_FIELD = 512;
/** Largest encoded proof accepted. */
export const MAX_PROOF_BYTES = 2048;

const utf8 = new TextEncoder();

export function encodeAuthProof(c: DigestCredentials): Uint8Array {
  return utf8.encode(
    JSON.stringify({
      username: c.username,
      realm: c.realm,
      nonce: c.nonce,
      uri: c.uri,
      response: c.response,
      algorithm: c.algorithm,
      method: c.method,
      ...(c.qop === undefined ? {} : { qop: c.qop, nc: c.nc, cnonce: c.cnonce }),
      ...(c.opaque === undefined ? {} : { opaque: c.opaque }),
    }),
  );
}

export type AuthProofDecode = { ok: true; credentials: DigestCredentials } | { ok: true; ownerClaim: { user: string; realm: string } } | { ok: false; error: string };

/**
 * An owner's claim instead of a digest answer: "I (the signer) wrote this user's record; grant me
 * its registration" — for static registrations (`--static`) on the box where `p2psip user add` ran.
 * The owner could set any password anyway (the owner's override), so this gives it nothing more.
 */
export function encodeOwnerClaim(user: string, realm: string): Uint8Array {
  return utf8.encode(JSON.stringify({ ownerClaim: true, username: user, realm }));
}

/** Parses and validates a proof; never throws. */
export function decodeAuthProof(bytes: Uint8Array): AuthProofDecode {
  if (bytes.length > MAX_PROOF_BYTES) return { ok: false, error: `proof of ${bytes.length} bytes (max ${MAX_PROOF_BYTES})` };
  let j: unknown;
  try {
    j = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return { ok: false, error: 'proof is not JSON' };
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j)) return { ok: false, error: 'proof is not an object' };
  const o = j as Record<string, unknown>;
  const text = (k: string, re = /^[^\0\r\n]*$/): string | undefined => {
    const v = o[k];
    return typeof v === 'string' && v.length > 0 && v.length <= MAX_PROOF_FIELD && re.test(v) ? v : undefined;
  };
  if (o['ownerClaim'] === true) {
    const user = text('username');
    const realm = text('realm');
    return user === undefined || realm === undefined ? { ok: false, error: 'owner claim: user and realm needed' } : { ok: true, ownerClaim: { user, realm } };
  }
  const username = text('username');
  const realm = text('realm');
  const nonce = text('nonce');
  const uri = text('uri');
  const method = text('method', /^[A-Za-z0-9.!%*_+`'~-]+$/);
  const response = text('response', /^[0-9a-fA-F]{32}$|^[0-9a-fA-F]{64}$/);
  const algorithm: DigestAlgorithm | undefined = o['algorithm'] === 'MD5' || o['algorithm'] === 'SHA-256' ? o['algorithm'] : undefined;
  if (username === undefined || realm === undefined || nonce === undefined || uri === undefined || method === undefined || response === undefined || algorithm === undefined) {
    return { ok: false, error: 'proof: a field is missing or malformed' };
  }
  const c: { -readonly [K in keyof DigestCredentials]: DigestCredentials[K] } = { username, realm, nonce, uri, response, algorithm, method };
  if (o['qop'] !== undefined) {
    const nc = text('nc', /^[0-9a-fA-F]{8}$/);
    const cnonce = text('cnonce');
    if (o['qop'] !== 'auth' || nc === undefined || cnonce === undefined) return { ok: false, error: 'proof: qop=auth needs nc and cnonce' };
    c.qop = 'auth';
    c.nc = nc.toLowerCase();
    c.cnonce = cnonce;
  }
  const opaque = o['opaque'] === undefined ? undefined : text('opaque');
  if (o['opaque'] !== undefined && opaque === undefined) return { ok: false, error: 'proof: bad opaque' };
  if (opaque !== undefined) c.opaque = opaque;
  return { ok: true, credentials: c };
}
