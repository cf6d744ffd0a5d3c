import { DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_NODE_ID_LENGTH } from '../codec/index.js';
import type { RtoOptions } from './rto-estimator.js';

/** Settings of one {@link SrLink} (DTLS-UDP-SR, RFC 6940 §6.6.3–6.6.4); every limit explicit. */
export interface SrLinkOptions extends RtoOptions {
  /**
   * Largest RELOAD message (or fragment) per data frame, i.e. per datagram less the 8-byte frame header
   * and the DTLS/UDP/IP overhead. Larger messages are fragmented (RFC 6940 §6.7) before framing.
   * Default 1200: datagrams of at most 1208 + 37 (DTLS 1.2 AES-GCM record) bytes, which fit a 1280-byte
   * IPv4 path and any IPv6 path of 1293 bytes or more; on a path of exactly the IPv6 minimum (1280) use 1187.
   */
  maxPayloadBytes?: number;
  /** Room left in each fragment for the Via List to grow on later hops (RFC 6940 §6.7: "PMTU minus 32"). Default 32. */
  fragmentHeadroom?: number;
  /** Largest whole RELOAD message accepted by `send` and per received data frame (RFC 6940 §11.1). Default 5000. */
  maxMessageSize?: number;
  /** Node-ID length of the overlay, to read forwarding headers when fragmenting. Default 16. */
  nodeIdLength?: number;
  /** Bytes of messages queued or sent and not yet ACKed; `send` refuses beyond it. Default 1 MiB. */
  maxQueuedBytes?: number;
  /** Transmissions of one message in all before it is dropped and the link fails (RFC 6940 §6.6.3.1: 5). Default 5. */
  maxTransmissions?: number;
  /**
   * RTT of the ICE connectivity check, used as the first RTT measurement (RFC 6940 §6.6.3.1, RFC 6298
   * (2.2)). Default none: the RTO starts at `initialRtoMs`.
   */
  initialRttMs?: number;
  /** Congestion window at start, in messages. Default 4. */
  initialWindow?: number;
  /** Upper bound of the congestion window, in messages. Default 64. */
  maxWindow?: number;
  /**
   * A message whose transmission is older than this many sequence numbers than an ACKed one, and
   * marked not received in its bitmask, is taken as lost (retransmitted at once). Default 3.
   */
  reorderThreshold?: number;
  /** A link with no data frame sent or received for this long asks the user for a keepalive. Default 20000 ms; Infinity = never. */
  keepaliveIdleMs?: number;
  /** Sequence numbers remembered to drop duplicated datagrams (same sequence number: network duplicates, replays). Default 1024. */
  duplicateWindow?: number;
}

export interface ResolvedSrLinkOptions {
  maxPayloadBytes: number;
  fragmentHeadroom: number;
  maxMessageSize: number;
  nodeIdLength: number;
  maxQueuedBytes: number;
  maxTransmissions: number;
  initialRttMs: number | undefined;
  initialWindow: number;
  maxWindow: number;
  reorderThreshold: number;
  keepaliveIdleMs: number;
  duplicateWindow: number;
  rto: Required<RtoOptions>;
}

/** Defaults of the SR link; the RTO bounds follow RFC 6298 except the 200 ms floor (RFC 6940 §6.6.3.1 allows less than 1 s). */
export const SR_DEFAULTS = {
  maxPayloadBytes: 1200,
  fragmentHeadroom: 32,
  maxQueuedBytes: 1 << 20,
  maxTransmissions: 5,
  initialWindow: 4,
  maxWindow: 64,
  reorderThreshold: 3,
  keepaliveIdleMs: 20_000,
  duplicateWindow: 1024,
  initialRtoMs: 1000,
  minRtoMs: 200,
  maxRtoMs: 60_000,
  granularityMs: 1,
} as const;

export function resolveSrLinkOptions(o: SrLinkOptions = {}): ResolvedSrLinkOptions {
  const int = (v: number | undefined, d: number, name: string, min = 1): number => {
    const x = v ?? d;
    if (!Number.isInteger(x) || x < min) throw new RangeError(`SrLinkOptions.${name} must be an integer >= ${min}`);
    return x;
  };
  const positive = (v: number | undefined, d: number, name: string): number => {
    const x = v ?? d;
    if (Number.isNaN(x) || x <= 0) throw new RangeError(`SrLinkOptions.${name} must be a positive number`);
    return x;
  };
  const r: ResolvedSrLinkOptions = {
    maxPayloadBytes: int(o.maxPayloadBytes, SR_DEFAULTS.maxPayloadBytes, 'maxPayloadBytes', 64),
    fragmentHeadroom: int(o.fragmentHeadroom, SR_DEFAULTS.fragmentHeadroom, 'fragmentHeadroom', 0),
    maxMessageSize: int(o.maxMessageSize, DEFAULT_MAX_MESSAGE_SIZE, 'maxMessageSize'),
    nodeIdLength: int(o.nodeIdLength, DEFAULT_NODE_ID_LENGTH, 'nodeIdLength'),
    maxQueuedBytes: int(o.maxQueuedBytes, SR_DEFAULTS.maxQueuedBytes, 'maxQueuedBytes'),
    maxTransmissions: int(o.maxTransmissions, SR_DEFAULTS.maxTransmissions, 'maxTransmissions'),
    initialRttMs: o.initialRttMs === undefined ? undefined : positiveOrZero(o.initialRttMs),
    initialWindow: int(o.initialWindow, SR_DEFAULTS.initialWindow, 'initialWindow'),
    maxWindow: int(o.maxWindow, SR_DEFAULTS.maxWindow, 'maxWindow'),
    reorderThreshold: int(o.reorderThreshold, SR_DEFAULTS.reorderThreshold, 'reorderThreshold', 0),
    keepaliveIdleMs: positive(o.keepaliveIdleMs, SR_DEFAULTS.keepaliveIdleMs, 'keepaliveIdleMs'),
    duplicateWindow: int(o.duplicateWindow, SR_DEFAULTS.duplicateWindow, 'duplicateWindow', 32),
    rto: {
      initialRtoMs: positive(o.initialRtoMs, SR_DEFAULTS.initialRtoMs, 'initialRtoMs'),
      minRtoMs: positive(o.minRtoMs, SR_DEFAULTS.minRtoMs, 'minRtoMs'),
      maxRtoMs: positive(o.maxRtoMs, SR_DEFAULTS.maxRtoMs, 'maxRtoMs'),
      granularityMs: positive(o.granularityMs, SR_DEFAULTS.granularityMs, 'granularityMs'),
    },
  };
  if (r.initialWindow > r.maxWindow) throw new RangeError('SrLinkOptions.initialWindow must not exceed maxWindow');
  if (r.reorderThreshold >= 32) throw new RangeError('SrLinkOptions.reorderThreshold must be below 32 (the ACK bitmask)');
  if (r.maxPayloadBytes - r.fragmentHeadroom < 64) throw new RangeError('SrLinkOptions.fragmentHeadroom leaves no room for a fragment');
  return r;

  function positiveOrZero(x: number): number {
    if (!Number.isFinite(x) || x < 0) throw new RangeError('SrLinkOptions.initialRttMs must be a number >= 0');
    return x;
  }
}
