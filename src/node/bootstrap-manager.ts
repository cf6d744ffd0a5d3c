/**
 * A peer that never strands (issue 15): the join state of a peer and the loop that feeds its
 * bootstrap candidates (configured, cached, discovered — see candidate-table.ts) to the partition
 * check (RFC 6940 §10.7.4.4, OverlayNode.mergeThrough).
 *
 *   joining ──(a candidate admitted us)──▶ joined ◀──(a candidate merged us)── alone
 *      └──(none answered in aloneAfterMs)──▶ alone ◀──(lost every neighbour)── joined
 *
 * Alone, the peer is a one-peer overlay (its phones still register and call each other) and tries
 * its candidates with backoff; the first that answers merges it into that candidate's ring. Joined,
 * every candidate is still checked (new ones at once, known ones after `recheckMs`): a candidate
 * in another ring of the same overlay (a healed split, boxes booted together) merges the rings.
 * Sans-I/O: clock and random injected, the attempt itself is a function.
 */
import type { Clock, TimerHandle } from '../lib/clock.js';
import type { BootstrapCandidate } from './bootstrap-candidate.js';
import type { CandidateEntry, CandidateTable } from './candidate-table.js';

export type JoinState = 'joining' | 'alone' | 'joined';

/** What one attempt through a candidate found. */
export type CandidateOutcome = 'merged' | 'same-ring' | 'failed' | 'unreachable';

export interface BootstrapManagerDeps {
  clock: Clock;
  table: CandidateTable;
  /** The partition check through the candidate (RFC 6940 §10.7.4.4); 'merged' when we joined its ring. */
  tryCandidate(c: { host: string; port: number }): Promise<CandidateOutcome>;
  /** Whether the node has a neighbour now (more than a ring of one). */
  hasNeighbours(): boolean;
  /** The neighbours now (any stable text per peer): one that disappears means the ring lost members. */
  neighbourIds?(): readonly string[];
  /** The rings merged (or a lone peer joined): usages re-store what they own (registrations). */
  onMerged?(via: string): void;
  onState?(state: JoinState, reason: string): void;
}

export interface BootstrapManagerOptions {
  /** A candidate that answered is checked again after this long (default 300 s, RFC 6940 §10.7.4.4). */
  recheckMs?: number;
  /** Attempts per round at most (default 4); the rest wait for the next round. */
  attemptsPerRound?: number;
  /**
   * After the ring lost a neighbour (a split, a crash), every candidate is tried within 1 s and, for
   * `lossWindowMs` (default 10 min), failures back off to at most `lossBackoffCapMs` (default 8 s,
   * jittered up to 12 s): when a split heals, the halves find each other within seconds.
   */
  lossWindowMs?: number;
  lossBackoffCapMs?: number;
}

export const DEFAULT_BOOTSTRAP_MANAGER_OPTIONS: Required<BootstrapManagerOptions> = {
  recheckMs: 300_000,
  attemptsPerRound: 4,
  lossWindowMs: 600_000,
  lossBackoffCapMs: 8_000,
};

/** Entries of the candidate list in {@link JoinStatus} at most. */
export const MAX_STATUS_CANDIDATES = 16;

/** The `join` object of /api/status. */
export interface JoinStatus {
  state: JoinState;
  reason: string;
  /** Clock ms of the last state change, and how long ago that was. */
  since: number;
  forSeconds: number;
  candidates: number;
  /** The last attempt through a candidate (`at`: clock ms). */
  lastAttempt: { candidate: string; source: string; at: number; agoSeconds: number; result: string } | null;
  /** When the next candidate is due (clock ms), and in how many seconds; null: no candidate known. */
  nextAttemptAt: number | null;
  nextAttemptInSeconds: number | null;
  merges: number;
  list: { candidate: string; source: string; nodeId: string | null; failures: number; nextAttemptAt: number; lastResult: string | null }[];
}

export class BootstrapManager {
  private readonly opts: Required<BootstrapManagerOptions>;
  private stateValue: JoinState = 'joining';
  private reason = 'starting: trying the bootstrap candidates';
  private since: number;
  private timer: TimerHandle | undefined;
  private running = false;
  private again = false;
  private stopped = false;
  private started = false;
  private merges = 0;
  private last: { candidate: string; source: string; at: number; result: string } | null = null;
  private neighbourIds = new Set<string>();
  private lastLossAt: number | undefined;

  constructor(
    private readonly d: BootstrapManagerDeps,
    options: BootstrapManagerOptions = {},
  ) {
    this.opts = { ...DEFAULT_BOOTSTRAP_MANAGER_OPTIONS, ...options };
    this.since = d.clock.now();
    d.table.onFresh = () => this.kick();
  }

  get state(): JoinState {
    return this.stateValue;
  }

  /** Offers a candidate (the BootstrapCandidateSink of discovery, the cache, the configuration). */
  offer(c: BootstrapCandidate): void {
    this.d.table.offer(c);
  }

