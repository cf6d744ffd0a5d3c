/**
 * One RELOAD node (RFC 6940 §6): message routing with symmetric recursive routing (§6.2), the
 * Connection Table (§6.5), Attach in no-ICE mode (§6.5.1.11), end-to-end retransmission (§6.2.1),
 * and the CHORD-RELOAD topology (§10, in ./chord/) behind it. Sans-I/O: links, clock, random and
 * security are injected.
 */
import { createHash } from 'node:crypto';
import type { Clock, TimerHandle } from '../../lib/clock.js';
import type { Random } from '../../lib/random.js';
import {
  CodecError,
  DEFAULT_INITIAL_TTL,
  MessageCode,
  Reader,
  RELOAD_VERSION,
  ReloadErrorCode,
  Reassembler,
  UNFRAGMENTED,
  decodeAttachReqAns,
  decodeErrorResponse,
  encodeErrorResponse,
  decodeReloadPdu,
  encodeAttachReqAns,
  encodeMessageContents,
  encodePingAns,
  encodeProbeAns,
  encodeReloadPdu,
  encodeSecurityBlock,
  errorContents,
  errorInfoText,
  isRequestCode,
  readMessageContents,
  readSecurityBlock,
} from '../codec/index.js';
import type { Destination, ForwardingHeader, MessageContents } from '../codec/index.js';
import type { LinkEndpoint } from '../link/link-driver.js';
import { ChordTopology } from './chord/chord-topology.js';
import type { ChordStatus } from './chord/chord-topology.js';
import { connectableEndpoint, passiveCandidate } from './candidates.js';
import { ConnectionTable, keepsExistingLink } from './connection-table.js';
import type { Connection } from './connection-table.js';
import { OverlayCounters, isMaintenanceCode } from './overlay-counters.js';
import { DEFAULT_OVERLAY_OPTIONS } from './overlay-types.js';
import type {
  HandlerReply,
  InboundRequest,
  LinkDownReason,
  OverlayAnswer,
  OverlayEvents,
  OverlayLinkInfo,
  OverlayLinks,
  OverlayLinksUser,
  OverlayOptions,
  OverlaySecurity,
  OverlayState,
  RequestHandler,
  SignerInfo,
} from './overlay-types.js';
import { OwnerCache } from './owner-cache.js';
import { PendingRequests } from './pending-requests.js';
import { ReplyCache } from './reply-cache.js';
import { Ring } from './ring.js';
import { iceCredentials } from './ice-chars.js';

export interface OverlayNodeDeps {
  clock: Clock;
  random: Random;
  links: OverlayLinks;
  security: OverlaySecurity;
  events?: OverlayEvents;
}

/** Options of a request this node originates. */
export interface RequestOptions {
  timerMs?: number;
  transmissions?: number;
}

