/** SIP requests and responses with SDP bodies for the media hook's tests (parsed from text, like received ones). */
import { parseMessage } from '../../../src/sip/message/index.js';
import type { SipRequest, SipResponse } from '../../../src/sip/message/sip-message.js';
import type { TransportAddress } from '../../../src/sip/transport/sip-transport.js';

export interface MessageOptions {
  callId: string;
  cseq?: number;
  /** CSeq method (responses; requests use their method). */
  method?: string;
  body?: string;
  contentType?: string | null;
  contact?: string;
  toTag?: string;
}

function parse(textLines: string[], body: string): SipRequest | SipResponse {
  const data = Buffer.from(`${textLines.join('\r\n')}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`, 'utf8');
  const r = parseMessage(data, { datagram: true });
  if (!r.ok) throw new Error(`test message does not parse: ${r.error.message}`);
  return r.message;
}

function common(o: MessageOptions, method: string): string[] {
  const body = o.body ?? '';
  const ct = o.contentType === undefined ? (body === '' ? null : 'application/sdp') : o.contentType;
  return [
    'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKtest1',
    'Max-Forwards: 70',
    'From: <sip:caller@p2psip.local>;tag=ftag',
    `To: <sip:callee@p2psip.local>${o.toTag === undefined ? '' : `;tag=${o.toTag}`}`,
    `Call-ID: ${o.callId}`,
    `CSeq: ${o.cseq ?? 1} ${o.method ?? method}`,
    ...(o.contact === undefined ? [] : [`Contact: <${o.contact}>`]),
    ...(ct === null ? [] : [`Content-Type: ${ct}`]),
  ];
}

export function request(method: string, uri: string, o: MessageOptions): SipRequest {
  const m = parse([`${method} ${uri} SIP/2.0`, ...common(o, method)], o.body ?? '');
  if (m.kind !== 'request') throw new Error('not a request');
  return m;
}

export function response(status: number, o: MessageOptions): SipResponse {
  const m = parse([`SIP/2.0 ${status} Whatever`, ...common(o, 'INVITE')], o.body ?? '');
  if (m.kind !== 'response') throw new Error('not a response');
  return m;
}

export function udp(host: string, port: number): TransportAddress {
  return { protocol: 'udp', host, port };
}

export function bodyText(m: { body: Uint8Array }): string {
  return Buffer.from(m.body).toString('utf8');
}
