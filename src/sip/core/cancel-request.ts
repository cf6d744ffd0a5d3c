/**
 * Building a CANCEL for a request we sent (RFC 3261 §9.1): same Request-URI, Call-ID, To, From,
 * CSeq number and the single top Via of the request being cancelled, plus its Route set.
 */
import { SipHeaders } from '../message/sip-headers.js';
import { cseqOf, parseVia, formatVia } from '../message/index.js';
import type { SipRequest } from '../message/sip-message.js';

export function buildCancel(invite: SipRequest): SipRequest {
  const headers = new SipHeaders();
  const firstVia = invite.headers.get('via');
  const top = firstVia === undefined ? undefined : parseVia(firstVia)[0];
  if (top !== undefined) headers.append('Via', formatVia(top));
  for (const r of invite.headers.getAll('route')) headers.append('Route', r);
  headers.append('Max-Forwards', '70');
  headers.append('From', invite.headers.get('from') ?? '');
  headers.append('To', invite.headers.get('to') ?? '');
  headers.append('Call-ID', invite.headers.get('call-id') ?? '');
  headers.append('CSeq', `${cseqOf(invite).seq} CANCEL`);
  return { kind: 'request', method: 'CANCEL', uri: invite.uri, version: 'SIP/2.0', headers, body: new Uint8Array(0) };
}
