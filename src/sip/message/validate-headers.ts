import { isIn, isLws, TOKEN, WORD } from './chars.js';
import { parseContact } from './contact.js';
import { parseContentType } from './content-type.js';
import { parseNameAddr, parseNameAddrList } from './name-addr.js';
import { parseContentLength, parseCSeq, parseDeltaSeconds, parseMaxForwards } from './scalar.js';
import { malformedHeader, SipParseError } from './sip-parse-error.js';
import { parseVia } from './via.js';
import type { SipHeaders } from './sip-headers.js';

/** callid = word [ "@" word ] (RFC 3261 §25.1). */
export function isCallId(v: string): boolean {
  if (v.length === 0) return false;
  let at = false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 0x40) {
      if (at || i === 0 || i === v.length - 1) return false;
      at = true;
    } else if (!isIn(WORD, c)) return false;
  }
  return true;
}

/** `[token *(COMMA token)]` without allocating (the grammar of parseTokenList). */
function tokens(v: string, header: string): void {
  const n = v.length;
  let i = 0;
  while (i < n && isLws(v.charCodeAt(i))) i++;
  if (i === n) return;
  for (;;) {
    const s = i;
    while (i < n && isIn(TOKEN, v.charCodeAt(i))) i++;
    if (i === s) throw malformedHeader(header, 'token expected');
    while (i < n && isLws(v.charCodeAt(i))) i++;
    if (i === n) return;
    if (v.charCodeAt(i) !== 0x2c) throw malformedHeader(header, 'comma expected');
    i++;
    while (i < n && isLws(v.charCodeAt(i))) i++;
  }
}

function once(n: number, name: string): void {
  if (n === 0) throw new SipParseError(400, `Bad Request - Missing ${name} header`);
  if (n > 1) throw new SipParseError(400, `Bad Request - Multiple ${name} headers`);
}

function atMostOnce(n: number, name: string): void {
  if (n > 1) throw new SipParseError(400, `Bad Request - Multiple ${name} headers`);
}

/**
 * Eager validation of the header fields routing depends on (RFC 3261 §8.2.2, §16.3, §20): Via,
 * From, To, Call-ID, CSeq (method equal to the request's: RFC 4475 §3.1.2.17/18), Max-Forwards,
 * Contact, Route, Record-Route, Content-Length, Content-Type, Expires, Allow, Supported, Require,
 * Proxy-Require, Unsupported. Unknown fields are not looked at. Returns the Content-Length.
 * Throws a 400 {@link SipParseError} naming the field.
 */
export function validateHeaders(headers: SipHeaders, requestMethod: string | undefined): number | undefined {
  let via = 0;
  let from = 0;
  let to = 0;
  let cid = 0;
  let cseqs = 0;
  let cls = 0;
  let mfs = 0;
  let cts = 0;
  let exps = 0;
  let contentLength: number | undefined;
  for (const f of headers) {
    const v = f.value;
    switch (f.key) {
      case 'via':
        parseVia(v);
        via++;
        break;
      case 'from':
        from++;
        parseNameAddr(v, 'From');
        break;
      case 'to':
        to++;
        parseNameAddr(v, 'To');
        break;
      case 'call-id':
        cid++;
        if (!isCallId(v)) throw malformedHeader('Call-ID');
        break;
      case 'cseq': {
        cseqs++;
        const cseq = parseCSeq(v);
        if (requestMethod !== undefined && cseq.method !== requestMethod) {
          throw new SipParseError(400, 'Bad Request - CSeq method does not match the request method');
        }
        break;
      }
      case 'max-forwards':
        mfs++;
        parseMaxForwards(v);
        break;
      case 'contact':
        parseContact(v);
        break;
      case 'route':
        parseNameAddrList(v, 'Route');
        break;
      case 'record-route':
        parseNameAddrList(v, 'Record-Route');
        break;
      case 'content-length':
        cls++;
        contentLength = parseContentLength(v);
        break;
      case 'content-type':
        cts++;
        parseContentType(v);
        break;
      case 'expires':
        exps++;
        parseDeltaSeconds(v, 'Expires');
        break;
      case 'allow':
        tokens(v, 'Allow');
        break;
      case 'supported':
        tokens(v, 'Supported');
        break;
      case 'require':
        tokens(v, 'Require');
        break;
      case 'proxy-require':
        tokens(v, 'Proxy-Require');
        break;
      case 'unsupported':
        tokens(v, 'Unsupported');
        break;
      default:
        break;
    }
  }
  if (via === 0) throw new SipParseError(400, 'Bad Request - Missing Via header');
  // exactly once (RFC 3261 §8.1.1; RFC 4475 §3.3.8); at most once (§3.3.9 for Content-Length)
  once(from, 'From');
  once(to, 'To');
  once(cid, 'Call-ID');
  once(cseqs, 'CSeq');
  atMostOnce(cls, 'Content-Length');
  atMostOnce(mfs, 'Max-Forwards');
  atMostOnce(cts, 'Content-Type');
  atMostOnce(exps, 'Expires');
  return contentLength;
}
