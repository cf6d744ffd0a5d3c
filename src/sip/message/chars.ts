/**
 * Character classes of the SIP grammar (RFC 3261 §25.1) as lookup tables over ASCII codes.
 * Every scanner of this folder is a hand-written linear loop over these tables (no regexes).
 */

function table(chars: string, alnum: boolean): Uint8Array {
  const t = new Uint8Array(128);
  if (alnum) {
    for (let c = 0x30; c <= 0x39; c++) t[c] = 1;
    for (let c = 0x41; c <= 0x5a; c++) t[c] = 1;
    for (let c = 0x61; c <= 0x7a; c++) t[c] = 1;
  }
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  return t;
}

/** token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~") */
export const TOKEN = table("-.!%*_+`'~", true);
/** unreserved = alphanum / mark (RFC 3261 §25.1) */
export const UNRESERVED = table("-_.!~*'()", true);
/** user = 1*( unreserved / escaped / user-unreserved ) — escapes handled by the scanner. */
export const USER = table("-_.!~*'()&=+$,;?/", true);
/** password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," ) */
export const PASSWORD = table("-_.!~*'()&=+$,", true);
/** paramchar = param-unreserved / unreserved / escaped */
export const PARAMCHAR = table("-_.!~*'()[]/:&+$", true);
/** hname / hvalue chars: hnv-unreserved / unreserved / escaped */
export const HNV = table("-_.!~*'()[]/?:+$", true);
/** hostname characters (lenient: '_' tolerated as many deployments use it). */
export const HOSTNAME = table('-._', true);
/** Characters of an IPv6 reference between the brackets (RFC 5118 §4.10 tolerates ':::'). */
export const IPV6 = table('0123456789abcdefABCDEF:.', false);
/** uric (RFC 2396) for absoluteURI, plus '[' ']' for IPv6 literals: escapes handled by the scanner. */
export const URIC = table(";/?:@&=+$,-_.!~*'()[]", true);
/** gen-value = token / host / quoted-string — token plus the host characters ':' '[' ']'. */
export const GENVALUE = table("-.!%*_+`'~:[]", true);
/** word = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" / "(" / ")" / "<" / ">" / ":" / "\" / DQUOTE / "/" / "[" / "]" / "?" / "{" / "}") */
export const WORD = table("-.!%*_+`'~()<>:\\\"/[]?{}", true);
/** Characters of a tel: URI number (RFC 3966 phonedigit-hex plus '+'). */
export const TELNUMBER = table('0123456789abcdefABCDEF*#-.()+', false);

export function isIn(t: Uint8Array, c: number): boolean {
  return c < 128 && t[c] === 1;
}

export function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

export function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

export function isAlpha(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** LWS characters inside a header value: SP, HTAB and the CR/LF of kept folding. */
export function isLws(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

/** True when every character of `s` is a token character and `s` is not empty. */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (!isIn(TOKEN, s.charCodeAt(i))) return false;
  return true;
}

/**
 * Index just past a run of `set` characters and `%HH` escapes starting at `i` (stops at `end`);
 * -1 when a `%` is not followed by two hex digits.
 */
export function scanEscaped(s: string, i: number, end: number, set: Uint8Array): number {
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      if (i + 2 >= end || !isHex(s.charCodeAt(i + 1)) || !isHex(s.charCodeAt(i + 2))) return -1;
      i += 3;
    } else if (c < 128 && set[c] === 1) {
      i++;
    } else {
      break;
    }
  }
  return i;
}
