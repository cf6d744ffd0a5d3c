/**
 * One RELOAD node (RFC 6940 §6): its life (start, join §10.5, leave §10.9), its API (the requests
 * it originates with end-to-end retransmission §6.2.1, Attach in no-ICE mode §6.5.1.11, handler
 * registration, the StorageHost surface) and the wiring of its parts, each of which takes a small
 * interface rather than the node: the link side and Connection Table (connection-manager.ts, §6.5,
 * §6.6), routing verdicts (overlay-router.ts, §6.1, §6.2) acted on by message-dispatcher.ts,
 * delivery (message-delivery.ts), and the CHORD-RELOAD topology (§10, in ./chord/).
 * Sans-I/O: links, clock, random and security are injected.
 */
import { createHash } from 'node:crypto';
import type { Clock, TimerHandle } from '../../lib/clock.js';
import { EventHub } from '../../lib/event-hub.js';
import type { Random } from '../../lib/random.js';
import { MessageCode, ReloadErrorCode, Reassembler, decodeAttachReqAns } from '../codec/index.js';
import type { Destination, IceCandidate, MessageContents } from '../codec/index.js';
import type { LinkEndpoint } from '../link/link-driver.js';
import { ChordTopology } from './chord/chord-topology.js';
import type { ChordStatus, MergeOutcome } from './chord/chord-topology.js';
import { connectableEndpoint } from './candidates.js';
import { ConnectionManager } from './connection-manager.js';
import { ConnectionTable } from './connection-table.js';
import { MessageDelivery, iceAttachBody, passiveAttachBody } from './message-delivery.js';
import { MessageDispatcher } from './message-dispatcher.js';
import { MessageFactory } from './message-factory.js';
import { OverlayCounters } from './overlay-counters.js';
import { DEFAULT_OVERLAY_OPTIONS } from './overlay-types.js';
import type { IceAttachParams, OverlayAnswer, OverlayEventMap, OverlayIce, OverlayLinks, OverlayOptions, OverlaySecurity, OverlayState, RequestHandler } from './overlay-types.js';
import { OverlayRouter } from './overlay-router.js';
import { OwnerCache } from './owner-cache.js';
import { PendingRequests } from './pending-requests.js';
import { Ring } from './ring.js';

export interface OverlayNodeDeps {
  clock: Clock;
  random: Random;
  links: OverlayLinks;
  security: OverlaySecurity;
  /** ICE-negotiated links (DTLS-UDP-SR); without it every Attach is no-ICE (TLS-TCP-FH-NO-ICE). */
  ice?: OverlayIce;
}

/** Options of a request this node originates. */
export interface RequestOptions {
  timerMs?: number;
  transmissions?: number;
}

export { SIMULTANEOUS_OPEN_MS } from './connection-manager.js';
export { MAX_HELD_FOR_CERTIFICATE } from './message-delivery.js';

/** How a peer starts (issue 15). */
export interface StartOptions {
  /**
   * Never strand: wait at most this long for a bootstrap candidate to answer, then start alone (a
   * one-peer overlay). Undefined: join through `bootstrap` or fail (the behaviour before issue 15).
   */
  aloneAfterMs?: number;
  /**
   * With `aloneAfterMs`: the longest the Join through the candidates that answered may take before the
   * peer starts alone anyway (default {@link DEFAULT_JOIN_DEADLINE_MS}). Peers restarted together (a
   * power cut) each find the others still joining: their Joins through each other only time out, eight
   * attempts each, and a box sat "joining" for over 30 s in the office test.
   */
  joinDeadlineMs?: number;
}

/** Default {@link StartOptions.joinDeadlineMs}. */
export const DEFAULT_JOIN_DEADLINE_MS = 8_000;

/** Bootstrap candidates probed at once when starting with `aloneAfterMs`. */
export const MAX_PROBED_CANDIDATES = 16;

/** An Attach of ours to a node: waiting for its answer, or answered and connecting (§6.5.1.2). */
interface AttachOut {
  state: 'awaiting' | 'connecting';
  /** We answered the node's own Attach instead (our Node-ID is the smaller): its link serves. */
  cancelled: boolean;
}