  /** The node started: joined through a candidate, or alone. The candidate loop begins. */
  start(result: 'joined' | 'alone', reason: string): void {
    if (this.stopped) return;
    this.started = true;
    this.neighbourIds = new Set(this.d.neighbourIds?.() ?? []);
    this.setState(result, reason);
    this.kick();
  }

  /** The neighbour table changed: alone ⇄ joined as the table says. */
  neighboursChanged(): void {
    if (!this.started || this.stopped) return;
    const now = new Set(this.d.neighbourIds?.() ?? []);
    const lost = [...this.neighbourIds].some((id) => !now.has(id));
    this.neighbourIds = now;
    if (lost) {
      // a split or a crash: the peers we lost may be back any moment (a healed switch)
      this.lastLossAt = this.d.clock.now();
      this.d.table.expedite(this.lastLossAt, 1000);
      this.kick();
    }
    const has = this.d.hasNeighbours();
    if (has && this.stateValue === 'alone') this.setState('joined', 'a peer of the overlay linked to us');
    if (!has && this.stateValue === 'joined') {
      this.setState('alone', 'lost every neighbour: trying the candidates again');
      this.kick();
    }
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
  }

  status(): JoinStatus {
    const t = this.d.table;
    const now = this.d.clock.now();
    const secs = (ms: number): number => Math.round(ms / 100) / 10;
    const next = t.nextDueAt();
    return {
      state: this.stateValue,
      reason: this.reason,
      since: this.since,
      forSeconds: secs(now - this.since),
      candidates: t.size,
      lastAttempt: this.last === null ? null : { ...this.last, agoSeconds: secs(now - this.last.at) },
      nextAttemptAt: next ?? null,
      nextAttemptInSeconds: next === undefined ? null : secs(Math.max(0, next - now)),
      merges: this.merges,
      list: t
        .list()
        .slice(0, MAX_STATUS_CANDIDATES)
        .map((e) => ({ candidate: nameOf(e), source: e.source, nodeId: e.nodeId ?? null, failures: e.failures, nextAttemptAt: e.nextAttemptAt, lastResult: e.lastResult ?? null })),
    };
  }

  /** Runs a round now (a new candidate, a lost ring), or after the one in progress. */
  private kick(): void {
    if (!this.started || this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.timer?.cancel();
    this.timer = this.d.clock.setTimer(0, () => void this.round());
  }

  private schedule(): void {
    this.timer?.cancel();
    this.timer = undefined;
    if (this.stopped) return;
    const next = this.d.table.nextDueAt();
    if (next === undefined) return;
    this.timer = this.d.clock.setTimer(Math.max(0, next - this.d.clock.now()), () => void this.round());
  }

  /** Tries the due candidates one after the other; stops at the first merge while alone. */
  private async round(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    this.again = false;
    try {
      const due = this.d.table.due(this.d.clock.now()).slice(0, this.opts.attemptsPerRound);
      if (this.stateValue === 'joined') {
        // partition checks side by side: one unreachable candidate (a TLS connect timing out) must
        // not hold up the others
        await Promise.all(due.map((e) => this.attempt(e)));
      } else {
        // alone: one at a time, so the first ring that answers is the one joined
        for (const e of due) {
          if (this.stopped) return;
          await this.attempt(e);
        }
      }
    } finally {
      this.running = false;
    }
    if (this.again) this.kick();
    else this.schedule();
  }

  private async attempt(e: CandidateEntry): Promise<void> {
    const { clock, table } = this.d;
    let r: CandidateOutcome;
    try {
      r = await this.d.tryCandidate({ host: e.host, port: e.port });
    } catch {
      r = 'failed';
    }
    if (this.stopped) return;
    const now = clock.now();
    this.last = { candidate: nameOf(e), source: e.source, at: now, result: r };
    if (r === 'failed' || r === 'unreachable') {
      const afterLoss = this.lastLossAt !== undefined && now - this.lastLossAt < this.opts.lossWindowMs;
      table.failed(e, now, r, afterLoss ? this.opts.lossBackoffCapMs : undefined);
      return;
    }
    table.succeeded(e, now, r, this.opts.recheckMs);
    if (r === 'merged') {
      this.merges++;
      this.setState('joined', `${this.stateValue === 'alone' ? 'joined' : 'merged with'} the ring of ${nameOf(e)} (${e.source})`);
      this.d.onMerged?.(nameOf(e));
    } else if (this.stateValue === 'alone' && this.d.hasNeighbours()) {
      this.setState('joined', `in the ring of ${nameOf(e)} (${e.source})`);
    }
  }

  private setState(s: JoinState, reason: string): void {
    this.reason = reason;
    if (this.stateValue === s) return;
    this.stateValue = s;
    this.since = this.d.clock.now();
    this.d.onState?.(s, reason);
  }
}

function nameOf(e: { host: string; port: number }): string {
  return `${e.host.includes(':') ? `[${e.host}]` : e.host}:${e.port}`;
}
