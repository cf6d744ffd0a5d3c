import { DEFAULT_MAX_MESSAGE_SIZE } from '../codec/index.js';
import type { RtoOptions } from './rto-estimator.js';

/** Settings of the {@link LinkLayer}; every limit explicit. */
export interface LinkLayerOptions extends RtoOptions {
  /** Links open or opening at once; further accepts are closed at once, `connect` throws. Default 256. */
  maxLinks?: number;
  /** Largest RELOAD message (or fragment) in one data frame, both ways (RFC 6940 §11.1). Default the codec's DEFAULT_MAX_MESSAGE_SIZE (5000). */
  maxMessageSize?: number;
  /** Bytes of data frames sent and not yet ACKed per link; `send` refuses beyond it. Default 1 MiB. */
  maxQueuedBytes?: number;
  /** Sent frames whose send time is kept for RTT samples (later ones are still counted, not timed). Default 4096. */
  maxTrackedFrames?: number;
  /** A link with no data frame sent or received for this long gets a keepalive from the user. Default 20000 ms. */
  keepaliveIdleMs?: number;
  /** No ACK for an outstanding frame for this long: the link is closed, reason 'timeout' (RFC 6940 §6.6.5: 30 s). Default 30000 ms. */
  failureTimeoutMs?: number;
  /** A `connect` not open after this long is abandoned, reason 'timeout'. Default 10000 ms. */
  connectTimeoutMs?: number;
}

export interface ResolvedLinkLayerOptions {
  maxLinks: number;
  maxMessageSize: number;
  maxQueuedBytes: number;
  maxTrackedFrames: number;
  keepaliveIdleMs: number;
  failureTimeoutMs: number;
  connectTimeoutMs: number;
  rto: RtoOptions;
}

export function resolveLinkLayerOptions(o: LinkLayerOptions = {}): ResolvedLinkLayerOptions {
  const positive = (v: number | undefined, d: number, name: string): number => {
    const x = v ?? d;
    if (!Number.isFinite(x) || x <= 0) throw new RangeError(`LinkLayerOptions.${name} must be a positive number`);
    return x;
  };
  return {
    maxLinks: positive(o.maxLinks, 256, 'maxLinks'),
    maxMessageSize: positive(o.maxMessageSize, DEFAULT_MAX_MESSAGE_SIZE, 'maxMessageSize'),
    maxQueuedBytes: positive(o.maxQueuedBytes, 1 << 20, 'maxQueuedBytes'),
    maxTrackedFrames: positive(o.maxTrackedFrames, 4096, 'maxTrackedFrames'),
    keepaliveIdleMs: positive(o.keepaliveIdleMs, 20_000, 'keepaliveIdleMs'),
    failureTimeoutMs: positive(o.failureTimeoutMs, 30_000, 'failureTimeoutMs'),
    connectTimeoutMs: positive(o.connectTimeoutMs, 10_000, 'connectTimeoutMs'),
    rto: {
      ...(o.initialRtoMs !== undefined ? { initialRtoMs: o.initialRtoMs } : {}),
      ...(o.minRtoMs !== undefined ? { minRtoMs: o.minRtoMs } : {}),
      ...(o.maxRtoMs !== undefined ? { maxRtoMs: o.maxRtoMs } : {}),
      ...(o.granularityMs !== undefined ? { granularityMs: o.granularityMs } : {}),
    },
  };
}
