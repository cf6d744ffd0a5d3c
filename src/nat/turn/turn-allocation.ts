/**
 * One TURN allocation on the server side (RFC 8656 §2.2, §5): the client's 5-tuple, the relay port,
 * its permissions (by peer IP, §9) and channel bindings (§12), the expiry, the bandwidth buckets and
 * the counters. Permissions and channels expire lazily: an entry past its time counts as absent and is
 * purged when the tables are looked at, so no timer is kept per permission or channel — only the
 * allocation's own expiry timer, which the server owns.
 */
import type { TimerHandle } from '../../lib/clock.js';
import { canonicalIp } from '../../lib/ip.js';
import type { StunAddress } from '../stun/stun-message.js';
import { TokenBucket } from './turn-token-bucket.js';

/** How a client reaches the server (RFC 8656 §3.1): UDP on the shared socket, or a TCP connection. */
export type TurnClientTransport = 'udp' | 'tcp';

/**
 * A client's side of its 5-tuple (RFC 8656 §2.2): its source address and the transport it came over.
 * `transport` absent means UDP. Over TCP the connection is the 5-tuple: one allocation per connection.
 */
export interface TurnClientAddress extends StunAddress {
  readonly transport?: TurnClientTransport;
}

/** A relay port as the server sees it: opened by the host, identified in `relayReceived` by `id`. */
export interface RelayPort {
  /** Unique among the ports open at once (the host passes it back in `TurnServer.relayReceived`). */
  readonly id: number;
  /** The relayed transport address (what XOR-RELAYED-ADDRESS announces). */
  readonly address: StunAddress;
  send(datagram: Uint8Array, to: StunAddress): void;
  /** Releases the port; idempotent. */
  close(): void;
}

export interface ChannelBinding {
  readonly number: number;
  readonly peer: StunAddress;
  expiresAt: number;
}

export interface AllocationCounters {
  /** Datagrams and bytes relayed client → peer. */
  toPeerPackets: number;
  toPeerBytes: number;
  /** Datagrams and bytes relayed peer → client. */
  toClientPackets: number;
  toClientBytes: number;
  /** Peer datagrams dropped for want of a permission. */
  droppedNoPermission: number;
  /** Datagrams (either way) dropped by the bandwidth limit. */
  droppedBandwidth: number;
}

/** `ip|port` in canonical form: the key of a peer transport address. */
export function peerKey(a: StunAddress): string {
  return `${canonicalIp(a.host) ?? a.host}|${a.port}`;
}

/** The key of a client's 5-tuple: its address, and `tcp|` first for a TCP connection (UDP keys are peerKey's). */
export function clientKey(a: TurnClientAddress): string {
  return a.transport === 'tcp' ? `tcp|${peerKey(a)}` : peerKey(a);
}

export class TurnAllocation {
  private readonly permissions = new Map<string, number>();
  private readonly channels = new Map<number, ChannelBinding>();
  private readonly channelByPeer = new Map<string, number>();
  readonly up: TokenBucket;
  readonly down: TokenBucket;
  readonly counters: AllocationCounters = {
    toPeerPackets: 0,
    toPeerBytes: 0,
    toClientPackets: 0,
    toClientBytes: 0,
    droppedNoPermission: 0,
    droppedBandwidth: 0,
  };
  timer: TimerHandle | undefined;

  constructor(
    readonly client: TurnClientAddress,
    readonly username: string,
    readonly relay: RelayPort,
    readonly family: 4 | 6,
    public expiresAt: number,
    /** The Allocate that created it and the response sent: a retransmission gets the same answer (§7.2). */
    readonly allocateTid: string,
    readonly allocateResponse: Uint8Array,
    bandwidth: { rate: number; burst: number },
    now: number,
  ) {
    this.up = new TokenBucket(bandwidth.rate, bandwidth.burst, now);
    this.down = new TokenBucket(bandwidth.rate, bandwidth.burst, now);
  }

  // ---- permissions (RFC 8656 §9: by IP address only, the port is ignored) ----

  hasPermission(ip: string, now: number): boolean {
    const k = canonicalIp(ip) ?? ip;
    const exp = this.permissions.get(k);
    if (exp === undefined) return false;
    if (exp > now) return true;
    this.permissions.delete(k);
    return false;
  }

  /** Live permissions (expired ones are purged first). */
  permissionCount(now: number): number {
    for (const [k, exp] of this.permissions) if (exp <= now) this.permissions.delete(k);
    return this.permissions.size;
  }

  /** How many of `ips` would be new permissions (not already installed and live). */
  newPermissions(ips: readonly string[], now: number): number {
    const fresh = new Set<string>();
    for (const ip of ips) if (!this.hasPermission(ip, now)) fresh.add(canonicalIp(ip) ?? ip);
    return fresh.size;
  }

  setPermission(ip: string, expiresAt: number): void {
    this.permissions.set(canonicalIp(ip) ?? ip, expiresAt);
  }

  // ---- channels (RFC 8656 §12) ----

  /** The live binding of `number`, if any. */
  channel(number: number, now: number): ChannelBinding | undefined {
    const b = this.channels.get(number);
    if (b === undefined) return undefined;
    if (b.expiresAt > now) return b;
    this.unbind(b);
    return undefined;
  }

  /** The live binding for `peer` (ip and port), if any. */
  channelFor(peer: StunAddress, now: number): ChannelBinding | undefined {
    const n = this.channelByPeer.get(peerKey(peer));
    return n === undefined ? undefined : this.channel(n, now);
  }

  channelCount(now: number): number {
    for (const b of [...this.channels.values()]) if (b.expiresAt <= now) this.unbind(b);
    return this.channels.size;
  }

  /** Binds or refreshes; the caller has checked the conflicts (§12.2). */
  bind(number: number, peer: StunAddress, expiresAt: number): void {
    const existing = this.channels.get(number);
    if (existing !== undefined) {
      existing.expiresAt = expiresAt;
      return;
    }
    this.channels.set(number, { number, peer: { host: canonicalIp(peer.host) ?? peer.host, port: peer.port }, expiresAt });
    this.channelByPeer.set(peerKey(peer), number);
  }

  private unbind(b: ChannelBinding): void {
    this.channels.delete(b.number);
    const k = peerKey(b.peer);
    if (this.channelByPeer.get(k) === b.number) this.channelByPeer.delete(k);
  }
}
