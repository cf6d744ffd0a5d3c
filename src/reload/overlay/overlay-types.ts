/**
 * Contracts of the overlay (RFC 6940 §6 message routing with the CHORD-RELOAD topology, §10):
 * what it needs below it (links, security), what it offers above it (requests, handlers,
 * events), and its settings.
 */
import { DEFAULT_INITIAL_TTL, DEFAULT_MAX_MESSAGE_SIZE } from '../codec/index.js';
import type { AttachReqAns, IceCandidate, MessageContents, ReloadErrorCode, SecurityBlock, ForwardingHeader } from '../codec/index.js';
import type { LinkEndpoint } from '../link/link-driver.js';
import type { LinkDownReason, LinkLayerUser } from '../link/link-layer.js';

// The link contract has one declaration, the link layer's (RFC 6940 §6.6): the overlay uses it as is.
export type { LinkDownReason, LinkInfo, LinkLayerUser } from '../link/link-layer.js';

/**
 * A link type as the overlay uses it: LinkLayer (TLS-TCP-FH-NO-ICE over a LinkDriver, src/reload/link)
 * implements it; another link type (DTLS-UDP-SR) implements the same, reporting {@link LinkLayerUser}
 * events (see connection-manager.ts).
 */
export interface OverlayLinks {
  setUser(user: LinkLayerUser): void;
  listen(host: string, port: number): Promise<LinkEndpoint>;
  connect(remote: LinkEndpoint): string;
  send(linkId: string, message: Uint8Array): boolean;
  close(linkId: string): void;
  shutdown(): Promise<void>;
}

/** Our side of one ICE-negotiated Attach: fresh credentials (ice-chars) and our candidates now. */
export interface IceAttachParams {
  readonly ufrag: string;
  readonly password: string;
  readonly candidates: readonly IceCandidate[];
}

/**
 * The ICE side of Attach (RFC 6940 §6.5.1.3–§6.5.1.13): links negotiated by full ICE and then
 * secured by DTLS (DTLS-UDP-SR, §6.6.4). The object that implements it is also the OverlayLinks of
 * those links: their onLinkUp/onLinkDown reach the same LinkLayerUser as the TLS links'.
 */
export interface OverlayIce {
  /**
   * Fresh credentials and our DTLS-UDP-SR candidates for an Attach (we are `controlling` when we
   * send the request); undefined when we have no usable candidate. The ICE session listens from now
   * on (the peer's checks may arrive before its answer does); one never started is dropped after a
   * while.
   */
  prepare(controlling: boolean): IceAttachParams | undefined;
  /** The Attach of `prepare` will not go on (no answer, or linked meanwhile): its session is dropped now. */
  release(local: IceAttachParams): void;
  /** True when a peer's Attach offers candidates we can run ICE with. */
  accepts(candidates: readonly IceCandidate[]): boolean;
  /**
   * Starts ICE, then DTLS: the Attach requester is controlling and the DTLS server, the answerer
   * controlled and the DTLS client (§6.5.1.9, §6.5.1.13). `expected`: the Node-ID the peer's
   * certificate must carry (the Attach's other end). Returns the id of the link (onLinkUp or
   * onLinkDown follows), or an Error (limits, refused candidates).
   */
  start(local: IceAttachParams, remote: AttachReqAns, controlling: boolean, expected: Uint8Array | undefined): string | Error;
}

/** A verified signer (RFC 6940 §11.3: the certificate's user name and Node-IDs). */
export interface SignerInfo {
  userName: string;
  nodeIds: Uint8Array[];
}

/** Message security (RFC 6940 §6.3.4, §13): signing, verification, link peer identity. */
export interface OverlaySecurity {
  /** The Node-IDs a link peer may use, from the certificate it presented; an Error refuses the link. */
  identifyPeer(certificate: Uint8Array | undefined): Uint8Array[] | Error;
  /** The security block of a message this node originates (`extraCertificates` join our own in the bag). */
  sign(header: ForwardingHeader, contents: Uint8Array, extraCertificates?: readonly Uint8Array[]): SecurityBlock;
  /**
   * Verifies a message destined to this node; the signer, or a reason to refuse it. `pending`: the
   * signer's certificate is being looked up (RFC 6940 §8); the node holds the message (bounded) and
   * verifies it again once that settles. `linkPeer`: the message came with an empty Via List over a
   * link whose peer authenticated as this Node-ID (TLS / DTLS with the overlay's certificates), so it
   * was sent by that node itself and nobody could change it on the way; see CertificateSecurity.
   */
  verify(
    header: ForwardingHeader,
    contents: Uint8Array,
    block: SecurityBlock,
    linkPeer?: Uint8Array,
  ): { ok: true; signer: SignerInfo | undefined } | { ok: false; info: string; pending?: Promise<unknown> };
}

