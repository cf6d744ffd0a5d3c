/**
 * CHORD-RELOAD upkeep: periodic Updates to the neighbours (RFC 6940 §10.7.4.1), finger search
 * (§10.5, §10.7.4.2, §10.7.4.3), the partition check through a bootstrap peer (§10.7.4.4), and joining
 * again after losing every successor or a client's admitting peer (§10.7.1).
 */
import type { TimerHandle } from '../../../lib/clock.js';
import { MessageCode, encodePingReq } from '../../codec/index.js';
import type { OverlayOptions } from '../overlay-types.js';
import type { ChordHost } from './chord-host.js';
import type { ChordLinks } from './chord-links.js';
import type { ChordUpdates } from './chord-updates.js';
import { estimateOverlaySize, fingerTargets } from './finger-density.js';
import type { FingerTable } from './finger-table.js';
import type { NeighborTable } from './neighbor-table.js';

/** What the upkeep needs. */
export interface ChordMaintenanceDeps {
  readonly host: Pick<ChordHost, 'ring' | 'id' | 'clock' | 'random' | 'state' | 'attach' | 'request' | 'conns'>;
  readonly options: Pick<OverlayOptions, 'client' | 'initialFingers' | 'updateIntervalMs' | 'fingerRefreshIntervalMs' | 'partitionCheckIntervalMs' | 'fingerDensity' | 'maxFingers'>;
  readonly neighbours: NeighborTable;
  readonly fingers: FingerTable;
  readonly links: Pick<ChordLinks, 'markRoutable' | 'attachTo' | 'routableConnected' | 'connectAnyBootstrap' | 'hasBootstrap'>;
  readonly updates: Pick<ChordUpdates, 'learn' | 'neighboursChangedNow' | 'sendNeighbourUpdates' | 'sendUpdate'>;
  stopped(): boolean;
  isResponsible(k: bigint): boolean;
  /** A client's admitting peer (RFC 6940 §4.2). */
  clientAp(): bigint | undefined;
  setClientAp(id: bigint): void;
}

/** Timer handles kept for cancelling at stop (the live ones are the most recent). */
const MAX_TIMER_HANDLES = 16;
/** Concurrent Attaches of a finger fill. */
const FINGER_ATTACH_BATCH = 4;
/**
 * A refresh searches this share of the missing fingers (at least one, at most one batch): a dense
 * table that lost peers to churn, or whose targets grew with the overlay, fills again in a few periods.
 */
const REFRESH_SHARE = 8;
/** The estimated size grew by this factor since the last fill: fill at once, not a batch per period. */
const REFILL_GROWTH = 1.5;

const EMPTY = new Uint8Array(0);

export class ChordMaintenance {
  private readonly timers: TimerHandle[] = [];
  private rejoining = false;
  /** The estimated overlay size the targets were last set for by a fill (the first peer of an overlay: 1, itself). */
  private sizedFor = 1;
  private filling = false;

  constructor(private readonly d: ChordMaintenanceDeps) {}

  /** Periodic work: Updates to neighbours (§10.7.4.1), finger search (§10.7.4.2), partition check (§10.7.4.4). */
  startTimers(): void {
    const host = this.d.host;
    const jitter = (ms: number): number => Math.floor(ms * (0.5 + host.random.float()));
    const every = (ms: number, fn: () => void): void => {
      const tick = (): void => {
        if (this.d.stopped()) return;
        fn();
        this.timers.push(host.clock.setTimer(jitter(ms), tick));
        if (this.timers.length > MAX_TIMER_HANDLES) this.timers.splice(0, this.timers.length - MAX_TIMER_HANDLES);
      };
      this.timers.push(host.clock.setTimer(jitter(ms), tick));
    };
    if (this.d.options.client) {
      every(this.d.options.updateIntervalMs, () => void this.checkClientAp());
      return;
    }
    every(this.d.options.updateIntervalMs, () => this.d.updates.sendNeighbourUpdates());
    every(this.d.options.fingerRefreshIntervalMs, () => void this.refreshFingers());
    every(this.d.options.partitionCheckIntervalMs, () => void this.checkPartition());
  }

  cancelTimers(): void {
    for (const t of this.timers) t.cancel();
    this.timers.length = 0;
  }

  /**
   * The overlay's size from our neighbour spacing, and the finger targets for it (finger-density.ts).
   * Returns the estimate.
   */
  sizeFingers(): number {
    const { host, neighbours, fingers } = this.d;
    const n = estimateOverlaySize(host.ring, host.id, neighbours.successors, neighbours.predecessors);
    fingers.setTargets(fingerTargets(n, fingers.maxIndex, { perRange: fingers.perRange, density: this.d.options.fingerDensity, maxFingers: this.d.options.maxFingers }));
    return n;
  }

