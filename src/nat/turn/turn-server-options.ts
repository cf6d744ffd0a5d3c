/**
 * The TURN server's host interfaces, options (with their defaults), events and statistics
 * (turn-server.ts is the core that uses them).
 */
import type { Clock } from '../../lib/clock.js';
import type { Random } from '../../lib/random.js';
import type { StunAddress } from '../stun/stun-message.js';
import type { RelayPort, TurnClientAddress, TurnClientTransport } from './turn-allocation.js';

export type { TurnClientAddress, TurnClientTransport } from './turn-allocation.js';
import type { TurnKeyLookup } from './turn-server-auth.js';

/** What the server asks of a relay port. */
export interface RelayPortRequest {
  readonly family: 4 | 6;
  /** EVEN-PORT (RFC 8656 §14.6) without the R bit: the port must be even. */
  readonly evenPort: boolean;
}

/** The host's relay ports (platform/turn-relay-ports.ts, or the simulator's). */
export interface RelayPorts {
  /** Address families relay ports can be opened in. */
  readonly families: readonly (4 | 6)[];
  /** Opens a port; an Error when none can be had (the client gets 508). */
  open(req: RelayPortRequest): Promise<RelayPort | Error>;
}

/** How the server answers: on the shared socket the request came in on, or on the client's TCP connection. */
export interface TurnServerHost {
  sendToClient(datagram: Uint8Array, client: TurnClientAddress): void;
}

export interface TurnServerDeps {
  clock: Clock;
  random: Random;
  host: TurnServerHost;
  relayPorts: RelayPorts;
  /** Long-term keys, MD5(username:realm:password) (turn-credentials.ts builds static ones). */
  lookupKey: TurnKeyLookup;
}

export interface TurnServerOptions {
  /** The REALM of the long-term credentials. */
  realm: string;
  /**
   * Error answers to requests that fail authentication (401, 438) per source network (IPv4 address,
   * IPv6 /64), a second (default 20) and at once (default 40): past that they are dropped silently —
   * a 401 is bigger than the Allocate that asks for it (amplification) and costs an HMAC.
   */
  unauthenticatedRatePerS?: number;
  unauthenticatedBurst?: number;
  /** SOFTWARE attribute in responses (none by default). */
  software?: string;
  /** How long a NONCE is accepted, ms (default 600,000; then 438). */
  nonceLifetimeMs?: number;
  /** Lifetime when the client asks for none or less, s (default 600, RFC 8656 §7.2). */
  defaultLifetimeS?: number;
  /** Cap on a requested lifetime, s (default 3,600). */
  maxLifetimeS?: number;
  /** Permission lifetime, s (default 300, §9). */
  permissionLifetimeS?: number;
  /** Channel binding lifetime, s (default 600, §12). */
  channelLifetimeS?: number;
  /** Allocations at once, pending ones included (default 100; then 508). */
  maxAllocations?: number;
  /** Allocations of one username (default 5; then 486). */
  maxAllocationsPerUser?: number;
  /** Allocations from one client IP (an IPv6 /64) (default 10; then 486). */
  maxAllocationsPerClientIp?: number;
  /** Permissions per allocation (default 32; then 508). */
  maxPermissionsPerAllocation?: number;
  /** Channel bindings per allocation (default 16; then 508). */
  maxChannelsPerAllocation?: number;
  /**
   * Relayed application bytes per second per allocation, each direction (default 512,000: a peer's SIP
   * channels for several busy call pairs; 128,000 dropped 200 OKs in the NAT lab with 4).
   */
  bandwidthBytesPerS?: number;
  /** Bucket depth, bytes (default max(rate, 65,535): a burst of a second, at least one largest datagram). */
  bandwidthBurstBytes?: number;
  /**
   * Relayed application bytes per second of all allocations together, each direction (default
   * 4,000,000 ≈ 32 Mbit/s): however many allocations there are, the server relays no more than this.
   */
  totalBandwidthBytesPerS?: number;
  /** Depth of the server-wide buckets, bytes (default max(total rate, 65,535)). */
  totalBandwidthBurstBytes?: number;
  /** Relay to loopback peers (default false: tests only). */
  allowLoopbackPeers?: boolean;
  /** Refuse private / link-local peers (default false). */
  forbidPrivatePeers?: boolean;
  /** The server's own addresses (the shared socket): never a peer. */
  serverAddresses?: readonly StunAddress[];
  /** The operator's extra peer rule: false forbids (403). */
  allowPeer?(peer: StunAddress): boolean;
  /** Pad ChannelData to 4 bytes (optional over UDP, §12.5; default true; over TCP always). */
  padChannelData?: boolean;
  /**
   * Accept channel numbers of RFC 5766's range, 0x4000–0x7FFF (default false: RFC 8656's 0x4000–0x4FFF),
   * like coturn's --rfc5766-channel-numbers, for older clients. ChannelData then starts with 0x40–0x7F:
   * the owner's demultiplexer must route that range here (`isChannelData(bytes, true)`).
   */
  rfc5766ChannelNumbers?: boolean;
}

