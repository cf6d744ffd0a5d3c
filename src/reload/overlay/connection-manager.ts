/**
 * The link side of one RELOAD node: the Connection Table (RFC 6940 §3.3, §6.5) and the link events
 * that fill it — a link up is bound to the Node-ID its peer's certificate gives (§11.3; one link per
 * node, see keepsExistingLink), messages go to routing, a link down or evicted is a peer lost for the
 * topology, suspect links are routed around (§6.6.5) — plus keepalives of idle links the topology
 * needs, the waiters of links being opened (a bootstrap peer, an Attach's candidate), eviction at
 * the table's limit and the idle sweep. Sans-I/O: the clock and the links are injected.
 *
 * Link types. This class speaks to links only through {@link OverlayLinks} and
 * {@link LinkLayerUser}; it knows nothing of TLS, TCP or framing. A new link type (DTLS-UDP-SR,
 * §6.6.3, or ICE-negotiated links) is added by writing its driver: an object implementing
 * OverlayLinks (`setUser`, `listen`, `connect` returning a link id at once, `send` of one RELOAD
 * message, `close`, `shutdown`) that reports per link exactly one `onLinkUp` (with the peer's
 * certificate, from which the Node-ID is read) or `onLinkDown`, each message received as
 * `onLinkMessage`, `onLinkDown` once at the end, optionally `onLinkSuspect`/`onLinkRecovered`,
 * and asks `keepalive(id)` when idle — as LinkLayer does for TLS-TCP-FH-NO-ICE over a LinkDriver
 * (src/reload/link). Nothing here or in OverlayNode changes; which candidate an Attach answer
 * offers and connects to is candidates.ts's choice.
 */
import type { Clock } from '../../lib/clock.js';
import type { EventHub } from '../../lib/event-hub.js';
import { PeriodicTask } from '../../lib/lifecycle.js';
import type { Lifecycle } from '../../lib/lifecycle.js';
import { MessageCode, encodePingReq, encodeReloadPdu } from '../codec/index.js';
import type { CodecOptions, MessageContents } from '../codec/index.js';
import type { LinkEndpoint } from '../link/link-driver.js';
import type { LinkDownReason, LinkInfo, LinkLayerUser } from '../link/link-layer.js';
import type { ChordTopology } from './chord/chord-topology.js';
import { keepsExistingLink } from './connection-table.js';
import type { Connection, ConnectionTable } from './connection-table.js';
import type { MessageFactory } from './message-factory.js';
import type { OverlayCounters } from './overlay-counters.js';
import type { OverlayEventMap, OverlayLinks, OverlayOptions, OverlaySecurity } from './overlay-types.js';
import type { OwnerCache } from './owner-cache.js';
import type { Ring } from './ring.js';

/** How long a link being opened is waited for (connectBootstrap, connectTo). */
const LINK_WAIT_MS = 10_000;
/** Two links to one node that came up within this long of each other are a simultaneous open (see keepsExistingLink). */
export const SIMULTANEOUS_OPEN_MS = 5_000;

/** Where the messages that arrive on links go (MessageDispatcher). */
export interface InboundMessages {
  /** One message or fragment from the link to the adjacent node `from`. */
  receive(message: Uint8Array, from: bigint): void;
}

/** What the link side needs from its node. */
export interface ConnectionManagerDeps {
  readonly ring: Ring;
  readonly id: bigint;
  readonly clock: Clock;
  readonly links: Pick<OverlayLinks, 'connect' | 'close'>;
  /** The Connection Table this keeps (routing and the topology read it). */
  readonly conns: ConnectionTable;
  readonly security: Pick<OverlaySecurity, 'identifyPeer'>;
  readonly options: Pick<OverlayOptions, 'maxConnections' | 'idleConnectionMs' | 'client'>;
  readonly counters: OverlayCounters;
  /** Which links carry routing state (never evicted or swept), which are kept alive, and what follows a link's life. */
  readonly topology: Pick<ChordTopology, 'needs' | 'needsKeepalive' | 'onLinkUp' | 'onPeerLost' | 'peerReadyBody'>;
  /** The route cache: a node whose link went down owns nothing we can reach. */
  readonly owners: Pick<OwnerCache, 'forget'>;
  readonly messages: Pick<MessageFactory, 'header' | 'transactionId' | 'signedPayload'>;
  readonly inbound: InboundMessages;
  /** Where 'link-up' and 'link-down' are published (the node's hub). */
  readonly events: Pick<EventHub<OverlayEventMap>, 'emit'>;
  /**
   * The requests this node originated whose latest transmission left on `linkId`, which just failed or
   * became suspect: sent again at once along another route (PendingRequests.rerouteFrom).
   */
  readonly inFlight?: { rerouteFrom(linkId: string): number };
  codecOptions(): CodecOptions;
}

