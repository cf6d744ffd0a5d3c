import { paramValue, portNumber, topVia } from '../message/index.js';
import type { InboundMessage, OutboundTarget, TransportProtocol } from '../transport/sip-transport.js';

/** Default port of a transport when the Via sent-by has none (RFC 3261 §18.2.2, §19.1.2). */
function defaultPort(protocol: TransportProtocol): number {
  return protocol === 'tls' || protocol === 'wss' ? 5061 : 5060;
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** 1 to 5 digits, 1..65535. */
function parsePort(text: string | undefined): number | undefined {
  if (text === undefined || text.length > 5) return undefined;
  const n = portNumber(text, 0, text.length);
  return n >= 1 ? n : undefined;
}

/**
 * Where the responses of a server transaction go (RFC 3261 §18.2.2, RFC 3581 §4):
 * - reliable transport with a known connection: on that connection, to its remote end;
 * - otherwise to the top Via's `received` (else its sent-by host), port `rport` (else the sent-by
 *   port, else the transport's default port). A `;rport` the transport left without a value
 *   means "reply to the source address and port" (RFC 3581 §4). `maddr` is ignored (it would let any client
 *   aim our responses at a third party).
 * Never throws: a message without a usable top Via is answered to its source.
 */
export function responseTarget(inbound: InboundMessage): OutboundTarget {
  const protocol = inbound.source.protocol;
  if (protocol !== 'udp' && inbound.flowId !== undefined) {
    return { destination: { ...inbound.source }, flowId: inbound.flowId };
  }
  let via;
  try {
    via = topVia(inbound.message);
  } catch {
    return { destination: { ...inbound.source } };
  }
  const received = paramValue(via.params, 'received');
  const rport = paramValue(via.params, 'rport');
  const rportNumber = parsePort(rport);
  // RFC 3581 §4: `;rport` the transport left empty: answer where the request came from.
  if (rport !== undefined && rportNumber === undefined) return { destination: { ...inbound.source } };
  const host = received !== undefined && received !== '' ? unbracket(received) : unbracket(via.host);
  if (host === '') return { destination: { ...inbound.source } };
  const port = rportNumber ?? via.port ?? defaultPort(protocol);
  return { destination: { protocol, host, port } };
}
