/** The interfaces around an {@link SrLink} (RFC 6940 §6.6.3): its channel, its user, its counters. */
import type { Clock } from '../../lib/clock.js';
import type { LinkError } from './link-error.js';

/** The datagram channel below an SR link: DTLS application data to the one peer of the link. */
export interface SrDatagramChannel {
  /** Sends one datagram (never calls back into the link synchronously). */
  send(datagram: Uint8Array): void;
}

/** Upward events of an SR link; the names follow LinkLayerUser so one driver object can serve both. */
export interface SrLinkUser {
  /** One RELOAD message or fragment (RFC 6940 §6.7), as received in one data frame. */
  onLinkMessage(linkId: string, message: Uint8Array): void;
  /** A message was transmitted `maxTransmissions` times without an ACK: dropped, the link failed (close the DTLS association). */
  onLinkFailed(linkId: string, error: LinkError): void;
  /** RFC 6940 §6.6.3.1: no ACK for an RTO and three retransmissions since: remove from the routing table. */
  onLinkSuspect?(linkId: string): void;
  /** ACKs resumed after a suspect. */
  onLinkRecovered?(linkId: string): void;
  /** The link has been idle keepaliveIdleMs: a message to send (a PingReq), or undefined. */
  keepalive?(linkId: string): Uint8Array | undefined;
}

export interface SrLinkDeps {
  clock: Clock;
  channel: SrDatagramChannel;
  user: SrLinkUser;
}

/** open → closed (by `close()`) or failed (a message exhausted its transmissions); both final. */
export type SrLinkState = 'open' | 'closed' | 'failed';

/** Counters and estimates of one SR link (for /api/status). */
export interface SrLinkStats {
  state: SrLinkState;
  bytesIn: number;
  bytesOut: number;
  /** Datagrams (frames) each way, data and ACK. */
  framesIn: number;
  framesOut: number;
  /** Data frames each way (transmissions out, retransmissions included). */
  dataFramesIn: number;
  dataFramesOut: number;
  acksIn: number;
  acksOut: number;
  /** RELOAD messages accepted by `send` (a fragmented one counts once) and fragments made for them. */
  messagesSent: number;
  fragmentsSent: number;
  /** Messages (or fragments) ACKed, delivered up, dropped after `maxTransmissions`. */
  messagesAcked: number;
  messagesDelivered: number;
  messagesDropped: number;
  /** `send` refusals: queue full; too big / not fragmentable. */
  refusedQueueFull: number;
  refusedTooBig: number;
  /** Retransmissions in all, of which after a loss seen in an ACK bitmask, and retransmission timeouts. */
  retransmissions: number;
  fastRetransmissions: number;
  timeouts: number;
  /** Data frames received again under a sequence number already seen; undecodable datagrams; ACKs of unsent sequence numbers. */
  duplicatesIn: number;
  malformedIn: number;
  unknownAcks: number;
  keepalives: number;
  /** Messages waiting to be sent (new or to retransmit), in flight, and the bytes of all unACKed ones. */
  queued: number;
  inFlight: number;
  unackedBytes: number;
  /** Congestion window (messages) and slow-start threshold; halvings on loss, collapses on timeout. */
  cwnd: number;
  ssthresh: number;
  lossReductions: number;
  timeoutReductions: number;
  srttMs: number | undefined;
  lastRttMs: number | undefined;
  rtoMs: number;
  suspect: boolean;
}

/** The counting part of {@link SrLinkStats}, all zero. */
export function newSrLinkCounters(): Omit<
  SrLinkStats,
  'state' | 'queued' | 'inFlight' | 'unackedBytes' | 'cwnd' | 'ssthresh' | 'lossReductions' | 'timeoutReductions' | 'srttMs' | 'lastRttMs' | 'rtoMs' | 'suspect'
> {
  return {
    bytesIn: 0,
    bytesOut: 0,
    framesIn: 0,
    framesOut: 0,
    dataFramesIn: 0,
    dataFramesOut: 0,
    acksIn: 0,
    acksOut: 0,
    messagesSent: 0,
    fragmentsSent: 0,
    messagesAcked: 0,
    messagesDelivered: 0,
    messagesDropped: 0,
    refusedQueueFull: 0,
    refusedTooBig: 0,
    retransmissions: 0,
    fastRetransmissions: 0,
    timeouts: 0,
    duplicatesIn: 0,
    malformedIn: 0,
    unknownAcks: 0,
    keepalives: 0,
  };
}
