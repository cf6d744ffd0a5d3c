/**
 * CHORD-RELOAD Join (RFC 6940 §10.5): the joining peer's Attach to its admitting peer, its
 * connections to the neighbours the admitting peer names (source-routed, §10.6), the Join and the
 * first Updates (steps 2–5, 9); and the admitting peer's side (steps 5–8).
 */
import { MessageCode, ReloadErrorCode, decodeJoinReq, encodeJoinAns, encodeJoinReq } from '../../codec/index.js';
import type { ChordUpdate } from '../../codec/index.js';
import type { HandlerReply, InboundRequest, OverlayOptions } from '../overlay-types.js';
import type { ChordHost } from './chord-host.js';
import type { ChordLinks } from './chord-links.js';
import type { ChordMaintenance } from './chord-maintenance.js';
import type { ChordNeighbourUpdate, ChordUpdates } from './chord-updates.js';
import type { FingerTable } from './finger-table.js';
import type { NeighborTable } from './neighbor-table.js';

/** What the Join needs. */
export interface ChordJoinDeps {
  readonly host: Pick<ChordHost, 'ring' | 'id' | 'clock' | 'random' | 'conns' | 'state' | 'attach' | 'request' | 'codecOptions'>;
  readonly options: Pick<OverlayOptions, 'client' | 'reliabilityTimerMs' | 'initialFingers'>;
  readonly neighbours: NeighborTable;
  readonly fingers: FingerTable;
  readonly links: Pick<ChordLinks, 'markRoutable' | 'attachTo'>;
  readonly updates: Pick<ChordUpdates, 'learn' | 'neighboursChangedNow' | 'scheduleNeighbourUpdates' | 'sendNeighbourUpdates'>;
  readonly maintenance: Pick<ChordMaintenance, 'fillFingers'>;
  stopped(): boolean;
  isResponsible(k: bigint): boolean;
}

/** Neighbour-set entries heard while joining, learnt once joined. */
const MAX_HEARD_WHILE_JOINING = 256;
/** Join attempts through an admitting peer before giving up. */
const JOIN_ATTEMPTS = 8;

const EMPTY = new Uint8Array(0);

export class ChordJoin {
  private apUpdate: ((u: ChordUpdate) => void) | undefined;
  private heardWhileJoining: Uint8Array[] = [];
  private cancelled = false;

  constructor(private readonly d: ChordJoinDeps) {}

  /** RFC 6940 §10.5 steps 2–5 and 9, through the peer responsible for our Node-ID + 1. */
  async joinThrough(): Promise<void> {
    const { host, links, updates } = this.d;
    const ring = host.ring;
    for (let attempt = 0; attempt < JOIN_ATTEMPTS; attempt++) {
      if (attempt > 0) await this.pause(Math.floor(host.random.float() * 500 * attempt));
      if (this.d.stopped() || this.cancelled) break;
      const gotUpdate = new Promise<ChordUpdate | undefined>((resolve) => {
        const t = host.clock.setTimer(this.d.options.reliabilityTimerMs, () => resolve(undefined));
        this.apUpdate = (u) => {
          t.cancel();
          resolve(u);
        };
      });
      // step 2: Attach to the Admitting Peer, responsible for n+1, with send_update
      const ap = await host.attach([{ type: 'resource', resourceId: ring.toBytes(ring.add(host.id, 1n)) }], true);
      if (this.cancelled) break;
      if (ap === undefined) {
        this.apUpdate = undefined;
        continue;
      }
      links.markRoutable(ap);
      const u = await gotUpdate;
      this.apUpdate = undefined;
      if (this.cancelled) break;
      // step 3-4: connect to the neighbours AP knows (source-routed through AP, §10.6) and to fingers
      const cands = u === undefined || u.type === 'peer_ready' ? [] : [...u.predecessors, ...u.successors];
      const ids = cands.map((b) => host.ring.tryFromBytes(b)).filter((x): x is bigint => x !== undefined && x !== host.id);
      await Promise.all(ids.filter((x) => x !== ap).map((x) => links.attachTo(x, ap)));
      // step 4: the peers we reached enter our Neighbor Table before the Join. The admitting peer hands
      // us our range (step 6) as it admits us, and the handover can arrive before its Join answer: our
      // storage takes it because this table says the range is ours (StorageHost.coversInTable). Routing
      // ignores the table until we are joined; no neighbour change is announced before that.
      const contacted = [ap, ...ids].filter((x) => host.conns.usable(x) !== undefined);
      const entered = contacted.filter((x) => !this.d.neighbours.has(x));
      this.d.neighbours.add(contacted);
      // step 5: Join
      const ans = await host.request([{ type: 'node', nodeId: ring.toBytes(ap) }], MessageCode.join_req, encodeJoinReq({ joiningPeerId: ring.toBytes(host.id), overlaySpecificData: EMPTY }, host.codecOptions()));
      // cancelled (the start's deadline passed: we went on alone): an admission that comes now is left
      // to the reactive Updates, which take the admitting peer's ring in like any merge
      if (this.cancelled || !ans.ok) {
        // not admitted: a peer that goes on alone, or tries again, starts from what it knew before
        for (const x of entered) this.d.neighbours.remove(x);
        if (this.cancelled) break;
        continue;
      }
      const connected = [ap, ...ids].filter((x) => host.conns.usable(x) !== undefined);
      this.d.neighbours.add(connected);
      for (const x of connected) this.d.fingers.offer(x);
      updates.neighboursChangedNow();
      // step 9: Updates to every neighbour; fingers in the background
      updates.sendNeighbourUpdates();
      const heard = this.heardWhileJoining;
      this.heardWhileJoining = [];
      host.clock.setTimer(0, () => updates.learn(heard, undefined));
      void this.d.maintenance.fillFingers(this.d.options.initialFingers);
      return;
    }
    this.apUpdate = undefined;
    throw new Error(this.cancelled ? 'the Join was cancelled (the start went on alone)' : 'no admitting peer accepted the Join');
  }

