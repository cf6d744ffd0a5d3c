import { callId, cseqOf, formatVia, topVia } from '../message/index.js';
import { SipHeaders } from '../message/sip-headers.js';
import type { SipRequest, SipResponse } from '../message/sip-message.js';

/**
 * RFC 3261 §17.1.1.3: the ACK an INVITE client transaction sends for a 300-699 response.
 * Request-URI, Call-ID and From of the original request; To of the response; only the top Via
 * of the original request; CSeq number of the original with method ACK; the original's Route
 * header fields. No body.
 */
export function buildAck(request: SipRequest, response: SipResponse): SipRequest {
  const headers = new SipHeaders();
  headers.append('Via', formatVia(topVia(request)));
  headers.append('Max-Forwards', '70');
  for (const route of request.headers.getAll('route')) headers.append('Route', route);
  headers.append('To', response.headers.get('to') ?? request.headers.get('to') ?? '');
  headers.append('From', request.headers.get('from') ?? '');
  headers.append('Call-ID', callId(request));
  headers.append('CSeq', `${cseqOf(request).seq} ACK`);
  headers.append('Content-Length', '0');
  return { kind: 'request', method: 'ACK', uri: request.uri, version: 'SIP/2.0', headers, body: new Uint8Array(0) };
}