export class ConnectionManager implements LinkLayerUser, Lifecycle {
  private readonly conns: ConnectionTable;
  private readonly linkWaiters = new Map<string, (id: bigint | undefined) => void>();
  private readonly nodeWaiters = new Map<bigint, Array<(ok: boolean) => void>>();
  /** Closes links idle for idleConnectionMs that the topology does not need, every half of that (at least 1 s). */
  private readonly sweep: PeriodicTask;
  private stopped = false;

  constructor(private readonly deps: ConnectionManagerDeps) {
    this.conns = deps.conns;
    const every = Math.max(1000, Math.floor(deps.options.idleConnectionMs / 2));
    this.sweep = new PeriodicTask(deps.clock, every, () => this.closeIdle());
  }

  /** Starts the idle sweep (the node has started). */
  start(): void {
    if (!this.stopped) this.sweep.start();
  }

  /** For good: no sweep, messages and keepalives no longer taken (the node crashed or shut down). */
  stop(): void {
    this.stopped = true;
    this.sweep.stop();
  }

  // ------------------------------------------------------------------------ opening and closing

  /** Opens a link to a bootstrap endpoint; resolves with the Node-ID of the peer there. */
  connectBootstrap(ep: LinkEndpoint): Promise<bigint | undefined> {
    // an outbound link already up to that endpoint serves (a candidate probed before the Join)
    for (const c of this.deps.conns.all()) {
      if (c.outbound && c.nodeId !== undefined && !c.suspect && c.remote.host === ep.host && c.remote.port === ep.port) return Promise.resolve(c.nodeId);
    }
    return new Promise((resolve) => {
      const linkId = this.safeConnect(ep);
      if (linkId === undefined) {
        resolve(undefined);
        return;
      }
      const timer = this.deps.clock.setTimer(LINK_WAIT_MS, () => {
        this.linkWaiters.delete(linkId);
        resolve(undefined);
      });
      this.linkWaiters.set(linkId, (id) => {
        timer.cancel();
        resolve(id);
      });
    });
  }

  /** Opens a link to `ep` where node `expected` should be (an Attach's candidate); true once a link to it is up. */
  connectTo(ep: LinkEndpoint, expected: bigint): Promise<boolean> {
    return this.connectWith(() => this.deps.links.connect(ep), expected);
  }

  /**
   * Opens a link with `open` (which returns its id, or undefined / an Error when it cannot start:
   * an ICE negotiation, a TLS connect) where node `expected` should be; true once a link to it is up.
   */
  connectWith(open: () => string | undefined | Error, expected: bigint): Promise<boolean> {
    return this.waitForNode(expected, LINK_WAIT_MS, (done) => {
      let linkId: string | undefined;
      if (this.conns.size >= this.deps.options.maxConnections && !this.evictOne()) linkId = undefined;
      else {
        try {
          const r = open();
          linkId = r instanceof Error ? undefined : r;
        } catch {
          linkId = undefined;
        }
      }
      if (linkId === undefined) {
        done(false);
        return;
      }
      this.linkWaiters.set(linkId, (id) => {
        if (id !== expected) done(false);
      });
    });
  }