  /**
   * Attach to the missing peers of each open finger range up to `n` (RFC 6940 §10.5, §10.7.4.2): the
   * first of a range at its start (n + 2^(128-i)), further ones in the range's empty slots.
   */
  async fillFingers(n: number): Promise<void> {
    if (this.filling) return;
    this.filling = true;
    try {
      await this.fill(n);
    } finally {
      this.filling = false;
    }
  }

  /**
   * The neighbour table changed: when the overlay now looks {@link REFILL_GROWTH} times larger than at
   * the last fill (a peer that joined a young overlay, while it grows), fill the fingers for the new
   * size at once rather than a few per refresh period.
   */
  onNeighboursChanged(): void {
    const { host } = this.d;
    if (this.d.options.fingerDensity <= 0 || this.filling || host.state !== 'joined' || this.d.options.client || this.d.stopped()) return;
    const n = estimateOverlaySize(host.ring, host.id, this.d.neighbours.successors, this.d.neighbours.predecessors);
    if (n >= this.sizedFor * REFILL_GROWTH) void this.fillFingers(this.d.options.initialFingers);
  }

  private async fill(n: number): Promise<void> {
    const { host, fingers } = this.d;
    const ring = host.ring;
    this.sizedFor = this.sizeFingers();
    const targets: bigint[] = [];
    for (const i of fingers.openRanges(this.fingerCount(n))) targets.push(...fingers.slotTargets(i, (k) => host.random.bytes(k)));
    const seen = new Set<bigint>();
    for (let i = 0; i < targets.length; i += FINGER_ATTACH_BATCH) {
      const batch = targets.slice(i, i + FINGER_ATTACH_BATCH);
      const got = await Promise.all(batch.map((t) => (this.d.isResponsible(t) ? Promise.resolve(undefined) : host.attach([{ type: 'resource', resourceId: ring.toBytes(t) }]))));
      for (const x of got) {
        if (x === undefined || seen.has(x)) continue;
        seen.add(x);
        this.d.links.markRoutable(x);
        fingers.offer(x);
      }
      if (this.d.stopped()) return;
    }
  }

  /** RFC 6940 §10.7.1: lost every successor, or our client AP: join again. */
  async rejoin(): Promise<void> {
    if (this.rejoining || this.d.stopped()) return;
    this.rejoining = true;
    const { host, links } = this.d;
    try {
      if (this.d.options.client) {
        const bid = links.routableConnected()[0] ?? (await links.connectAnyBootstrap());
        if (bid === undefined) return;
        // §4.2: the Attach to our own Node-ID reaches the peer now responsible for it
        const got = await host.attach([{ type: 'resource', resourceId: host.ring.toBytes(host.id) }]);
        // no answer: keep a peer that still works (the periodic check tries again), else any peer we reach
        const current = this.d.clientAp();
        const ap = got ?? (current !== undefined && host.conns.usable(current) !== undefined ? current : bid);
        this.d.setClientAp(ap);
        links.markRoutable(ap);
        return;
      }
      const via = links.routableConnected()[0] ?? (await links.connectAnyBootstrap());
      if (via === undefined) return;
      const ring = host.ring;
      const ans = await host.request([{ type: 'resource', resourceId: ring.toBytes(ring.add(host.id, 1n)) }], MessageCode.ping_req, encodePingReq({ padding: EMPTY }));
      const s = ans.responder === undefined ? undefined : host.ring.tryFromBytes(ans.responder);
      if (s !== undefined && s !== host.id) {
        const got = await links.attachTo(s, undefined);
        if (got !== undefined) {
          this.d.neighbours.add([got]);
          this.d.updates.neighboursChangedNow();
          this.d.updates.sendNeighbourUpdates();
        }
      }
    } finally {
      this.rejoining = false;
    }
  }

  /**
   * RFC 6940 §4.2: a client is reached through the peer responsible for its Node-ID (messages to it are
   * routed there), so it keeps its link to that peer. Each update interval: no admitting peer → join
   * again; else a Ping to our own Node-ID says who is responsible now, and when that is another peer
   * (one joined in front of us, or ours failed and the ring moved on) we Attach to it.
   */
  async checkClientAp(): Promise<void> {
    const { host } = this.d;
    if (this.rejoining || this.d.stopped()) return;
    const ap = this.d.clientAp();
    if (ap === undefined || host.conns.usable(ap) === undefined) {
      await this.rejoin();
      return;
    }
    const ring = host.ring;
    const ans = await host.request([{ type: 'resource', resourceId: ring.toBytes(host.id) }], MessageCode.ping_req, encodePingReq({ padding: EMPTY }));
    const responsible = ans.ok && ans.responder !== undefined ? ring.tryFromBytes(ans.responder) : undefined;
    if (responsible === undefined || responsible === host.id || responsible === this.d.clientAp()) return;
    await this.rejoin();
  }

