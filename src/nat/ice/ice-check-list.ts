/**
 * The check list of one single-component stream (RFC 8445 §6.1.2–§6.1.4, §7.2.5.3–§7.2.5.4, §8.1.2):
 * pair formation, pruning and limits, pair states with one guarded transition function, foundations
 * unfreezing, the triggered-check queue, and the valid list. No I/O, no timers: the agent drives it.
 */
import { addressKey, pairPriority, sameFamily } from './ice-candidate.js';
import type { LocalCandidate, RemoteCandidate } from './ice-candidate.js';
import { IceError } from './ice-error.js';

export type PairState = 'frozen' | 'waiting' | 'in-progress' | 'succeeded' | 'failed';

/**
 * RFC 8445 §6.1.2.6 states and their arrows. Additions the RFC implies: succeeded → waiting (the
 * controlling agent repeats a check to nominate it, §8.1.1); waiting → succeeded (a late response to
 * a check cancelled by a triggered check still counts, §7.3.1.4); failed → waiting (a triggered check).
 */
const PAIR_TRANSITIONS: Readonly<Record<PairState, readonly PairState[]>> = {
  frozen: ['waiting'],
  waiting: ['in-progress', 'succeeded'],
  'in-progress': ['succeeded', 'failed', 'waiting'],
  succeeded: ['waiting'],
  failed: ['waiting'],
};

export interface CandidatePair {
  readonly key: string;
  /** The local candidate checks are sent from: a base (host or relayed candidate), §6.1.2.4. */
  readonly local: LocalCandidate;
  readonly remote: RemoteCandidate;
  /** Pair foundation: the local and remote candidates' foundations (§6.1.2.6). */
  readonly foundation: string;
  priority: bigint;
  state: PairState;
  /** The valid pair a successful check of this pair produced (§7.2.5.3.2). */
  valid: ValidPair | undefined;
  /** Controlling side: the next check of this pair carries USE-CANDIDATE (regular nomination, §8.1.1). */
  nominating: boolean;
  /** Controlled side: a USE-CANDIDATE request came for this pair; its next success nominates it (§7.3.1.5). */
  nominateOnSuccess: boolean;
  /** In the triggered-check queue. */
  queued: boolean;
  /** Nomination checks of this pair repeated after a timeout (the agent bounds them). */
  retries: number;
  /** When its first check was sent (clock ms), for the early-nomination rule. */
  firstCheckAt?: number;
}

export interface ValidPair {
  /** The local candidate whose address the check's XOR-MAPPED-ADDRESS named (may be srflx/prflx). */
  readonly local: LocalCandidate;
  readonly remote: RemoteCandidate;
  priority: bigint;
  /** The checked pair that produced it (its local candidate is the base to send from). */
  readonly checked: CandidatePair;
  nominated: boolean;
  /** RTT of the last successful, unretransmitted check (Karn), when known. */
  rttMs: number | undefined;
}

/** A bug, never caused by network input: handlers check a pair's state before they change it. */
export class IllegalPairTransition extends IceError {
  constructor(from: PairState, to: PairState) {
    super('ICE_ILLEGAL_TRANSITION', `ICE pair: illegal transition ${from} -> ${to}`);
    this.name = 'IllegalPairTransition';
  }
}

/** Priority of a pair from the agent's point of view (§6.1.2.3: G is the controlling side's). */
export function priorityFor(local: LocalCandidate, remote: RemoteCandidate, controlling: boolean): bigint {
  return controlling ? pairPriority(local.priority, remote.priority) : pairPriority(remote.priority, local.priority);
}

/** The key of a pair: its local base and the remote address (§6.1.2.4 redundancy). */
export function pairKey(local: LocalCandidate, remote: { address: RemoteCandidate['address'] }): string {
  return `${local.base}|${addressKey(local.address)}|${addressKey(remote.address)}`;
}

function byPriority(a: { priority: bigint; key?: string }, b: { priority: bigint; key?: string }): number {
  if (a.priority !== b.priority) return a.priority > b.priority ? -1 : 1;
  return (a.key ?? '') < (b.key ?? '') ? -1 : (a.key ?? '') > (b.key ?? '') ? 1 : 0;
}

