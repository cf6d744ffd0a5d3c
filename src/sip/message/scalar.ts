import { boundedDecimal } from './bounded-decimal.js';
import { isDigit, isToken, isLws } from './chars.js';
import { HeaderScanner } from './header-scanner.js';
import { malformedHeader } from './sip-parse-error.js';
import type { CSeq } from './sip-message.js';

function trimBounds(text: string): [number, number] {
  let s = 0;
  let e = text.length;
  while (s < e && isLws(text.charCodeAt(s))) s++;
  while (e > s && isLws(text.charCodeAt(e - 1))) e--;
  return [s, e];
}

function number(text: string, max: number, header: string): number {
  const [s, e] = trimBounds(text);
  const v = boundedDecimal(text, s, e, max);
  if (v < 0) throw malformedHeader(header, e > s && boundedDecimal(text, s, e, Number.MAX_SAFE_INTEGER) >= 0 ? 'value too large' : 'number expected');
  return v;
}

/** CSeq = 1*DIGIT LWS Method, sequence number < 2**31 (RFC 3261 §8.1.1.5, §20.16). */
export function parseCSeq(value: string): CSeq {
  const sc = new HeaderScanner(value, 'CSeq');
  sc.skipLws();
  const ds = sc.pos;
  while (isDigit(sc.peek())) sc.pos++;
  const seq = boundedDecimal(value, ds, sc.pos, 0x7fffffff);
  if (seq < 0) throw sc.fail(sc.pos > ds ? 'sequence number too large' : 'sequence number expected');
  if (!sc.skipLws()) throw sc.fail('LWS expected');
  const method = sc.readToken('method expected');
  sc.expectEnd();
  return { seq, method };
}

/** Max-Forwards = 1*DIGIT, 0..255 (RFC 3261 §20.22). */
export function parseMaxForwards(value: string): number {
  return number(value, 255, 'Max-Forwards');
}

/** delta-seconds = 1*DIGIT, 0..2**32-1 (Expires, Min-Expires, expires parameters: RFC 3261 §20.19). */
export function parseDeltaSeconds(value: string, header = 'Expires'): number {
  return number(value, 0xffffffff, header);
}

/** Content-Length = 1*DIGIT (RFC 3261 §20.14); values over 2**32-1 are malformed. */
export function parseContentLength(value: string): number {
  return number(value, 0xffffffff, 'Content-Length');
}

/** `token *(COMMA token)`, possibly empty (Allow, Supported, Require, Proxy-Require, Unsupported). */
export function parseTokenList(value: string, header = 'token list'): string[] {
  const out: string[] = [];
  const sc = new HeaderScanner(value, header);
  sc.skipLws();
  if (sc.done) return out;
  for (;;) {
    const t = sc.readToken('token expected');
    if (!isToken(t)) throw sc.fail('token expected');
    out.push(t);
    sc.skipLws();
    if (sc.done) return out;
    if (sc.peek() !== 0x2c) throw sc.fail(`unexpected '${value[sc.pos]}'`);
    sc.pos++;
    sc.skipLws();
  }
}
