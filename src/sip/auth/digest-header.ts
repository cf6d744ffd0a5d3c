/**
 * The digest headers' text (RFC 3261 §25.1 `credentials` / `challenge`, RFC 2617 §3.2, RFC 7616 §3.3–3.4):
 * parsing an Authorization / Proxy-Authorization value into its scheme and parameters, and writing a
 * WWW-Authenticate / Proxy-Authenticate challenge. Parameter values may be tokens or quoted strings
 * (phones quote what the grammar says is a token, e.g. qop="auth"; both are accepted); names are
 * case-insensitive; a repeated parameter is an error. Bounded: a value longer than `maxLength` or with
 * more than `MAX_PARAMS` parameters is refused before it is scanned.
 */

/** Most parameters in one credentials value (the digest grammar has 10 of its own; more is not a phone). */
export const MAX_PARAMS = 32;

export type ParsedCredentials =
  | { readonly ok: true; readonly scheme: string; readonly params: ReadonlyMap<string, string> }
  | { readonly ok: false; readonly problem: string };

const TOKEN = /[A-Za-z0-9\-.!%*_+`'~]/;

function isWs(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n';
}

/** Parses one credentials value (one header field: these headers are never comma-combined, RFC 3261 §7.3.1). */
export function parseCredentials(value: string, maxLength: number): ParsedCredentials {
  if (value.length > maxLength) return { ok: false, problem: `credentials longer than ${maxLength} characters` };
  let i = 0;
  const n = value.length;
  const skipWs = (): void => {
    while (i < n && isWs(value[i])) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < n && TOKEN.test(value[i]!)) i++;
    return value.slice(start, i);
  };
  skipWs();
  const scheme = token();
  if (scheme === '') return { ok: false, problem: 'credentials without a scheme' };
  const params = new Map<string, string>();
  if (!isWs(value[i])) {
    skipWs();
    if (i < n) return { ok: false, problem: `bad character after scheme ${scheme}` };
    return { ok: true, scheme, params };
  }
  skipWs();
  while (i < n) {
    const name = token().toLowerCase();
    if (name === '') return { ok: false, problem: `expected a parameter name at offset ${i}` };
    skipWs();
    if (value[i] !== '=') return { ok: false, problem: `parameter ${name} without a value` };
    i++;
    skipWs();
    let v: string;
    if (value[i] === '"') {
      i++;
      let out = '';
      let closed = false;
      while (i < n) {
        const c = value[i]!;
        if (c === '\\') {
          // quoted-pair (RFC 3261 §25.1): any character but CR / LF
          const next = value[i + 1];
          if (next === undefined || next === '\r' || next === '\n') return { ok: false, problem: `bad escape in ${name}` };
          out += next;
          i += 2;
          continue;
        }
        if (c === '"') {
          closed = true;
          i++;
          break;
        }
        out += c;
        i++;
      }
      if (!closed) return { ok: false, problem: `unterminated quoted value of ${name}` };
      v = out;
    } else {
      v = token();
      if (v === '') return { ok: false, problem: `parameter ${name} without a value` };
    }
    if (params.has(name)) return { ok: false, problem: `parameter ${name} repeated` };
    if (params.size >= MAX_PARAMS) return { ok: false, problem: `more than ${MAX_PARAMS} parameters` };
    params.set(name, v);
    skipWs();
    if (i >= n) break;
    if (value[i] !== ',') return { ok: false, problem: `expected ',' after parameter ${name}` };
    i++;
    skipWs();
  }
  return { ok: true, scheme, params };
}

/** A quoted-string (RFC 3261 §25.1): '"' and '\' escaped. Callers pass no CR/LF (ours are base64url / hostnames). */
export function quote(text: string): string {
  return `"${text.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

export interface ChallengeFields {
  readonly realm: string;
  readonly nonce: string;
  readonly algorithm: 'MD5' | 'SHA-256';
  readonly stale: boolean;
  readonly opaque?: string | undefined;
}

/** One challenge value: `Digest realm="…", nonce="…", algorithm=…, qop="auth"[, stale=true]` (RFC 2617 §3.2.1). */
export function formatChallenge(c: ChallengeFields): string {
  const parts = [`realm=${quote(c.realm)}`, `nonce=${quote(c.nonce)}`];
  if (c.opaque !== undefined) parts.push(`opaque=${quote(c.opaque)}`);
  parts.push(`algorithm=${c.algorithm}`, 'qop="auth"');
  if (c.stale) parts.push('stale=true');
  return `Digest ${parts.join(', ')}`;
}