export class CheckList {
  private pairList: CandidatePair[] = [];
  private readonly byKey = new Map<string, CandidatePair>();
  private queue: CandidatePair[] = [];
  private validList: ValidPair[] = [];

  constructor(private readonly maxPairs: number) {}

  /**
   * RFC 8445 §6.1.2.2–§6.1.2.6: pairs every local candidate with every remote candidate of the same
   * family, replaces reflexive local candidates by their bases, drops redundant pairs (same base, same
   * remote address: the higher priority stays), keeps the `maxPairs` best, and sets the initial states
   * (per foundation, the best pair Waiting, the others Frozen). `baseOf` maps a reflexive candidate to its base.
   */
  form(locals: readonly LocalCandidate[], remotes: readonly RemoteCandidate[], controlling: boolean, baseOf: (c: LocalCandidate) => LocalCandidate): void {
    const best = new Map<string, CandidatePair>();
    for (const l of locals) {
      const local = l.type === 'srflx' || l.type === 'prflx' ? baseOf(l) : l;
      for (const remote of remotes) {
        if (!sameFamily(local.address, remote.address)) continue;
        const pair = newPair(local, remote, controlling);
        const had = best.get(pair.key);
        if (had === undefined || pair.priority > had.priority) best.set(pair.key, pair);
      }
    }
    const sorted = [...best.values()].sort(byPriority).slice(0, this.maxPairs);
    const seen = new Set<string>();
    for (const p of sorted) {
      if (!seen.has(p.foundation)) {
        seen.add(p.foundation);
        p.state = 'waiting';
      }
      this.pairList.push(p);
      this.byKey.set(p.key, p);
    }
  }

  /** A new pair for a triggered check (§7.3.1.4), Waiting; undefined when the list is full. */
  add(local: LocalCandidate, remote: RemoteCandidate, controlling: boolean): CandidatePair | undefined {
    const key = pairKey(local, remote);
    const had = this.byKey.get(key);
    if (had !== undefined) return had;
    if (this.pairList.length >= this.maxPairs) return undefined;
    const p = newPair(local, remote, controlling);
    p.state = 'waiting';
    this.byKey.set(key, p);
    this.pairList.push(p);
    this.pairList.sort(byPriority);
    return p;
  }

  get(local: LocalCandidate, remote: { address: RemoteCandidate['address'] }): CandidatePair | undefined {
    return this.byKey.get(pairKey(local, remote));
  }

  pairs(): readonly CandidatePair[] {
    return this.pairList;
  }

  valid(): readonly ValidPair[] {
    return this.validList;
  }

  /** The one place pair states change. */
  setState(p: CandidatePair, to: PairState): void {
    if (!PAIR_TRANSITIONS[p.state].includes(to)) throw new IllegalPairTransition(p.state, to);
    p.state = to;
    if (to !== 'waiting' && p.queued) this.unqueue(p);
  }

  /** §7.3.1.4 / §7.2.5.1: puts the pair in Waiting at the end of the triggered-check queue; false when it was queued already. */
  trigger(p: CandidatePair): boolean {
    if (p.state !== 'waiting') this.setState(p, 'waiting');
    if (p.queued) return false;
    p.queued = true;
    this.queue.push(p);
    return true;
  }

  /**
   * §6.1.4.2: the pair to check at this Ta tick — the head of the triggered queue, else the best
   * Waiting pair, else (no Waiting pair) unfreezes, per foundation with no Waiting or In-Progress pair,
   * its best Frozen pair, and takes the best Waiting one. Undefined: nothing to do now.
   */
  next(): CandidatePair | undefined {
    while (this.queue.length > 0) {
      const p = this.queue.shift()!;
      p.queued = false;
      if (p.state === 'waiting') return p;
    }
    let w = this.bestWaiting();
    if (w !== undefined) return w;
    const busy = new Set<string>();
    for (const p of this.pairList) if (p.state === 'waiting' || p.state === 'in-progress') busy.add(p.foundation);
    for (const p of this.pairList) {
      if (p.state === 'frozen' && !busy.has(p.foundation)) {
        busy.add(p.foundation);
        this.setState(p, 'waiting');
      }
    }
    w = this.bestWaiting();
    return w;
  }

