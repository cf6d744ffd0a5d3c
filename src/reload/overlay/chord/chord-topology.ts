/**
 * CHORD-RELOAD (RFC 6940 §10): responsibility (§10.1), next-hop selection (§10.3), neighbour and
 * finger failures (§10.7.1, §10.7.2), Leave (§10.9), RouteQuery (§10.8) and Probe. The Join (§10.5)
 * is in chord-join, Updates (§10.7.3) in chord-updates, periodic upkeep and finger search (§10.7.4)
 * in chord-maintenance; this class wires the parts and keeps the topology's public face.
 */
import {
  MessageCode,
  ReloadErrorCode,
  decodeChordLeaveData,
  decodeLeaveReq,
  decodeProbeReq,
  decodeRouteQueryReq,
  encodeChordLeaveData,
  encodeChordRouteQueryAns,
  encodeLeaveReq,
  encodeRouteQueryReq,
  ProbeInformationType,
} from '../../codec/index.js';
import type { ProbeInformation } from '../../codec/index.js';
import type { LinkEndpoint } from '../../link/link-driver.js';
import type { HandlerReply, InboundRequest, OverlayAnswer, OverlayOptions } from '../overlay-types.js';
import type { ChordHost } from './chord-host.js';
import { ChordJoin } from './chord-join.js';
import { ChordLinks } from './chord-links.js';
import { ChordMaintenance } from './chord-maintenance.js';
import type { MergeOutcome } from './chord-maintenance.js';
import { ChordUpdates } from './chord-updates.js';
import { checkFingerDensityOptions } from './finger-density.js';
import { FingerTable } from './finger-table.js';
import { NeighborTable } from './neighbor-table.js';

export type { ChordHost } from './chord-host.js';
export type { MergeOutcome } from './chord-maintenance.js';

/** The ring as the status page shows it (hex Node-IDs). */
export interface ChordStatus {
  nodeId: string;
  successors: string[];
  predecessors: string[];
  fingers: string[];
  connections: number;
  /** A client's admitting peer (RFC 6940 §4.2: the peer responsible for its Node-ID); null for a peer, or none now. */
  admittingPeer: string | null;
  /** The peers routing may send through now: linked, routable, not suspect (at most {@link MAX_STATUS_LINKS}). */
  routableLinks: string[];
}

/** Entries of {@link ChordStatus.routableLinks} at most (the Connection Table holds up to 512). */
export const MAX_STATUS_LINKS = 64;

const EMPTY = new Uint8Array(0);

export class ChordTopology {
  readonly neighbours: NeighborTable;
  readonly fingers: FingerTable;
  private readonly links: ChordLinks;
  private readonly updates: ChordUpdates;
  private readonly maintenance: ChordMaintenance;
  private readonly joining: ChordJoin;
  private clientAp: bigint | undefined;
  private stopped = false;

  constructor(
    private readonly host: ChordHost,
    private readonly options: OverlayOptions,
  ) {
    checkFingerDensityOptions({ perRange: options.fingersPerRange, density: options.fingerDensity, maxFingers: options.maxFingers });
    this.neighbours = new NeighborTable(host.ring, host.id, options.neighbourCount);
    this.fingers = new FingerTable(host.ring, host.id, options.fingersPerRange);
    const neighbours = this.neighbours;
    const fingers = this.fingers;
    const stopped = (): boolean => this.stopped;
    const isResponsible = (k: bigint): boolean => this.isResponsible(k);
    this.links = new ChordLinks(host);
    const links = this.links;
    this.updates = new ChordUpdates({ host, options, neighbours, fingers, links, stopped, heardWhileJoining: (u) => this.joining.heard(u), neighboursChanged: () => this.maintenance.onNeighboursChanged() });
    const updates = this.updates;
    this.maintenance = new ChordMaintenance({
      host,
      options,
      neighbours,
      fingers,
      links,
      updates,
      stopped,
      isResponsible,
      clientAp: () => this.clientAp,
      setClientAp: (id) => {
        this.clientAp = id;
      },
    });
    this.joining = new ChordJoin({ host, options, neighbours, fingers, links, updates, maintenance: this.maintenance, stopped, isResponsible });
  }

  // -------------------------------------------------------------------------------- join/leave

  /** RFC 6940 §10.5. With no bootstrap, a peer is the first of a new overlay. */
  /** Stops a join through bootstrap peers that is under way (OverlayNode.start's deadline). */
  cancelJoin(): void {
    this.joining.cancel();
  }

  async join(bootstrap: readonly LinkEndpoint[]): Promise<void> {
    this.links.setBootstrap(bootstrap);
    if (bootstrap.length === 0) {
      if (this.options.client) throw new Error('a client needs a bootstrap peer');
      this.maintenance.startTimers();
      return;
    }
    // (a ring of one, above, leaves a cancelled join through peers cancelled)
    this.joining.begin();
    const bid = await this.links.connectAnyBootstrap();
    if (bid === undefined) throw new Error(`no bootstrap peer answered (${bootstrap.map((b) => `${b.host}:${b.port}`).join(', ')})`);
    this.links.markRoutable(bid);
    if (this.options.client) {
      // RFC 6940 §4.2: a client attaches to the peer responsible for its own Node-ID
      const ap = (await this.host.attach([{ type: 'resource', resourceId: this.host.ring.toBytes(this.host.id) }])) ?? bid;
      this.clientAp = ap;
      this.links.markRoutable(ap);
      this.maintenance.startTimers();
      return;
    }
    await this.joining.joinThrough();
    this.maintenance.startTimers();
  }

