/**
 * One RELOAD node (RFC 6940 §6): its life (start, join §10.5, leave §10.9), the requests it
 * originates with end-to-end retransmission (§6.2.1), Attach in no-ICE mode (§6.5.1.11), the
 * Connection Table and its links (§6.5, §6.6.5), and the CHORD-RELOAD topology (§10, in ./chord/)
 * behind it. Routing is in overlay-router.ts (§6.1, §6.2), delivery in message-delivery.ts.
 * Sans-I/O: links, clock, random and security are injected.
 */
import { createHash } from 'node:crypto';
import type { Clock, TimerHandle } from '../../lib/clock.js';
import { EventHub } from '../../lib/event-hub.js';
import type { Random } from '../../lib/random.js';
import { MessageCode, RELOAD_VERSION, ReloadErrorCode, Reassembler, decodeAttachReqAns, decodeReloadPdu, encodeReloadPdu } from '../codec/index.js';
import type { Destination, MessageContents } from '../codec/index.js';
import type { LinkEndpoint } from '../link/link-driver.js';
import { ChordTopology } from './chord/chord-topology.js';
import type { ChordStatus } from './chord/chord-topology.js';
import { connectableEndpoint } from './candidates.js';
import { ConnectionTable, keepsExistingLink } from './connection-table.js';
import type { Connection } from './connection-table.js';
import { MessageDelivery, passiveAttachBody } from './message-delivery.js';
import { MessageFactory } from './message-factory.js';
import { OverlayCounters, isMaintenanceCode } from './overlay-counters.js';
import { DEFAULT_OVERLAY_OPTIONS } from './overlay-types.js';
import type {
  LinkDownReason,
  OverlayAnswer,
  OverlayEventMap,
  OverlayLinkInfo,
  OverlayLinks,
  OverlayLinksUser,
  OverlayOptions,
  OverlaySecurity,
  OverlayState,
  RequestHandler,
} from './overlay-types.js';
import { OverlayRouter, peekCode } from './overlay-router.js';
import { OwnerCache } from './owner-cache.js';
import { PendingRequests } from './pending-requests.js';
import { Ring } from './ring.js';

export interface OverlayNodeDeps {
  clock: Clock;
  random: Random;
  links: OverlayLinks;
  security: OverlaySecurity;
}

/** Options of a request this node originates. */
export interface RequestOptions {
  timerMs?: number;
  transmissions?: number;
}

const LINK_WAIT_MS = 10_000;
/** Two links to one node that came up within this long of each other are a simultaneous open (see keepsExistingLink). */
export const SIMULTANEOUS_OPEN_MS = 5_000;
export { MAX_HELD_FOR_CERTIFICATE } from './message-delivery.js';

export class OverlayNode implements OverlayLinksUser {
  readonly ring: Ring;
  readonly id: bigint;
  readonly idBytes: Uint8Array;
  readonly options: OverlayOptions;
  /** Lower 32 bits of SHA-1 of the overlay name (RFC 6940 §6.3.2). */
  readonly overlayHash: number;
  readonly conns = new ConnectionTable();
  readonly counters = new OverlayCounters();
  readonly topology: ChordTopology;
  /** What this node publishes (state, neighbour table, links): subscribe with `events.on()`. */
  readonly events = new EventHub<OverlayEventMap>();
  private readonly pending: PendingRequests;
  /** Who answered our requests to which Resource-IDs (route cache: one hop to a known owner). */
  readonly owners: OwnerCache;
  private readonly messages: MessageFactory;
  private readonly router: OverlayRouter;
  private readonly delivery: MessageDelivery;
  private readonly linkWaiters = new Map<string, (id: bigint | undefined) => void>();
  private readonly nodeWaiters = new Map<bigint, Array<(ok: boolean) => void>>();
  private advertised: LinkEndpoint | undefined;
  private listening: LinkEndpoint | undefined;
  private stateValue: OverlayState = 'idle';
  private readonly startedAt: number;
  private joinedAtMs: number | undefined;
  private sweepTimer: TimerHandle | undefined;
  private closed = false;
  private storedResourcesProvider: (() => number) | undefined;

