/**
 * What an address-of-record may hold (issue 14: hostile values), and its canonical user part.
 *
 * RFC 3261 §10.3 step 5 compares AoRs with their escapes decoded, and RFC 4475 §3.1.1.4 (escnull)
 * wants `sip:null-%00-null@…` registered with its NULs, not refused and not shortened. So the
 * canonical AoR decodes every escape except those of characters that must never stand raw in an AoR
 * (C0 and C1 controls, DEL, '%' and '@'): they stay escaped. The stored AoR then never holds CR LF,
 * NUL or a second '@', and ordinary AoRs (non-ASCII ones included) are what they always were.
 *
 * `aorProblem` is checked on the canonical AoR at every boundary that takes one — the registrar, the
 * lookup API, --static, the SIP usage — before anything is stored, fetched or retried. Its control
 * character and '@' checks guard AoRs that did not come through canonicalAor. The reasons name the
 * problem, never echo the value.
 */

/** Longest user part, in UTF-8 bytes after unescaping. */
export const MAX_AOR_USER_BYTES = 256;
/** Longest domain part, in characters (a DNS name is at most 253). */
export const MAX_AOR_DOMAIN_CHARS = 255;

import { unescape } from '../message/index.js';

const utf8 = new TextEncoder();

/** C0 and C1 controls, DEL, '%' and '@': what stays escaped in a canonical AoR. */
const KEPT_ESCAPED = /[\u0000-\u001f\u007f-\u009f%@]/;

/** The user part of a canonical AoR from a URI's (escaped) user part. */
export function canonicalAorUser(escapedUser: string): string {
  const raw = unescape(escapedUser);
  if (!KEPT_ESCAPED.test(raw)) return raw;
  let out = '';
  for (const ch of raw) {
    const c = ch.codePointAt(0)!;
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || ch === '%' || ch === '@') {
      for (const b of utf8.encode(ch)) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    } else {
      out += ch;
    }
  }
  return out;
}

/** The problem with a canonical AoR, or undefined when it may be stored and looked up. */
export function aorProblem(aor: string): string | undefined {
  const colon = aor.indexOf(':');
  const scheme = colon < 0 ? '' : aor.slice(0, colon).toLowerCase();
  let user: string;
  let domain = '';
  if (scheme === 'sip' || scheme === 'sips') {
    const at = aor.lastIndexOf('@');
    if (at <= colon) return 'AoR has no user part';
    user = aor.slice(colon + 1, at);
    domain = aor.slice(at + 1);
  } else if (scheme === 'tel') {
    user = aor.slice(colon + 1);
  } else {
    return 'AoR is not a sip:, sips: or tel: URI';
  }
  if (user === '') return 'AoR has an empty user part';
  const bytes = utf8.encode(user).length;
  if (bytes > MAX_AOR_USER_BYTES) return `AoR user part is ${bytes} bytes (at most ${MAX_AOR_USER_BYTES})`;
  const control = firstControl(user);
  if (control !== undefined) return `AoR user part holds control character U+${control.toString(16).toUpperCase().padStart(4, '0')}`;
  if (user.includes('@')) return "AoR user part holds '@'";
  if (domain.length > MAX_AOR_DOMAIN_CHARS) return `AoR domain is longer than ${MAX_AOR_DOMAIN_CHARS} characters`;
  const inDomain = firstControl(domain);
  if (inDomain !== undefined) return `AoR domain holds control character U+${inDomain.toString(16).toUpperCase().padStart(4, '0')}`;
  return undefined;
}

/** C0 controls (NUL, CR, LF…), DEL and C1 controls (what undecodable escaped octets become). */
function firstControl(s: string): number | undefined {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return c;
  }
  return undefined;
}
