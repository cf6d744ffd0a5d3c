/**
 * What the browser phone page is told about this peer (GET /phone/config.json): where its SIP
 * WebSocket listener is (RFC 7118), the SIP domain, and whether REGISTER is challenged.
 *
 * The WebSocket URL is the `ws`/`wss` listener as bound; when it is bound to a wildcard
 * (0.0.0.0, ::) the host is the one the browser used to reach the page (its Host header, which the
 * API guard has already checked names this peer), so a page opened at http://127.0.0.1:8060/phone
 * connects to ws://127.0.0.1:<ws port> and one opened at the LAN address to that address.
 */
import type { TransportAddress } from '../../sip/transport/sip-transport.js';

/** What the page reads at start. */
export interface PhoneConfig {
  /** The SIP domain: an AoR typed without `@` gets it. */
  domain: string;
  /** WebSocket URLs of this peer's SIP front, `ws:` first (the page uses the first). */
  webSockets: string[];
  /** Why there is none and how to open one, when `webSockets` is empty. */
  problem: string | null;
  /** `closed`: REGISTER and calls are challenged (digest) — a password set with `p2psip user add`. */
  auth: 'closed' | 'open' | 'none';
}

/** The flag that opens the listener the page needs (named in the page when it is missing). */
export const SIP_WS_FLAG = '--sip-ws';

const WILDCARDS = new Set(['0.0.0.0', '::', '[::]']);

/** The host name part of a Host header (`[::1]:8060` → `[::1]`), or undefined when it has none. */
export function hostOfHostHeader(header: string | undefined): string | undefined {
  if (header === undefined || header === '') return undefined;
  try {
    const h = new URL(`http://${header}`).hostname;
    return h === '' ? undefined : h;
  } catch {
    return undefined;
  }
}

/** `host` as a URL authority part (IPv6 in brackets). */
function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

export function webSocketUrls(addresses: readonly TransportAddress[], pageHost: string | undefined): string[] {
  const urls: string[] = [];
  for (const protocol of ['ws', 'wss'] as const) {
    for (const a of addresses) {
      if (a.protocol !== protocol) continue;
      const host = WILDCARDS.has(a.host) ? (pageHost ?? (a.host === '0.0.0.0' ? '127.0.0.1' : '[::1]')) : urlHost(a.host);
      const url = `${protocol}://${host}:${a.port}`;
      if (!urls.includes(url)) urls.push(url);
    }
  }
  return urls;
}

export function phoneConfig(input: { domain: string; addresses: readonly TransportAddress[]; hostHeader: string | undefined; auth: PhoneConfig['auth'] }): PhoneConfig {
  const webSockets = webSocketUrls(input.addresses, hostOfHostHeader(input.hostHeader));
  return {
    domain: input.domain,
    webSockets,
    problem:
      webSockets.length > 0
        ? null
        : `This peer has no SIP WebSocket listener (RFC 7118), so a browser cannot reach its SIP front. Start the peer with ${SIP_WS_FLAG} host:port, e.g. \`p2psip up ${SIP_WS_FLAG} 127.0.0.1:5066\`.`,
    auth: input.auth,
  };
}
