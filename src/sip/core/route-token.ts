/**
 * Dialog route tokens (issue 14, open relay): with `--outbound none` this peer relays to a host that
 * is not itself only along a dialog it set up. When it Record-Routes a dialog-creating request
 * (RFC 3261 §16.6 step 4) it puts in its own Record-Route URI a parameter binding the dialog's
 * Call-ID to the two hops next to it — upstream (the caller's Contact, or the nearest upstream
 * Record-Route) and downstream (the target it forwards to: a phone's contact, or an overlay peer's
 * SIP front, whose own Record-Route names the same host and port). A later request arriving on that
 * Route may go on only to one of those two hops; a Route or Request-URI naming any other host was
 * put there by someone else and is refused. The tokens are MACs under a secret of this peer (HMAC-
 * SHA-256, 80 bits each), so they cannot be made for another Call-ID or host. Stateless: nothing is
 * kept per dialog. A dialog set up before a restart (new secret) or whose remote target moved to
 * another host:port is no longer relayed with `--outbound none`.
 */
import { createHmac } from 'node:crypto';
import { stripBrackets } from '../../lib/ip.js';
import { paramValue } from '../message/index.js';
import type { SipUri } from '../message/sip-message.js';
import { uriTransport } from './target-resolver.js';

/** The Record-Route URI parameter that carries the tokens. */
export const ROUTE_TOKEN_PARAM = 'p2psip-rr';

/** Bytes of each MAC kept (80 bits). */
const TOKEN_BYTES = 10;

/** `host:port` of the hop a URI sends to (maddr, else host; the transport's default port), lowercased. */
export function hopKey(uri: SipUri): string {
  const host = stripBrackets(paramValue(uri.params, 'maddr') ?? uri.host).toLowerCase();
  const t = uriTransport(uri);
  const port = uri.port ?? (t === 'tls' ? 5061 : t === 'ws' ? 80 : t === 'wss' ? 443 : 5060);
  return `${host}:${port}`;
}

export class RouteTokens {
  constructor(private readonly secret: Uint8Array) {
    if (secret.length < 16) throw new RangeError('RouteTokens: a secret of at least 16 bytes');
  }

  /** The parameter value for a dialog: one MAC per neighbour hop, '.'-separated (hops left out when unknown). */
  make(callId: string, hops: ReadonlyArray<SipUri | undefined>): string {
    return hops
      .filter((h): h is SipUri => h !== undefined)
      .map((h) => this.mac(callId, hopKey(h)))
      .join('.');
  }

  /** Whether one of `tokens` (the parameter values of our Routes a request came on) names `hop` for `callId`. */
  allows(callId: string, hop: SipUri, tokens: readonly string[]): boolean {
    if (tokens.length === 0) return false;
    const want = this.mac(callId, hopKey(hop));
    return tokens.some((t) => t.split('.').includes(want));
  }

  private mac(callId: string, hop: string): string {
    return createHmac('sha256', this.secret).update(`${callId}\n${hop}`).digest().subarray(0, TOKEN_BYTES).toString('base64url');
  }
}
