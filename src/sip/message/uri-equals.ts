import { normalizeEscapes, unescape } from './escape.js';
import type { OtherUri, Param, SipUri, TelUri, Uri } from './sip-message.js';

/** uri-parameters that never match when present in only one URI (RFC 3261 §19.1.4). */
const MUST_MATCH = new Set(['user', 'ttl', 'method', 'maddr', 'transport']);

/**
 * URI equality. sip/sips: RFC 3261 §19.1.4 (userinfo case-sensitive, everything else
 * case-insensitive, escapes of unreserved characters equal their character, parameter and header
 * order insignificant, user/ttl/method/maddr/transport in only one URI never match, other
 * parameters in only one URI ignored, headers never ignored). tel: RFC 3966 §4 (visual
 * separators ignored, parameters compared as a set). Other schemes: scheme case-insensitive,
 * the rest exactly after escape normalisation.
 */
export function uriEquals(a: Uri, b: Uri): boolean {
  if (a.scheme !== b.scheme) return false;
  if (a.scheme === 'sip' || a.scheme === 'sips') return sipEquals(a as SipUri, b as SipUri);
  if (a.scheme === 'tel') return telEquals(a as TelUri, b as TelUri);
  const ra = (a as OtherUri).raw;
  const rb = (b as OtherUri).raw;
  return normalizeEscapes(ra.slice(ra.indexOf(':'))) === normalizeEscapes(rb.slice(rb.indexOf(':')));
}

function sipEquals(a: SipUri, b: SipUri): boolean {
  if (!optEq(a.user, b.user, false) || !optEq(a.password, b.password, false)) return false;
  if (a.host.toLowerCase() !== b.host.toLowerCase() || a.port !== b.port) return false;
  const pa = paramMap(a.params);
  const pb = paramMap(b.params);
  for (const [k, v] of pa) {
    if (pb.has(k)) {
      if (pb.get(k) !== v) return false;
    } else if (MUST_MATCH.has(k)) return false;
  }
  for (const k of pb.keys()) if (!pa.has(k) && MUST_MATCH.has(k)) return false;
  return headersEq(a.headers, b.headers);
}

function optEq(a: string | undefined, b: string | undefined, ignoreCase: boolean): boolean {
  if (a === undefined || b === undefined) return a === b;
  const x = normalizeEscapes(a);
  const y = normalizeEscapes(b);
  return ignoreCase ? x.toLowerCase() === y.toLowerCase() : x === y;
}

/** lowercase name → unescaped lowercase value ('' marks a flag parameter via `\0`). */
function paramMap(params: readonly Param[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const p of params) {
    const k = unescape(p.name).toLowerCase();
    if (!m.has(k)) m.set(k, p.value === undefined ? '\0' : unescape(p.value).toLowerCase());
  }
  return m;
}

function headersEq(a: string | undefined, b: string | undefined): boolean {
  const ha = headerMap(a);
  const hb = headerMap(b);
  if (ha.size !== hb.size) return false;
  for (const [k, v] of ha) if (hb.get(k) !== v) return false;
  return true;
}

/** hname (case-insensitive) → hvalue (unescaped, exact); repeated names joined in order. */
function headerMap(h: string | undefined): Map<string, string> {
  const m = new Map<string, string>();
  if (h === undefined || h === '') return m;
  for (const part of h.split('&')) {
    const eq = part.indexOf('=');
    const k = unescape(eq < 0 ? part : part.slice(0, eq)).toLowerCase();
    const v = eq < 0 ? '' : unescape(part.slice(eq + 1));
    const prev = m.get(k);
    m.set(k, prev === undefined ? v : `${prev}\n${v}`);
  }
  return m;
}

function telEquals(a: TelUri, b: TelUri): boolean {
  if (telDigits(a.number) !== telDigits(b.number)) return false;
  const pa = paramMap(a.params);
  const pb = paramMap(b.params);
  if (pa.size !== pb.size) return false;
  for (const [k, v] of pa) if (pb.get(k) !== v) return false;
  return true;
}

/** RFC 3966 §4: visual separators are ignored, hex digits compare case-insensitively. */
function telDigits(n: string): string {
  let s = '';
  for (const ch of n) if (ch !== '-' && ch !== '.' && ch !== '(' && ch !== ')') s += ch;
  return s.toLowerCase();
}