  /** Stops a Join under way at its next step (it then rejects and changes nothing). */
  cancel(): void {
    this.cancelled = true;
  }

  /** A new join begins (ChordTopology.join): a cancel before this one's start no longer applies. */
  begin(): void {
    this.cancelled = false;
  }

  /**
   * An Update heard before this peer joined: its neighbour sets are remembered (bounded) and handed to
   * the join waiting for its admitting peer's Update. True when that join took it.
   */
  heard(u: ChordNeighbourUpdate): boolean {
    if (this.d.host.state !== 'joined') {
      for (const b of [...u.predecessors, ...u.successors]) if (this.heardWhileJoining.length < MAX_HEARD_WHILE_JOINING) this.heardWhileJoining.push(b);
    }
    if (this.apUpdate === undefined) return false;
    this.apUpdate(u);
    return true;
  }

  /** RFC 6940 §10.5 steps 5–8, at the admitting peer. */
  onJoin(req: InboundRequest): HandlerReply {
    const { host, links, updates } = this.d;
    if (this.d.options.client) return { error: ReloadErrorCode.Forbidden, info: 'a client admits no peer' };
    const d = decodeJoinReq(req.body, host.codecOptions());
    if (!d.ok) return { error: ReloadErrorCode.InvalidMessage, info: d.error.message };
    const jn = host.ring.tryFromBytes(d.value.joiningPeerId);
    if (jn === undefined || jn === host.id) return { error: ReloadErrorCode.InvalidMessage, info: 'bad joining_peer_id' };
    const origin = req.origin === undefined ? undefined : host.ring.tryFromBytes(req.origin);
    if (origin !== jn) return { error: ReloadErrorCode.Forbidden, info: 'a node may only join as itself' };
    if (host.conns.usable(jn) === undefined) return { error: ReloadErrorCode.Forbidden, info: 'Attach before Join (RFC 6940 §10.5)' };
    if (!this.d.isResponsible(jn)) return { error: ReloadErrorCode.NotFound, info: 'not the admitting peer for this Node-ID' };
    links.markRoutable(jn);
    this.d.neighbours.add([jn]);
    this.d.fingers.offer(jn);
    updates.neighboursChangedNow();
    // step 7-8: the new neighbour set to every neighbour, JN included (after the answer leaves)
    updates.scheduleNeighbourUpdates();
    return { code: MessageCode.join_ans, body: encodeJoinAns({ overlaySpecificData: EMPTY }, host.codecOptions()) };
  }

  private pause(ms: number): Promise<void> {
    return new Promise((r) => this.d.host.clock.setTimer(ms, r));
  }
}
