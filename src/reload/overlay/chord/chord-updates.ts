/**
 * CHORD-RELOAD Updates: sending the neighbour set (RFC 6940 §10.5 step 9, §10.7.4.1), coalesced when
 * reactive (§10.7.1); receiving an Update (§10.7.3); and learning neighbour candidates from an Update
 * or a Leave (§10.7.3, §10.9).
 */
import { MessageCode, ReloadErrorCode, decodeChordUpdate, encodeChordUpdate } from '../../codec/index.js';
import type { ChordUpdate } from '../../codec/index.js';
import type { HandlerReply, InboundRequest, OverlayOptions } from '../overlay-types.js';
import type { ChordHost } from './chord-host.js';
import type { ChordLinks } from './chord-links.js';
import type { FingerTable } from './finger-table.js';
import type { NeighborTable } from './neighbor-table.js';

/** An Update that carries neighbour sets (not peer_ready). */
export type ChordNeighbourUpdate = Exclude<ChordUpdate, { type: 'peer_ready' }>;

/** What Update handling needs. */
export interface ChordUpdatesDeps {
  readonly host: Pick<ChordHost, 'ring' | 'id' | 'clock' | 'conns' | 'state' | 'uptime' | 'notify' | 'codecOptions' | 'neighboursChanged'>;
  readonly options: Pick<OverlayOptions, 'reactive' | 'updateCoalesceMs' | 'client'>;
  readonly neighbours: NeighborTable;
  readonly fingers: FingerTable;
  readonly links: Pick<ChordLinks, 'markRoutable' | 'attachTo'>;
  stopped(): boolean;
  /** An Update heard before this peer joined: true when the join in progress took it (§10.5 steps 2–4). */
  heardWhileJoining(u: ChordNeighbourUpdate): boolean;
  /** After every neighbour change (the finger table's size follows the overlay's, finger-density.ts). */
  neighboursChanged?(): void;
}

const EMPTY = new Uint8Array(0);

export class ChordUpdates {
  private readonly updateOnConnect = new Set<bigint>();
  private updatePending = false;

  constructor(private readonly d: ChordUpdatesDeps) {}

  /** RFC 6940 §10.7.3. */
  onUpdate(req: InboundRequest): HandlerReply {
    const host = this.d.host;
    const d = decodeChordUpdate(req.body, host.codecOptions());
    if (!d.ok) return { error: ReloadErrorCode.InvalidMessage, info: d.error.message };
    const u = d.value;
    const sender = req.origin === undefined ? undefined : this.d.host.ring.tryFromBytes(req.origin);
    if (sender !== undefined && host.conns.usable(sender) !== undefined) {
      this.d.links.markRoutable(sender);
      this.d.fingers.offer(sender);
      if (host.state === 'joined' && this.d.neighbours.wouldAccept(sender)) {
        this.d.neighbours.add([sender]);
        this.neighboursChangedNow();
        if (this.d.options.reactive) this.scheduleNeighbourUpdates();
      }
    }
    if (u.type !== 'peer_ready' && !this.d.heardWhileJoining(u) && host.state === 'joined') {
      this.learn([...u.predecessors, ...u.successors], sender);
      if (u.type === 'full') for (const f of u.fingers) this.offerFingerIfConnected(f);
    }
    return { code: MessageCode.update_ans, body: EMPTY };
  }

  /** Neighbour candidates from an Update or Leave: Attach to the ones that belong in our table (§10.7.3). */
  learn(ids: readonly Uint8Array[], via: bigint | undefined): void {
    const { host, links, neighbours } = this.d;
    let changed = false;
    for (const b of ids) {
      const x = host.ring.tryFromBytes(b);
      if (x === undefined || x === host.id || !neighbours.wouldAccept(x)) continue;
      if (host.conns.usable(x) !== undefined) {
        links.markRoutable(x);
        changed = neighbours.add([x]) || changed;
        continue;
      }
      void links.attachTo(x, via).then((ok) => {
        if (ok !== undefined && !this.d.stopped() && neighbours.add([ok])) {
          this.d.fingers.offer(ok);
          this.neighboursChangedNow();
          if (this.d.options.reactive) this.scheduleNeighbourUpdates();
        }
      });
    }
    if (changed) {
      this.neighboursChangedNow();
      if (this.d.options.reactive) this.scheduleNeighbourUpdates();
    }
  }

  /** The link to `id` is up: send the full Update it asked for. */
  onLinkUp(id: bigint): void {
    if (this.updateOnConnect.delete(id)) this.sendUpdate(id, 'full');
  }

  /** The node answered our Attach with send_update: send it a full Update once its link is up. */
  sendUpdateWhenConnected(id: bigint): void {
    if (this.d.host.conns.usable(id) !== undefined) this.sendUpdate(id, 'full');
    else this.updateOnConnect.add(id);
  }

  scheduleNeighbourUpdates(): void {
    if (this.updatePending || this.d.stopped()) return;
    this.updatePending = true;
    // coalesce the changes of one burst (joins, a failure and its repairs) into one round of Updates
    this.d.host.clock.setTimer(this.d.options.updateCoalesceMs, () => {
      this.updatePending = false;
      if (!this.d.stopped()) this.sendNeighbourUpdates();
    });
  }

  sendNeighbourUpdates(): void {
    // a client is nobody's neighbour (RFC 6940 §3.2.1: it does not route): its Updates would make its
    // AP take it for a peer and put it in the ring when a neighbour is lost
    if (this.d.host.state !== 'joined' || this.d.options.client) return;
    for (const n of this.d.neighbours.all()) this.sendUpdate(n, 'neighbors');
  }

  sendUpdate(to: bigint, type: 'neighbors' | 'full'): void {
    if (this.d.options.client) return;
    const { host, neighbours } = this.d;
    const ring = host.ring;
    const preds = neighbours.predecessors.map((x) => ring.toBytes(x));
    const succs = neighbours.successors.map((x) => ring.toBytes(x));
    const u: ChordUpdate =
      type === 'full'
        ? { uptime: host.uptime(), type, predecessors: preds, successors: succs, fingers: this.d.fingers.all().map((x) => ring.toBytes(x)) }
        : { uptime: host.uptime(), type, predecessors: preds, successors: succs };
    // a node that has not joined yet (the AP answering a joining node) still describes its own ring
    host.notify([{ type: 'node', nodeId: ring.toBytes(to) }], MessageCode.update_req, encodeChordUpdate(u, host.codecOptions()));
  }

  peerReadyBody(): Uint8Array {
    return encodeChordUpdate({ uptime: this.d.host.uptime(), type: 'peer_ready' }, this.d.host.codecOptions());
  }

  neighboursChangedNow(): void {
    this.d.host.neighboursChanged?.(this.d.neighbours.successors, this.d.neighbours.predecessors);
    this.d.neighboursChanged?.();
  }

  private offerFingerIfConnected(b: Uint8Array): void {
    const x = this.d.host.ring.tryFromBytes(b);
    if (x !== undefined && x !== this.d.host.id && this.d.host.conns.usable(x) !== undefined) this.d.fingers.offer(x);
  }
}