/** The answer to a request this node originated. */
export type OverlayAnswer =
  | { ok: true; code: number; body: Uint8Array; responder: Uint8Array | undefined; hops: number; signer: SignerInfo | undefined }
  | { ok: false; errorCode: number; info: string; responder: Uint8Array | undefined; hops: number };

/** A request delivered to this node. */
export interface InboundRequest {
  code: number;
  body: Uint8Array;
  header: ForwardingHeader;
  contents: MessageContents;
  /** Node-ID of the adjacent node it came from. */
  fromNeighbour: bigint | undefined;
  /** Node-ID of the originator, when known (via list, or the adjacent node when the via list is empty). */
  origin: Uint8Array | undefined;
  signer: SignerInfo | undefined;
  /** Overlay hops it travelled (via list length + 1). */
  hops: number;
}

/**
 * What a request handler returns. `extraCertificates` go into the answer's certificate bag (e.g. the
 * signers of StoredData in a FetchAns, RFC 6940 §6.3.4); `errorInfo` replaces the text of an error
 * (e.g. the encoded StoreAns of Error_Generation_Counter_Too_Low, RFC 6940 §7.4.1.2). `afterSent`
 * runs once the answer is on its way (e.g. the link to a peer that Leaves is closed only then, so the
 * answer still has its link back, RFC 6940 §10.9).
 */
export type HandlerReply =
  | { code: number; body: Uint8Array; extraCertificates?: readonly Uint8Array[]; afterSent?: () => void }
  | { error: ReloadErrorCode; info: string; errorInfo?: Uint8Array };

export type RequestHandler = (req: InboundRequest) => HandlerReply | Promise<HandlerReply>;

/** Overlay settings, with the defaults of {@link DEFAULT_OVERLAY_OPTIONS}. */
export interface OverlayOptions {
  /** Overlay instance name (RFC 6940 §11.1 instance-name). */
  overlayName: string;
  /** NodeIdLength in bytes (16..20). */
  nodeIdLength: number;
  /** Initial TTL of originated messages (RFC 6940 §6.3.2: SHOULD be 100). */
  initialTtl: number;
  /** max-message-size (RFC 6940 §11.1: 5000 unless the configuration says otherwise). */
  maxMessageSize: number;
  /** overlay-reliability-timer (RFC 6940 §6.2.1): per-transmission wait of an originated request. */
  reliabilityTimerMs: number;
  /** Transmissions of one request before it fails (RFC 6940 §6.2.1: up to 5). */
  maxTransmissions: number;
  /** Successors and predecessors kept (RFC 6940 §10.7: at least 3). */
  neighbourCount: number;
  /** Peers kept per finger range at least (RFC 6940 §10.7.4.2 allows several). */
  fingersPerRange: number;
  /**
   * Fraction of the overlay kept as fingers, spread uniformly over the ring, the overlay's size
   * estimated from the neighbour spacing (chord/finger-density.ts; RFC 6940 §10.7.4.2–§10.7.4.3).
   * 0.15 gives two-hop lookups (median) up to maxFingers / 0.15 peers; 0 (the default): Chord's log N
   * fingers. Not the default yet (issue 18): at 1,000 peers under 30-minute churn 0.15 cost 264 B/s of
   * maintenance per peer (Chord 154) and 98.65 % of lookups succeeded (Chord 100 %) in the simulator.
   */
  fingerDensity: number;
  /** Fingers kept for the density at most (caps the cost per peer in large overlays). */
  maxFingers: number;
  /**
   * Route cache: any routable peer we hold a link to (made by Attaches for lookups, finger
   * searches, clients' peers) is a next-hop candidate, not only neighbours and fingers.
   */
  routeCache: boolean;
  /** Finger ranges filled at join (RFC 6940 §10.7.4.3: 16). */
  initialFingers: number;
  /** chord-update-interval: periodic Update to every neighbour (RFC default 600 s). */
  updateIntervalMs: number;
  /** chord-ping-interval: how often one finger range is searched again (RFC default 3600 s). */
  fingerRefreshIntervalMs: number;
  /** Reactive Updates caused by one burst of neighbour changes are sent together after this delay. */
  updateCoalesceMs: number;
  /** chord-reactive: immediate Updates on neighbour changes (RFC 6940 §10.7.1). */
  reactive: boolean;
  /** How often a peer repeats the bootstrap discovery to detect a partition (RFC 6940 §10.7.4.4). */
  partitionCheckIntervalMs: number;
  /** Maximum overlay links (connection table size, RFC 6940 §6.5). */
  maxConnections: number;
  /** A link used by nobody for this long is closed (not a neighbour or finger). */
  idleConnectionMs: number;
  /** Maximum requests this node originated that wait for an answer. */
  maxPendingRequests: number;
  /** Client mode (RFC 6940 §4.2): use the overlay, never route or store. */
  client: boolean;
}

