/**
 * Which peer addresses a TURN server refuses to relay to (RFC 8656 §21.2.3, "Relaying to own
 * addresses"; §21.4 on open relays): a peer that may not be reached through the relay gets 403 on
 * CreatePermission and ChannelBind, and a Send or ChannelData to it is never sent.
 *
 * Always forbidden: port 0, unspecified (0.0.0.0/8, ::), multicast (224.0.0.0/4, ff00::/8), the
 * reserved 240.0.0.0/4 with the broadcast address, and the server's own listening addresses (a relay
 * to them would loop datagrams back into the server as if they came from a client). Loopback
 * (127.0.0.0/8, ::1) only when `allowLoopback` (tests). Private and link-local ranges (RFC 1918,
 * 100.64.0.0/10, 169.254.0.0/16, fc00::/7, fe80::/10) when `forbidPrivate`. IPv4-mapped IPv6
 * addresses are judged as the IPv4 address. `allow` is the operator's last word on what is left.
 */
import { ipToBytes, sameIp } from '../../lib/ip.js';
import type { StunAddress } from '../stun/stun-message.js';

export interface PeerPolicyOptions {
  /** Relay to 127.0.0.0/8 and ::1 (default false: only tests turn it on). */
  allowLoopback?: boolean;
  /** Refuse RFC 1918, CGN, link-local and ULA peers (default false: an office overlay relays on its LAN). */
  forbidPrivate?: boolean;
  /** The server's own listening addresses (the shared socket): never relayed to. */
  serverAddresses?: readonly StunAddress[];
  /** The operator's extra rule, asked last: false forbids the peer. */
  allow?(peer: StunAddress): boolean;
}

/** Why `peer` may not be relayed to, or undefined when it may. */
export function forbiddenPeerReason(peer: StunAddress, opts: PeerPolicyOptions = {}): string | undefined {
  if (!Number.isInteger(peer.port) || peer.port <= 0 || peer.port > 0xffff) return 'port 0';
  const b = ipToBytes(peer.host);
  if (b === undefined) return 'not an IP address';
  const v4 = b.length === 4 ? b : isMapped(b) ? b.subarray(12) : undefined;
  if (v4 !== undefined) {
    const reason = v4Reason(v4, opts);
    if (reason !== undefined) return reason;
  } else {
    const reason = v6Reason(b, opts);
    if (reason !== undefined) return reason;
  }
  for (const own of opts.serverAddresses ?? []) if (own.port === peer.port && sameIp(own.host, peer.host)) return "the server's own address";
  if (opts.allow !== undefined && !opts.allow(peer)) return 'refused by policy';
  return undefined;
}

function isMapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

function v4Reason(a: Uint8Array, opts: PeerPolicyOptions): string | undefined {
  const [o0, o1] = [a[0]!, a[1]!];
  if (o0 === 0) return 'unspecified address';
  if (o0 === 127) return opts.allowLoopback === true ? undefined : 'loopback address';
  if (o0 >= 224 && o0 <= 239) return 'multicast address';
  if (o0 >= 240) return 'reserved or broadcast address';
  if (opts.forbidPrivate === true) {
    if (o0 === 10 || (o0 === 172 && o1 >= 16 && o1 <= 31) || (o0 === 192 && o1 === 168)) return 'private address';
    if (o0 === 100 && o1 >= 64 && o1 <= 127) return 'shared (CGN) address';
    if (o0 === 169 && o1 === 254) return 'link-local address';
  }
  return undefined;
}

function v6Reason(b: Uint8Array, opts: PeerPolicyOptions): string | undefined {
  let zeroPrefix = true;
  for (let i = 0; i < 15; i++) if (b[i] !== 0) zeroPrefix = false;
  if (zeroPrefix && b[15] === 0) return 'unspecified address';
  if (zeroPrefix && b[15] === 1) return opts.allowLoopback === true ? undefined : 'loopback address';
  if (b[0] === 0xff) return 'multicast address';
  if (opts.forbidPrivate === true) {
    if ((b[0]! & 0xfe) === 0xfc) return 'unique local address';
    if (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80) return 'link-local address';
  }
  return undefined;
}
