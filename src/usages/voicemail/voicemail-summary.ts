/**
 * Message waiting counts from the voicemail index (issue 16): the MessageSummarySource the presence
 * service's message-summary package (RFC 3842) reads, and what the unsolicited NOTIFYs carry.
 *
 * A count is one Stat of the user's index (keys only), cached per AoR for `ttlMs`; our own changes
 * (a voicemail stored or removed here) set it at once and tell the watchers. Every voicemail counts
 * as new: whether it was heard is not kept in the overlay (an index entry is replaced only by its
 * writer, who is rarely the peer that plays it), so Voice-Message is N/0. A failed count gives the
 * last one known (0 when none). Bounded: `maxCached` AoRs, `maxWatchers` watches.
 */
import type { Clock } from '../../lib/clock.js';
import type { MessageSummary, MessageSummarySource } from '../presence/message-summary.js';

export interface VoicemailSummaryDeps {
  clock: Clock;
  /** The live voicemails of an AoR (a Stat of its index). */
  count(aor: string): Promise<{ ok: true; count: number } | { ok: false; info: string }>;
}

export interface VoicemailSummaryOptions {
  /** How long a count is taken as true, ms (default 60,000; 0..3,600,000). */
  ttlMs: number;
  /** AoRs whose count is cached (default 10,000; the oldest forgotten). */
  maxCached: number;
  /** Watches at once (default 10,000); past it `watch` does nothing (the watcher polls on its refreshes). */
  maxWatchers: number;
}

export const DEFAULT_VOICEMAIL_SUMMARY_OPTIONS: Readonly<VoicemailSummaryOptions> = Object.freeze({ ttlMs: 60_000, maxCached: 10_000, maxWatchers: 10_000 });

export class VoicemailSummary implements MessageSummarySource {
  private readonly options: VoicemailSummaryOptions;
  private readonly cache = new Map<string, { count: number; at: number }>();
  private readonly inFlight = new Map<string, Promise<number>>();
  private readonly watchers = new Map<string, Set<() => void>>();
  private watching = 0;

  constructor(
    private readonly deps: VoicemailSummaryDeps,
    options: Partial<VoicemailSummaryOptions> = {},
  ) {
    this.options = { ...DEFAULT_VOICEMAIL_SUMMARY_OPTIONS, ...options };
    const { ttlMs, maxCached, maxWatchers } = this.options;
    if (!Number.isInteger(ttlMs) || ttlMs < 0 || ttlMs > 3_600_000) throw new RangeError(`summary ttl ${ttlMs} ms: an integer in [0, 3600000]`);
    if (!Number.isInteger(maxCached) || maxCached < 1) throw new RangeError(`summary cache ${maxCached}: a positive integer`);
    if (!Number.isInteger(maxWatchers) || maxWatchers < 0) throw new RangeError(`summary watchers ${maxWatchers}: a non-negative integer`);
  }

  async summary(aor: string): Promise<MessageSummary> {
    return { newMessages: await this.count(aor), oldMessages: 0 };
  }

  /** The AoR's live voicemails (cached unless `fresh`, else one Stat; concurrent asks share it). */
  count(aor: string, fresh = false): Promise<number> {
    const key = aor.toLowerCase();
    const c = this.cache.get(key);
    if (!fresh && c !== undefined && this.deps.clock.now() - c.at < this.options.ttlMs) return Promise.resolve(c.count);
    const running = this.inFlight.get(key);
    if (running !== undefined) return running;
    const p = this.deps
      .count(aor)
      .then(
        (r) => {
          if (!r.ok) return this.cache.get(key)?.count ?? 0;
          this.remember(key, r.count);
          return r.count;
        },
        () => this.cache.get(key)?.count ?? 0,
      )
      .finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, p);
    return p;
  }

  /** True while a phone subscribed to the user's message-summary at this peer (its NOTIFYs say it all). */
  watched(aor: string): boolean {
    return (this.watchers.get(aor.toLowerCase())?.size ?? 0) > 0;
  }

  watch(aor: string, onChange: () => void): () => void {
    const key = aor.toLowerCase();
    if (this.watching >= this.options.maxWatchers) return () => undefined;
    let set = this.watchers.get(key);
    if (set === undefined) this.watchers.set(key, (set = new Set()));
    const fn = (): void => onChange();
    set.add(fn);
    this.watching++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.watching--;
      set.delete(fn);
      if (set.size === 0 && this.watchers.get(key) === set) this.watchers.delete(key);
    };
  }

  /** Our own change: `count` known (a store, a removal seen through), or undefined (count again). Tells the watchers. */
  changed(aor: string, count?: number): void {
    const key = aor.toLowerCase();
    if (count === undefined) this.cache.delete(key);
    else this.remember(key, count);
    for (const fn of [...(this.watchers.get(key) ?? [])]) {
      try {
        fn();
      } catch {
        // a watcher's failure is its own
      }
    }
  }

  /** The count cached for the AoR (fresh or not), for adjusting it after our own change. */
  cached(aor: string): number | undefined {
    return this.cache.get(aor.toLowerCase())?.count;
  }

  get watchCount(): number {
    return this.watching;
  }

  private remember(key: string, count: number): void {
    this.cache.delete(key);
    this.cache.set(key, { count: Math.max(0, count), at: this.deps.clock.now() });
    while (this.cache.size > this.options.maxCached) this.cache.delete(this.cache.keys().next().value!);
  }
}
