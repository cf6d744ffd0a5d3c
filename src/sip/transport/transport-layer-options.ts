/** Settings and counters of the {@link TransportLayer} (transport-layer.ts), with their defaults. */
import { DEFAULT_SIP_LIMITS, type SipLimits } from '../message/sip-message.js';

export interface TransportLayerOptions {
  /** Size limits for everything received. Default DEFAULT_SIP_LIMITS. */
  limits?: SipLimits;
  /** Close a connection after this long with no byte sent or received; 0 = never. Default 300_000 (5 min). */
  idleTimeoutMs?: number;
  /** Most connections (open or connecting); further accepted ones are closed at once, opening fails. Default 10_000. */
  maxConnections?: number;
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

export function resolveTransportOptions(o: TransportLayerOptions): ResolvedTransportOptions {
  return {
    limits: o.limits ?? DEFAULT_SIP_LIMITS,
    idleTimeoutMs: o.idleTimeoutMs ?? 300_000,
    maxConnections: o.maxConnections ?? 10_000,
    keepAliveIntervalMs: o.keepAliveIntervalMs ?? 0,
    connectTimeoutMs: o.connectTimeoutMs ?? 10_000,
    maxQueuedPerConnection: o.maxQueuedPerConnection ?? 32,
    udpMaxRequestBytes: o.udpMaxRequestBytes ?? 1300,
  };
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
  /** Inbound connections closed at once because maxConnections was reached. */
  rejectedConnections: number;
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
  };
}
