/**
 * Replication and data migration decisions (RFC 6940 §10.4 replicas, §10.5 handover to a joining
 * peer, §10.7.1 hold-down after a lost successor, §10.7.3 take-over and drop, §10.9 hand-off
 * before a Leave): who must receive which resource, and when. The Stores themselves are sent by
 * the ReplicaSendQueue.
 */
import type { Clock, TimerHandle } from '../../lib/clock.js';
import { ReloadErrorCode } from '../codec/index.js';
import type { BodyCodecOptions, StoreReq } from '../codec/index.js';
import type { BagSharingSecurity } from './bag-sharing-security.js';
import type { StorageCredentials } from './storage-credentials.js';
import type { StorageEngine } from './storage-engine.js';
import type { StorageHost } from './storage-host.js';
import { toHex } from './resource-id-ring.js';
import { ReplicaSendQueue } from './replica-send-queue.js';
import type { ReplicaSend, ReplicaSendCounters } from './replica-send-queue.js';
import { DEFAULT_REPLICA_MAINTAINER_OPTIONS } from './replica-maintainer-options.js';
import type { ReplicaMaintainerOptions } from './replica-maintainer-options.js';

export { DEFAULT_REPLICA_MAINTAINER_OPTIONS } from './replica-maintainer-options.js';
export type { ReplicaMaintainerOptions } from './replica-maintainer-options.js';

export interface ReplicaMaintainerDeps {
  host: StorageHost;
  engine: StorageEngine;
  clock: Clock;
  credentials: StorageCredentials;
  security: Pick<BagSharingSecurity, 'withCertificates'>;
  codec: BodyCodecOptions;
}

/** Our place in a resource's replica set: 0 responsible, 1 and 2 replicas, DROP outside it. */
const DROP = -1;
/** Copies kept: the responsible peer and its two successors (RFC 6940 §10.4). */
const REPLICA_COUNT = 2;
/**
 * First wait before a handover refused with "not responsible" (Error_Not_Found) is sent again (ms);
 * each further try waits twice as long, up to retryMs. That refusal means the receiver's view of the
 * ring lags ours by a message or two (it has not taken in the Update that makes the range its own
 * yet): a quarter second later it usually has, and waiting the full retryMs left the new owner
 * answering for a range it held nothing of. Other failures (no answer; Error_Data_Too_Old, the
 * receiver holding newer values, as after a restart) are not a lag: they wait retryMs as before, and
 * a burst of quick retries of those loaded the peers for nothing.
 */
export const HANDOVER_FIRST_RETRY_MS = 250;

/** The send counters (replicaStoresSent, handoversSent, sendFailures, queueOverflows, lastFailure) and ours. */
export interface ReplicaCounters extends ReplicaSendCounters {
  /** Copies of replicas we hold sent to a new responsible peer (counted in handoversSent too). */
  copiesToNewOwner: number;
  dropped: number;
  /** Deletions called off because the resource was back in a replica set when its grace ended. */
  dropsCancelled: number;
}

/**
 * Replication and data migration under churn (RFC 6940 §10.4, §10.5, §10.7.3): copies of an
 * original store to successors 1 and 2; on neighbour changes, data handed to a joining
 * predecessor now responsible for it, new replicas made when our successors change (after the
 * hold-down when one was lost), responsibility taken over from a failed predecessor, and data we
 * no longer replicate dropped. Our role per resource is remembered between changes.
 */
export class ReplicaMaintainer {
  private readonly opts: Required<ReplicaMaintainerOptions>;
  private readonly roles = new Map<string, number>();
  /** Resources we became responsible for whose replicas must all be made again. */
  private readonly needFull = new Set<string>();
  private replicaSet: bigint[] = [];
  private holdDown: TimerHandle | undefined;
  private resync: TimerHandle | undefined;
  /** When the pending resync fires (clock ms). */
  private resyncAt = Infinity;
  private periodic: TimerHandle | undefined;
  /** Handovers in flight: resource hex → the peer it is sent to, and how many were sent. */
  private readonly handoverTarget = new Map<string, bigint>();
  private readonly handoverTries = new Map<string, number>();
  /** Replicas we hold: resource hex → the predecessor we last saw responsible for it. */
  private readonly owners = new Map<string, bigint>();
  /** Resources outside our replica sets: resource hex → the resource and when it may be deleted. */
  private readonly pendingDrops = new Map<string, { resource: Uint8Array; at: number }>();
  private dropTimer: TimerHandle | undefined;
  private closed = false;
  readonly counters: ReplicaCounters = { replicaStoresSent: 0, handoversSent: 0, copiesToNewOwner: 0, sendFailures: 0, dropped: 0, dropsCancelled: 0, queueOverflows: 0 };
  private readonly sends: ReplicaSendQueue;

