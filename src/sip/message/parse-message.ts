import { errorResponse } from './error-response.js';
import { readHeaderSection } from './header-section.js';
import { SipParseError } from './sip-parse-error.js';
import { parseStartLine } from './start-line.js';
import { DEFAULT_SIP_LIMITS } from './sip-message.js';
import { validateHeaders } from './validate-headers.js';
import type { SipHeaders } from './sip-headers.js';
import type { SipLimits, SipMessage, SipResponse } from './sip-message.js';

const EMPTY_BODY = new Uint8Array(0);

export type ParseResult =
  | { ok: true; message: SipMessage }
  | { ok: false; error: SipParseError; response: SipResponse | undefined };

export interface ParseOptions {
  /**
   * true for UDP (one datagram = one message): Content-Length may be absent (the body is the rest),
   * octets after Content-Length are ignored (RFC 4475 §3.1.1.8). false for streams: the caller has
   * framed one message and Content-Length is mandatory (RFC 3261 §18.3, §20.14).
   */
  datagram: boolean;
  /** Defaults to {@link DEFAULT_SIP_LIMITS}. */
  limits?: SipLimits;
}

function tooLarge(what: string): SipParseError {
  return new SipParseError(413, `Request Entity Too Large - ${what}`);
}

function bad(reason: string): SipParseError {
  return new SipParseError(400, `Bad Request - ${reason}`);
}

/**
 * Parses one SIP message (RFC 3261 §7) and validates the header fields routing depends on.
 * Never throws. On failure, `response` is the answer to send when the input is a request with a
 * readable Via (400 naming the problem, 505 for another SIP version, 413 over a limit); a bad
 * response or an ACK is never answered.
 */
export function parseMessage(data: Uint8Array, options: ParseOptions): ParseResult {
  try {
    return parse(data, options);
  } catch (e) {
    // defensive: every parser below throws SipParseError only
    const error = e instanceof SipParseError ? e : new SipParseError(400, 'Bad Request', String(e));
    return { ok: false, error, response: undefined };
  }
}

function parse(data: Uint8Array, options: ParseOptions): ParseResult {
  const limits = options.limits ?? DEFAULT_SIP_LIMITS;
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const section = readHeaderSection(buf, limits);
  if (section.startLine === undefined) return failed(section.error ?? bad('Empty message'), false, undefined, section.headers);
  const start = parseStartLine(section.startLine);
  if ('error' in start) {
    // the start line comes first: its problem is the one reported (505 for another SIP version)
    return failed(start.error, start.requestLike, start.method, section.headers);
  }
  const requestLike = start.kind === 'request';
  const method = start.kind === 'request' ? start.method : undefined;
  if (section.error !== undefined) return failed(section.error, requestLike, method, section.headers);

  const headers = section.headers;
  let contentLength: number | undefined;
  try {
    contentLength = validateHeaders(headers, start.kind === 'request' ? start.method : undefined);
  } catch (e) {
    return failed(e instanceof SipParseError ? e : bad('Malformed header'), requestLike, method, section.headers);
  }
  // framing (RFC 3261 §18.3, RFC 4475 §3.1.2.2 clerr, §3.1.1.8 dblreq)
  const bodyStart = section.bodyStart;
  const available = buf.length - bodyStart;
  let bodyLength: number;
  if (contentLength === undefined) {
    if (!options.datagram) return failed(bad('Missing Content-Length header'), requestLike, method, section.headers);
    bodyLength = available;
  } else {
    if (contentLength > available) {
      const e = contentLength > limits.maxBodyBytes ? tooLarge(`Body over ${limits.maxBodyBytes} bytes`) : bad('Content-Length larger than message');
      return failed(e, requestLike, method, section.headers);
    }
    bodyLength = contentLength;
  }
  if (bodyLength > limits.maxBodyBytes) return failed(tooLarge(`Body over ${limits.maxBodyBytes} bytes`), requestLike, method, section.headers);
  if (bodyStart + bodyLength > limits.maxMessageBytes) {
    return failed(tooLarge(`Message over ${limits.maxMessageBytes} bytes`), requestLike, method, section.headers);
  }
  // Copied out of the input (a stored message must not pin a receive buffer); no body shares one empty array.
  const body = bodyLength === 0 ? EMPTY_BODY : new Uint8Array(bodyLength);
  if (bodyLength > 0) body.set(buf.subarray(bodyStart, bodyStart + bodyLength));
  const message: SipMessage =
    start.kind === 'request'
      ? { kind: 'request', method: start.method, uri: start.uri, version: 'SIP/2.0', headers, body }
      : { kind: 'response', status: start.status, reason: start.reason, version: 'SIP/2.0', headers, body };
  return { ok: true, message };
}

function failed(error: SipParseError, requestLike: boolean, method: string | undefined, headers: SipHeaders): ParseResult {
  const response = requestLike && method !== 'ACK' ? errorResponse(headers, error.status, error.reason) : undefined;
  return { ok: false, error, response };
}