const LINK_WAIT_MS = 10_000;
/** Two links to one node that came up within this long of each other are a simultaneous open (see keepsExistingLink). */
export const SIMULTANEOUS_OPEN_MS = 5_000;
/** Messages held at once while their signer's certificate is looked up (more are refused at once). */
export const MAX_HELD_FOR_CERTIFICATE = 64;
const ROLE_PASSIVE = new TextEncoder().encode('passive');

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
  private readonly pending: PendingRequests;
  private readonly replies: ReplyCache;
  private readonly reassembler: Reassembler;
  /** Who answered our requests to which Resource-IDs (route cache: one hop to a known owner). */
  readonly owners: OwnerCache;
  private readonly handlers = new Map<number, RequestHandler>();
  private readonly linkWaiters = new Map<string, (id: bigint | undefined) => void>();
  private readonly nodeWaiters = new Map<bigint, Array<(ok: boolean) => void>>();
  private advertised: LinkEndpoint | undefined;
  private listening: LinkEndpoint | undefined;
  private stateValue: OverlayState = 'idle';
  private readonly startedAt: number;
  private joinedAtMs: number | undefined;
  private sweepTimer: TimerHandle | undefined;
  private closed = false;
  private heldForCertificate = 0;

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
    this.replies = new ReplyCache(deps.clock, 15_000, 10_000);
    this.reassembler = new Reassembler(deps.clock, { maxMessageSize: this.options.maxMessageSize, nodeIdLength: this.options.nodeIdLength });
    this.topology = new ChordTopology(this, this.options);
    this.owners = new OwnerCache(this.ring);
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
    this.handlers.set(code, handler);
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
    this.deps.events?.onState?.(s);
  }

  /** ChordHost: the neighbour table changed (storage follows it: replicas, migration). */
  neighboursChanged(successors: readonly bigint[], predecessors: readonly bigint[]): void {
    this.deps.events?.onNeighboursChanged?.(successors, predecessors);
  }

  /** ChordHost: Probe num_resources. */
  storedResources(): number {
    return this.deps.events?.storedResources?.() ?? 0;
  }

  /** Sets the event receivers (storage, usages) after construction. */
  setEvents(events: OverlayEvents): void {
    this.deps.events = { ...this.deps.events, ...events };
  }

  /** The ring as /api/status shows it. */
  status(): ChordStatus {
    return this.topology.status();
  }

  // ---------------------------------------------------------------- requests this node originates

  /** Sends a request to `dest` (RFC 6940 §6.2.1) and waits for its answer, retransmitting on the reliability timer. */
  request(dest: Destination[], code: number, body: Uint8Array, opts: RequestOptions = {}): Promise<OverlayAnswer> {
    if (this.closed) return Promise.resolve({ ok: false, errorCode: 0, info: 'node stopped', responder: undefined, hops: 0 });
    const tid = this.newTransactionId();
    const header = this.newHeader(tid, dest);
    const contents: MessageContents = { messageCode: code, body, extensions: [] };
    let payload: Uint8Array;
    try {
      payload = this.signedPayload(header, contents);
    } catch (e) {
      return Promise.resolve({ ok: false, errorCode: ReloadErrorCode.MessageTooLarge, info: e instanceof Error ? e.message : String(e), responder: undefined, hops: 0 });
    }
    const answer = this.pending.start(tid, () => this.route(header, payload, undefined), opts);
    const first = dest[0];
    const k = this.options.routeCache && dest.length === 1 && first?.type === 'resource' ? this.idOf(first.resourceId) : undefined;
    if (k === undefined) return answer;
    return answer.then((a) => {
      this.learnOwner(k, a);
      return a;
    });
  }

  // The peer that answered a request sent to Resource-ID k is responsible for k (RFC 6940 §10.1).
  private learnOwner(k: bigint, a: OverlayAnswer): void {
    if (!a.ok || a.responder === undefined || a.hops === 0) return;
    const r = this.idOf(a.responder);
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
    const body = encodeAttachReqAns({
      ...iceCredentials(this.deps.random),
      role: ROLE_PASSIVE,
      candidates: this.advertised === undefined ? [] : passiveCandidate(this.advertised),
      sendUpdate,
    });
    const ans = await this.request(dest, MessageCode.attach_req, body);
    if (!ans.ok || ans.code !== MessageCode.attach_ans || ans.responder === undefined) return undefined;
    let responder: bigint;
    try {
      responder = this.ring.fromBytes(ans.responder);
    } catch {
      return undefined;
    }
    if (responder === this.id) return undefined;
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
    let nodeId: bigint;
    try {
      nodeId = this.ring.fromBytes(ids[0] as Uint8Array);
    } catch {
      this.deps.links.close(link.id);
      waiter?.(undefined);
      return;
    }
    if (nodeId === this.id) {
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
      this.routeFragment(h, pdu.value.payload, pdu.value.headerLength, c.nodeId);
      return;
    }
    this.route(h, pdu.value.payload, c.nodeId);
  }

  onLinkDown(linkId: string, _reason: LinkDownReason): void {
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
    const header = this.newHeader(this.newTransactionId(), [{ type: 'node', nodeId: this.ring.toBytes(c.nodeId) }]);
    const contents: MessageContents = { messageCode: MessageCode.update_req, body: this.topology.peerReadyBody(), extensions: [] };
    const payload = this.signedPayload(header, contents);
    const bytes = encodeReloadPdu(header, payload, this.codecOptions());
    this.counters.countSent(bytes.length, true);
    return bytes;
  }

  // ------------------------------------------------------------------------------------ routing

  /**
   * RFC 6940 §6.1: examine the first Destination List entry; deliver, forward, or drop.
   * `from` is the adjacent node the message came from (undefined: originated here).
   */
  private route(h: ForwardingHeader, payload: Uint8Array, from: bigint | undefined): void {
    const dest = h.destinationList.slice();
    for (;;) {
      const first = dest[0];
      if (first === undefined) {
        this.counters.dropped('empty destination list');
        return;
      }
      if (first.type === 'node') {
        const id = this.idOf(first.nodeId);
        if (id === undefined) return this.refuse(h, payload, from, ReloadErrorCode.InvalidMessage, 'Node-ID of the wrong length');
        if (id === this.id || id === this.ring.wildcard) {
          if (dest.length === 1) return this.deliver(h, payload, from);
          dest.shift();
          continue;
        }
        const direct = this.conns.usable(id);
        if (direct !== undefined && this.forward(h, dest, payload, from, direct)) return;
        if (this.options.client && from !== undefined) return this.counters.dropped('client does not route');
        if (this.topology.isResponsible(id) && from !== undefined) {
          return this.refuse(h, payload, from, ReloadErrorCode.NotFound, `${NOT_CONNECTED}${this.ring.hex(id)}`);
        }
        return this.forwardToward(h, dest, payload, from, id);
      }
      if (first.type === 'resource') {
        if (dest.length !== 1) return this.counters.dropped('Resource-ID not last in the destination list');
        const k = this.idOf(first.resourceId);
        if (k === undefined) return this.refuse(h, payload, from, ReloadErrorCode.InvalidMessage, 'Resource-ID of the wrong length for this overlay');
        if (this.topology.isResponsible(k)) return this.deliver(h, payload, from);
        if (this.options.client && from !== undefined) return this.counters.dropped('client does not route');
        if (this.forwardToOwner(h, dest, payload, from, k)) return;
        return this.forwardToward(h, dest, payload, from, k);
      }
      return this.refuse(h, payload, from, ReloadErrorCode.InvalidMessage, 'opaque destinations are not used in this overlay');
    }
  }

  private forwardToward(h: ForwardingHeader, dest: Destination[], payload: Uint8Array, from: bigint | undefined, target: bigint): void {
    // never back to a node the message already passed (its Via List): a stale routing entry then
    // costs a detour instead of a loop
    const exclude = new Set<bigint>();
    if (from !== undefined) exclude.add(from);
    for (const v of h.viaList) {
      if (v.type !== 'node') continue;
      const id = this.idOf(v.nodeId);
      if (id !== undefined) exclude.add(id);
    }
    for (let attempt = 0; attempt < 3; attempt++) {
      const next = this.topology.nextHop(target, exclude);
      if (next === undefined) break;
      const c = this.conns.usable(next);
      if (c !== undefined && this.forward(h, dest, payload, from, c)) return;
      exclude.add(next);
    }
    // a peer that cannot route answers rather than staying silent (RFC 6940 §6.1.2)
    if (from !== undefined) this.refuse(h, payload, from, ReloadErrorCode.NotFound, NO_ROUTE);
    else this.counters.dropped('no route');
  }

  /**
   * A Fetch for a Resource-ID outside our neighbour stretch whose owner answered us before: straight
   * there (one hop), when the link is up and the owner is not on the Via List (a stale entry then
   * costs one hop, not a loop). Reads only: writes keep to the ring's path (RFC 6940 §10.3), which
   * ends at the peer the current ring makes responsible (with Stores shortcut too, the simulator's
   * storage-churn run lost values).
   */
  private forwardToOwner(h: ForwardingHeader, dest: Destination[], payload: Uint8Array, from: bigint | undefined, k: bigint): boolean {
    if (!this.options.routeCache || this.options.client || this.owners.size === 0) return false;
    if (peekCode(payload, h) !== MessageCode.fetch_req) return false;
    if (this.stateValue === 'joined' && this.topology.neighbours.responsibleNeighbour(k) !== undefined) return false;
    const owner = this.owners.ownerOf(k, (id) => {
      const c = this.conns.usable(id);
      return c !== undefined && c.routable && id !== from;
    });
    if (owner === undefined) return false;
    if (h.viaList.some((v) => v.type === 'node' && this.idOf(v.nodeId) === owner)) return false;
    const c = this.conns.usable(owner);
    return c !== undefined && this.forward(h, dest, payload, from, c);
  }

  /** Sends to an adjacent node: TTL decremented, the previous hop appended to the Via List (§6.1.2). */
  private forward(h: ForwardingHeader, dest: Destination[], payload: Uint8Array, from: bigint | undefined, c: Connection): boolean {
    if (from !== undefined && h.ttl <= 0) {
      this.refuse(h, payload, from, ReloadErrorCode.TtlExceeded, 'TTL exceeded');
      return true;
    }
    if (from !== undefined && h.viaList.some((v) => v.type === 'node' && this.idOf(v.nodeId) === this.id)) {
      this.counters.dropped('loop');
      return true;
    }
    const out: ForwardingHeader = {
      ...h,
      ttl: from === undefined ? h.ttl : h.ttl - 1,
      destinationList: dest,
      viaList: from === undefined ? h.viaList : [...h.viaList, { type: 'node', nodeId: this.ring.toBytes(from) }],
    };
    let bytes: Uint8Array;
    try {
      bytes = encodeReloadPdu(out, payload, this.codecOptions());
    } catch {
      this.counters.dropped('message too large to forward');
      return true;
    }
    if (!this.deps.links.send(c.linkId, bytes)) return false;
    c.lastUsed = this.deps.clock.now();
    if (from !== undefined) this.counters.forwarded++;
    this.counters.countSent(bytes.length, isMaintenanceCode(peekCode(payload, h)));
    return true;
  }

  private routeFragment(h: ForwardingHeader, payload: Uint8Array, headerLength: number, from: bigint): void {
    const first = h.destinationList[0];
    const local =
      h.destinationList.length === 1 &&
      first !== undefined &&
      ((first.type === 'node' && this.idOf(first.nodeId) === this.id) || (first.type === 'resource' && this.topology.isResponsible(this.idOf(first.resourceId) ?? -1n)));
    if (!local) {
      // intermediate peers forward fragments as they are (RFC 6940 §6.7)
      this.route(h, payload, from);
      return;
    }
    const r = this.reassembler.accept({ header: h, headerLength, payload }, this.ring.hex(from));
    if (r.kind !== 'complete') return;
    const whole = decodeReloadPdu(r.message, this.codecOptions());
    if (whole.ok) this.route(whole.value.header, whole.value.payload, from);
  }

  // ----------------------------------------------------------------------------------- delivery

  private deliver(h: ForwardingHeader, payload: Uint8Array, from: bigint | undefined, retried = false): void {
    let contents: MessageContents;
    let contentsBytes: Uint8Array;
    let signer: SignerInfo | undefined;
    try {
      const r = new Reader(payload, 'ReloadMessage', this.options.maxMessageSize);
      contents = r.scoped('contents', () => readMessageContents(r));
      contentsBytes = payload.subarray(0, r.offset);
      const block = r.scoped('security_block', () => readSecurityBlock(r));
      r.expectEnd();
      const v = this.deps.security.verify(h, contentsBytes, block);
      if (!v.ok && v.pending !== undefined && !retried && this.heldForCertificate < MAX_HELD_FOR_CERTIFICATE) {
        // the signer's certificate is being fetched (§8): verify again once the lookup settles (it is bounded in time)
        this.heldForCertificate++;
        void v.pending.then(
          () => this.redeliver(h, payload, from),
          () => this.redeliver(h, payload, from),
        );
        return;
      }
      if (!v.ok) {
        if (isRequestCode(contents.messageCode)) this.sendAnswer(h, from, errorContents(ReloadErrorCode.Forbidden, `signature refused: ${v.info}`));
        this.counters.dropped('signature');
        return;
      }
      signer = v.signer;
    } catch (e) {
      if (!(e instanceof CodecError)) throw e;
      this.counters.dropped('undecodable contents');
      return;
    }
    this.counters.delivered++;
    if (isRequestCode(contents.messageCode)) {
      void this.answerRequest(h, contents, from, signer);
      return;
    }
    this.acceptAnswer(h, contents, from, signer);
  }

  private redeliver(h: ForwardingHeader, payload: Uint8Array, from: bigint | undefined): void {
    this.heldForCertificate--;
    if (!this.closed) this.deliver(h, payload, from, true);
  }

  private acceptAnswer(h: ForwardingHeader, contents: MessageContents, from: bigint | undefined, signer: SignerInfo | undefined): void {
    const firstVia = h.viaList[0];
    const responder = firstVia?.type === 'node' ? firstVia.nodeId : from === undefined ? this.idBytes : this.ring.toBytes(from);
    const hops = from === undefined ? 0 : h.viaList.length + 1;
    let answer: OverlayAnswer;
    if (contents.messageCode === MessageCode.error) {
      let code = 0;
      let info = 'unreadable error response';
      try {
        const e = decodeErrorResponse(contents.body);
        code = e.errorCode;
        info = errorInfoText(e);
      } catch {
        // keep the defaults
      }
      answer = { ok: false, errorCode: code, info, responder, hops };
    } else {
      answer = { ok: true, code: contents.messageCode, body: contents.body, responder, hops, signer };
    }
    // a routing failure on the way (no route, node gone, TTL) is worth another try once the tables heal
    if (!answer.ok && isRoutingFailure(answer.errorCode, answer.info) && this.pending.retrySoon(h.transactionId, 500)) return;
    if (!this.pending.finish(h.transactionId, answer)) this.counters.dropped('answer to no pending request');
  }

  private async answerRequest(h: ForwardingHeader, contents: MessageContents, from: bigint | undefined, signer: SignerInfo | undefined): Promise<void> {
    const cached = this.replies.get(h.transactionId);
    if (cached !== undefined) {
      this.sendAnswer(h, from, cached.contents, cached.extraCertificates);
      return;
    }
    const firstVia = h.viaList[0];
    const origin = firstVia?.type === 'node' ? firstVia.nodeId : from === undefined ? this.idBytes : this.ring.toBytes(from);
    const req: InboundRequest = { code: contents.messageCode, body: contents.body, header: h, contents, fromNeighbour: from, origin, signer, hops: from === undefined ? 0 : h.viaList.length + 1 };
    let reply: HandlerReply;
    try {
      reply = await this.dispatch(req);
    } catch (e) {
      reply = { error: ReloadErrorCode.InvalidMessage, info: e instanceof Error ? e.message : String(e) };
    }
    let out: MessageContents;
    if ('error' in reply) {
      out = errorContents(reply.error, reply.info);
      if (reply.errorInfo !== undefined) out = { messageCode: MessageCode.error, body: encodeErrorResponse({ errorCode: reply.error, errorInfo: reply.errorInfo }), extensions: [] };
    } else {
      out = { messageCode: reply.code, body: reply.body, extensions: [] };
    }
    const extra = 'error' in reply ? undefined : reply.extraCertificates;
    this.replies.set(h.transactionId, out, extra);
    this.sendAnswer(h, from, out, extra);
  }

  private dispatch(req: InboundRequest): HandlerReply | Promise<HandlerReply> {
    switch (req.code) {
      case MessageCode.ping_req:
        return { code: MessageCode.ping_ans, body: encodePingAns({ responseId: this.newTransactionId(), time: BigInt(Math.floor(this.deps.clock.now())) }) };
      case MessageCode.probe_req:
        return { code: MessageCode.probe_ans, body: encodeProbeAns({ probeInfo: this.topology.probeInfo(req.body) }) };
      case MessageCode.attach_req:
        return this.answerAttach(req);
      case MessageCode.join_req:
      case MessageCode.leave_req:
      case MessageCode.update_req:
      case MessageCode.route_query_req:
        return this.topology.handle(req);
      default: {
        const h = this.handlers.get(req.code);
        if (h !== undefined) return h(req);
        return { error: ReloadErrorCode.InvalidMessage, info: `message code ${req.code} is not supported here` };
      }
    }
  }

  /** Answers an Attach with our passive candidate (RFC 6940 §6.5.1.11, §6.6.5); the requester connects. */
  private answerAttach(req: InboundRequest): HandlerReply {
    const d = decodeAttachReqAns(req.body, this.codecOptions());
    if (!d.ok) return { error: ReloadErrorCode.InvalidMessage, info: d.error.message };
    if (this.advertised === undefined) return { error: ReloadErrorCode.Forbidden, info: 'a client accepts no Attach' };
    if (d.value.sendUpdate && req.origin !== undefined) {
      const origin = this.idOf(req.origin);
      if (origin !== undefined) this.topology.sendUpdateWhenConnected(origin);
    }
    const body = encodeAttachReqAns({
      ...iceCredentials(this.deps.random),
      role: ROLE_PASSIVE,
      candidates: passiveCandidate(this.advertised),
      sendUpdate: false,
    });
    return { code: MessageCode.attach_ans, body };
  }

  /** Sends an answer back along the reversed Via List (RFC 6940 §6.2.2). */
  private sendAnswer(req: ForwardingHeader, from: bigint | undefined, contents: MessageContents, extraCertificates?: readonly Uint8Array[]): void {
    const header = this.newHeader(req.transactionId, []);
    if (from === undefined) {
      // answered locally: hand it straight to the waiting request
      this.acceptAnswer(header, contents, undefined, undefined);
      return;
    }
    header.destinationList = [{ type: 'node', nodeId: this.ring.toBytes(from) }, ...req.viaList.slice().reverse()];
    let payload: Uint8Array;
    try {
      payload = this.signedPayload(header, contents, extraCertificates);
    } catch {
      payload = this.signedPayload(header, errorContents(ReloadErrorCode.ResponseTooLarge, 'answer too large'));
    }
    this.route(header, payload, undefined);
  }

  private refuse(h: ForwardingHeader, payload: Uint8Array, from: bigint | undefined, code: number, info: string): void {
    this.counters.dropped(info);
    if (from === undefined || !isRequestCode(peekCode(payload, h))) return;
    this.sendAnswer(h, from, errorContents(code, info));
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

  private newHeader(tid: bigint, dest: Destination[]): ForwardingHeader {
    return {
      overlay: this.overlayHash,
      configurationSequence: 0,
      version: RELOAD_VERSION,
      ttl: this.options.initialTtl ?? DEFAULT_INITIAL_TTL,
      fragment: UNFRAGMENTED,
      length: 0,
      transactionId: tid,
      maxResponseLength: 0,
      viaList: [],
      destinationList: dest,
      options: [],
    };
  }

  private signedPayload(header: ForwardingHeader, contents: MessageContents, extraCertificates?: readonly Uint8Array[]): Uint8Array {
    const c = encodeMessageContents(contents, this.codecOptions());
    const block = encodeSecurityBlock(this.deps.security.sign(header, c, extraCertificates), this.codecOptions());
    const out = new Uint8Array(c.length + block.length);
    out.set(c, 0);
    out.set(block, c.length);
    return out;
  }

  private newTransactionId(): bigint {
    return (BigInt(this.deps.random.u32()) << 32n) | BigInt(this.deps.random.u32());
  }

  private idOf(bytes: Uint8Array): bigint | undefined {
    return bytes.length === this.ring.bytes ? this.ring.fromBytes(bytes) : undefined;
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

/** Errors that intermediate peers give when they cannot route (see route() and forwardToward()). */
function isRoutingFailure(code: number, info: string): boolean {
  return (code === ReloadErrorCode.NotFound && (info === NO_ROUTE || info.startsWith(NOT_CONNECTED))) || code === ReloadErrorCode.TtlExceeded;
}

const NO_ROUTE = 'no route toward the destination';
const NOT_CONNECTED = 'not connected here: node ';

/** The message code of an unfragmented payload (first two bytes of MessageContents), or 0. */
function peekCode(payload: Uint8Array, h: ForwardingHeader): number {
  if (h.fragment.offset !== 0 || payload.length < 2) return 0;
  return ((payload[0] ?? 0) << 8) | (payload[1] ?? 0);
}