export const DEFAULT_OVERLAY_OPTIONS: Readonly<Omit<OverlayOptions, 'overlayName'>> = Object.freeze({
  nodeIdLength: 16,
  initialTtl: DEFAULT_INITIAL_TTL,
  maxMessageSize: DEFAULT_MAX_MESSAGE_SIZE,
  reliabilityTimerMs: 3000,
  maxTransmissions: 5,
  neighbourCount: 5,
  fingersPerRange: 1,
  fingerDensity: 0,
  maxFingers: 192,
  routeCache: true,
  initialFingers: 16,
  updateIntervalMs: 60_000,
  fingerRefreshIntervalMs: 60_000,
  reactive: true,
  updateCoalesceMs: 250,
  partitionCheckIntervalMs: 300_000,
  maxConnections: 512,
  idleConnectionMs: 600_000,
  maxPendingRequests: 10_000,
  client: false,
});

/** The overlay's life (RFC 6940 §10.5, §10.9; DESIGN.md /api/status `state`). */
export type OverlayState = 'idle' | 'joining' | 'joined' | 'leaving' | 'left';

/**
 * Events the overlay publishes on its hub (`OverlayNode.events`) for the layers above and for
 * observers (storage, usages, logs, metrics, the dashboard).
 */
export interface OverlayEventMap {
  /** The node's state changed. */
  state: OverlayState;
  /** The neighbour table changed (replication and data migration follow it, RFC 6940 §10.7.3). Nearest first. */
  neighbours: { successors: readonly bigint[]; predecessors: readonly bigint[] };
  /** A link to a node came up and is in the Connection Table. */
  'link-up': { linkId: string; nodeId: bigint; remote: LinkEndpoint; outbound: boolean };
  /** A link went down (`nodeId` undefined: it never identified its peer). */
  'link-down': { linkId: string; nodeId: bigint | undefined; reason: LinkDownReason };
  /**
   * A node's passive TLS candidate (its overlay address, RFC 6940 §6.5.1.11) from its Attach request or
   * answer (the peer cache records it: a hint, authenticated by TLS when used).
   */
  'peer-address': { nodeId: bigint; endpoint: LinkEndpoint };
  /**
   * A request this node originated was answered, or failed (observers: hop and latency histograms,
   * logs with the transaction id). Published only while somebody listens.
   */
  answer: RequestOutcome;
  /** A request delivered to this node was answered (observers: logs with the transaction id). Only while somebody listens. */
  served: ServedRequest;
}

/** The end of a request this node originated (RFC 6940 §6.2.1: retransmissions included). */
export interface RequestOutcome {
  /** Transaction id, 16 hex digits (RFC 6940 §6.3.2). */
  tid: string;
  /** The request's message code. */
  code: number;
  /** Type of the last destination: a Node-ID (e.g. replicas, Attach to a finger) or a Resource-ID (a lookup). */
  target: 'node' | 'resource' | 'other';
  /** Bytes of the request's contents and security block (the forwarding header excluded), once. */
  bytes: number;
  ok: boolean;
  /** Overlay hops the answer travelled (0 when it failed here). */
  hops: number;
  /** From the first transmission to the answer or the failure, ms. */
  ms: number;
  /** For a failure: the RELOAD error code (0 when none came: timeout, no route here) and its text. */
  errorCode?: number;
  info?: string;
}

/** A request this node answered (RFC 6940 §6.2.2). */
export interface ServedRequest {
  /** Transaction id, 16 hex digits. */
  tid: string;
  code: number;
  /** Node-ID of the originator, hex. */
  origin: string;
  /** The error code answered, when the answer is an error. */
  errorCode?: number;
}
