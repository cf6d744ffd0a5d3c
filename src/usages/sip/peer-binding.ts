/**
 * The target a request for an AoR registered at another peer is sent to (RFC 7904 §3, issue 6): that
 * peer's SIP front, Request-URI `sip:<user>@<peer address>;p2psip=peer` — the mark makes the far peer
 * deliver to its own phones only, never back into the overlay (no loops).
 */
import type { Binding } from '../../sip/core/location-service.js';
import type { SipUri } from '../../sip/message/sip-message.js';

/** URI parameter marking a request forwarded by a peer to the peer its callee registered at. */
export const PEER_MARK = 'p2psip';

/** A target for the AoR at the peer whose SIP front is `address` (kept one minute: a lookup result). */
export function peerBinding(aor: string, user: string, address: { protocol: 'udp' | 'tcp' | string; host: string; port: number }, now: number): Binding {
  const params = [{ name: PEER_MARK, value: 'peer' }];
  if (address.protocol === 'tcp') params.unshift({ name: 'transport', value: 'tcp' });
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  const uri: SipUri = { scheme: 'sip', user, password: undefined, host, port: address.port, params, headers: undefined };
  return {
    aor,
    contact: { displayName: undefined, uri, params: [] },
    expiresAt: now + 60_000,
    q: 1,
    callId: '',
    cseq: 0,
    source: { protocol: address.protocol === 'tcp' ? 'tcp' : 'udp', host: address.host, port: address.port },
    flowId: undefined,
  };
}

/** The user part of a canonical AoR, %-escaped for a URI (RFC 3261 §25.1 user). */
export function escapeUser(aor: string): string {
  const at = aor.lastIndexOf('@');
  const user = aor.slice(aor.indexOf(':') + 1, at);
  return user.replace(/[^A-Za-z0-9\-_.!~*'()&=+$,;?/]/g, (c) =>
    [...new TextEncoder().encode(c)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}