export class OverlayNode {
  readonly ring: Ring;
  readonly id: bigint;
  readonly idBytes: Uint8Array;
  readonly options: OverlayOptions;
  /** Lower 32 bits of SHA-1 of the overlay name (RFC 6940 §6.3.2). */
  readonly overlayHash: number;
  /** The Connection Table (RFC 6940 §6.5): written by the link side (`connections`), read by routing and the topology. */
  readonly conns = new ConnectionTable();
  readonly counters = new OverlayCounters();
  readonly topology: ChordTopology;
  /** What this node publishes (state, neighbour table, links): subscribe with `events.on()`. */
  readonly events = new EventHub<OverlayEventMap>();
  private readonly pending: PendingRequests;
  /** Who answered our requests to which Resource-IDs (route cache: one hop to a known owner). */
  readonly owners: OwnerCache;
  /** The link side: link events into the Connection Table, keepalives, link waiters, eviction, the idle sweep. */
  readonly connections: ConnectionManager;
  private readonly messages: MessageFactory;
  private readonly dispatcher: MessageDispatcher;
  private readonly delivery: MessageDelivery;
  private advertised: LinkEndpoint | undefined;
  private listening: LinkEndpoint | undefined;
  private stateValue: OverlayState = 'idle';
  private readonly startedAt: number;
  private joinedAtMs: number | undefined;
  private closed = false;
  /** Our Attaches to nodes in flight, for RFC 6940 §6.5.1.2's tie-break (ICE mode). */
  private readonly attachesOut = new Map<bigint, AttachOut>();
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
    const { clock, random, security, links } = deps;
    const { ring, id, idBytes, counters, pending, topology, owners, events, overlayHash } = this;
    const codecOptions = (): { maxMessageSize: number; nodeIdLength: number } => this.codecOptions();
    const messages = new MessageFactory({ random, security, overlayHash, options: this.options, codecOptions });
    this.messages = messages;
    // links in (connections) → dispatcher → router's verdict → delivery here; what this node sends → dispatcher
    const router = new OverlayRouter({
      ring, id, options: this.options, clock, links, conns: this.conns, counters, topology, owners, reassembler, codecOptions,
      isJoined: () => this.stateValue === 'joined',
    });
    this.dispatcher = new MessageDispatcher({ router, counters, overlayHash, codecOptions });
    this.delivery = new MessageDelivery({
      ring, idBytes, clock, random, security, counters, pending, topology, messages, maxMessageSize: this.options.maxMessageSize, codecOptions,
      advertised: () => this.advertised,
      isClosed: () => this.closed,
      outbound: this.dispatcher,
      ...(deps.ice === undefined ? {} : { ice: deps.ice }),
      isConnected: (nodeId) => {
        const n = ring.tryFromBytes(nodeId);
        return n !== undefined && this.conns.usable(n) !== undefined;
      },
      attachGlare: (origin) => this.attachGlare(origin),
      events,
      peerCandidate: (origin, cands) => this.notePeerAddress(this.ring.tryFromBytes(origin), cands),
    });
    this.dispatcher.setUser(this.delivery);
    this.connections = new ConnectionManager({
      ring, id, clock, links, conns: this.conns, security, options: this.options, counters, topology, owners, messages, events, codecOptions,
      inbound: this.dispatcher,
      inFlight: pending,
    });
    links.setUser(this.connections);
  }

  /** When this node last became 'joined' (clock ms), or undefined before that. */
  get joinedAt(): number | undefined {
    return this.joinedAtMs;
  }

  /** Answers this node keeps for retransmitted requests (RFC 6940 §6.2.1). */
  get cachedAnswers(): number {
    return this.delivery.cachedAnswers;
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

  /** Registers the AppAttach handler of one application (RFC 6940 §6.5.2), e.g. 3478 for TURN. */
  handleApplication(application: number, handler: RequestHandler): void {
    this.delivery.handleApplication(application, handler);
  }

  /**
   * Listens (unless a client), then joins through `bootstrap` (RFC 6940 §10.5); with no bootstrap
   * a peer starts a new overlay. Resolves once joined; rejects when no bootstrap peer admits it.
   */
  /**
   * Listens, then joins through `bootstrap`. `beforeJoin` runs once links can be opened and requests
   * sent to directly connected nodes, before the Join's Attaches (a peer behind a NAT gets its TURN
   * relay there, issue 12); its failure does not stop the join.
   */
  async start(listen: LinkEndpoint, bootstrap: readonly LinkEndpoint[], advertise?: LinkEndpoint, beforeJoin?: () => Promise<void>, opts: StartOptions = {}): Promise<'joined' | 'alone'> {
    if (!this.options.client) {
      this.listening = await this.deps.links.listen(listen.host, listen.port);
      this.advertised = advertise === undefined ? this.listening : { host: advertise.host, port: advertise.port || this.listening.port };
    }
    this.connections.start();
    this.setState('joining');
    if (beforeJoin !== undefined) await beforeJoin().catch(() => undefined);
    const aloneAfterMs = opts.aloneAfterMs;
    if (aloneAfterMs === undefined || this.options.client || bootstrap.length === 0) {
      await this.topology.join(bootstrap);
      this.setState('joined');
      return bootstrap.length === 0 ? 'alone' : 'joined';
    }
    // never strand (issue 15): join through the candidates that answer within aloneAfterMs; none, or
    // no admitting peer accepted: a ring of one (the bootstrap manager keeps trying and merges later)
    const reachable = await this.reachableOf(bootstrap, aloneAfterMs);
    let joined = false;
    if (reachable.length > 0 && !this.closed) {
      let timer: TimerHandle | undefined;
      const deadline = new Promise<boolean>((resolve) => {
        timer = this.deps.clock.setTimer(opts.joinDeadlineMs ?? DEFAULT_JOIN_DEADLINE_MS, () => resolve(false));
      });
      try {
        joined = await Promise.race([this.topology.join(reachable).then(() => true, () => false), deadline]);
      } finally {
        timer?.cancel();
      }
      // the Join still under way stops at its next step and changes nothing; the bootstrap manager
      // merges this lone peer into the candidates' ring once one of them is joined
      if (!joined) this.topology.cancelJoin();
    }
    if (!joined) await this.topology.join([]);
    this.setState('joined');
    return joined ? 'joined' : 'alone';
  }

  /** The endpoints (at most {@link MAX_PROBED_CANDIDATES}, probed at once) whose link opened within `ms`, first answer first. */
  private reachableOf(eps: readonly LinkEndpoint[], ms: number): Promise<LinkEndpoint[]> {
    const out: LinkEndpoint[] = [];
    const probed = eps.slice(0, MAX_PROBED_CANDIDATES);
    return new Promise((resolve) => {
      let left = probed.length;
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        timer.cancel();
        resolve(out);
      };
      const timer = this.deps.clock.setTimer(ms, finish);
      for (const ep of probed) {
        void this.connections.connectBootstrap(ep).then((id) => {
          if (id !== undefined && id !== this.id && !done) out.push(ep);
          // the first answer is enough; a short grace lets the others of a LAN answer too
          if (out.length === 1 && !done) this.deps.clock.setTimer(100, finish);
          if (--left === 0) finish();
        });
      }
      if (left === 0) finish();
    });
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
    this.connections.stop();
    this.topology.stop();
    this.pending.failAll('node crashed');
    this.setState('left');
  }

  /** Stops at once: no Leave (a crash, or after leave()). */
  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.connections.stop();
    this.topology.stop();
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
  neighbours(): { readonly successors: readonly bigint[]; readonly predecessors: readonly bigint[] } {
    return this.topology.neighbours;
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
    let answer = this.pending.start(tid, () => this.dispatcher.originate(header, payload), opts);
    if (this.events.hasListeners('answer')) answer = this.observed(answer, tid, code, dest, payload.length);
    const first = dest[0];
    const k = this.options.routeCache && dest.length === 1 && first?.type === 'resource' ? this.ring.tryFromBytes(first.resourceId) : undefined;
    if (k === undefined) return answer;
    return answer.then((a) => {
      this.learnOwner(k, a);
      return a;
    });
  }

  /** Publishes the outcome of a request (`answer` event) when it settles. */
  private observed(answer: Promise<OverlayAnswer>, tid: bigint, code: number, dest: Destination[], bytes: number): Promise<OverlayAnswer> {
    const t0 = this.deps.clock.now();
    const last = dest.at(-1)?.type;
    const target = last === 'node' || last === 'resource' ? last : 'other';
    return answer.then((a) => {
      const base = { tid: tid.toString(16).padStart(16, '0'), code, target, bytes, ok: a.ok, hops: a.hops, ms: this.deps.clock.now() - t0 } as const;
      this.events.emit('answer', a.ok ? base : { ...base, errorCode: a.errorCode, info: a.info });
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
    const ice = this.deps.ice?.prepare(true);
    const body = ice === undefined ? passiveAttachBody(this.deps.random, this.advertised, sendUpdate) : iceAttachBody(ice, this.advertised, sendUpdate);
    // §6.5.1.2: an Attach to a node (not a Resource-ID) is known by that node while it waits for its answer
    const last = dest.at(-1);
    const target = ice !== undefined && last?.type === 'node' ? this.ring.tryFromBytes(last.nodeId) : undefined;
    const glare = target === undefined || this.attachesOut.has(target) ? undefined : { state: 'awaiting' as 'awaiting' | 'connecting', cancelled: false };
    if (glare !== undefined && target !== undefined) this.attachesOut.set(target, glare);
    try {
      return await this.attachWith(dest, body, ice, glare);
    } finally {
      if (glare !== undefined && target !== undefined && this.attachesOut.get(target) === glare) this.attachesOut.delete(target);
    }
  }

  private async attachWith(dest: Destination[], body: Uint8Array, ice: IceAttachParams | undefined, glare: AttachOut | undefined): Promise<bigint | undefined> {
    const ans = await this.request(dest, MessageCode.attach_req, body);
    const release = (): void => {
      if (ice !== undefined) this.deps.ice?.release(ice);
    };
    const last = dest.at(-1);
    const target = last?.type === 'node' ? this.ring.tryFromBytes(last.nodeId) : undefined;
    if (!ans.ok && ans.errorCode === ReloadErrorCode.InProgress && ice !== undefined) {
      // §6.5.1.2: the other node's Attach to us goes on (we answered it): its link is ours too
      release();
      const other = ans.responder === undefined ? target : this.ring.tryFromBytes(ans.responder);
      if (other === undefined || other === this.id) return undefined;
      return (await this.connections.awaitNode(other)) ? other : undefined;
    }
    if (!ans.ok || ans.code !== MessageCode.attach_ans || ans.responder === undefined) {
      release();
      return undefined;
    }
    const responder = this.ring.tryFromBytes(ans.responder);
    if (responder === undefined || responder === this.id) {
      release();
      return undefined;
    }
    if (this.conns.usable(responder) !== undefined) {
      release();
      const known = decodeAttachReqAns(ans.body, this.codecOptions());
      if (known.ok) this.notePeerAddress(responder, known.value.candidates);
      return responder;
    }
    if (glare?.cancelled === true) {
      // we lost the tie-break (§6.5.1.2) and answered the other node's Attach: that link serves both
      release();
      return (await this.connections.awaitNode(responder)) ? responder : undefined;
    }
    const decoded = decodeAttachReqAns(ans.body, this.codecOptions());
    if (!decoded.ok) {
      release();
      return undefined;
    }
    this.notePeerAddress(responder, decoded.value.candidates);
    let ok = false;
    const iceLinks = this.deps.ice;
    if (ice !== undefined && iceLinks !== undefined && !iceLinks.accepts(decoded.value.candidates)) release();
    if (ice !== undefined && iceLinks !== undefined && iceLinks.accepts(decoded.value.candidates)) {
      // RFC 6940 §6.5.1.9: the Attach requester is the controlling agent
      const connecting: AttachOut = { state: 'connecting', cancelled: false };
      const mine = this.attachesOut.get(responder);
      if (mine === undefined || mine === glare) this.attachesOut.set(responder, connecting);
      try {
        ok = await this.connections.connectWith(() => iceLinks.start(ice, decoded.value, true, ans.responder), responder);
      } finally {
        if (this.attachesOut.get(responder) === connecting) this.attachesOut.delete(responder);
      }
      this.counters.iceAttaches++;
      if (!ok) this.counters.iceAttachFailures++;
    }
    if (!ok) {
      // no-ICE (§6.5.1.11), or the fallback where ICE found no path (UDP blocked): the passive TLS candidate
      const ep = connectableEndpoint(decoded.value.candidates);
      if (ep === undefined) return undefined;
      ok = await this.connections.connectTo(ep, responder);
    }
    if (!ok) return undefined;
    // RFC 6940 §10.7 peer_ready: "a node which has Attached is a peer and can be routed through"
    if (this.stateValue === 'joined' && !this.options.client) {
      this.notify([{ type: 'node', nodeId: this.ring.toBytes(responder) }], MessageCode.update_req, this.topology.peerReadyBody());
    }
    return responder;
  }

  /**
   * RFC 6940 §6.5.1.2 for an Attach from `originBytes`: 'in-progress' when our own Attach to it goes on
   * (its answer came and ICE runs, or it still waits and our Node-ID is the larger), else 'answer' —
   * and an Attach of ours still waiting is cancelled (the smaller Node-ID gives way).
   */
  private attachGlare(originBytes: Uint8Array): 'answer' | 'in-progress' {
    const origin = this.ring.tryFromBytes(originBytes);
    if (origin === undefined) return 'answer';
    const mine = this.attachesOut.get(origin);
    if (mine === undefined || mine.cancelled) return 'answer';
    if (mine.state === 'connecting' || this.id > origin) return 'in-progress';
    mine.cancelled = true;
    this.counters.attachesCancelled++;
    return 'answer';
  }

  /** A node's passive TLS candidate (its overlay address), published as 'peer-address' (the peer cache). */
  private notePeerAddress(nodeId: bigint | undefined, candidates: readonly IceCandidate[]): void {
    if (nodeId === undefined || nodeId === this.id) return;
    const ep = connectableEndpoint(candidates);
    if (ep === undefined || ep.port === 0 || ep.host === '0.0.0.0' || ep.host === '::') return;
    this.events.emit('peer-address', { nodeId, endpoint: ep });
  }

  /** ChordHost: opens a link to a bootstrap endpoint; resolves with the Node-ID of the peer there. */
  connectBootstrap(ep: LinkEndpoint): Promise<bigint | undefined> {
    return this.connections.connectBootstrap(ep);
  }

  /**
   * A candidate peer of this overlay (configured, cached, discovered) at `ep`: opens a link to it and
   * runs the partition check through it (RFC 6940 §10.7.4.4). 'unreachable': no link (down, or its
   * certificate is not of this overlay); 'same-ring': it routes us to our own successor; 'merged': it
   * belongs to another ring (or we were alone) and its ring's successor of ours is now our neighbour.
   */
  async mergeThrough(ep: LinkEndpoint): Promise<MergeOutcome | 'unreachable'> {
    if (this.closed || this.stateValue !== 'joined') return 'unreachable';
    const b = await this.connections.connectBootstrap(ep);
    if (b === undefined) return 'unreachable';
    if (b === this.id) return 'same-ring';
    return this.topology.checkThrough(b);
  }

  /** ChordHost: closes the link to a node (no longer needed). */
  disconnect(id: bigint): void {
    this.connections.disconnect(id);
  }

  /** Sends a request that expects no tracking (Update, Leave): fire and forget with retransmission. */
  notify(dest: Destination[], code: number, body: Uint8Array): void {
    void this.request(dest, code, body, { transmissions: 2 });
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

