import { isDigit, isToken } from './chars.js';
import { SipParseError } from './sip-parse-error.js';
import { parseUri, isSipUri } from './uri.js';
import type { Uri } from './sip-message.js';

export type StartLine =
  | { kind: 'request'; method: string; uri: Uri }
  | { kind: 'response'; status: number; reason: string };

/** The start line failed; `requestLike` says whether it is a request line worth answering. */
export interface StartLineError {
  error: SipParseError;
  requestLike: boolean;
  method: string | undefined;
}

function bad(reason: string): SipParseError {
  return new SipParseError(400, `Bad Request - ${reason}`);
}

/** SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT, case-insensitive (RFC 3261 §7.1): 1 = 2.0, 0 = other, -1 = not a version. */
function version(v: string): number {
  if (v.length < 7 || (v.charCodeAt(0) | 0x20) !== 0x73 || (v.charCodeAt(1) | 0x20) !== 0x69 || (v.charCodeAt(2) | 0x20) !== 0x70 || v.charCodeAt(3) !== 0x2f) {
    return -1;
  }
  const dot = v.indexOf('.', 4);
  if (dot < 5 || dot === v.length - 1) return -1;
  for (let i = 4; i < v.length; i++) if (i !== dot && !isDigit(v.charCodeAt(i))) return -1;
  return v.slice(4) === '2.0' ? 1 : 0;
}

/**
 * Request-Line = Method SP Request-URI SP SIP-Version; Status-Line = SIP-Version SP Status-Code
 * SP Reason-Phrase (RFC 3261 §7.1, §7.2). Exactly one SP between elements (RFC 4475 §3.1.2.9/10),
 * no <> or headers in the Request-URI (§3.1.2.7, §3.1.2.11).
 */
export function parseStartLine(line: string): StartLine | StartLineError {
  if (line.length >= 4 && line.slice(0, 4).toUpperCase() === 'SIP/') return parseStatusLine(line);
  const sp = line.indexOf(' ');
  const method = sp > 0 ? line.slice(0, sp) : '';
  if (!isToken(method)) return { error: bad('Malformed Request-Line'), requestLike: false, method: undefined };
  const last = line.lastIndexOf(' ');
  if (last === sp) return requestError(bad('Malformed Request-Line'), method);
  const v = version(line.slice(last + 1));
  if (v === 0) return requestError(new SipParseError(505, 'Version Not Supported'), method);
  if (v < 0) return requestError(bad('Malformed Request-Line'), method);
  const uriText = line.slice(sp + 1, last);
  if (uriText.length === 0 || uriText.includes(' ') || uriText.includes('\t')) return requestError(bad('Malformed Request-Line'), method);
  let uri: Uri;
  try {
    uri = parseUri(uriText);
  } catch {
    return requestError(bad('Malformed Request-URI'), method);
  }
  if (isSipUri(uri) && uri.headers !== undefined) return requestError(bad('Headers in Request-URI'), method);
  return { kind: 'request', method, uri };
}

function requestError(error: SipParseError, method: string): StartLineError {
  return { error, requestLike: true, method };
}

function responseError(reason: string): StartLineError {
  return { error: bad(reason), requestLike: false, method: undefined };
}

function parseStatusLine(line: string): StartLine | StartLineError {
  const sp = line.indexOf(' ');
  if (sp < 0) return responseError('Malformed Status-Line');
  const v = version(line.slice(0, sp));
  if (v !== 1) return { error: new SipParseError(505, 'Version Not Supported'), requestLike: false, method: undefined };
  // Status-Code = 3DIGIT, 100..699
  const c0 = line.charCodeAt(sp + 1);
  if (!isDigit(c0) || !isDigit(line.charCodeAt(sp + 2)) || !isDigit(line.charCodeAt(sp + 3))) return responseError('Malformed Status-Code');
  const status = Number(line.slice(sp + 1, sp + 4));
  if (status < 100 || status > 699) return responseError('Malformed Status-Code');
  const after = sp + 4;
  if (after < line.length && line.charCodeAt(after) !== 0x20) return responseError('Malformed Status-Code');
  const reason = line.slice(Math.min(after + 1, line.length));
  // Reason-Phrase = *(reserved / unreserved / escaped / UTF8-NONASCII / UTF8-CONT / SP / HTAB)
  for (let i = 0; i < reason.length; i++) {
    const c = reason.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return responseError('Malformed Reason-Phrase');
  }
  return { kind: 'response', status, reason };
}