  constructor(
    private readonly deps: ReplicaMaintainerDeps,
    options: ReplicaMaintainerOptions = {},
  ) {
    this.opts = { ...DEFAULT_REPLICA_MAINTAINER_OPTIONS, ...options };
    const { host, engine, clock, credentials, security, codec } = deps;
    this.sends = new ReplicaSendQueue(
      {
        host,
        engine,
        clock,
        credentials,
        security,
        codec,
        counters: this.counters,
        onHandoverAnswered: (s, ok, errorCode) => this.handoverDone(s, ok, errorCode),
        onGivenUp: (s) => this.givenUp(s),
      },
      this.opts,
    );
    if (this.opts.resyncIntervalMs > 0) this.schedulePeriodic();
  }

  private schedulePeriodic(): void {
    this.periodic = this.deps.clock.setTimer(this.opts.resyncIntervalMs, () => {
      if (this.closed) return;
      // handovers given up on get new tries each period: data still ours to hand is never stuck (a
      // merge of two rings moves ranges while the new owner does not know us as a neighbour yet)
      this.handoverTries.clear();
      this.syncRoles();
      if (this.holdDown === undefined) this.syncReplicas();
      this.schedulePeriodic();
    });
  }

  /**
   * RFC 6940 §10.4: an original store succeeded; `req` (replica_number 1) goes to successor 1, a
   * copy to successor 2. Resolves when one of them holds it, both failed once, or after
   * replicaAckWaitMs: the Store is answered then.
   */
  replicate(req: StoreReq): Promise<void> {
    const succ = this.deps.host.neighbours().successors;
    this.roles.set(toHex(req.resource), 0);
    const n = Math.min(REPLICA_COUNT, succ.length);
    const wait = this.opts.replicaAckWaitMs;
    const sends: ReplicaSend[] = [];
    for (let j = 0; j < n; j++) sends.push({ target: succ[j]!, resource: req.resource, replicaNumber: j + 1, attempts: 0 });
    if (n === 0 || wait <= 0 || this.closed) {
      for (const s of sends) this.sends.enqueue(s);
      return Promise.resolve();
    }
    // issue 16: a Kind that asks for it is answered once both replicas answered
    if (req.kindData.some((kd) => this.deps.engine.kind(kd.kind)?.allReplicasFirst === true)) return this.sends.sendAll(sends, wait);
    return this.sends.sendAcked(sends, wait);
  }

  /**
   * RFC 6940 §10.5: a neighbour handed us `resource`, now ours; our replica set gets copies (the
   * sender keeps its own), so a handover racing with other joins still leaves three copies.
   */
  handedOver(resource: Uint8Array, from: bigint): void {
    if (this.closed) return;
    this.roles.set(toHex(resource), 0);
    const succ = this.deps.host.neighbours().successors;
    for (let j = 0; j < Math.min(REPLICA_COUNT, succ.length); j++) {
      if (succ[j] !== from) this.sends.enqueue({ target: succ[j]!, resource, replicaNumber: j + 1, attempts: 0 });
    }
  }

  /** The neighbour table changed (StorageHost.onNeighboursChanged). */
  onNeighboursChanged(successors: readonly bigint[]): void {
    if (this.closed) return;
    this.syncRoles();
    const lost = this.replicaSet.some((s) => !successors.includes(s));
    if (this.holdDown !== undefined) return; // the pending sync sees this change too
    if (lost && this.opts.holdDownMs > 0) {
      // RFC 6940 §10.7.1: wait for a better successor before making new replicas
      this.holdDown = this.deps.clock.setTimer(this.opts.holdDownMs, () => {
        this.holdDown = undefined;
        this.syncReplicas();
      });
      return;
    }
    this.syncReplicas();
  }

  /** Where a Resource-ID falls among our predecessors: 0 = ours; i = predecessor i-1's; DROP = outside our replica sets. */
  roleOf(resource: Uint8Array): number {
    const { ring, id } = this.deps.host;
    const preds = this.deps.host.neighbours().predecessors;
    const k = ring.fromBytes(resource);
    let hi = id;
    for (let i = 0; i < Math.min(preds.length, REPLICA_COUNT + 1); i++) {
      if (ring.inInterval(preds[i]!, k, hi)) return i;
      hi = preds[i]!;
    }
    return preds.length > REPLICA_COUNT ? DROP : preds.length;
  }

  /** The predecessor responsible for a Resource-ID outside our own range, when our table reaches it. */
  private ownerAmong(resource: Uint8Array): bigint | undefined {
    const { ring, id } = this.deps.host;
    const preds = this.deps.host.neighbours().predecessors;
    const k = ring.fromBytes(resource);
    let hi = id;
    for (let i = 0; i < preds.length; i++) {
      if (ring.inInterval(preds[i]!, k, hi)) return i === 0 ? undefined : preds[i - 1];
      hi = preds[i]!;
    }
    // beyond our table (two rings merged and a stretch of the other one came between us and R): the
    // farthest predecessor we know is responsible, or a peer before it; a refused handover is tried again
    return preds[preds.length - 1];
  }

