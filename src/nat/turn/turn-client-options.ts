/**
 * The TURN client's dependencies, options (with their defaults), states, events and statistics
 * (turn-client.ts is the client that uses them).
 */
import type { Clock } from '../../lib/clock.js';
import type { Random } from '../../lib/random.js';
import type { StunClient, StunRequestOptions } from '../stun/stun-client.js';
import type { StunAddress } from '../stun/stun-message.js';

export interface TurnClientDeps {
  clock: Clock;
  random: Random;
  /** The shared STUN client (its responses are fed to it by the owner). */
  stun: StunClient;
  /** Sends on the shared socket (Send indications and ChannelData to the server). */
  send(datagram: Uint8Array, to: StunAddress): void;
}

export interface TurnClientOptions {
  server: StunAddress;
  username: string;
  password: string;
  /** The realm expected in the 401 (default: whatever the server names). */
  realm?: string;
  /** Relayed address family (default 4; 6 sends REQUESTED-ADDRESS-FAMILY). */
  family?: 4 | 6;
  /** LIFETIME asked for in Allocate and Refresh, s (default: none, the server's default, 600). */
  lifetimeS?: number;
  /** Refresh this long before expiry, s (default 60; half the lifetime when that is under 2 × margin). */
  refreshMarginS?: number;
  /** Permission refresh period while a peer is in use, ms (default 240,000: permissions live 300 s). */
  permissionRefreshMs?: number;
  /** Bind channels to peers in use (default true). */
  useChannels?: boolean;
  /** Channel re-bind period while in use, ms (default 300,000: bindings live 600 s). */
  channelRefreshMs?: number;
  /** Channels at once (default 16, the server's usual limit); peers past it use Send indications. */
  maxChannels?: number;
  /** Peer IPs with a permission at once (default 64); sends to more are dropped. */
  maxPeers?: number;
  /** Datagrams held per peer IP while its permission is being installed (default 16). */
  maxQueuedPerPeer?: number;
  /** FINGERPRINT on requests (default true). */
  fingerprint?: boolean;
  software?: string;
  /** Authentication rounds per request (401/438 answers) before giving up (default 3). */
  maxAuthRounds?: number;
  /** Retransmission schedule of requests (StunClient defaults otherwise; not used over TCP). */
  retransmission?: Pick<StunRequestOptions, 'rtoMs' | 'maxTransmissions' | 'lastWaitFactor'>;
  /**
   * How the client reaches the server (default 'udp'). 'tcp' (RFC 8656 §3.1, a stream the owner frames,
   * turn-tcp-client.ts): requests are sent once, never retransmitted (RFC 8489 §6.2.2), and fail after
   * `streamTimeoutMs`; ChannelData is always padded.
   */
  transport?: 'udp' | 'tcp';
  /** Over TCP, how long a request waits for its answer, ms (default 39,500: RFC 8489 §6.2.2's Ti). */
  streamTimeoutMs?: number;
}

export type TurnClientState = 'idle' | 'allocating' | 'allocated' | 'failed' | 'stopping' | 'stopped';

export interface TurnClientEvents {
  /** The relay is ready. `mapped` (XOR-MAPPED-ADDRESS) is a server-reflexive candidate for free. */
  allocated: { relayed: StunAddress; mapped: StunAddress | undefined; lifetimeS: number };
  refreshed: { lifetimeS: number };
  /** The allocation failed or was lost; `code` is the STUN error when there was one. */
  failed: { reason: string; code?: number };
  /** A datagram from `peer` through the relay. */
  data: { peer: StunAddress; data: Uint8Array; channel?: number };
  permission: { peer: string; ok: boolean; reason?: string };
  channel: { peer: StunAddress; number: number; ok: boolean; reason?: string };
}

export type TurnSendResult = 'sent' | 'queued' | 'dropped';

export interface TurnClientStats {
  sentIndications: number;
  sentChannelData: number;
  receivedIndications: number;
  receivedChannelData: number;
  /** Datagrams dropped: no allocation, too many peers, a full queue, a failed permission. */
  droppedSends: number;
  /** ChannelData for an unknown channel, Data indications without a peer or data. */
  droppedReceived: number;
}

/** Options with every default filled in. */
export type ResolvedTurnClientOptions = Required<Omit<TurnClientOptions, 'realm' | 'lifetimeS' | 'software' | 'retransmission' | 'streamTimeoutMs'>> &
  Pick<TurnClientOptions, 'realm' | 'lifetimeS' | 'software' | 'retransmission' | 'streamTimeoutMs'>;

export function resolveTurnClientOptions(options: TurnClientOptions): ResolvedTurnClientOptions {
  return {
    server: options.server,
    username: options.username,
    password: options.password,
    family: options.family ?? 4,
    refreshMarginS: options.refreshMarginS ?? 60,
    permissionRefreshMs: options.permissionRefreshMs ?? 240_000,
    useChannels: options.useChannels ?? true,
    channelRefreshMs: options.channelRefreshMs ?? 300_000,
    maxChannels: options.maxChannels ?? 16,
    maxPeers: options.maxPeers ?? 64,
    maxQueuedPerPeer: options.maxQueuedPerPeer ?? 16,
    fingerprint: options.fingerprint ?? true,
    maxAuthRounds: options.maxAuthRounds ?? 3,
    transport: options.transport ?? 'udp',
    ...((options.transport ?? 'udp') === 'tcp' ? { streamTimeoutMs: options.streamTimeoutMs ?? 39_500 } : {}),
    realm: options.realm,
    lifetimeS: options.lifetimeS,
    software: options.software,
    retransmission: options.retransmission,
  };
}
