/**
 * CHORD-RELOAD (RFC 6940 §10): responsibility, next-hop selection, Join through the admitting
 * peer, Update processing with reactive recovery, periodic stabilisation, finger refresh,
 * Leave, RouteQuery, Probe, and partition checks through the bootstrap peers.
 */
import type { Clock, TimerHandle } from '../../../lib/clock.js';
import type { Random } from '../../../lib/random.js';
import {
  MessageCode,
  ReloadErrorCode,
  decodeChordLeaveData,
  decodeChordUpdate,
  decodeJoinReq,
  decodeLeaveReq,
  decodeProbeReq,
  decodeRouteQueryReq,
  encodeChordLeaveData,
  encodeChordRouteQueryAns,
  encodeChordUpdate,
  encodeJoinAns,
  encodeJoinReq,
  encodeLeaveReq,
  encodePingReq,
  encodeRouteQueryReq,
  ProbeInformationType,
} from '../../codec/index.js';
import type { ChordUpdate, Destination, ProbeInformation } from '../../codec/index.js';
import type { LinkEndpoint } from '../../link/link-driver.js';
import type { ConnectionTable } from '../connection-table.js';
import type { HandlerReply, InboundRequest, OverlayAnswer, OverlayOptions, OverlayState } from '../overlay-types.js';
import type { Ring } from '../ring.js';
import { FingerTable } from './finger-table.js';
import { NeighborTable } from './neighbor-table.js';

/** What the topology needs from its node. */
export interface ChordHost {
  readonly ring: Ring;
  readonly id: bigint;
  readonly clock: Clock;
  readonly random: Random;
  readonly conns: ConnectionTable;
  readonly state: OverlayState;
  uptime(): number;
  request(dest: Destination[], code: number, body: Uint8Array, opts?: { timerMs?: number; transmissions?: number }): Promise<OverlayAnswer>;
  notify(dest: Destination[], code: number, body: Uint8Array): void;
  attach(dest: Destination[], sendUpdate?: boolean): Promise<bigint | undefined>;
  connectBootstrap(ep: LinkEndpoint): Promise<bigint | undefined>;
  disconnect(id: bigint): void;
  codecOptions(): { maxMessageSize: number; nodeIdLength: number };
  neighboursChanged?(successors: readonly bigint[], predecessors: readonly bigint[]): void;
  /** Number of resources stored here (Probe num_resources). */
  storedResources?(): number;
}

/** The ring as the status page shows it (hex Node-IDs). */
export interface ChordStatus {
  nodeId: string;
  successors: string[];
  predecessors: string[];
  fingers: string[];
  connections: number;
}

const EMPTY = new Uint8Array(0);

export class ChordTopology {
  readonly neighbours: NeighborTable;
  readonly fingers: FingerTable;
  private readonly attaching = new Map<bigint, Promise<bigint | undefined>>();
  private readonly updateOnConnect = new Set<bigint>();
  private readonly timers: TimerHandle[] = [];
  private bootstrap: readonly LinkEndpoint[] = [];
  private clientAp: bigint | undefined;
  private updatePending = false;
  private stopped = false;
  private apUpdate: ((u: ChordUpdate) => void) | undefined;
  private rejoining = false;
  private heardWhileJoining: Uint8Array[] = [];

  constructor(
    private readonly host: ChordHost,
    private readonly options: OverlayOptions,
  ) {
    this.neighbours = new NeighborTable(host.ring, host.id, options.neighbourCount);
    this.fingers = new FingerTable(host.ring, host.id, options.fingersPerRange);
  }

  // -------------------------------------------------------------------------------- join/leave

