import { DEFAULT_PAIR_LATENCY, type LatencyDistribution } from './latency-model.js';

/** Packet-level conditions between two hosts (probabilities in [0, 1]). */
export interface LinkConditions {
  /** Probability a packet is lost. Datagrams: dropped. Streams: retransmitted after an RTO (see below). */
  readonly loss: number;
  /** Probability a packet is duplicated. Datagrams: delivered twice. Streams: the receiver drops the copy. */
  readonly duplicate: number;
  /** Probability a packet is held back by up to `reorderDelayMs` extra (so later packets overtake it). */
  readonly reorder: number;
}

/** How a crashed host looks to the others. */
export type CrashMode =
  /** The machine is gone (power off, kill -9 behind a NAT): no answer at all; peers learn only by stalls and timeouts. */
  | 'silent'
  /** The process died but the kernel lives (kill -9 on a LAN): its links are reset, connects are refused. */
  | 'reset';

/**
 * Settings of a {@link SimNetwork}. Stream links model TCP+TLS:
 * - opening takes `handshakeRtts` round trips (TCP + TLS 1.3 = 2) for the connecting side and
 *   half a round trip more for the accepting side; a closed port answers with a reset after one RTT;
 *   a silent host (crashed, partitioned, nonexistent) makes the connect fail after `connectTimeoutMs`;
 * - bytes arrive in order, each write after the pair's one-way latency plus jitter; a lost packet
 *   (writes are cut into `mssBytes` packets) costs RTO = RTT + `minRtoMs`, doubling per retry, and
 *   holds back everything behind it (head-of-line blocking); more than `maxRetransmissions` retries
 *   of one packet break the link (ETIMEDOUT);
 * - no bandwidth limit or congestion control: capacity is unlimited;
 * - data that cannot arrive (partition, silent host) stalls; after `stallTimeoutMs` the sending end
 *   breaks (ETIMEDOUT); if connectivity returns first, the stalled data is delivered one one-way
 *   latency after the heal; data that reaches an end already closed draws a reset (ECONNRESET) back.
 */
export interface SimNetworkOptions {
  /** Seed of the network's own randomness (loss, jitter, pair latencies). */
  readonly seed: number;
  /** Base one-way latency of each pair of hosts (drawn once per pair from a hash of seed and pair). */
  readonly pairLatency: LatencyDistribution;
  /** Extra latency drawn per packet (default constant 0). */
  readonly jitter: LatencyDistribution;
  /** Default conditions of every pair (overridable per pair). */
  readonly conditions: LinkConditions;
  readonly reorderDelayMs: number;
  readonly handshakeRtts: number;
  readonly connectTimeoutMs: number;
  readonly stallTimeoutMs: number;
  readonly minRtoMs: number;
  readonly maxRetransmissions: number;
  readonly mssBytes: number;
  /** Datagrams above this size are dropped (IPv4 UDP maximum). */
  readonly maxDatagramBytes: number;
  /** Default for crashHost(). */
  readonly crashMode: CrashMode;
  /** Latency between two sockets of the same host. */
  readonly loopbackLatencyMs: number;
  /**
   * How stream links carry writes. `stream`: each write is its own delivery (one clock timer per
   * chunk) and is copied, as a socket would. `message`: the same model and timing, but every chunk
   * due by the time one is delivered follows in the same timer callback (a request's ACK and its
   * answer written together arrive together) and writes are not copied (fewer events, less garbage).
   */
  readonly links: SimLinkMode;
}

/** See {@link SimNetworkOptions.links}. */
export type SimLinkMode = 'stream' | 'message';

export const DEFAULT_SIM_NETWORK_OPTIONS: SimNetworkOptions = {
  seed: 1,
  pairLatency: DEFAULT_PAIR_LATENCY,
  jitter: { kind: 'constant', ms: 0 },
  conditions: { loss: 0, duplicate: 0, reorder: 0 },
  reorderDelayMs: 20,
  handshakeRtts: 2,
  connectTimeoutMs: 10_000,
  stallTimeoutMs: 30_000,
  minRtoMs: 200,
  maxRetransmissions: 15,
  mssBytes: 1400,
  maxDatagramBytes: 65_507,
  crashMode: 'silent',
  loopbackLatencyMs: 0.05,
  links: 'stream',
};
