/**
 * The sans-I/O boundary below RELOAD overlay links (RFC 6940 §6.6): a driver owns byte-stream
 * connections between peers — mutual TLS over TCP in src/platform/, in-memory streams in src/sim/ —
 * and reports what happens on them through {@link LinkDriverUser}. The framing, ACKs and keepalives
 * of TLS-TCP-FH-NO-ICE (§6.6.2, §6.6.3) live above it, in the link layer, so the simulator carries
 * the very same bytes.
 *
 * Rules every driver follows (as for the SIP TransportDriver):
 * - It never calls its user synchronously from inside one of its own methods.
 * - Its methods never throw for network conditions: failures become events.
 * - Hosts are IP literals; IPv6 without brackets.
 */

/** An IP literal and port. */
export interface LinkEndpoint {
  host: string;
  port: number;
}

/** A connection as the driver reports it. */
export interface DriverLink {
  /** Unique among this driver's links, never reused. */
  readonly id: string;
  readonly local: LinkEndpoint;
  readonly remote: LinkEndpoint;
  /** True when this side connected, false when accepted. */
  readonly outbound: boolean;
  /**
   * DER of the certificate the remote presented in the (mutual) TLS handshake, already verified
   * against the overlay's trust anchors by the driver; absent where the driver does no TLS (the
   * simulator). The layers above read Node-IDs and the user name from it (RFC 6940 §11.3).
   */
  readonly peerCertificate?: Uint8Array;
}

/** Upward events of a link driver. */
export interface LinkDriverUser {
  /** A link is usable: accepted, or one asked for with `connect` (TLS handshake done). */
  onLinkOpened(link: DriverLink): void;
  /** A `connect` did not succeed (refused, unreachable, handshake or certificate refused). No other event follows for this id. */
  onLinkFailed(id: string, error: Error): void;
  /** An open link ended; `error` when abnormally (reset, write failure). */
  onLinkClosed(id: string, error: Error | undefined): void;
  /** Bytes arrived (arbitrary chunking). */
  onLinkData(id: string, data: Uint8Array): void;
}

export interface LinkDriver {
  /** Sets the receiver of this driver's events (once, by the link layer). */
  setUser(user: LinkDriverUser): void;
  /** Starts listening; port 0 = any free port. Resolves with the bound endpoint; rejects on bind failure. */
  listen(host: string, port: number): Promise<LinkEndpoint>;
  /** Starts connecting and returns the link id at once; `onLinkOpened` or `onLinkFailed` follows. */
  connect(remote: LinkEndpoint): string;
  /** Writes bytes to an open link; ignored when it is not open. */
  write(id: string, data: Uint8Array): void;
  /** Closes a link gracefully (pending writes flushed); `onLinkClosed` follows. */
  close(id: string): void;
  /** Stops listening and closes every link; no events after it resolves. */
  shutdown(): Promise<void>;
}