  /**
   * True once a link to `nodeId` is up (one the other node opens: its Attach won the RFC 6940 §6.5.1.2
   * tie-break), false after `timeoutMs` (default the link wait, 10 s).
   */
  awaitNode(nodeId: bigint, timeoutMs = LINK_WAIT_MS): Promise<boolean> {
    if (this.conns.usable(nodeId) !== undefined) return Promise.resolve(true);
    return this.waitForNode(nodeId, timeoutMs, () => undefined);
  }

  /** Registers a waiter for a link to `nodeId` (woken by its link-up), then runs `start` with its `done`. */
  private waitForNode(nodeId: bigint, timeoutMs: number, start: (done: (ok: boolean) => void) => void): Promise<boolean> {
    return new Promise((resolve) => {
      const list = this.nodeWaiters.get(nodeId) ?? [];
      const remove = (): void => {
        const l = this.nodeWaiters.get(nodeId);
        if (l === undefined) return;
        const i = l.indexOf(done);
        if (i >= 0) l.splice(i, 1);
        if (l.length === 0) this.nodeWaiters.delete(nodeId);
      };
      const timer = this.deps.clock.setTimer(timeoutMs, () => {
        remove();
        resolve(false);
      });
      const done = (ok: boolean): void => {
        timer.cancel();
        remove();
        resolve(ok);
      };
      list.push(done);
      this.nodeWaiters.set(nodeId, list);
      start(done);
    });
  }

  /** Closes the link to a node (no longer needed). */
  disconnect(id: bigint): void {
    const c = this.conns.forNode(id);
    if (c !== undefined) this.deps.links.close(c.linkId);
  }

  // ------------------------------------------------------------------------ link layer events

  onLinkUp(link: LinkInfo): void {
    const { links, counters } = this.deps;
    const waiter = this.linkWaiters.get(link.id);
    this.linkWaiters.delete(link.id);
    const ids = this.deps.security.identifyPeer(link.peerCertificate);
    if (ids instanceof Error || ids.length === 0) {
      counters.refusedLinks++;
      links.close(link.id);
      waiter?.(undefined);
      return;
    }
    const nodeId = this.deps.ring.tryFromBytes(ids[0] as Uint8Array);
    if (nodeId === undefined || nodeId === this.deps.id) {
      links.close(link.id);
      waiter?.(undefined);
      return;
    }
    const now = this.deps.clock.now();
    const existing = this.conns.forNode(nodeId);
    if (existing !== undefined && keepsExistingLink(existing, link.outbound, this.deps.id, nodeId, now, SIMULTANEOUS_OPEN_MS)) {
      // the other end keeps the same link and closes this one too: the node stays connected
      counters.duplicateLinks++;
      links.close(link.id);
      waiter?.(nodeId);
      this.wakeNodeWaiters(nodeId);
      return;
    }
    if (this.conns.size >= this.deps.options.maxConnections && !this.evictOne()) {
      counters.refusedLinks++;
      links.close(link.id);
      waiter?.(undefined);
      return;
    }
    const c: Connection = { linkId: link.id, remote: link.remote, outbound: link.outbound, nodeId: undefined, routable: false, suspect: false, lastUsed: now, upAt: now };
    this.conns.add(c);
    const old = this.conns.bind(link.id, nodeId);
    if (old !== undefined) {
      // keep one link per node: the newer one wins (unless keepsExistingLink said otherwise above), the older is closed without losing the node
      this.conns.remove(old.linkId);
      c.routable = old.routable;
      links.close(old.linkId);
    }
    waiter?.(nodeId);
    this.wakeNodeWaiters(nodeId);
    this.deps.topology.onLinkUp(nodeId);
    this.deps.events.emit('link-up', { linkId: link.id, nodeId, remote: link.remote, outbound: link.outbound });
  }

  onLinkMessage(linkId: string, message: Uint8Array): void {
    const c = this.conns.get(linkId);
    if (c === undefined || c.nodeId === undefined || this.stopped) return;
    c.lastUsed = this.deps.clock.now();
    this.deps.inbound.receive(message, c.nodeId);
  }