  /** RFC 6940 §10.5. With no bootstrap, a peer is the first of a new overlay. */
  async join(bootstrap: readonly LinkEndpoint[]): Promise<void> {
    this.bootstrap = bootstrap;
    if (bootstrap.length === 0) {
      if (this.options.client) throw new Error('a client needs a bootstrap peer');
      this.startTimers();
      return;
    }
    const bid = await this.connectAnyBootstrap();
    if (bid === undefined) throw new Error(`no bootstrap peer answered (${bootstrap.map((b) => `${b.host}:${b.port}`).join(', ')})`);
    this.markRoutable(bid);
    if (this.options.client) {
      // RFC 6940 §4.2: a client attaches to the peer responsible for its own Node-ID
      const ap = (await this.host.attach([{ type: 'resource', resourceId: this.host.ring.toBytes(this.host.id) }])) ?? bid;
      this.clientAp = ap;
      this.markRoutable(ap);
      this.startTimers();
      return;
    }
    await this.joinThrough();
    this.startTimers();
  }

  private async joinThrough(): Promise<void> {
    const ring = this.host.ring;
    for (let attempt = 0; attempt < 8; attempt++) {
      if (attempt > 0) await this.pause(Math.floor(this.host.random.float() * 500 * attempt));
      if (this.stopped) break;
      const gotUpdate = new Promise<ChordUpdate | undefined>((resolve) => {
        const t = this.host.clock.setTimer(this.options.reliabilityTimerMs, () => resolve(undefined));
        this.apUpdate = (u) => {
          t.cancel();
          resolve(u);
        };
      });
      // step 2: Attach to the Admitting Peer, responsible for n+1, with send_update
      const ap = await this.host.attach([{ type: 'resource', resourceId: ring.toBytes(ring.add(this.host.id, 1n)) }], true);
      if (ap === undefined) {
        this.apUpdate = undefined;
        continue;
      }
      this.markRoutable(ap);
      const u = await gotUpdate;
      this.apUpdate = undefined;
      // step 3-4: connect to the neighbours AP knows (source-routed through AP, §10.6) and to fingers
      const cands = u === undefined || u.type === 'peer_ready' ? [] : [...u.predecessors, ...u.successors];
      const ids = cands.map((b) => this.idOf(b)).filter((x): x is bigint => x !== undefined && x !== this.host.id);
      await Promise.all(ids.filter((x) => x !== ap).map((x) => this.attachTo(x, ap)));
      // step 5: Join
      const ans = await this.host.request([{ type: 'node', nodeId: ring.toBytes(ap) }], MessageCode.join_req, encodeJoinReq({ joiningPeerId: ring.toBytes(this.host.id), overlaySpecificData: EMPTY }, this.host.codecOptions()));
      if (!ans.ok) continue;
      const connected = [ap, ...ids].filter((x) => this.host.conns.usable(x) !== undefined);
      this.neighbours.add(connected);
      for (const x of connected) this.fingers.offer(x);
      this.neighboursChangedNow();
      // step 9: Updates to every neighbour; fingers in the background
      this.sendNeighbourUpdates();
      const heard = this.heardWhileJoining;
      this.heardWhileJoining = [];
      this.host.clock.setTimer(0, () => this.learn(heard, undefined));
      void this.fillFingers(this.options.initialFingers);
      return;
    }
    throw new Error('no admitting peer accepted the Join');
  }