  /** RFC 6940 §10.7.4.4 through the peer `b` (linked): one ring, or the stranger attached (a merge). */
  checkThrough(b: bigint): Promise<MergeOutcome> {
    return this.maintenance.checkThrough(b);
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
    this.maintenance.cancelTimers();
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
    // anything else would walk the ring backwards: better an error and a retransmission. A client has
    // no successors and routes nothing itself: any peer it holds a link to routes on for it (its
    // admitting peer's link failed or is suspect; its Attach to its own Node-ID, span 0, included)
    if (after !== undefined && (this.options.client || this.host.state !== 'joined' || this.neighbours.successors.includes(after) || after === k)) return after;
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
    this.updates.onLinkUp(id);
  }

  /** RFC 6940 §10.7.1 / §10.7.2: a neighbour or finger is gone. */
  onPeerLost(id: bigint): void {
    if (this.stopped) return;
    const wasNeighbour = this.neighbours.remove(id);
    this.fingers.remove(id);
    if (id === this.clientAp) {
      this.clientAp = undefined;
      void this.maintenance.rejoin();
      return;
    }
    if (!wasNeighbour) return;
    // refill from the other peers we are connected to
    this.neighbours.add(this.links.routableConnected());
    this.updates.neighboursChangedNow();
    if (this.options.reactive) this.updates.scheduleNeighbourUpdates();
    if (this.neighbours.successors.length === 0 && this.host.state === 'joined') void this.maintenance.rejoin();
  }

  /** The node answered our Attach with send_update: send it a full Update once its link is up. */
  sendUpdateWhenConnected(id: bigint): void {
    this.updates.sendUpdateWhenConnected(id);
  }

  // ---------------------------------------------------------------------------------- requests

  handle(req: InboundRequest): HandlerReply {
    switch (req.code) {
      case MessageCode.join_req:
        return this.joining.onJoin(req);
      case MessageCode.leave_req:
        return this.onLeave(req);
      case MessageCode.update_req:
        return this.updates.onUpdate(req);
      case MessageCode.route_query_req:
        return this.onRouteQuery(req);
      default:
        return { error: ReloadErrorCode.InvalidMessage, info: 'not a topology method' };
    }
  }

  private onLeave(req: InboundRequest): HandlerReply {
    const d = decodeLeaveReq(req.body, this.host.codecOptions());
    if (!d.ok) return { error: ReloadErrorCode.InvalidMessage, info: d.error.message };
    const leaving = this.host.ring.tryFromBytes(d.value.leavingPeerId);
    const origin = req.origin === undefined ? undefined : this.host.ring.tryFromBytes(req.origin);
    if (leaving === undefined || leaving !== origin) return { error: ReloadErrorCode.Forbidden, info: 'a node may only announce its own Leave' };
    const data = decodeChordLeaveData(d.value.overlaySpecificData, this.host.codecOptions());
    const ids = data.ok ? (data.value.type === 'from_succ' ? data.value.successors : data.value.predecessors) : [];
    // RFC 6940 §10.9: as if the peer had failed, then learn from the sets it sent. The link to it is
    // closed once the answer is sent: closed before, the answer had no way back and the leaving peer
    // waited out its Leave timer (2 s) on every clean stop (issue 14).
    this.onPeerLost(leaving);
    this.updates.learn(ids, undefined);
    return { code: MessageCode.leave_ans, body: EMPTY, afterSent: () => this.host.disconnect(leaving) };
  }

  private onRouteQuery(req: InboundRequest): HandlerReply {
    const d = decodeRouteQueryReq(req.body, this.host.codecOptions());
    if (!d.ok) return { error: ReloadErrorCode.InvalidMessage, info: d.error.message };
    const dest = d.value.destination;
    const k = dest.type === 'node' ? this.host.ring.tryFromBytes(dest.nodeId) : dest.type === 'resource' ? this.host.ring.tryFromBytes(dest.resourceId) : undefined;
    if (k === undefined) return { error: ReloadErrorCode.InvalidMessage, info: 'RouteQuery destination is not an ID of this overlay' };
    const next = this.isResponsible(k) ? this.host.id : (this.nextHop(k, new Set()) ?? this.host.id);
    const origin = req.origin === undefined ? undefined : this.host.ring.tryFromBytes(req.origin);
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
    return this.updates.peerReadyBody();
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
      admittingPeer: this.clientAp === undefined ? null : hex(this.clientAp),
      routableLinks: this.links.routableConnected().slice(0, MAX_STATUS_LINKS).map(hex),
    };
  }
}
