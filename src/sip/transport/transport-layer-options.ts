/** Settings and counters of the {@link TransportLayer} (transport-layer.ts), with their defaults. */
import { DEFAULT_SIP_LIMITS, type SipLimits } from '../message/sip-message.js';

export interface TransportLayerOptions {
  /** Size limits for everything received. Default DEFAULT_SIP_LIMITS. */
  limits?: SipLimits;
  /** Close a connection after this long with no byte sent or received; 0 = never. Default 300_000 (5 min). */
  idleTimeoutMs?: number;
  /**
   * Most connections (open, connecting or in their handshake): a connection accepted past it is
   * closed at once (at the TCP accept, before any TLS or WebSocket byte), opening one fails. Default 10_000.
   */
  maxConnections?: number;
  /** Most inbound connections of one listener, counted from the TCP accept; more are closed at once. Default 10_000. */
  maxConnectionsPerListener?: number;
  /**
   * Most inbound connections from one source — an IPv4 address, an IPv6 /64 — over all stream
   * listeners, counted from the TCP accept; more are closed at once. Default 64 (a NAT may hide a few
   * dozen phones).
   */
  maxConnectionsPerSource?: number;
  /** An accepted tls/ws/wss connection whose TLS handshake or WebSocket upgrade is not done after this long is closed; 0 = never. Default 10_000. */
  handshakeTimeoutMs?: number;
  /**
   * An accepted connection on which no message has begun (a byte other than CR/LF) this long after it
   * opened is closed; 0 = never. Only inbound connections: one we opened may wait for our requests. Default 10_000.
   */
  firstMessageTimeoutMs?: number;
  /**
   * Deadlines of a message in progress on a tcp/tls stream, from its first byte: its first line
   * (start line), its whole header section. A connection past one is closed (no answer: there is no
   * Via to answer to before the header section ends); 0 = never. Defaults 5_000 and 10_000. An idle
   * connection between messages is governed by idleTimeoutMs alone (RFC 5626 keep-alives).
   */
  startLineTimeoutMs?: number;
  headerTimeoutMs?: number;
  /**
   * The body of a message must be complete this long after its header section ended; past it a
   * request with a readable Via is answered 408 and the connection closed; 0 = never. Default 20_000
   * (a 60,000-byte body at 3 KB/s).
   */
  bodyTimeoutMs?: number;
  /** CRLFCRLF pings (RFC 5626 §4.4.1) on tcp/tls connections we opened, every this many ms; 0 = off (default). */
  keepAliveIntervalMs?: number;
  /** Give up opening a connection after this long. Default 10_000. */
  connectTimeoutMs?: number;
  /** Most messages queued on one connection while it opens. Default 32. */
  maxQueuedPerConnection?: number;
  /**
   * RFC 3261 §18.1.1: a request over UDP larger than this (path MTU unknown) goes over TCP instead,
   * when TCP is listening. Default 1300.
   */
  udpMaxRequestBytes?: number;
}

export type ResolvedTransportOptions = Required<TransportLayerOptions>;

/** Every default of {@link TransportLayerOptions} (docs/architecture.md, Limits). */
export const DEFAULT_TRANSPORT_OPTIONS: Readonly<ResolvedTransportOptions> = Object.freeze({
  limits: DEFAULT_SIP_LIMITS,
  idleTimeoutMs: 300_000,
  maxConnections: 10_000,
  maxConnectionsPerListener: 10_000,
  maxConnectionsPerSource: 64,
  handshakeTimeoutMs: 10_000,
  firstMessageTimeoutMs: 10_000,
  startLineTimeoutMs: 5_000,
  headerTimeoutMs: 10_000,
  bodyTimeoutMs: 20_000,
  keepAliveIntervalMs: 0,
  connectTimeoutMs: 10_000,
  maxQueuedPerConnection: 32,
  udpMaxRequestBytes: 1300,
});

export function resolveTransportOptions(o: TransportLayerOptions): ResolvedTransportOptions {
  const r: ResolvedTransportOptions = { ...DEFAULT_TRANSPORT_OPTIONS };
  for (const k of Object.keys(r) as Array<keyof ResolvedTransportOptions>) {
    if (o[k] !== undefined) (r as unknown as Record<string, unknown>)[k] = o[k];
  }
  return r;
}

export interface TransportStats {
  /** Messages delivered to the user. */
  received: number;
  /** Messages handed to the driver (or queued and then written). */
  sent: number;
  /** Messages (datagrams, framed stream messages, WS messages) the parser refused, plus framing errors. */
  parseErrors: number;
  /** Framing errors on streams (each closes its connection). */
  framingErrors: number;
  /** Datagrams dropped without an answer (unparseable, oversized). */
  droppedDatagrams: number;
  /** 4xx/5xx answers sent by this layer itself for unparseable requests. */
  errorResponsesSent: number;
  /** Failures reported through onSendError. */
  sendErrors: number;
  /** CRLF keep-alives received (pings on streams, CRLF-only datagrams / WS messages). */
  keepAlivesReceived: number;
  /** Inbound connections closed at accept because a cap was reached (maxConnections, per listener, per source). */
  rejectedConnections: number;
  /** Accepted connections closed because their TLS handshake or WebSocket upgrade was not done in time. */
  handshakeTimeouts: number;
  /** Connections closed because a message (or the first one) was not received in time. */
  messageTimeouts: number;
  /** Connections currently open. */
  openConnections: number;
}

export type TransportCounters = Omit<TransportStats, 'openConnections'>;

export function newCounters(): TransportCounters {
  return {
    received: 0,
    sent: 0,
    parseErrors: 0,
    framingErrors: 0,
    droppedDatagrams: 0,
    errorResponsesSent: 0,
    sendErrors: 0,
    keepAlivesReceived: 0,
    rejectedConnections: 0,
    handshakeTimeouts: 0,
    messageTimeouts: 0,
  };
}