  /** Handover, take-over and drop (RFC 6940 §10.5, §10.7.3); runs at once on every change. */
  private syncRoles(): void {
    const preds = this.deps.host.neighbours().predecessors;
    for (const r of this.deps.engine.resourceIds()) {
      const hex = toHex(r);
      const role = this.roleOf(r);
      // `roles` keeps 0 until a handover is confirmed: data we were responsible for is never dropped unhanded
      const prev = this.roles.get(hex) ?? this.deps.engine.replicaNumber(r) ?? role;
      if (prev === 0 && role !== 0) {
        // RFC 6940 §10.5: the peer now responsible receives the data (several may have joined at once)
        const owner = role === DROP ? this.ownerAmong(r) : preds[role - 1];
        const tries = this.handoverTries.get(hex) ?? 0;
        if (owner !== undefined && this.handoverTarget.get(hex) !== owner && tries < this.opts.maxAttempts) {
          this.handoverTarget.set(hex, owner);
          this.handoverTries.set(hex, tries + 1);
          this.sends.enqueue({ target: owner, resource: r, replicaNumber: 0, attempts: this.opts.maxAttempts - 1 });
        }
        this.roles.set(hex, 0);
        this.needFull.delete(hex);
        continue;
      }
      if (role === DROP) {
        // RFC 6940 §10.7.3: three predecessors between us and R (deleted after the grace period)
        this.dropLater(r, hex);
        continue;
      }
      if (this.pendingDrops.delete(hex)) this.counters.dropsCancelled++;
      if (role === 0 && prev !== 0) this.needFull.add(hex); // a failed predecessor's data is ours now
      if (role === 0) this.clearHandover(hex);
      this.roles.set(hex, role);
      if (role === 0) this.owners.delete(hex);
      else this.checkOwner(hex, r, preds[role - 1]!);
    }
  }

  /**
   * A replica's responsible peer changed to another peer: it gets our copy. Its admitting peer hands
   * it the data too when alive (RFC 6940 §10.5), but a peer that joins in place of a responsible peer
   * that crashed silently has nobody else to get it from: its successor still counted the data as the
   * dead peer's replica, and once the crash is noticed the new peer is simply the owner of a replica.
   * The new owner's store handler accepts it as a handover from a neighbour; generation counters keep
   * a newer value it already holds.
   */
  private checkOwner(hex: string, r: Uint8Array, owner: bigint): void {
    const last = this.owners.get(hex);
    this.owners.set(hex, owner);
    if (last === undefined || last === owner) return;
    this.counters.copiesToNewOwner++;
    this.sends.enqueue({ target: owner, resource: r, replicaNumber: 0, attempts: Math.max(0, this.opts.maxAttempts - 3) });
  }

  private forget(r: Uint8Array): void {
    const hex = toHex(r);
    this.pendingDrops.delete(hex);
    this.owners.delete(hex);
    this.deps.engine.drop(r);
    this.roles.delete(hex);
    this.needFull.delete(hex);
    this.clearHandover(hex);
    this.counters.dropped++;
  }

  private clearHandover(hex: string): void {
    this.handoverTarget.delete(hex);
    this.handoverTries.delete(hex);
  }

  /** A handover ended: confirmed (our role is what the ring says now), or failed (tried again on the next sync). */
  private handoverDone(s: ReplicaSend, ok: boolean, errorCode: number): void {
    const hex = toHex(s.resource);
    if (this.handoverTarget.get(hex) !== s.target) return; // superseded by a handover to a newer owner
    this.handoverTarget.delete(hex);
    if (!ok) {
      // tried again by syncRoles while the ring still says the data is that peer's (or another's now),
      // at most maxAttempts sends until the next periodic re-check gives it new tries; soon when the
      // receiver's view of the ring lags ours
      const tries = this.handoverTries.get(hex) ?? 1;
      const lag = errorCode === ReloadErrorCode.NotFound;
      this.scheduleResync(lag ? Math.min(this.opts.retryMs, HANDOVER_FIRST_RETRY_MS * 2 ** (tries - 1)) : this.opts.retryMs);
      return;
    }
    this.handoverTries.delete(hex);
    const role = this.roleOf(s.resource);
    if (role === DROP) this.dropLater(s.resource, hex);
    else this.roles.set(hex, role);
  }

