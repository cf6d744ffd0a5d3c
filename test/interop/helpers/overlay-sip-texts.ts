/**
 * Raw SIP requests and answers for the overlay interop tests (UDP probes standing in for phones):
 * a MESSAGE or INVITE from one overlay user to another, the ACK of a non-2xx final response
 * (RFC 3261 §17.1.1.3) and a UAS's 200 to a MESSAGE (§8.2.6).
 */
import { UdpProbe } from '../../integration/helpers/udp-probe.js';

export interface ProbeRequest {
  readonly method: 'MESSAGE' | 'INVITE';
  readonly from: string;
  readonly to: string;
  readonly domain: string;
  readonly callId: string;
  readonly branch: string;
  readonly localPort: number;
  readonly body?: string;
}

/** A request from sip:<from>@<domain> to sip:<to>@<domain>, sent to the caller's own peer. */
export function probeRequest(r: ProbeRequest): string {
  const body = r.body ?? '';
  return [
    `${r.method} sip:${r.to}@${r.domain} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${r.localPort};branch=${r.branch};rport`,
    'Max-Forwards: 70',
    `From: <sip:${r.from}@${r.domain}>;tag=f${r.callId}`,
    `To: <sip:${r.to}@${r.domain}>`,
    `Call-ID: ${r.callId}`,
    `CSeq: 1 ${r.method}`,
    ...(r.method === 'INVITE' ? [`Contact: <sip:${r.from}@127.0.0.1:${r.localPort}>`] : []),
    ...(body === '' ? [] : ['Content-Type: text/plain']),
    `Content-Length: ${Buffer.byteLength(body, 'latin1')}`,
    '',
    body,
  ].join('\r\n');
}

/** The hop-by-hop ACK of a non-2xx final response to an INVITE made by probeRequest. */
export function ackFor(r: ProbeRequest, response: string): string {
  const to = headerLines(response, 'to')[0] ?? `To: <sip:${r.to}@${r.domain}>`;
  return [
    `ACK sip:${r.to}@${r.domain} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${r.localPort};branch=${r.branch};rport`,
    'Max-Forwards: 70',
    `From: <sip:${r.from}@${r.domain}>;tag=f${r.callId}`,
    to,
    `Call-ID: ${r.callId}`,
    'CSeq: 1 ACK',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** Every header line named `name` (case-insensitive, long form only), as received. */
export function headerLines(text: string, name: string): string[] {
  const head = text.split('\r\n\r\n')[0] ?? '';
  return head.split('\r\n').filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
}

/** Makes `probe` answer every MESSAGE it receives with 200 OK (to the top Via's address). */
export function answerMessages(probe: UdpProbe): void {
  probe.socket.on('message', (buf) => {
    const m = buf.toString('latin1');
    if (!m.startsWith('MESSAGE ')) return;
    const vias = headerLines(m, 'via');
    const top = /SIP\/2\.0\/UDP ([^;:\s]+):(\d+)/i.exec(vias[0] ?? '');
    const rport = /;rport=(\d+)/.exec(vias[0] ?? '')?.[1];
    const received = /;received=([^;\s]+)/.exec(vias[0] ?? '')?.[1];
    if (top === null) return;
    const to = headerLines(m, 'to')[0] ?? '';
    const res = ['SIP/2.0 200 OK', ...vias, ...headerLines(m, 'from'), `${to};tag=probe`, ...headerLines(m, 'call-id'), ...headerLines(m, 'cseq'), 'Content-Length: 0', '', ''];
    probe.send(res.join('\r\n'), Number(rport ?? top[2]), received ?? top[1]);
  });
}

/** The body of a SIP message text. */
export function bodyOf(text: string): string {
  const i = text.indexOf('\r\n\r\n');
  return i < 0 ? '' : text.slice(i + 4);
}
