/**
 * The overlay side of a peer's phone registrations (RFC 7904 §3): one sip_registration_route entry
 * (destination list = our Node-ID) per AoR with bindings here, its lifetime following theirs, gone
 * (exists=false, RFC 6940 §7.4.1.1) when the last binding goes.
 *
 * - A REGISTER that needs a Store (new AoR, or a lifetime beyond what is stored by refreshSlackSec)
 *   waits for it (`store`); OverlayLocationService answers the phone with its outcome.
 * - Everything else is brought in line in the background (`schedule`): withdraws, shorter lifetimes,
 *   the AoRs restored after a restart, a Store that landed after its REGISTER was answered. At most
 *   `maxConcurrentStores` at once; an AoR waiting is queued once, however often it is asked for.
 * - A failed background Store is tried again (backoff from publishRetryMs, doubling, at most
 *   maxRetryMs) only when it may succeed later (RegistrationStoreError 'unavailable' or 'full'), and
 *   only while the AoR has bindings here (a withdraw: while the stored entry lives) — never forever,
 *   never a Store the overlay refused.
 * - Work for one AoR never interleaves (`lock`): a REGISTER waits for a background Store of its AoR.
 * - The AoRs with an entry in the overlay are written to `marks` (AoR → wall-clock expiry), so that
 *   after a restart those whose bindings are gone are withdrawn, and the others stored afresh.
 */
import type { Clock, TimerHandle } from '../../lib/clock.js';
import type { RecordStore } from '../../lib/record-store.js';
import type { SipRegistration } from '../../reload/codec/index.js';
import type { Binding } from '../../sip/core/location-service.js';
import type { RegistrationDirectory } from './registration-directory.js';
import { RegistrationStoreError, type StoreFailure } from './registration-store-error.js';
import { SipUsageError } from './sip-usage-error.js';

export interface RegistrationPublisherDeps {
  clock: Clock;
  directory: RegistrationDirectory;
  selfNodeId: Uint8Array;
  /** The AoR's current bindings here (its phones'; static AoRs are StaticRegistrations' business). */
  bindings(aor: string): readonly Binding[];
  /** AoR → wall-clock expiry of our entry, kept across restarts. None: not kept. */
  marks?: RecordStore;
  /** Wall-clock ms for `marks` (default: the clock's own scale). */
  wallClock?: () => number;
  /** Counters, shared with the location service's. */
  stats: PublisherStats;
  /**
   * Issue 15: tells when this peer's ring merged with another (or a lone peer joined one): every AoR
   * with bindings here is stored again then (belt and braces beside the data migration of the merge).
   */
  ringMerges?: RingMergeSource;
  logger?: { warn(obj: object, msg: string): void };
}

/** Where the publisher hears of ring merges (the node's bootstrap manager, issue 15). */
export interface RingMergeSource {
  /** Calls `listener` after each merge; returns the unsubscribe function. */
  onRingMerged(listener: () => void): () => void;
}

export interface RegistrationPublisherOptions {
  /** A lifetime within this of what is stored is not stored again, s (default 30). */
  refreshSlackSec: number;
  /** First wait before a failed background Store is tried again, ms (default 2,000; doubled each time). */
  publishRetryMs: number;
  /** Longest wait between tries, ms (default 60,000). */
  maxRetryMs: number;
  /** Background Stores and withdraws in flight at once (default 32). */
  maxConcurrentStores: number;
}

export const DEFAULT_REGISTRATION_PUBLISHER_OPTIONS: Readonly<RegistrationPublisherOptions> = Object.freeze({
  refreshSlackSec: 30,
  publishRetryMs: 2_000,
  maxRetryMs: 60_000,
  maxConcurrentStores: 32,
});

export interface PublisherStats {
  published: number;
  withdrawn: number;
  publishFailures: number;
  /** Stores the overlay refused (never tried again). */
  publishRefused: number;
  /** AoRs given to restore() to be stored again or withdrawn after a restart. */
  restored: number;
  /** AoRs stored again after a merge of rings (issue 15); absent in counters made before it. */
  republishedAfterMerge?: number;
}

/** What a change of an AoR's bindings needs from the overlay. */
export type PublishPlan = 'store' | 'background' | 'none';

/** How a failure is acted on: 'invalid' is ours (an AoR that may not be stored). */
export type PublishFailure = StoreFailure | 'invalid';

export function publishFailureOf(err: unknown): PublishFailure {
  if (err instanceof RegistrationStoreError) return err.failure;
  if (err instanceof SipUsageError && err.code === 'bad-aor') return 'invalid';
  return 'unavailable';
}

export class RegistrationPublisher {
  private readonly options: RegistrationPublisherOptions;
  /** AoR → expiry (clock ms) of the entry we know the overlay holds (or may hold: restored marks). */
  private readonly published = new Map<string, number>();
  /** AoRs whose overlay entry must be stored (or withdrawn) whatever `published` says: restored ones. */
  private readonly stale = new Set<string>();
  /** AoR → the tail of its work (REGISTERs and background Stores run one at a time). */
  private readonly locks = new Map<string, Promise<void>>();
  /** AoRs waiting for background work, in order; each at most once. */
  private readonly dirty = new Set<string>();
  private running = 0;
  private readonly retries = new Map<string, TimerHandle>();
  /** AoR → the wait before its next retry. */
  private readonly backoff = new Map<string, number>();
  private stopped = false;
  private readonly wallClock: () => number;
  private readonly unfollowMerges: (() => void) | undefined;