export interface TurnServerEvents {
  allocated: { client: TurnClientAddress; relayed: StunAddress; username: string; lifetimeS: number };
  /** `closed`: the client's TCP connection closed (the allocation lives as long as its connection). */
  released: { client: TurnClientAddress; relayed: StunAddress; username: string; reason: 'expired' | 'deleted' | 'stopped' | 'closed' };
}

export interface TurnServerStats {
  allocations: number;
  pendingAllocations: number;
  allocationsCreated: number;
  /** 401s to requests without credentials. */
  challenges: number;
  /** 401s to wrong credentials (unknown user, wrong password, other realm). */
  authFailures: number;
  staleNonces: number;
  /** Error responses by code (after authentication and before). */
  errors: Record<number, number>;
  droppedNoPermission: number;
  /** Datagrams dropped over a bandwidth limit: the allocation's, or the server-wide one. */
  droppedBandwidth: number;
  /** The part of droppedBandwidth refused by the server-wide limit (the allocation was within its own). */
  droppedTotalBandwidth: number;
  /** Send indications / ChannelData with no allocation, an unbound channel or a forbidden peer. */
  droppedUnroutable: number;
  /** Datagrams on a relay port the server does not know. */
  droppedUnknownPort: number;
  /** Failed-authentication answers not sent: the source was over its rate. */
  unauthenticatedDropped: number;
  relayedToPeer: number;
  relayedToClient: number;
}

export interface AllocationInfo {
  client: StunAddress;
  transport: TurnClientTransport;
  relayed: StunAddress;
  username: string;
  expiresInS: number;
  permissions: number;
  channels: number;
  toPeerPackets: number;
  toClientPackets: number;
  droppedNoPermission: number;
  droppedBandwidth: number;
}

/** Options with every default filled in. */
export type ResolvedTurnServerOptions = Required<Omit<TurnServerOptions, 'software' | 'serverAddresses' | 'allowPeer'>> & Pick<TurnServerOptions, 'software' | 'serverAddresses' | 'allowPeer'>;

/** Default of TurnServerOptions.bandwidthBytesPerS (per allocation, each direction). */
export const DEFAULT_TURN_BANDWIDTH_BYTES_PER_S = 512_000;
/** Default of TurnServerOptions.totalBandwidthBytesPerS (all allocations, each direction). */
export const DEFAULT_TURN_TOTAL_BANDWIDTH_BYTES_PER_S = 4_000_000;

export function resolveTurnServerOptions(options: TurnServerOptions): ResolvedTurnServerOptions {
  const rate = options.bandwidthBytesPerS ?? DEFAULT_TURN_BANDWIDTH_BYTES_PER_S;
  const total = options.totalBandwidthBytesPerS ?? DEFAULT_TURN_TOTAL_BANDWIDTH_BYTES_PER_S;
  const o: ResolvedTurnServerOptions = {
    realm: options.realm,
    unauthenticatedRatePerS: options.unauthenticatedRatePerS ?? 20,
    unauthenticatedBurst: options.unauthenticatedBurst ?? 40,
    nonceLifetimeMs: options.nonceLifetimeMs ?? 600_000,
    defaultLifetimeS: options.defaultLifetimeS ?? 600,
    maxLifetimeS: options.maxLifetimeS ?? 3600,
    permissionLifetimeS: options.permissionLifetimeS ?? 300,
    channelLifetimeS: options.channelLifetimeS ?? 600,
    maxAllocations: options.maxAllocations ?? 100,
    maxAllocationsPerUser: options.maxAllocationsPerUser ?? 5,
    maxAllocationsPerClientIp: options.maxAllocationsPerClientIp ?? 10,
    maxPermissionsPerAllocation: options.maxPermissionsPerAllocation ?? 32,
    maxChannelsPerAllocation: options.maxChannelsPerAllocation ?? 16,
    bandwidthBytesPerS: rate,
    bandwidthBurstBytes: options.bandwidthBurstBytes ?? Math.max(rate, 65_535),
    totalBandwidthBytesPerS: total,
    totalBandwidthBurstBytes: options.totalBandwidthBurstBytes ?? Math.max(total, 65_535),
    allowLoopbackPeers: options.allowLoopbackPeers ?? false,
    forbidPrivatePeers: options.forbidPrivatePeers ?? false,
    padChannelData: options.padChannelData ?? true,
    rfc5766ChannelNumbers: options.rfc5766ChannelNumbers ?? false,
    software: options.software,
    serverAddresses: options.serverAddresses,
    allowPeer: options.allowPeer,
  };
  if (o.maxLifetimeS < o.defaultLifetimeS) throw new RangeError('TURN: maxLifetimeS is below defaultLifetimeS');
  return o;
}
