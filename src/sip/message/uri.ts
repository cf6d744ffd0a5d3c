import { boundedDecimal } from './bounded-decimal.js';
import { HNV, HOSTNAME, IPV6, PARAMCHAR, PASSWORD, TELNUMBER, URIC, USER, isAlpha, isDigit, isHex, isIn, scanEscaped } from './chars.js';
import { formatParams } from './params.js';
import { SipParseError } from './sip-parse-error.js';
import type { OtherUri, Param, SipUri, TelUri, Uri } from './sip-message.js';

export { unescape } from './escape.js';
export { uriEquals } from './uri-equals.js';

const MALFORMED_URI = 'Bad Request - Malformed URI';

function fail(detail: string): SipParseError {
  return new SipParseError(400, MALFORMED_URI, `${MALFORMED_URI}: ${detail}`);
}

export function isSipUri(uri: Uri): uri is SipUri {
  return uri.scheme === 'sip' || uri.scheme === 'sips';
}

/**
 * Parses a URI: sip:/sips: with the full RFC 3261 §19.1 / §25.1 grammar (userinfo with escapes,
 * IPv6 references, uri-parameters, headers), tel: (RFC 3966), any other absoluteURI as
 * {@link OtherUri}. No surrounding whitespace is allowed. Throws {@link SipParseError}.
 */
export function parseUri(text: string): Uri {
  // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
  let i = 0;
  const n = text.length;
  if (n === 0 || !isAlpha(text.charCodeAt(0))) throw fail('scheme expected');
  while (i < n) {
    const c = text.charCodeAt(i);
    if (isAlpha(c) || isDigit(c) || c === 0x2b || c === 0x2d || c === 0x2e) i++;
    else break;
  }
  if (i >= n || text.charCodeAt(i) !== 0x3a) throw fail('scheme expected');
  const scheme = text.slice(0, i).toLowerCase();
  if (scheme === 'sip' || scheme === 'sips') return parseSipUri(text, scheme, i + 1);
  if (scheme === 'tel') return parseTelUri(text, i + 1);
  return parseOtherUri(text, scheme, i + 1);
}

function parseSipUri(text: string, scheme: 'sip' | 'sips', start: number): SipUri {
  const n = text.length;
  let user: string | undefined;
  let password: string | undefined;
  let i = start;
  // userinfo = ( user / telephone-subscriber ) [ ":" password ] "@" — no unescaped '@' elsewhere
  const at = text.indexOf('@', start);
  if (at >= 0) {
    const u = scanEscaped(text, i, at, USER);
    if (u <= i) throw fail('user expected');
    user = text.slice(i, u);
    if (u < at) {
      if (text.charCodeAt(u) !== 0x3a) throw fail('bad character in user part');
      const p = scanEscaped(text, u + 1, at, PASSWORD);
      if (p !== at) throw fail('bad character in password');
      password = text.slice(u + 1, at);
    }
    i = at + 1;
  }
  // hostport = host [ ":" port ]
  const hostStart = i;
  if (text.charCodeAt(i) === 0x5b) {
    const close = scanIpv6(text, i);
    if (close < 0) throw fail('bad IPv6 reference');
    i = close + 1;
  } else {
    while (i < n && isIn(HOSTNAME, text.charCodeAt(i))) i++;
  }
  if (i === hostStart) throw fail('host expected');
  const host = text.slice(hostStart, i);
  let port: number | undefined;
  if (i < n && text.charCodeAt(i) === 0x3a) {
    let j = i + 1;
    while (j < n && isDigit(text.charCodeAt(j))) j++;
    const v = portNumber(text, i + 1, j);
    if (v < 0) throw fail('bad port');
    port = v;
    i = j;
  }
  const params: Param[] = [];
  while (i < n && text.charCodeAt(i) === 0x3b) {
    // uri-parameter = pname [ "=" pvalue ]; pname/pvalue = 1*paramchar
    const ns = i + 1;
    const ne = scanEscaped(text, ns, n, PARAMCHAR);
    if (ne <= ns) throw fail('parameter name expected');
    let value: string | undefined;
    i = ne;
    if (i < n && text.charCodeAt(i) === 0x3d) {
      const ve = scanEscaped(text, i + 1, n, PARAMCHAR);
      if (ve <= i + 1) throw fail('parameter value expected');
      value = text.slice(i + 1, ve);
      i = ve;
    }
    params.push({ name: text.slice(ns, ne), value });
  }
  let headers: string | undefined;
  if (i < n && text.charCodeAt(i) === 0x3f) {
    // headers = "?" header *( "&" header ); header = hname "=" hvalue
    const hs = i + 1;
    i = hs;
    for (;;) {
      const ne = scanEscaped(text, i, n, HNV);
      if (ne <= i || ne >= n || text.charCodeAt(ne) !== 0x3d) throw fail('bad header in URI');
      const ve = scanEscaped(text, ne + 1, n, HNV);
      if (ve < 0) throw fail('bad header value in URI');
      i = ve;
      if (i < n && text.charCodeAt(i) === 0x26) {
        i++;
        continue;
      }
      break;
    }
    headers = text.slice(hs, i);
  }
  if (i !== n) throw fail(`unexpected '${text[i]}'`);
  return { scheme, user, password, host, port, params, headers };
}