  /** RFC 6940 §10.9: Leave to every neighbour, carrying the neighbour sets. */
  async leave(): Promise<void> {
    const ring = this.host.ring;
    const opts = this.host.codecOptions();
    const sends: Promise<OverlayAnswer>[] = [];
    for (const s of this.neighbours.successors) {
      const data = encodeChordLeaveData({ type: 'from_pred', predecessors: this.neighbours.predecessors.map((x) => ring.toBytes(x)) }, opts);
      sends.push(this.host.request([{ type: 'node', nodeId: ring.toBytes(s) }], MessageCode.leave_req, encodeLeaveReq({ leavingPeerId: ring.toBytes(this.host.id), overlaySpecificData: data }, opts), { transmissions: 1, timerMs: 2000 }));
    }
    for (const p of this.neighbours.predecessors) {
      if (this.neighbours.successors.includes(p)) continue;
      const data = encodeChordLeaveData({ type: 'from_succ', successors: this.neighbours.successors.map((x) => ring.toBytes(x)) }, opts);
      sends.push(this.host.request([{ type: 'node', nodeId: ring.toBytes(p) }], MessageCode.leave_req, encodeLeaveReq({ leavingPeerId: ring.toBytes(this.host.id), overlaySpecificData: data }, opts), { transmissions: 1, timerMs: 2000 }));
    }
    await Promise.all(sends);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) t.cancel();
    this.timers.length = 0;
  }

  // ------------------------------------------------------------------------------------ routing

  /** RFC 6940 §10.1: predecessor < k ≤ self. A client and a peer still joining are responsible for nothing. */
  isResponsible(k: bigint): boolean {
    if (this.options.client) return false;
    if (this.host.state !== 'joined' && this.host.state !== 'leaving') return false;
    return this.neighbours.isResponsible(k, (id) => this.host.conns.usable(id) !== undefined);
  }

  /**
   * RFC 6940 §10.3: the routable connected peer with the largest Node-ID in (self, k); if none, the
   * smallest Node-ID after k. Clients send everything to their responsible peer.
   */
  nextHop(k: bigint, exclude: ReadonlySet<bigint>): bigint | undefined {
    if (this.options.client && this.clientAp !== undefined && !exclude.has(this.clientAp) && this.host.conns.usable(this.clientAp) !== undefined) return this.clientAp;
    const ring = this.host.ring;
    const self = this.host.id;
    // k inside our gap-free neighbour stretch: its owner is known, skip the hop to k's predecessor
    if (this.host.state === 'joined' && !this.options.client) {
      const owner = this.neighbours.responsibleNeighbour(k);
      if (owner !== undefined && !exclude.has(owner)) {
        const c = this.host.conns.usable(owner);
        if (c !== undefined && c.routable && !c.suspect) return owner;
      }
    }
    const span = ring.distance(self, k);
    let best: bigint | undefined;
    let bestD = -1n;
    let after: bigint | undefined;
    let afterD = ring.size;
    for (const c of this.host.conns.all()) {
      const x = c.nodeId;
      if (x === undefined || !c.routable || c.suspect || exclude.has(x)) continue;
      // without the route cache only the Routing Table proper (neighbours ∪ fingers, §10.3) is used
      if (!this.options.routeCache && this.host.state === 'joined' && !this.neighbours.has(x) && !this.fingers.has(x)) continue;
      const d = ring.distance(self, x);
      if (d > 0n && d < span) {
        if (d > bestD) {
          bestD = d;
          best = x;
        }
      } else {
        const a = ring.distance(k, x);
        if (a < afterD) {
          afterD = a;
          after = x;
        }
      }
    }
    if (best !== undefined) return best;
    // the last hop goes past k only to a peer we hold as a successor (it should be responsible);
    // anything else would walk the ring backwards: better an error and a retransmission
    if (after !== undefined && (this.host.state !== 'joined' || this.neighbours.successors.includes(after) || after === k)) return after;
    return undefined;
  }

  /** Is the link to `id` part of the routing state (neighbour, finger, our client AP, a client we serve)? */
  needs(id: bigint): boolean {
    return this.neighbours.has(id) || this.fingers.has(id) || id === this.clientAp || (this.host.state === 'joined' && this.isResponsible(id));
  }

  /** Idle links kept alive: neighbours, a client's responsible peer, the clients we serve. */
  needsKeepalive(id: bigint): boolean {
    return this.neighbours.has(id) || id === this.clientAp || (this.host.state === 'joined' && this.isResponsible(id));
  }

  // ------------------------------------------------------------------------------ link changes

  onLinkUp(id: bigint): void {
    if (this.updateOnConnect.delete(id)) this.sendUpdate(id, 'full');
  }

  /** RFC 6940 §10.7.1 / §10.7.2: a neighbour or finger is gone. */
  onPeerLost(id: bigint): void {
    if (this.stopped) return;
    const wasNeighbour = this.neighbours.remove(id);
    this.fingers.remove(id);
    if (id === this.clientAp) {
      this.clientAp = undefined;
      void this.rejoin();
      return;
    }
    if (!wasNeighbour) return;
    // refill from the other peers we are connected to
    this.neighbours.add(this.routableConnected());
    this.neighboursChangedNow();
    if (this.options.reactive) this.scheduleNeighbourUpdates();
    if (this.neighbours.successors.length === 0 && this.host.state === 'joined') void this.rejoin();
  }

  /** The node answered our Attach with send_update: send it a full Update once its link is up. */
  sendUpdateWhenConnected(id: bigint): void {
    if (this.host.conns.usable(id) !== undefined) this.sendUpdate(id, 'full');
    else this.updateOnConnect.add(id);
  }

  // ---------------------------------------------------------------------------------- requests

  handle(req: InboundRequest): HandlerReply {
    switch (req.code) {
      case MessageCode.join_req:
        return this.onJoin(req);
      case MessageCode.leave_req:
        return this.onLeave(req);
      case MessageCode.update_req:
        return this.onUpdate(req);
      case MessageCode.route_query_req:
        return this.onRouteQuery(req);
      default:
        return { error: ReloadErrorCode.InvalidMessage, info: 'not a topology method' };
    }
  }

  /** RFC 6940 §10.5 steps 5–8, at the admitting peer. */
  private onJoin(req: InboundRequest): HandlerReply {
    if (this.options.client) return { error: ReloadErrorCode.Forbidden, info: 'a client admits no peer' };
    const d = decodeJoinReq(req.body, this.host.codecOptions());
    if (!d.ok) return { error: ReloadErrorCode.InvalidMessage, info: d.error.message };
    const jn = this.idOf(d.value.joiningPeerId);
    if (jn === undefined || jn === this.host.id) return { error: ReloadErrorCode.InvalidMessage, info: 'bad joining_peer_id' };
    const origin = req.origin === undefined ? undefined : this.idOf(req.origin);
    if (origin !== jn) return { error: ReloadErrorCode.Forbidden, info: 'a node may only join as itself' };
    if (this.host.conns.usable(jn) === undefined) return { error: ReloadErrorCode.Forbidden, info: 'Attach before Join (RFC 6940 §10.5)' };
    if (!this.isResponsible(jn)) return { error: ReloadErrorCode.NotFound, info: 'not the admitting peer for this Node-ID' };
    this.markRoutable(jn);
    this.neighbours.add([jn]);
    this.fingers.offer(jn);
    this.neighboursChangedNow();
    // step 7-8: the new neighbour set to every neighbour, JN included (after the answer leaves)
    this.scheduleNeighbourUpdates();
    return { code: MessageCode.join_ans, body: encodeJoinAns({ overlaySpecificData: EMPTY }, this.host.codecOptions()) };
  }

  private onLeave(req: InboundRequest): HandlerReply {
    const d = decodeLeaveReq(req.body, this.host.codecOptions());
    if (!d.ok) return { error: ReloadErrorCode.InvalidMessage, info: d.error.message };
    const leaving = this.idOf(d.value.leavingPeerId);
    const origin = req.origin === undefined ? undefined : this.idOf(req.origin);
    if (leaving === undefined || leaving !== origin) return { error: ReloadErrorCode.Forbidden, info: 'a node may only announce its own Leave' };
    const data = decodeChordLeaveData(d.value.overlaySpecificData, this.host.codecOptions());
    const ids = data.ok ? (data.value.type === 'from_succ' ? data.value.successors : data.value.predecessors) : [];
    // RFC 6940 §10.9: as if the peer had failed, then learn from the sets it sent
    this.host.disconnect(leaving);
    this.onPeerLost(leaving);
    this.learn(ids, undefined);
    return { code: MessageCode.leave_ans, body: EMPTY };
  }

  /** RFC 6940 §10.7.3. */
  private onUpdate(req: InboundRequest): HandlerReply {
    const d = decodeChordUpdate(req.body, this.host.codecOptions());
    if (!d.ok) return { error: ReloadErrorCode.InvalidMessage, info: d.error.message };
    const u = d.value;
    const sender = req.origin === undefined ? undefined : this.idOf(req.origin);
    if (sender !== undefined && this.host.conns.usable(sender) !== undefined) {
      this.markRoutable(sender);
      this.fingers.offer(sender);
      if (this.host.state === 'joined' && this.neighbours.wouldAccept(sender)) {
        this.neighbours.add([sender]);
        this.neighboursChangedNow();
        if (this.options.reactive) this.scheduleNeighbourUpdates();
      }
    }
    if (u.type !== 'peer_ready' && this.host.state !== 'joined') {
      // heard while joining: remembered, learnt once joined (bounded)
      for (const b of [...u.predecessors, ...u.successors]) if (this.heardWhileJoining.length < 256) this.heardWhileJoining.push(b);
    }
    if (this.apUpdate !== undefined && u.type !== 'peer_ready') this.apUpdate(u);
    else if (u.type !== 'peer_ready' && this.host.state === 'joined') {
      this.learn([...u.predecessors, ...u.successors], sender);
      if (u.type === 'full') for (const f of u.fingers) this.offerFingerIfConnected(f);
    }
    return { code: MessageCode.update_ans, body: EMPTY };
  }

  private onRouteQuery(req: InboundRequest): HandlerReply {
    const d = decodeRouteQueryReq(req.body, this.host.codecOptions());
    if (!d.ok) return { error: ReloadErrorCode.InvalidMessage, info: d.error.message };
    const dest = d.value.destination;
    const k = dest.type === 'node' ? this.idOf(dest.nodeId) : dest.type === 'resource' ? this.idOf(dest.resourceId) : undefined;
    if (k === undefined) return { error: ReloadErrorCode.InvalidMessage, info: 'RouteQuery destination is not an ID of this overlay' };
    const next = this.isResponsible(k) ? this.host.id : (this.nextHop(k, new Set()) ?? this.host.id);
    const origin = req.origin === undefined ? undefined : this.idOf(req.origin);
    if (d.value.sendUpdate && origin !== undefined) this.sendUpdateWhenConnected(origin);
    return { code: MessageCode.route_query_ans, body: encodeChordRouteQueryAns({ nextPeer: this.host.ring.toBytes(next) }, this.host.codecOptions()) };
  }

  /** RFC 6940 §6.4.2.5 ProbeAns information. */
  probeInfo(body: Uint8Array): ProbeInformation[] {
    const d = decodeProbeReq(body, this.host.codecOptions());
    if (!d.ok) return [];
    const out: ProbeInformation[] = [];
    for (const t of d.value.requestedInfo) {
      if (t === ProbeInformationType.responsible_set) {
        const p = this.neighbours.predecessors[0];
        const share = p === undefined ? this.host.ring.size : this.host.ring.distance(p, this.host.id);
        out.push({ type: 'responsible_set', responsiblePpb: Number((share * 1_000_000_000n) / this.host.ring.size) });
      } else if (t === ProbeInformationType.num_resources) {
        out.push({ type: 'num_resources', numResources: this.host.storedResources?.() ?? 0 });
      } else if (t === ProbeInformationType.uptime) {
        out.push({ type: 'uptime', uptime: this.host.uptime() });
      }
    }
    return out;
  }

  peerReadyBody(): Uint8Array {
    return encodeChordUpdate({ uptime: this.host.uptime(), type: 'peer_ready' }, this.host.codecOptions());
  }

  /** RouteQuery (RFC 6940 §6.4.2.4) to `via` for `k`: the next peer it would use. */
  async routeQuery(via: bigint, k: bigint): Promise<bigint | undefined> {
    const ring = this.host.ring;
    const body = encodeRouteQueryReq({ sendUpdate: false, destination: { type: 'resource', resourceId: ring.toBytes(k) }, overlaySpecificData: EMPTY }, this.host.codecOptions());
    const ans = await this.host.request([{ type: 'node', nodeId: ring.toBytes(via) }], MessageCode.route_query_req, body);
    if (!ans.ok || ans.body.length !== ring.bytes) return undefined;
    return ring.fromBytes(ans.body);
  }

  status(): ChordStatus {
    const hex = (x: bigint): string => this.host.ring.hex(x);
    return {
      nodeId: hex(this.host.id),
      successors: this.neighbours.successors.map(hex),
      predecessors: this.neighbours.predecessors.map(hex),
      fingers: this.fingers.all().map(hex),
      connections: this.host.conns.size,
    };
  }

  // ------------------------------------------------------------------------------ maintenance

  /** Neighbour candidates from an Update or Leave: Attach to the ones that belong in our table (§10.7.3). */
  private learn(ids: readonly Uint8Array[], via: bigint | undefined): void {
    let changed = false;
    for (const b of ids) {
      const x = this.idOf(b);
      if (x === undefined || x === this.host.id || !this.neighbours.wouldAccept(x)) continue;
      if (this.host.conns.usable(x) !== undefined) {
        this.markRoutable(x);
        changed = this.neighbours.add([x]) || changed;
        continue;
      }
      void this.attachTo(x, via).then((ok) => {
        if (ok !== undefined && !this.stopped && this.neighbours.add([ok])) {
          this.fingers.offer(ok);
          this.neighboursChangedNow();
          if (this.options.reactive) this.scheduleNeighbourUpdates();
        }
      });
    }
    if (changed) {
      this.neighboursChangedNow();
      if (this.options.reactive) this.scheduleNeighbourUpdates();
    }
  }

  /** Attach to node `x`, source-routed through `via` when given (§10.6); deduplicated per node. */
  private attachTo(x: bigint, via: bigint | undefined): Promise<bigint | undefined> {
    if (this.host.conns.usable(x) !== undefined) {
      this.markRoutable(x);
      return Promise.resolve(x);
    }
    const inFlight = this.attaching.get(x);
    if (inFlight !== undefined) return inFlight;
    const ring = this.host.ring;
    const dest: Destination[] = via !== undefined && via !== x && this.host.conns.usable(via) !== undefined ? [{ type: 'node', nodeId: ring.toBytes(via) }, { type: 'node', nodeId: ring.toBytes(x) }] : [{ type: 'node', nodeId: ring.toBytes(x) }];
    const p = this.host.attach(dest).then((got) => {
      this.attaching.delete(x);
      if (got === x) this.markRoutable(x);
      return got === x ? x : undefined;
    });
    this.attaching.set(x, p);
    return p;
  }

  private offerFingerIfConnected(b: Uint8Array): void {
    const x = this.idOf(b);
    if (x !== undefined && x !== this.host.id && this.host.conns.usable(x) !== undefined) this.fingers.offer(x);
  }

  /** Attach to a random point of each open finger range up to `n` (RFC 6940 §10.5, §10.7.4.2). */
  private async fillFingers(n: number): Promise<void> {
    const ring = this.host.ring;
    // one Attach per missing peer of each open range, each to a random point of the range
    const targets: bigint[] = [];
    for (const i of this.fingers.openRanges(this.fingerCount(n))) {
      // §10.5: the i'th entry is an Attach to n + 2^(128-i); further peers of a range at random points of it
      for (let j = this.fingers.countIn(i); j < this.fingers.perRange; j++) {
        targets.push(j === 0 ? this.fingers.rangeStart(i) : this.fingers.randomTarget(i, (k) => this.host.random.bytes(k)));
      }
    }
    const seen = new Set<bigint>();
    for (let i = 0; i < targets.length; i += 4) {
      const batch = targets.slice(i, i + 4);
      const got = await Promise.all(batch.map((t) => (this.isResponsible(t) ? Promise.resolve(undefined) : this.host.attach([{ type: 'resource', resourceId: ring.toBytes(t) }]))));
      for (const x of got) {
        if (x === undefined || seen.has(x)) continue;
        seen.add(x);
        this.markRoutable(x);
        this.fingers.offer(x);
      }
      if (this.stopped) return;
    }
  }

  /** Finger ranges to keep: at least `base`, and enough to reach the last successor (§10.7.4.3). */
  private fingerCount(base: number): number {
    const last = this.neighbours.successors[this.neighbours.successors.length - 1];
    const reach = last === undefined ? 0 : this.fingers.indexOf(last);
    return Math.min(this.fingers.maxIndex, Math.max(base, reach));
  }

  /** Periodic work: Updates to neighbours (§10.7.4.1), one finger search (§10.7.4.2), partition check (§10.7.4.4). */
  private startTimers(): void {
    const jitter = (ms: number): number => Math.floor(ms * (0.5 + this.host.random.float()));
    const every = (ms: number, fn: () => void): void => {
      const tick = (): void => {
        if (this.stopped) return;
        fn();
        this.timers.push(this.host.clock.setTimer(jitter(ms), tick));
        if (this.timers.length > 16) this.timers.splice(0, this.timers.length - 16);
      };
      this.timers.push(this.host.clock.setTimer(jitter(ms), tick));
    };
    if (this.options.client) {
      every(this.options.updateIntervalMs, () => {
        if (this.clientAp === undefined) void this.rejoin();
      });
      return;
    }
    every(this.options.updateIntervalMs, () => this.sendNeighbourUpdates());
    every(this.options.fingerRefreshIntervalMs, () => void this.refreshOneFinger());
    every(this.options.partitionCheckIntervalMs, () => void this.checkPartition());
  }

  private async refreshOneFinger(): Promise<void> {
    if (this.host.state !== 'joined') return;
    const open = this.fingers.openRanges(this.fingerCount(this.options.initialFingers));
    let pick: number | undefined;
    for (const i of open) {
      if (this.host.random.float() < 0.5) {
        pick = i;
        break;
      }
    }
    pick ??= open[open.length - 1];
    if (pick === undefined) return;
    const t = this.fingers.randomTarget(pick, (k) => this.host.random.bytes(k));
    if (this.isResponsible(t)) return;
    const x = await this.host.attach([{ type: 'resource', resourceId: this.host.ring.toBytes(t) }]);
    if (x !== undefined) {
      this.markRoutable(x);
      this.fingers.offer(x);
    }
  }

  /** RFC 6940 §10.7.4.4: ask the overlay, through a bootstrap peer, who follows us; attach to a stranger. */
  private async checkPartition(): Promise<void> {
    if (this.host.state !== 'joined' || this.bootstrap.length === 0) return;
    const b = await this.connectAnyBootstrap();
    if (b === undefined || b === this.host.id) return;
    const ring = this.host.ring;
    const ans = await this.host.request([{ type: 'node', nodeId: ring.toBytes(b) }, { type: 'resource', resourceId: ring.toBytes(ring.add(this.host.id, 1n)) }], MessageCode.ping_req, encodePingReq({ padding: EMPTY }));
    if (!ans.ok || ans.responder === undefined) return;
    const s = this.idOf(ans.responder);
    if (s === undefined || s === this.host.id || s === this.neighbours.successors[0]) return;
    const got = await this.attachTo(s, b);
    if (got !== undefined) {
      this.learn([ring.toBytes(got)], b);
      this.sendUpdate(got, 'neighbors');
    }
  }

  /** RFC 6940 §10.7.1: lost every successor, or our client AP: join again. */
  private async rejoin(): Promise<void> {
    if (this.rejoining || this.stopped) return;
    this.rejoining = true;
    try {
      if (this.options.client) {
        const bid = this.routableConnected()[0] ?? (await this.connectAnyBootstrap());
        if (bid === undefined) return;
        this.clientAp = (await this.host.attach([{ type: 'resource', resourceId: this.host.ring.toBytes(this.host.id) }])) ?? bid;
        this.markRoutable(this.clientAp);
        return;
      }
      const via = this.routableConnected()[0] ?? (await this.connectAnyBootstrap());
      if (via === undefined) return;
      const ring = this.host.ring;
      const ans = await this.host.request([{ type: 'resource', resourceId: ring.toBytes(ring.add(this.host.id, 1n)) }], MessageCode.ping_req, encodePingReq({ padding: EMPTY }));
      const s = ans.responder === undefined ? undefined : this.idOf(ans.responder);
      if (s !== undefined && s !== this.host.id) {
        const got = await this.attachTo(s, undefined);
        if (got !== undefined) {
          this.neighbours.add([got]);
          this.neighboursChangedNow();
          this.sendNeighbourUpdates();
        }
      }
    } finally {
      this.rejoining = false;
    }
  }

  private async connectAnyBootstrap(): Promise<bigint | undefined> {
    const order = [...this.bootstrap];
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(this.host.random.float() * (i + 1));
      [order[i], order[j]] = [order[j] as LinkEndpoint, order[i] as LinkEndpoint];
    }
    for (const ep of order) {
      const id = await this.host.connectBootstrap(ep);
      if (id !== undefined) return id;
    }
    return undefined;
  }

  private pause(ms: number): Promise<void> {
    return new Promise((r) => this.host.clock.setTimer(ms, r));
  }

  private scheduleNeighbourUpdates(): void {
    if (this.updatePending || this.stopped) return;
    this.updatePending = true;
    // coalesce the changes of one burst (joins, a failure and its repairs) into one round of Updates
    this.host.clock.setTimer(this.options.updateCoalesceMs, () => {
      this.updatePending = false;
      if (!this.stopped) this.sendNeighbourUpdates();
    });
  }

  private sendNeighbourUpdates(): void {
    if (this.host.state !== 'joined') return;
    for (const n of this.neighbours.all()) this.sendUpdate(n, 'neighbors');
  }

  private sendUpdate(to: bigint, type: 'neighbors' | 'full'): void {
    const ring = this.host.ring;
    const preds = this.neighbours.predecessors.map((x) => ring.toBytes(x));
    const succs = this.neighbours.successors.map((x) => ring.toBytes(x));
    const u: ChordUpdate =
      type === 'full'
        ? { uptime: this.host.uptime(), type, predecessors: preds, successors: succs, fingers: this.fingers.all().map((x) => ring.toBytes(x)) }
        : { uptime: this.host.uptime(), type, predecessors: preds, successors: succs };
    // a node that has not joined yet (the AP answering a joining node) still describes its own ring
    this.host.notify([{ type: 'node', nodeId: ring.toBytes(to) }], MessageCode.update_req, encodeChordUpdate(u, this.host.codecOptions()));
  }

  private markRoutable(id: bigint): void {
    const c = this.host.conns.forNode(id);
    if (c !== undefined) c.routable = true;
  }

  private routableConnected(): bigint[] {
    const out: bigint[] = [];
    for (const c of this.host.conns.all()) if (c.nodeId !== undefined && c.routable && !c.suspect) out.push(c.nodeId);
    return out;
  }

  private neighboursChangedNow(): void {
    this.host.neighboursChanged?.(this.neighbours.successors, this.neighbours.predecessors);
  }

  private idOf(b: Uint8Array): bigint | undefined {
    return b.length === this.host.ring.bytes ? this.host.ring.fromBytes(b) : undefined;
  }
}
