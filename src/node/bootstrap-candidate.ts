/**
 * A peer that may let us into the overlay, and where we heard of it. Discovery (multicast bootstrap,
 * RFC 6940 §11.4; DNS-SD/mDNS), the peer cache and the configuration all offer candidates to one
 * intake; the joining and merging logic decides what to do with them. A candidate proves nothing: the
 * overlay link to it authenticates its certificate against the overlay's configuration before it is used.
 */
export type BootstrapSource = 'configured' | 'cache' | 'multicast' | 'mdns';

export interface BootstrapCandidate {
  /** An IP literal (IPv4 or IPv6, unbracketed). */
  readonly host: string;
  /** The candidate's overlay (TLS) port. */
  readonly port: number;
  readonly source: BootstrapSource;
  /** The Node-ID it announced, hex, when the source carries one (a hint, checked at the link). */
  readonly nodeId?: string;
}

/** Where discovery hands what it finds. Bounded and de-duplicated by the receiver. */
export interface BootstrapCandidateSink {
  offer(candidate: BootstrapCandidate): void;
}
