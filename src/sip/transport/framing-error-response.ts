/**
 * The answer to a request whose stream could not be framed (RFC 3261 §18.3: Content-Length
 * missing, malformed or over a limit) or whose body did not arrive in time, so the client learns
 * why before the connection is closed.
 * The message parser builds it from the header section (every Via, From, To, Call-ID, CSeq that
 * is readable); a response or an ACK is never answered.
 */
import { parseMessage } from '../message/index.js';
import type { SipLimits, SipResponse } from '../message/sip-message.js';
import type { FramingErrorReason } from './stream-framer.js';

/** The 400/413 for a framed-out request header section, or undefined when nothing can be answered. */
export function framingErrorResponse(header: Uint8Array, why: FramingErrorReason, limits: SipLimits): SipResponse | undefined {
  // Parsed as a stream message with no body: the parser reports the same problem the framer saw.
  const result = parseMessage(header, { datagram: false, limits });
  if (result.ok || result.response === undefined) return undefined;
  const response = result.response;
  const sizeProblem = why === 'header-too-large' || why === 'body-too-large' || why === 'message-too-large';
  if (sizeProblem && response.status !== 413) {
    response.status = 413;
    response.reason = `Request Entity Too Large - Message over ${limits.maxMessageBytes} bytes`;
  }
  return response;
}

/**
 * The 408 for a request whose body did not arrive within `timeoutMs` of its header section (the
 * connection is closed after it), or undefined when nothing can be answered (no readable Via, a
 * response, an ACK). As HTTP's 408 (RFC 9110 §15.5.9): the request was not received in time.
 */
export function bodyTimeoutResponse(header: Uint8Array, limits: SipLimits, timeoutMs: number): SipResponse | undefined {
  // the header section alone is short of its Content-Length: the parser fails and builds the answer
  const result = parseMessage(header, { datagram: false, limits });
  if (result.ok || result.response === undefined) return undefined;
  const response = result.response;
  response.status = 408;
  response.reason = `Request Timeout - body not received within ${timeoutMs / 1000} s`;
  return response;
}