  /** Finger ranges to keep: at least `base`, and enough to reach the last successor (§10.7.4.3). */
  private fingerCount(base: number): number {
    const { neighbours, fingers } = this.d;
    const last = neighbours.successors[neighbours.successors.length - 1];
    const reach = last === undefined ? 0 : fingers.indexOf(last);
    return Math.min(fingers.maxIndex, Math.max(base, reach));
  }

  /**
   * RFC 6940 §10.7.4.2, each chord-ping-interval: targets set again for the overlay's size now, then
   * Attaches to empty slots of open finger ranges, the nearer ranges first by a coin toss each — one
   * Attach, or a share of the missing fingers when a dense table lacks many; the whole fill when the
   * overlay grew much since the last one (a peer that joined a small overlay).
   */
  private async refreshFingers(): Promise<void> {
    const { host, fingers } = this.d;
    if (host.state !== 'joined') return;
    const size = this.sizeFingers();
    if (this.filling) return;
    if (size >= this.sizedFor * REFILL_GROWTH) {
      await this.fillFingers(this.d.options.initialFingers);
      return;
    }
    const upTo = this.fingerCount(this.d.options.initialFingers);
    const count = Math.min(FINGER_ATTACH_BATCH, Math.max(1, Math.ceil(fingers.missing(upTo) / REFRESH_SHARE)));
    const ring = host.ring;
    const points: bigint[] = [];
    for (let a = 0; a < count; a++) {
      const open = fingers.openRanges(upTo);
      let pick: number | undefined;
      for (const i of open) {
        if (host.random.float() < 0.5) {
          pick = i;
          break;
        }
      }
      pick ??= open[open.length - 1];
      if (pick === undefined) break;
      const t = fingers.slotTargets(pick, (k) => host.random.bytes(k), 1)[0] ?? fingers.randomTarget(pick, (k) => host.random.bytes(k));
      if (!this.d.isResponsible(t)) points.push(t);
    }
    const got = await Promise.all(points.map((t) => host.attach([{ type: 'resource', resourceId: ring.toBytes(t) }])));
    for (const x of got) {
      if (x === undefined) continue;
      this.d.links.markRoutable(x);
      fingers.offer(x);
    }
  }

  /** RFC 6940 §10.7.4.4: ask the overlay, through a bootstrap peer, who follows us; attach to a stranger. */
  private async checkPartition(): Promise<void> {
    const { host, links } = this.d;
    if (host.state !== 'joined' || !links.hasBootstrap()) return;
    const b = await links.connectAnyBootstrap();
    if (b === undefined || b === host.id) return;
    await this.checkThrough(b);
  }

  /**
   * RFC 6940 §10.7.4.4 through the peer `b` we hold a link to (a bootstrap peer, a cached or discovered
   * candidate): a Ping to our Node-ID + 1 routed by `b`'s ring answers from the peer that ring holds
   * responsible, i.e. our successor there. Our own successor: one ring ('same-ring'). A stranger: it
   * may be a member of another ring of the same overlay (a healed split, peers started apart), and it
   * becomes our neighbour; the reactive Updates both sides send then spread the merge around both
   * rings, Chord-style (each peer learns the closer neighbours the other ring holds, nobody re-joins).
   * A lone peer (a ring of one) joins this way too.
   */
  async checkThrough(b: bigint): Promise<MergeOutcome> {
    const { host, links } = this.d;
    if (host.state !== 'joined' || this.d.options.client || b === host.id) return 'failed';
    links.markRoutable(b);
    const ring = host.ring;
    const ans = await host.request([{ type: 'node', nodeId: ring.toBytes(b) }, { type: 'resource', resourceId: ring.toBytes(ring.add(host.id, 1n)) }], MessageCode.ping_req, encodePingReq({ padding: EMPTY }));
    if (!ans.ok || ans.responder === undefined) return 'failed';
    const s = host.ring.tryFromBytes(ans.responder);
    if (s === undefined) return 'failed';
    if (s === host.id || (s === this.d.neighbours.successors[0] && host.conns.usable(s) !== undefined)) return 'same-ring';
    const got = await links.attachTo(s, b);
    if (got === undefined) return 'failed';
    this.d.updates.learn([ring.toBytes(got)], b);
    this.d.updates.sendUpdate(got, 'full');
    // the peer we came through is a member too: a neighbour or a finger when it fits
    if (b !== got) this.d.updates.learn([ring.toBytes(b)], undefined);
    this.d.fingers.offer(got);
    return 'merged';
  }
}

/** What a partition check through a peer found (RFC 6940 §10.7.4.4). */
export type MergeOutcome = 'same-ring' | 'merged' | 'failed';