  /** §7.2.5.3.3: every Frozen pair with this foundation becomes Waiting. */
  unfreezeFoundation(foundation: string): void {
    for (const p of this.pairList) if (p.state === 'frozen' && p.foundation === foundation) this.setState(p, 'waiting');
  }

  /** After a role change (§7.2.5.1, §7.3.1.1) priorities are computed again. */
  reprioritize(controlling: boolean): void {
    for (const p of this.pairList) p.priority = priorityFor(p.local, p.remote, controlling);
    for (const v of this.validList) v.priority = priorityFor(v.local, v.remote, controlling);
    this.pairList.sort(byPriority);
    this.validList.sort(byPriority);
  }

  /** §7.2.5.3.2: the valid pair for a successful check of `checked` (an existing one is reused). */
  addValid(local: LocalCandidate, remote: RemoteCandidate, checked: CandidatePair, controlling: boolean): ValidPair {
    for (const v of this.validList) if (v.checked === checked && v.local === local && v.remote === remote) return v;
    const v: ValidPair = { local, remote, checked, priority: priorityFor(local, remote, controlling), nominated: false, rttMs: undefined };
    this.validList.push(v);
    this.validList.sort(byPriority);
    return v;
  }

  /** Forgets the valid pairs a pair produced (its nomination check failed). */
  dropValidOf(p: CandidatePair): void {
    this.validList = this.validList.filter((v) => v.checked !== p);
    p.valid = undefined;
  }

  /** The best valid pair, if any. */
  bestValid(): ValidPair | undefined {
    return this.validList[0];
  }

  /** True when a pair of higher priority than `priority` may still succeed (Frozen, Waiting or In-Progress). */
  pendingAbove(priority: bigint): boolean {
    return this.pairList.some((p) => p.priority > priority && (p.state === 'frozen' || p.state === 'waiting' || p.state === 'in-progress'));
  }

  /** The pairs above `priority` that may still succeed (frozen, waiting or in progress). */
  pendingPairsAbove(priority: bigint): CandidatePair[] {
    return this.pairList.filter((p) => p.priority > priority && (p.state === 'frozen' || p.state === 'waiting' || p.state === 'in-progress'));
  }

  /** Every pair Failed (and there is at least one): the check list is Failed (§7.2.5.4). */
  allFailed(): boolean {
    return this.pairList.length > 0 && this.pairList.every((p) => p.state === 'failed');
  }

  /** Waiting + In-Progress pairs (RFC 8445 §14.3's RTO formula). */
  active(): number {
    let n = 0;
    for (const p of this.pairList) if (p.state === 'waiting' || p.state === 'in-progress') n++;
    return n;
  }

  /**
   * §8.1.2 / RFC 6940 §6.5.1.10.2: once Completed (or Failed), unused pairs go at once — Waiting and
   * Frozen ones, and In-Progress ones whose checks the agent cancels — and the queue empties.
   */
  conclude(): void {
    for (const p of this.queue) p.queued = false;
    this.queue = [];
    this.pairList = this.pairList.filter((p) => p.state === 'succeeded' || p.state === 'failed');
    this.byKey.clear();
    for (const p of this.pairList) this.byKey.set(p.key, p);
  }

  counts(): Record<PairState, number> {
    const c: Record<PairState, number> = { frozen: 0, waiting: 0, 'in-progress': 0, succeeded: 0, failed: 0 };
    for (const p of this.pairList) c[p.state]++;
    return c;
  }

  queued(): number {
    return this.queue.length;
  }

  private bestWaiting(): CandidatePair | undefined {
    for (const p of this.pairList) if (p.state === 'waiting') return p;
    return undefined;
  }

  private unqueue(p: CandidatePair): void {
    p.queued = false;
    this.queue = this.queue.filter((q) => q !== p);
  }
}

function newPair(local: LocalCandidate, remote: RemoteCandidate, controlling: boolean): CandidatePair {
  return {
    key: pairKey(local, remote),
    local,
    remote,
    foundation: `${local.foundation}:${remote.foundation}`,
    priority: priorityFor(local, remote, controlling),
    state: 'frozen',
    valid: undefined,
    nominating: false,
    nominateOnSuccess: false,
    queued: false,
    retries: 0,
  };
}