  constructor(
    private readonly deps: RegistrationPublisherDeps,
    options: Partial<RegistrationPublisherOptions> = {},
  ) {
    this.options = { ...DEFAULT_REGISTRATION_PUBLISHER_OPTIONS, ...options };
    this.wallClock = deps.wallClock ?? (() => deps.clock.now());
    this.unfollowMerges = deps.ringMerges?.onRingMerged(() => this.republishAll());
  }

  /**
   * Issue 15: after a merge of two rings (or a lone peer joining an overlay) the entries of our AoRs
   * may sit at a peer no longer responsible for them: each AoR we hold an entry for, or that has
   * bindings here, is stored afresh in the background (bounded by maxConcurrentStores, one queue
   * entry per AoR). Returns how many AoRs were scheduled.
   */
  republishAll(): number {
    if (this.stopped) return 0;
    const now = this.deps.clock.now();
    let n = 0;
    for (const [aor, expiresAt] of this.published) {
      if (expiresAt <= now || lastExpiry(this.deps.bindings(aor)) <= now) continue;
      this.stale.add(aor);
      this.schedule(aor);
      n++;
    }
    this.deps.stats.republishedAfterMerge = (this.deps.stats.republishedAfterMerge ?? 0) + n;
    return n;
  }

  /** True while work for the AoR runs or waits. */
  busy(aor: string): boolean {
    return this.locks.has(aor);
  }

