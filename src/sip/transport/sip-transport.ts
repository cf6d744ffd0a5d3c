/**
 * The SIP transport contract (RFC 3261 §18). The sans-I/O transport layer (this folder) turns
 * bytes from a {@link TransportDriver} into messages and messages into bytes; drivers are the only
 * code touching sockets (src/platform/ for real ones, src/sim/ for simulated ones).
 *
 * CONTRACT shared by transport, transaction and core modules.
 */
import type { SipMessage } from '../message/sip-message.js';

export type TransportProtocol = 'udp' | 'tcp' | 'tls' | 'ws' | 'wss';

/** An address on one transport. IPv6 hosts are written without brackets here ('::1'). */
export interface TransportAddress {
  protocol: TransportProtocol;
  host: string;
  port: number;
}

/** A message that arrived, with where it came from. */
export interface InboundMessage {
  message: SipMessage;
  /** The remote end (packet source / connection peer). */
  source: TransportAddress;
  /** The local listening address it arrived on. */
  local: TransportAddress;
  /** Connection it arrived on, for stream transports; responses go back on it (RFC 3261 §18.2.2). */
  flowId: string | undefined;
}

/** Where and how to send a message. */
export interface OutboundTarget {
  destination: TransportAddress;
  /** Send on this existing connection if it is still open (connection reuse, RFC 5923/5626 flows). */
  flowId?: string | undefined;
}

/** What the transaction layer and the core need from the transport layer. */
export interface SipTransport {
  /**
   * Serialises and sends. Opens a connection for stream protocols when none exists to the
   * destination. Failures are reported through `onError`, never thrown.
   */
  send(message: SipMessage, target: OutboundTarget): void;
  /** True for TCP/TLS/WS/WSS (no retransmissions, RFC 3261 §17.1.1.2 Timer A not started). */
  isReliable(protocol: TransportProtocol): boolean;
  /** The address to put in Via sent-by / Record-Route for this protocol, undefined if not listening on it. */
  localAddress(protocol: TransportProtocol): TransportAddress | undefined;
}

/** Upward events of the transport layer. */
export interface SipTransportUser {
  onMessage(inbound: InboundMessage): void;
  /** A send failed (connection refused, reset, ICMP…): transactions map it to 503 (RFC 3261 §17.1.4). */
  onSendError?(target: OutboundTarget, message: SipMessage, error: Error): void;
}