/** Index of the ']' closing the IPv6 reference that starts at `i` ('['), -1 when invalid. */
export function scanIpv6(text: string, i: number): number {
  let j = i + 1;
  let colons = 0;
  while (j < text.length && isIn(IPV6, text.charCodeAt(j))) {
    if (text.charCodeAt(j) === 0x3a) colons++;
    j++;
  }
  if (j >= text.length || text.charCodeAt(j) !== 0x5d || colons < 2 || j - i > 46) return -1;
  return j;
}

/** The port written in `text[start, end)` (1*DIGIT, 0..65535), -1 when empty, not digits or too large. */
export function portNumber(text: string, start: number, end: number): number {
  return boundedDecimal(text, start, end, 65535);
}

function parseTelUri(text: string, start: number): TelUri {
  // RFC 3966: telephone-subscriber = global-number / local-number, then *par
  const n = text.length;
  let i = start;
  let digits = 0;
  while (i < n && isIn(TELNUMBER, text.charCodeAt(i))) {
    const c = text.charCodeAt(i);
    if (c === 0x2b && i !== start) throw fail("'+' inside tel number");
    if (isHex(c) || c === 0x2a || c === 0x23) digits++;
    i++;
  }
  if (digits === 0) throw fail('tel number expected');
  const number = text.slice(start, i);
  const params: Param[] = [];
  while (i < n && text.charCodeAt(i) === 0x3b) {
    const ns = i + 1;
    let ne = ns;
    // pname = 1*( alphanum / "-" )
    while (ne < n) {
      const c = text.charCodeAt(ne);
      if (isAlpha(c) || isDigit(c) || c === 0x2d) ne++;
      else break;
    }
    if (ne === ns) throw fail('tel parameter name expected');
    let value: string | undefined;
    i = ne;
    if (i < n && text.charCodeAt(i) === 0x3d) {
      const ve = scanEscaped(text, i + 1, n, PARAMCHAR);
      if (ve <= i + 1) throw fail('tel parameter value expected');
      value = text.slice(i + 1, ve);
      i = ve;
    }
    params.push({ name: text.slice(ns, ne), value });
  }
  if (i !== n) throw fail(`unexpected '${text[i]}' in tel URI`);
  return { scheme: 'tel', number, params };
}

function parseOtherUri(text: string, scheme: string, start: number): OtherUri {
  // absoluteURI = scheme ":" ( hier-part / opaque-part ): 1*uric, kept verbatim
  const e = scanEscaped(text, start, text.length, URIC);
  if (e <= start || e !== text.length) throw fail('bad character in URI');
  return { scheme, raw: text };
}

/** Formats a URI; round-trips {@link parseUri}. */
export function formatUri(uri: Uri): string {
  if (uri.scheme === 'sip' || uri.scheme === 'sips') {
    const u = uri as SipUri;
    let s = u.scheme + ':';
    if (u.user !== undefined) s += u.password !== undefined ? `${u.user}:${u.password}@` : `${u.user}@`;
    s += u.host;
    if (u.port !== undefined) s += ':' + u.port;
    if (u.params.length > 0) s += formatParams(u.params);
    if (u.headers !== undefined) s += '?' + u.headers;
    return s;
  }
  if (uri.scheme === 'tel') {
    const t = uri as TelUri;
    return 'tel:' + t.number + formatParams(t.params);
  }
  return (uri as OtherUri).raw;
}
