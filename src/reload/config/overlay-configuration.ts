import type { KindDefinition } from '../storage/kind.js';

/** RFC 6940 §11.1 bootstrap-node: an IP literal (IPv6 without brackets) and a port (default 6084). */
export interface BootstrapNode {
  address: string;
  port: number;
}

/**
 * One overlay's configuration element (RFC 6940 §11.1), typed, with the RFC's defaults applied
 * by the parser. Node-IDs (signers, bad nodes) are lowercase hex.
 */
export interface OverlayConfiguration {
  /** instance-name: the overlay name. */
  instanceName: string;
  /** 0..65534; default 0. */
  sequence: number;
  /** RFC 3339 UTC date-time after which the document is no longer valid. */
  expiration?: string;
  /** Default 'CHORD-RELOAD'. */
  topologyPlugin: string;
  /** 16..20; default 16. */
  nodeIdLength: number;
  /** DER root-cert trust anchors. */
  rootCertificates: Uint8Array[];
  /** https: URLs. */
  enrollmentServers: string[];
  /** Default false. */
  selfSignedPermitted: boolean;
  /** The digest attribute of self-signed-permitted. */
  selfSignedDigest: 'sha1' | 'sha256';
  bootstrapNodes: BootstrapNode[];
  /**
   * multicast-bootstrap (draft-ietf-p2psip-base; dropped from RFC 6940 as published, kept here as a
   * p2psip extension element): groups where peers listen for and send bootstrap Pings (issue 15).
   */
  multicastBootstrap?: BootstrapNode[];
  /**
   * Issue 15, enrolled overlays: the https URL where the enrollment server checks SIP digest answers
   * against its user list (`p2psip enroll-server --sip-digest`; our extension element
   * p2psip:sip-digest-verifier). Present: peers challenge their phones and ask it; absent: no digest.
   */
  sipDigestVerifier?: string;
  /** Default 1. */
  turnDensity: number;
  /** Default true. */
  clientsPermitted: boolean;
  /** Default false. */
  noIce: boolean;
  sharedSecret?: string;
  /** Bytes; default 5000. */
  maxMessageSize: number;
  /** Default 100. */
  initialTtl: number;
  /** Milliseconds, >= 200; default 3000. */
  overlayReliabilityTimer: number;
  /** Default ['TLS']. */
  overlayLinkProtocols: string[];
  configurationSigners: string[];
  kindSigners: string[];
  badNodes: string[];
  mandatoryExtensions: string[];
  /** required-kinds. */
  kinds: KindDefinition[];
  /** chord:chord-update-interval (seconds). */
  chordUpdateInterval?: number;
  /** chord:chord-ping-interval (seconds). */
  chordPingInterval?: number;
  /** chord:chord-reactive; default true. */
  chordReactive: boolean;
}

/** The configuration-base and config-chord XML namespaces (RFC 6940 §14.17). */
export const CONFIG_BASE_NAMESPACE = 'urn:ietf:params:xml:ns:p2p:config-base';
export const CONFIG_CHORD_NAMESPACE = 'urn:ietf:params:xml:ns:p2p:config-chord';
/** RFC 6940 §11.1 / §14.16 media type. */
export const OVERLAY_CONFIGURATION_MEDIA_TYPE = 'application/p2p-overlay+xml';
export const DEFAULT_BOOTSTRAP_PORT = 6084;
/**
 * The LAN configuration's multicast bootstrap group: IPv4 organization-local scope (RFC 2365
 * 239.255.0.0/16, never routed beyond the site; sent with TTL 1, so it stays on the link) and a UDP
 * port next to RELOAD's 6084 (whose UDP side the overlay's STUN/ICE port uses).
 */
export const LAN_MULTICAST_BOOTSTRAP: Readonly<BootstrapNode> = Object.freeze({ address: '239.255.60.84', port: 6086 });