  onLinkDown(linkId: string, reason: LinkDownReason): void {
    const waiter = this.linkWaiters.get(linkId);
    if (waiter !== undefined) {
      this.linkWaiters.delete(linkId);
      waiter(undefined);
    }
    const c = this.conns.remove(linkId);
    if (c?.nodeId !== undefined && this.conns.forNode(c.nodeId) === undefined) {
      this.deps.owners.forget(c.nodeId);
      this.deps.topology.onPeerLost(c.nodeId);
    }
    if (c !== undefined) this.deps.events.emit('link-down', { linkId, nodeId: c.nodeId, reason });
    // what we sent on it last may never arrive: send it again now, routed around the lost link
    this.deps.inFlight?.rerouteFrom(linkId);
  }

  onLinkSuspect(linkId: string): void {
    const c = this.conns.get(linkId);
    if (c === undefined) return;
    c.suspect = true;
    // RFC 6940 §6.6.3.1: route around a suspect link — our requests on it too, not only the next ones
    this.deps.inFlight?.rerouteFrom(linkId);
  }

  onLinkRecovered(linkId: string): void {
    const c = this.conns.get(linkId);
    if (c !== undefined) c.suspect = false;
  }

  keepalive(linkId: string): Uint8Array | undefined {
    const c = this.conns.get(linkId);
    if (c?.nodeId === undefined || this.stopped) return undefined;
    const { topology, messages } = this.deps;
    // only links whose loss must be noticed at once (neighbours, our client's peer) are kept alive
    // while idle; an idle finger or cached route shows its failure when next used (ACK overdue →
    // suspect → routed around), which spares the per-link keepalive traffic
    if (!topology.needsKeepalive(c.nodeId)) return undefined;
    // an Update peer_ready is RFC 6940 §10.7's connectivity check; its ACK shows the link is alive. A
    // client sends a Ping instead: a peer_ready would tell its peer it is a peer, and once a neighbour
    // was lost the peer would take the client into its neighbour table (seen in the NAT lab, issue 12)
    const header = messages.header(messages.transactionId(), [{ type: 'node', nodeId: this.deps.ring.toBytes(c.nodeId) }]);
    const contents: MessageContents = this.deps.options.client
      ? { messageCode: MessageCode.ping_req, body: encodePingReq({ padding: new Uint8Array(0) }), extensions: [] }
      : { messageCode: MessageCode.update_req, body: topology.peerReadyBody(), extensions: [] };
    const payload = messages.signedPayload(header, contents);
    const bytes = encodeReloadPdu(header, payload, this.deps.codecOptions());
    this.deps.counters.countSent(bytes.length, true, contents.messageCode);
    return bytes;
  }

  // ------------------------------------------------------------------------------------ helpers

  private wakeNodeWaiters(nodeId: bigint): void {
    const ws = this.nodeWaiters.get(nodeId);
    if (ws !== undefined) {
      this.nodeWaiters.delete(nodeId);
      for (const w of ws) w(true);
    }
  }

  /** links.connect, which may refuse (link limit, shut down): undefined then. */
  private safeConnect(ep: LinkEndpoint): string | undefined {
    if (this.conns.size >= this.deps.options.maxConnections && !this.evictOne()) return undefined;
    try {
      return this.deps.links.connect(ep);
    } catch {
      return undefined;
    }
  }

  /** Closes the least recently used link that the topology does not need; false when none. */
  private evictOne(): boolean {
    let victim: Connection | undefined;
    for (const c of this.conns.all()) {
      if (c.nodeId !== undefined && this.deps.topology.needs(c.nodeId)) continue;
      if (victim === undefined || c.lastUsed < victim.lastUsed) victim = c;
    }
    if (victim === undefined) return false;
    this.conns.remove(victim.linkId);
    this.deps.links.close(victim.linkId);
    if (victim.nodeId !== undefined) this.deps.topology.onPeerLost(victim.nodeId);
    return true;
  }

  private closeIdle(): void {
    const now = this.deps.clock.now();
    for (const c of [...this.conns.all()]) {
      if (c.nodeId !== undefined && this.deps.topology.needs(c.nodeId)) continue;
      if (now - c.lastUsed >= this.deps.options.idleConnectionMs) this.deps.links.close(c.linkId);
    }
  }
}