  constructor(
    private deps: OverlayNodeDeps,
    nodeId: Uint8Array,
    options: Partial<OverlayOptions> & { overlayName: string },
  ) {
    this.options = { ...DEFAULT_OVERLAY_OPTIONS, ...options };
    this.ring = new Ring(this.options.nodeIdLength);
    this.id = this.ring.fromBytes(nodeId);
    this.idBytes = Uint8Array.from(nodeId);
    this.overlayHash = overlayHashOf(this.options.overlayName);
    this.startedAt = deps.clock.now();
    this.pending = new PendingRequests(deps.clock, this.options.reliabilityTimerMs, this.options.maxTransmissions, this.options.maxPendingRequests);
    const reassembler = new Reassembler(deps.clock, { maxMessageSize: this.options.maxMessageSize, nodeIdLength: this.options.nodeIdLength });
    this.topology = new ChordTopology(this, this.options);
    this.owners = new OwnerCache(this.ring);
    // routing (RFC 6940 §6.1, §6.2) and delivery to this node, wired to each other through the node
    const { clock, random, security, links } = deps;
    const { ring, id, idBytes, conns, counters, pending, topology, owners } = this;
    const codecOptions = (): { maxMessageSize: number; nodeIdLength: number } => this.codecOptions();
    const messages = new MessageFactory({ random, security, overlayHash: this.overlayHash, options: this.options, codecOptions });
    this.messages = messages;
    this.delivery = new MessageDelivery({
      ring, idBytes, clock, random, security, counters, pending, topology, messages, maxMessageSize: this.options.maxMessageSize, codecOptions,
      advertised: () => this.advertised,
      isClosed: () => this.closed,
      route: (h, payload, from) => this.router.route(h, payload, from),
    });
    this.router = new OverlayRouter({
      ring, id, options: this.options, clock, links, conns, counters, topology, owners, reassembler, codecOptions,
      isJoined: () => this.stateValue === 'joined',
      deliver: (h, payload, from) => this.delivery.deliver(h, payload, from),
      refuse: (h, payload, from, code, info) => this.delivery.refuse(h, payload, from, code, info),
    });
    deps.links.setUser(this);
  }

  /** When this node last became 'joined' (clock ms), or undefined before that. */
  get joinedAt(): number | undefined {
    return this.joinedAtMs;
  }

  get clock(): Clock {
    return this.deps.clock;
  }

  get random(): Random {
    return this.deps.random;
  }

  get state(): OverlayState {
    return this.stateValue;
  }

  /** Seconds since this node started (ChordUpdate uptime, Probe uptime). */
  uptime(): number {
    return Math.floor((this.deps.clock.now() - this.startedAt) / 1000);
  }

  /** The listen endpoint (after start). */
  endpoint(): LinkEndpoint | undefined {
    return this.advertised ?? this.listening;
  }

  /** Registers the handler of a request method (Store, Fetch, AppAttach, …). */
  handle(code: number, handler: RequestHandler): void {
    this.delivery.handle(code, handler);
  }

  /**
   * Listens (unless a client), then joins through `bootstrap` (RFC 6940 §10.5); with no bootstrap
   * a peer starts a new overlay. Resolves once joined; rejects when no bootstrap peer admits it.
   */
  async start(listen: LinkEndpoint, bootstrap: readonly LinkEndpoint[], advertise?: LinkEndpoint): Promise<void> {
    if (!this.options.client) {
      this.listening = await this.deps.links.listen(listen.host, listen.port);
      this.advertised = advertise === undefined ? this.listening : { host: advertise.host, port: advertise.port || this.listening.port };
    }
    this.scheduleSweep();
    this.setState('joining');
    await this.topology.join(bootstrap);
    this.setState('joined');
  }

  /** Leaves cleanly (RFC 6940 §10.9), then closes every link. */
  async leave(): Promise<void> {
    if (this.closed) return;
    if (this.stateValue === 'joined') {
      this.setState('leaving');
      await this.topology.leave();
    }
    await this.shutdown();
  }

  /** kill -9 (simulator): stops all work, sends nothing, leaves the links to die with the host. */
  crash(): void {
    if (this.closed) return;
    this.closed = true;
    this.topology.stop();
    this.sweepTimer?.cancel();
    this.pending.failAll('node crashed');
    this.setState('left');
  }

