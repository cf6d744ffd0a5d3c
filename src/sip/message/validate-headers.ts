import { isIn, WORD } from './chars.js';
import { parseContact } from './contact.js';
import { parseContentType } from './content-type.js';
import { parseNameAddr, parseNameAddrList } from './name-addr.js';
import { parseContentLength, parseCSeq, parseDeltaSeconds, parseMaxForwards, parseTokenList } from './scalar.js';
import { malformedHeader, SipParseError } from './sip-parse-error.js';
import { parseVia } from './via.js';
import type { SipHeaders } from './sip-headers.js';

/** Header fields that must appear exactly once (RFC 3261 §8.1.1, §20; RFC 4475 §3.3.8 multi01). */
const SINGLE: ReadonlyArray<readonly [string, string]> = [
  ['from', 'From'],
  ['to', 'To'],
  ['call-id', 'Call-ID'],
  ['cseq', 'CSeq'],
];

/** Header fields that may appear at most once (RFC 4475 §3.3.9 mcl01 for Content-Length). */
const AT_MOST_ONCE: ReadonlyArray<readonly [string, string]> = [
  ['content-length', 'Content-Length'],
  ['max-forwards', 'Max-Forwards'],
  ['content-type', 'Content-Type'],
  ['expires', 'Expires'],
];

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

function tokens(value: string, header: string): void {
  parseTokenList(value, header);
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
  let contentLength: number | undefined;
  for (const f of headers) {
    const v = f.value;
    switch (f.key) {
      case 'via':
        parseVia(v);
        via++;
        break;
      case 'from':
        parseNameAddr(v, 'From');
        break;
      case 'to':
        parseNameAddr(v, 'To');
        break;
      case 'call-id':
        if (!isCallId(v)) throw malformedHeader('Call-ID');
        break;
      case 'cseq': {
        const cseq = parseCSeq(v);
        if (requestMethod !== undefined && cseq.method !== requestMethod) {
          throw new SipParseError(400, 'Bad Request - CSeq method does not match the request method');
        }
        break;
      }
      case 'max-forwards':
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
        contentLength = parseContentLength(v);
        break;
      case 'content-type':
        parseContentType(v);
        break;
      case 'expires':
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
  for (const [key, name] of SINGLE) {
    const n = headers.count(key);
    if (n === 0) throw new SipParseError(400, `Bad Request - Missing ${name} header`);
    if (n > 1) throw new SipParseError(400, `Bad Request - Multiple ${name} headers`);
  }
  for (const [key, name] of AT_MOST_ONCE) {
    if (headers.count(key) > 1) throw new SipParseError(400, `Bad Request - Multiple ${name} headers`);
  }
  return contentLength;
}
