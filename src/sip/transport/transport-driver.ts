/**
 * The sans-I/O boundary below the SIP transport layer (RFC 3261 §18): a driver owns the sockets
 * (src/platform/ for real ones, test/support/sip/memory-driver.ts for unit tests) and reports
 * what happens on them upward through {@link TransportDriverUser}. Kept tiny on purpose.
 *
 * Rules every driver follows:
 * - It never calls its user synchronously from inside one of its own methods (events are
 *   always delivered later), so callers may record a connection id before its events arrive.
 * - Its methods never throw for network conditions: failures become events or callbacks.
 * - It reports each accepted connection at the TCP accept, before any TLS or WebSocket handshake
 *   (`onConnectionAccepted`), and destroys it at once when refused (issue 14: caps count from there).
 * - Addresses are IP literals; IPv6 hosts without brackets; IPv4-mapped IPv6 sources
 *   (`::ffff:192.0.2.1`) are reported as plain IPv4.
 */
import type { TransportAddress, TransportProtocol } from './sip-transport.js';

/** Connection-oriented protocols (one SIP message stream / WS message sequence per connection). */
export type StreamProtocol = Exclude<TransportProtocol, 'udp'>;

/** A stream connection as a driver reports it. */
export interface DriverConnection {
  /** Unique among this driver's connections, never reused. */
  readonly id: string;
  readonly protocol: StreamProtocol;
  /** Local end of the connection (the socket's own address, not a wildcard). */
  readonly local: TransportAddress;
  readonly remote: TransportAddress;
  /** True when this side opened it (connect), false when accepted on a listener. */
  readonly outbound: boolean;
}

/** An inbound connection as a driver reports it at accept, before any TLS or WebSocket handshake. */
export interface AcceptedConnection {
  /** The id its later events carry (and `close` takes). */
  readonly id: string;
  readonly protocol: StreamProtocol;
  /** The listener that accepted it, as {@link TransportDriver.listen} resolved it. */
  readonly listener: TransportAddress;
  readonly remote: TransportAddress;
}

/** Upward events of a driver. */
export interface TransportDriverUser {
  /** One UDP datagram arrived on the listener `local`. */
  onDatagram(local: TransportAddress, remote: TransportAddress, data: Uint8Array): void;
  /**
   * A listener accepted a connection (the TCP accept, before any TLS or WebSocket handshake). The
   * one event that is answered: false = refuse it, and the driver destroys it at once and reports
   * nothing more for it. Otherwise `onConnectionOpened` follows when it is usable (at once for tcp,
   * after the handshake for tls/ws/wss), or `onConnectionFailed` when its handshake fails or
   * `close(id)` is called first. Without this method every accepted connection is taken.
   */
  onConnectionAccepted?(conn: AcceptedConnection): boolean;
  /** A connection is usable: an accepted one, or one we asked for with `connect`. */
  onConnectionOpened(conn: DriverConnection): void;
  /**
   * A `connect` did not succeed (refused, unreachable, TLS/WS handshake failed), or an accepted
   * connection ended before its handshake was done. No other event follows for this id.
   */
  onConnectionFailed(id: string, error: Error): void;
  /** An open connection ended; `error` when it ended abnormally (reset, write failure, overflow). */
  onConnectionClosed(id: string, error: Error | undefined): void;
  /** Bytes arrived on a tcp/tls connection (arbitrary chunking). */
  onStreamData(id: string, data: Uint8Array): void;
  /** One WebSocket message arrived on a ws/wss connection (RFC 7118 §5: one SIP message each). */
  onWsMessage(id: string, data: Uint8Array, binary: boolean): void;
}

export interface TransportDriver {
  /** Sets the receiver of this driver's events (the transport layer does this once). */
  setUser(user: TransportDriverUser): void;
  /**
   * Starts listening; port 0 means any free port. Resolves with the bound address (the port
   * actually bound, the host as given). Rejects on bind failure (address in use, bad address).
   */
  listen(protocol: TransportProtocol, host: string, port: number): Promise<TransportAddress>;
  /** Stops one listener started by {@link listen} (its bound address); nothing when there is none. */
  unlisten(address: TransportAddress): Promise<void>;
  /**
   * Sends one datagram from the udp listener `from` to `to`. `onError` is called (later, at
   * most once) when the datagram could not be sent.
   */
  sendDatagram(from: TransportAddress, to: TransportAddress, data: Uint8Array, onError?: (error: Error) => void): void;
  /**
   * Starts opening a connection to `remote` (its protocol is used) and returns its id at once;
   * `onConnectionOpened` or `onConnectionFailed` follows.
   */
  connect(remote: TransportAddress & { protocol: StreamProtocol }): string;
  /**
   * Writes to an open connection: raw bytes for tcp/tls; one WebSocket message for ws/wss
   * (text frame unless `binary`). Ignored when the connection is not open.
   */
  write(id: string, data: Uint8Array, binary?: boolean): void;
  /**
   * Closes a connection gracefully (pending writes are flushed); `onConnectionClosed` follows. A
   * connection still connecting or in its handshake (accepted, not yet opened) is destroyed at once
   * and `onConnectionFailed` follows.
   */
  close(id: string): void;
  /** Stops every listener and closes every connection. No events are delivered after it resolves. */
  shutdown(): Promise<void>;
}

/** True for the protocols that use connections. */
export function isStreamProtocol(protocol: TransportProtocol): protocol is StreamProtocol {
  return protocol !== 'udp';
}

/** True for WebSocket (RFC 7118: one SIP message per WS message, no stream framing). */
export function isWsProtocol(protocol: TransportProtocol): protocol is 'ws' | 'wss' {
  return protocol === 'ws' || protocol === 'wss';
}