  /** Runs `fn` when no other work for the AoR runs (REGISTERs and background Stores in turn). */
  lock<T>(aor: string, fn: () => Promise<T> | T): Promise<T> {
    const prev = this.locks.get(aor);
    const run = prev === undefined ? Promise.resolve().then(fn) : prev.then(fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.locks.set(aor, tail);
    void tail.then(() => {
      if (this.locks.get(aor) === tail) this.locks.delete(aor);
    });
    return run;
  }

  /** What making `bindings` the AoR's bindings needs: a Store first, work in the background, or nothing. */
  plan(aor: string, bindings: readonly Binding[]): PublishPlan {
    const now = this.deps.clock.now();
    const expiresAt = lastExpiry(bindings);
    const stored = this.published.get(aor);
    if (expiresAt <= now) return stored === undefined ? 'none' : 'background';
    if (stored === undefined || stored <= now || this.stale.has(aor)) return 'store';
    const slack = this.options.refreshSlackSec * 1000;
    if (expiresAt >= stored + slack) return 'store';
    if (stored - expiresAt >= slack) return 'background';
    return 'none';
  }

  /** Stores the AoR's entry until `expiresAt` (for a REGISTER, under its lock); rejects as the overlay did. */
  async store(aor: string, expiresAt: number): Promise<void> {
    try {
      await this.publish(aor, expiresAt);
    } catch (err) {
      this.deps.stats.publishFailures++;
      if (publishFailureOf(err) === 'refused') this.deps.stats.publishRefused++;
      throw err;
    }
  }

  /** Brings the AoR's overlay entry in line with its bindings, in the background. */
  schedule(aor: string): void {
    if (this.stopped) return;
    this.dirty.add(aor);
    this.pump();
  }

  /**
   * After a restart: the entries we may hold (from `marks`) and the AoRs whose bindings were restored
   * are checked against each other — AoRs with bindings are stored afresh (an entry that is missing
   * or stale is replaced), the others withdrawn. Returns how many AoRs were scheduled.
   */
  restore(aors: Iterable<string>): number {
    const now = this.deps.clock.now();
    const offset = now - this.wallClock();
    const todo = new Set<string>();
    for (const [aor, text] of this.deps.marks?.loadAll() ?? []) {
      const wall = Number(text);
      const expiresAt = wall + offset;
      if (!Number.isFinite(wall) || expiresAt <= now) {
        this.deps.marks?.delete(aor);
        continue;
      }
      this.published.set(aor, expiresAt);
      todo.add(aor);
    }
    for (const aor of aors) todo.add(aor);
    for (const aor of todo) {
      this.stale.add(aor);
      this.schedule(aor);
    }
    this.deps.stats.restored += todo.size;
    return todo.size;
  }

  /** Forgets entries whose lifetime ended (the overlay drops them itself); AoRs still registered are stored again. */
  sweep(): number {
    const now = this.deps.clock.now();
    let n = 0;
    for (const [aor, expiresAt] of this.published) {
      if (expiresAt > now) continue;
      n++;
      if (lastExpiry(this.deps.bindings(aor)) > now) this.schedule(aor);
      else this.forget(aor);
    }
    return n;
  }

  /**
   * Clean shutdown: no more background work; every entry we hold is withdrawn (waits for work in
   * flight). With `until` (a time of the clock) no withdraw starts at or after it: the entries left
   * end with their lifetime (issue 18: a peer alone after its neighbours died withdraws into its own
   * storage, a chain of promises that never yields to timers — 8,700 AoRs took 6 s of CPU and held
   * the stop's own deadline back; the bound has to be checked here, between withdraws).
   */
  async withdrawAll(until?: number): Promise<void> {
    this.stopped = true;
    this.unfollowMerges?.();
    for (const r of this.retries.values()) r.cancel();
    this.retries.clear();
    this.dirty.clear();
    await this.idle();
    const now = this.deps.clock.now();
    const stored = [...this.published.entries()].filter(([, e]) => e > now);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < stored.length && (until === undefined || this.deps.clock.now() < until)) {
        const [aor, expiresAt] = stored[next++]!;
        try {
          await this.deps.directory.withdraw(aor, (expiresAt - this.deps.clock.now()) / 1000);
          this.deps.stats.withdrawn++;
          this.forget(aor);
        } catch {
          // the overlay is going or gone: the entry ends with its lifetime
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.maxConcurrentStores, stored.length) }, worker));
  }

  /** Resolves when no work for any AoR runs or waits (tests; retries waiting on a timer do not count). */
  async idle(): Promise<void> {
    while (this.locks.size > 0) await Promise.allSettled([...this.locks.values()]);
  }

  /** AoRs we hold an entry for, with its expiry (for /api/status). */
  publishedAors(): Array<[string, number]> {
    return [...this.published.entries()];
  }

  private pump(): void {
    while (this.running < this.options.maxConcurrentStores && this.dirty.size > 0) {
      const aor = this.dirty.values().next().value as string;
      this.dirty.delete(aor);
      this.running++;
      void this.lock(aor, () => this.reconcile(aor)).finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  private async reconcile(aor: string): Promise<void> {
    if (this.stopped) return;
    const now = this.deps.clock.now();
    const bindings = this.deps.bindings(aor);
    const expiresAt = lastExpiry(bindings);
    const stored = this.published.get(aor);
    if (expiresAt <= now) {
      // no binding left: take our entry back while it lives
      if (stored === undefined || stored <= now) return this.forget(aor);
      try {
        await this.deps.directory.withdraw(aor, (stored - now) / 1000);
        this.deps.stats.withdrawn++;
        this.forget(aor);
      } catch (err) {
        this.failed(aor, 'withdraw', err);
      }
      return;
    }
    if (this.plan(aor, bindings) === 'none') return; // within the refresh slack of what is stored
    try {
      await this.publish(aor, expiresAt);
    } catch (err) {
      this.failed(aor, 'publish', err);
    }
  }

  private async publish(aor: string, expiresAt: number): Promise<void> {
    const lifetimeSec = Math.max(1, Math.ceil((expiresAt - this.deps.clock.now()) / 1000));
    const value: SipRegistration = { type: 'route', contactPrefs: new Uint8Array(0), destinationList: [{ type: 'node', nodeId: this.deps.selfNodeId }] };
    await this.deps.directory.publish(aor, value, lifetimeSec);
    this.published.set(aor, expiresAt);
    this.stale.delete(aor);
    this.backoff.delete(aor);
    this.deps.stats.published++;
    this.deps.marks?.put(aor, String(Math.round(expiresAt - this.deps.clock.now() + this.wallClock())));
  }

  private failed(aor: string, what: 'publish' | 'withdraw', err: unknown): void {
    this.deps.stats.publishFailures++;
    const failure = publishFailureOf(err);
    const why = err instanceof Error ? err.message : String(err);
    if (failure === 'refused' || failure === 'invalid') {
      // tried again only when something changes (a REGISTER), never by itself
      this.deps.stats.publishRefused++;
      this.backoff.delete(aor);
      this.deps.logger?.warn({ aor, err: why }, `SIP usage: ${what} refused (not retried)`);
      return;
    }
    // one warning per run of failures, not one per try
    if (!this.backoff.has(aor)) this.deps.logger?.warn({ aor, err: why }, `SIP usage: ${what} failed (retrying while the AoR is registered)`);
    if (this.stopped || this.retries.has(aor)) return;
    const wait = this.backoff.get(aor) ?? this.options.publishRetryMs;
    this.backoff.set(aor, Math.min(wait * 2, this.options.maxRetryMs));
    this.retries.set(
      aor,
      this.deps.clock.setTimer(wait, () => {
        this.retries.delete(aor);
        this.schedule(aor);
      }),
    );
  }

  private forget(aor: string): void {
    this.stale.delete(aor);
    this.backoff.delete(aor);
    if (this.published.delete(aor)) this.deps.marks?.delete(aor);
  }
}

/** The latest expiry of a set of bindings (0 for none). */
export function lastExpiry(bindings: readonly Binding[]): number {
  let e = 0;
  for (const b of bindings) if (b.expiresAt > e) e = b.expiresAt;
  return e;
}
