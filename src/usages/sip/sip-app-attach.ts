/**
 * AppAttach for SIP (RFC 6940 §6.5.2, application 5060; RFC 7904 §4). In no-ICE mode the
 * candidates are the SIP front's own addresses: one host candidate per transport, marked by a
 * `sip-transport` extension (`udp` / `tcp`). The overlay-link field has no code for plain SIP; the
 * NO-ICE codes are used (3 for the datagram, 4 for the stream candidate) and ignored on receipt.
 */
import { toIpAddressPort, fromIpAddressPort } from '../../reload/overlay/candidates.js';
import { OverlayLinkType } from '../../reload/codec/index.js';
import type { AppAttachReqAns, IceCandidate } from '../../reload/codec/index.js';
import type { TransportAddress } from '../../sip/transport/sip-transport.js';

/** RFC 6940 §14.5: Application-ID of SIP. */
export const SIP_APPLICATION_ID = 5060;

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();
const SIP_TRANSPORT = utf8.encode('sip-transport');

/** Host candidates for our SIP front (UDP first); addresses that are not IP literals are skipped. */
export function sipCandidates(addresses: readonly TransportAddress[]): IceCandidate[] {
  const out: IceCandidate[] = [];
  for (const a of addresses) {
    if (a.protocol !== 'udp' && a.protocol !== 'tcp') continue;
    const addrPort = toIpAddressPort({ host: a.host, port: a.port });
    if (addrPort === undefined) continue;
    out.push({
      addrPort,
      overlayLink: a.protocol === 'udp' ? OverlayLinkType['DTLS-UDP-SR-NO-ICE'] : OverlayLinkType['TLS-TCP-FH-NO-ICE'],
      foundation: utf8.encode(String(out.length + 1)),
      priority: a.protocol === 'udp' ? 2130706431 : 2130706430,
      type: 'host',
      extensions: [{ name: SIP_TRANSPORT, value: utf8.encode(a.protocol) }],
    });
  }
  return out.sort((x, y) => y.priority - x.priority);
}

/** The SIP address to forward to from an AppAttach answer: the first UDP candidate, else TCP. */
export function sipAddressOf(answer: AppAttachReqAns): TransportAddress | undefined {
  let stream: TransportAddress | undefined;
  for (const c of answer.candidates) {
    if (c.type !== 'host') continue;
    const ep = fromIpAddressPort(c.addrPort);
    if (ep === undefined || ep.port === 0) continue;
    const ext = c.extensions.find((e) => e.name.length === SIP_TRANSPORT.length && utf8d.decode(e.name) === 'sip-transport');
    const protocol = ext === undefined ? 'udp' : utf8d.decode(ext.value);
    if (protocol === 'udp') return { protocol: 'udp', host: ep.host, port: ep.port };
    if (protocol === 'tcp' && stream === undefined) stream = { protocol: 'tcp', host: ep.host, port: ep.port };
  }
  return stream;
}

/** Every SIP front address an AppAttach body announces (the host candidates marked sip-transport). */
export function sipAddressesOf(body: AppAttachReqAns): TransportAddress[] {
  const out: TransportAddress[] = [];
  for (const c of body.candidates) {
    if (c.type !== 'host') continue;
    const ext = c.extensions.find((e) => e.name.length === SIP_TRANSPORT.length && utf8d.decode(e.name) === 'sip-transport');
    if (ext === undefined) continue;
    const ep = fromIpAddressPort(c.addrPort);
    const protocol = utf8d.decode(ext.value);
    if (ep === undefined || ep.port === 0 || (protocol !== 'udp' && protocol !== 'tcp')) continue;
    out.push({ protocol, host: ep.host, port: ep.port });
  }
  return out;
}