  /** Deletes `hex` once it has been outside our replica sets for dropGraceMs (re-checked then). */
  private dropLater(resource: Uint8Array, hex: string): void {
    if (this.opts.dropGraceMs <= 0) {
      this.forget(resource);
      return;
    }
    if (!this.pendingDrops.has(hex)) this.pendingDrops.set(hex, { resource, at: this.deps.clock.now() + this.opts.dropGraceMs });
    this.scheduleDrops();
  }

  private scheduleDrops(): void {
    if (this.dropTimer !== undefined || this.closed || this.pendingDrops.size === 0) return;
    let next = Infinity;
    for (const p of this.pendingDrops.values()) next = Math.min(next, p.at);
    this.dropTimer = this.deps.clock.setTimer(Math.max(0, next - this.deps.clock.now()), () => {
      this.dropTimer = undefined;
      this.runDrops();
    });
  }

  private runDrops(): void {
    if (this.closed) return;
    const now = this.deps.clock.now();
    let ran = false;
    for (const [hex, p] of [...this.pendingDrops]) {
      if (p.at > now) continue;
      ran = true;
      this.pendingDrops.delete(hex);
      if (this.deps.engine.replicaNumber(p.resource) === undefined) continue; // expired meanwhile
      if (this.roleOf(p.resource) === DROP) this.forget(p.resource);
      else this.counters.dropsCancelled++;
    }
    if (ran) this.syncRoles(); // resources back in a replica set take their role again
    this.scheduleDrops();
  }

  /** syncRoles in `delayMs` (sooner if one is already due sooner). */
  private scheduleResync(delayMs: number): void {
    if (this.closed) return;
    const at = this.deps.clock.now() + delayMs;
    if (this.resync !== undefined && this.resyncAt <= at) return;
    this.resync?.cancel();
    this.resyncAt = at;
    this.resync = this.deps.clock.setTimer(delayMs, () => {
      this.resync = undefined;
      this.resyncAt = Infinity;
      this.syncRoles();
    });
  }

  /** RFC 6940 §10.7.3: any new node in the replica set of what we are responsible for gets a Store. */
  private syncReplicas(): void {
    if (this.closed) return;
    const now = this.deps.host.neighbours().successors.slice(0, REPLICA_COUNT);
    const fresh = now.map((s) => !this.replicaSet.includes(s));
    for (const r of this.deps.engine.resourceIds()) {
      const hex = toHex(r);
      if (this.roleOf(r) !== 0) continue;
      const all = this.needFull.has(hex);
      for (let j = 0; j < now.length; j++) if (all || fresh[j]) this.sends.enqueue({ target: now[j]!, resource: r, replicaNumber: j + 1, attempts: 0 });
    }
    this.needFull.clear();
    this.replicaSet = now;
  }

  /**
   * A Store failed maxAttempts times: a replica we owe is made again by the next periodic re-check
   * while we are still responsible (syncReplicas sends only to new successors otherwise, and the
   * copy was missing for good).
   */
  private givenUp(s: ReplicaSend): void {
    if (s.replicaNumber > 0 && this.roleOf(s.resource) === 0) this.needFull.add(toHex(s.resource));
  }

  /**
   * Before a clean Leave (RFC 6940 §10.9): every resource we hold goes to the successors that hold
   * its copies once we are gone — those of the replica set after us, the new member included (with
   * role i we are the owner's i-th successor: successors 0 .. 2−i). Without it the new member waits
   * for the owner's hold-down to get a copy, and a silent crash in that window lost data in
   * the simulator. Generation counters make a copy a peer already holds a no-op. Resolves when the
   * sends are answered or after `maxWaitMs` (a timer on the injected clock).
   */
  handOffBeforeLeave(maxWaitMs: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    const succ = this.deps.host.neighbours().successors;
    const sends: ReplicaSend[] = [];
    for (const r of this.deps.engine.resourceIds()) {
      const role = this.roleOf(r);
      if (role === DROP) continue;
      for (let j = 0; j <= REPLICA_COUNT - role && j < succ.length; j++) {
        sends.push({ target: succ[j]!, resource: r, replicaNumber: Math.min(REPLICA_COUNT, role + j + 1), attempts: this.opts.maxAttempts - 1 });
      }
    }
    // only these sends are waited for: an older one retrying towards a dead peer would hold the Leave
    return this.sends.sendAll(sends, maxWaitMs);
  }

  /** Sends waiting or in flight (tests, status). */
  pending(): number {
    return this.sends.pending();
  }

  close(): void {
    this.closed = true;
    this.holdDown?.cancel();
    this.holdDown = undefined;
    this.resync?.cancel();
    this.resync = undefined;
    this.periodic?.cancel();
    this.periodic = undefined;
    this.dropTimer?.cancel();
    this.dropTimer = undefined;
    this.pendingDrops.clear();
    this.sends.close();
  }
}
