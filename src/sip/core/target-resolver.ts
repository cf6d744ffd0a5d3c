/**
 * Turning a next-hop URI into transport addresses (RFC 3263). The core only knows this interface;
 * the platform supplies DNS. IP literals never need DNS.
 */
import { isIpLiteral, stripBrackets } from '../../lib/ip.js';
import { paramValue } from '../message/index.js';
import type { SipUri } from '../message/sip-message.js';
import type { TransportAddress, TransportProtocol } from '../transport/sip-transport.js';

export interface TargetResolver {
  /** Candidate addresses in the order to try; empty when the name does not resolve. */
  resolve(uri: SipUri): Promise<TransportAddress[]>;
}

/** The transport a URI asks for (RFC 3263 §4.1 with explicit transport/sips only). */
export function uriTransport(uri: SipUri): TransportProtocol {
  const t = paramValue(uri.params, 'transport')?.toLowerCase();
  if (uri.scheme === 'sips') return t === 'ws' || t === 'wss' ? 'wss' : 'tls';
  if (t === 'tcp' || t === 'tls' || t === 'ws' || t === 'wss') return t;
  return 'udp';
}

/** RFC 3263 §4.2 for IP literals: maddr, else host; port or the transport's default. */
export function numericTarget(uri: SipUri): TransportAddress | undefined {
  const host = stripBrackets(paramValue(uri.params, 'maddr') ?? uri.host);
  if (!isIpLiteral(host)) return undefined;
  const protocol = uriTransport(uri);
  const defaultPort = protocol === 'tls' ? 5061 : protocol === 'ws' ? 80 : protocol === 'wss' ? 443 : 5060;
  return { protocol, host, port: uri.port ?? defaultPort };
}

/** A resolver that knows only IP literals (tests, `--outbound none`): names do not resolve. */
export class NumericOnlyResolver implements TargetResolver {
  resolve(uri: SipUri): Promise<TransportAddress[]> {
    const t = numericTarget(uri);
    return Promise.resolve(t === undefined ? [] : [t]);
  }
}