  /** Stops at once: no Leave (a crash, or after leave()). */
  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.topology.stop();
    this.sweepTimer?.cancel();
    this.pending.failAll('node stopped');
    this.setState('left');
    await this.deps.links.shutdown();
  }

  setState(s: OverlayState): void {
    if (this.stateValue === s) return;
    this.stateValue = s;
    if (s === 'joined') this.joinedAtMs = this.deps.clock.now();
    this.events.emit('state', s);
  }

  /** ChordHost: the neighbour table changed (storage follows it: replicas, migration). */
  neighboursChanged(successors: readonly bigint[], predecessors: readonly bigint[]): void {
    this.events.emit('neighbours', { successors, predecessors });
  }

  /** ChordHost: Probe num_resources. */
  storedResources(): number {
    return this.storedResourcesProvider?.() ?? 0;
  }

  // ------------------------------------------------------------------ StorageHost (reload/storage)

  /** Client mode (RFC 6940 §4.2). */
  get isClient(): boolean {
    return this.options.client;
  }

  /** Responsible for `k` as routing sees it now (only live neighbours count). */
  isResponsible(k: bigint): boolean {
    return this.topology.isResponsible(k);
  }

  /** Responsible for `k` by the neighbour table alone, live or not. */
  coversInTable(k: bigint): boolean {
    return this.topology.neighbours.isResponsible(k);
  }

  /** The neighbour table now (nearest first). */
  neighbours(): { successors: readonly bigint[]; predecessors: readonly bigint[] } {
    const nb = this.topology.neighbours;
    return { successors: nb.successors, predecessors: nb.predecessors };
  }

  onNeighboursChanged(listener: (n: { successors: readonly bigint[]; predecessors: readonly bigint[] }) => void): () => void {
    return this.events.on('neighbours', listener);
  }

  /** Who counts the resources stored here (Probe num_resources). */
  setStoredResourcesProvider(count: () => number): void {
    this.storedResourcesProvider = count;
  }

  /** The ring as /api/status shows it. */
  status(): ChordStatus {
    return this.topology.status();
  }

  // ---------------------------------------------------------------- requests this node originates

  /** Sends a request to `dest` (RFC 6940 §6.2.1) and waits for its answer, retransmitting on the reliability timer. */
  request(dest: Destination[], code: number, body: Uint8Array, opts: RequestOptions = {}): Promise<OverlayAnswer> {
    if (this.closed) return Promise.resolve({ ok: false, errorCode: 0, info: 'node stopped', responder: undefined, hops: 0 });
    const tid = this.messages.transactionId();
    const header = this.messages.header(tid, dest);
    const contents: MessageContents = { messageCode: code, body, extensions: [] };
    let payload: Uint8Array;
    try {
      payload = this.messages.signedPayload(header, contents);
    } catch (e) {
      return Promise.resolve({ ok: false, errorCode: ReloadErrorCode.MessageTooLarge, info: e instanceof Error ? e.message : String(e), responder: undefined, hops: 0 });
    }
    const answer = this.pending.start(tid, () => this.router.route(header, payload, undefined), opts);
    const first = dest[0];
    const k = this.options.routeCache && dest.length === 1 && first?.type === 'resource' ? this.ring.tryFromBytes(first.resourceId) : undefined;
    if (k === undefined) return answer;
    return answer.then((a) => {
      this.learnOwner(k, a);
      return a;
    });
  }

  // The peer that answered a request sent to Resource-ID k is responsible for k (RFC 6940 §10.1).
  private learnOwner(k: bigint, a: OverlayAnswer): void {
    if (!a.ok || a.responder === undefined || a.hops === 0) return;
    const r = this.ring.tryFromBytes(a.responder);
    if (r !== undefined && r !== this.id) this.owners.learn(k, r);
  }

  /** A request to the peer responsible for `resourceId`. */
  requestResource(resourceId: Uint8Array, code: number, body: Uint8Array, opts?: RequestOptions): Promise<OverlayAnswer> {
    return this.request([{ type: 'resource', resourceId }], code, body, opts);
  }

  /**
   * Attach (RFC 6940 §6.5.1) in no-ICE mode: asks the node at `dest` for its passive candidate and
   * opens a link to it. Resolves with the Node-ID now connected, or undefined.
   */
  async attach(dest: Destination[], sendUpdate = false): Promise<bigint | undefined> {
    const body = passiveAttachBody(this.deps.random, this.advertised, sendUpdate);
    const ans = await this.request(dest, MessageCode.attach_req, body);
    if (!ans.ok || ans.code !== MessageCode.attach_ans || ans.responder === undefined) return undefined;
    const responder = this.ring.tryFromBytes(ans.responder);
    if (responder === undefined || responder === this.id) return undefined;
    if (this.conns.usable(responder) !== undefined) return responder;
    const decoded = decodeAttachReqAns(ans.body, this.codecOptions());
    if (!decoded.ok) return undefined;
    const ep = connectableEndpoint(decoded.value.candidates);
    if (ep === undefined) return undefined;
    const ok = await this.connectTo(ep, responder);
    if (!ok) return undefined;
    // RFC 6940 §10.7 peer_ready: "a node which has Attached is a peer and can be routed through"
    if (this.stateValue === 'joined' && !this.options.client) {
      this.notify([{ type: 'node', nodeId: this.ring.toBytes(responder) }], MessageCode.update_req, this.topology.peerReadyBody());
    }
    return responder;
  }

  /** Opens a link to a bootstrap endpoint; resolves with the Node-ID of the peer there. */
  connectBootstrap(ep: LinkEndpoint): Promise<bigint | undefined> {
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

  /** Closes the link to a node (no longer needed). */
  disconnect(id: bigint): void {
    const c = this.conns.forNode(id);
    if (c !== undefined) this.deps.links.close(c.linkId);
  }

  /** Sends a request that expects no tracking (Update, Leave): fire and forget with retransmission. */
  notify(dest: Destination[], code: number, body: Uint8Array): void {
    void this.request(dest, code, body, { transmissions: 2 });
  }

  // ------------------------------------------------------------------------ link layer events

  onLinkUp(link: OverlayLinkInfo): void {
    const waiter = this.linkWaiters.get(link.id);
    this.linkWaiters.delete(link.id);
    const ids = this.deps.security.identifyPeer(link.peerCertificate);
    if (ids instanceof Error || ids.length === 0) {
      this.counters.refusedLinks++;
      this.deps.links.close(link.id);
      waiter?.(undefined);
      return;
    }
    const nodeId = this.ring.tryFromBytes(ids[0] as Uint8Array);
    if (nodeId === undefined || nodeId === this.id) {
      this.deps.links.close(link.id);
      waiter?.(undefined);
      return;
    }
    const now = this.deps.clock.now();
    const existing = this.conns.forNode(nodeId);
    if (existing !== undefined && keepsExistingLink(existing, link.outbound, this.id, nodeId, now, SIMULTANEOUS_OPEN_MS)) {
      // the other end keeps the same link and closes this one too: the node stays connected
      this.counters.duplicateLinks++;
      this.deps.links.close(link.id);
      waiter?.(nodeId);
      this.wakeNodeWaiters(nodeId);
      return;
    }
    if (this.conns.size >= this.options.maxConnections && !this.evictOne()) {
      this.counters.refusedLinks++;
      this.deps.links.close(link.id);
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
      this.deps.links.close(old.linkId);
    }
    waiter?.(nodeId);
    this.wakeNodeWaiters(nodeId);
    this.topology.onLinkUp(nodeId);
    this.events.emit('link-up', { linkId: link.id, nodeId, remote: link.remote, outbound: link.outbound });
  }

  private wakeNodeWaiters(nodeId: bigint): void {
    const ws = this.nodeWaiters.get(nodeId);
    if (ws !== undefined) {
      this.nodeWaiters.delete(nodeId);
      for (const w of ws) w(true);
    }
  }

  onLinkMessage(linkId: string, message: Uint8Array): void {
    const c = this.conns.get(linkId);
    if (c === undefined || c.nodeId === undefined || this.closed) return;
    c.lastUsed = this.deps.clock.now();
    this.counters.messagesIn++;
    const pdu = decodeReloadPdu(message, this.codecOptions());
    if (!pdu.ok) {
      this.counters.dropped('undecodable');
      return;
    }
    const h = pdu.value.header;
    if (h.overlay !== this.overlayHash || h.version !== RELOAD_VERSION) {
      this.counters.dropped('foreign overlay or version');
      return;
    }
    if (isMaintenanceCode(peekCode(pdu.value.payload, h))) {
      this.counters.maintenanceBytesIn += message.length;
      this.counters.maintenanceMessagesIn++;
    }
    if (!h.fragment.last || h.fragment.offset !== 0) {
      this.router.routeFragment(h, pdu.value.payload, pdu.value.headerLength, c.nodeId);
      return;
    }
    this.router.route(h, pdu.value.payload, c.nodeId);
  }

  onLinkDown(linkId: string, reason: LinkDownReason): void {
    const waiter = this.linkWaiters.get(linkId);
    if (waiter !== undefined) {
      this.linkWaiters.delete(linkId);
      waiter(undefined);
    }
    const c = this.conns.remove(linkId);
    if (c?.nodeId !== undefined && this.conns.forNode(c.nodeId) === undefined) {
      this.owners.forget(c.nodeId);
      this.topology.onPeerLost(c.nodeId);
    }
    if (c !== undefined) this.events.emit('link-down', { linkId, nodeId: c.nodeId, reason });
  }

  onLinkSuspect(linkId: string): void {
    const c = this.conns.get(linkId);
    if (c !== undefined) c.suspect = true;
  }

  onLinkRecovered(linkId: string): void {
    const c = this.conns.get(linkId);
    if (c !== undefined) c.suspect = false;
  }

  keepalive(linkId: string): Uint8Array | undefined {
    const c = this.conns.get(linkId);
    if (c?.nodeId === undefined || this.closed) return undefined;
    // only links whose loss must be noticed at once (neighbours, our client's peer) are kept alive
    // while idle; an idle finger or cached route shows its failure when next used (ACK overdue →
    // suspect → routed around), which spares the per-link keepalive traffic
    if (!this.topology.needsKeepalive(c.nodeId)) return undefined;
    // an Update peer_ready is RFC 6940 §10.7's connectivity check; its ACK shows the link is alive
    const header = this.messages.header(this.messages.transactionId(), [{ type: 'node', nodeId: this.ring.toBytes(c.nodeId) }]);
    const contents: MessageContents = { messageCode: MessageCode.update_req, body: this.topology.peerReadyBody(), extensions: [] };
    const payload = this.messages.signedPayload(header, contents);
    const bytes = encodeReloadPdu(header, payload, this.codecOptions());
    this.counters.countSent(bytes.length, true);
    return bytes;
  }

  // ------------------------------------------------------------------------------------ helpers

  private connectTo(ep: LinkEndpoint, expected: bigint): Promise<boolean> {
    return new Promise((resolve) => {
      const list = this.nodeWaiters.get(expected) ?? [];
      const timer = this.deps.clock.setTimer(LINK_WAIT_MS, () => {
        const l = this.nodeWaiters.get(expected);
        if (l !== undefined) {
          const i = l.indexOf(done);
          if (i >= 0) l.splice(i, 1);
          if (l.length === 0) this.nodeWaiters.delete(expected);
        }
        resolve(false);
      });
      const done = (ok: boolean): void => {
        timer.cancel();
        resolve(ok);
      };
      list.push(done);
      this.nodeWaiters.set(expected, list);
      const linkId = this.safeConnect(ep);
      if (linkId === undefined) {
        done(false);
        return;
      }
      this.linkWaiters.set(linkId, (id) => {
        if (id !== expected) done(false);
      });
    });
  }

  /** links.connect, which may refuse (link limit, shut down): undefined then. */
  private safeConnect(ep: LinkEndpoint): string | undefined {
    if (this.conns.size >= this.options.maxConnections && !this.evictOne()) return undefined;
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
      if (c.nodeId !== undefined && this.topology.needs(c.nodeId)) continue;
      if (victim === undefined || c.lastUsed < victim.lastUsed) victim = c;
    }
    if (victim === undefined) return false;
    this.conns.remove(victim.linkId);
    this.deps.links.close(victim.linkId);
    if (victim.nodeId !== undefined) this.topology.onPeerLost(victim.nodeId);
    return true;
  }

  private scheduleSweep(): void {
    const every = Math.max(1000, Math.floor(this.options.idleConnectionMs / 2));
    this.sweepTimer = this.deps.clock.setTimer(every, () => {
      const now = this.deps.clock.now();
      for (const c of [...this.conns.all()]) {
        if (c.nodeId !== undefined && this.topology.needs(c.nodeId)) continue;
        if (now - c.lastUsed >= this.options.idleConnectionMs) this.deps.links.close(c.linkId);
      }
      if (!this.closed) this.scheduleSweep();
    });
  }

  codecOptions(): { maxMessageSize: number; nodeIdLength: number } {
    return { maxMessageSize: this.options.maxMessageSize, nodeIdLength: this.options.nodeIdLength };
  }
}

/** RFC 6940 §6.3.2: the overlay field is the lower 32 bits of the SHA-1 hash of the overlay name. */
export function overlayHashOf(name: string): number {
  const d = createHash('sha1').update(name, 'utf8').digest();
  return d.readUInt32BE(16);
}

