/**
 * The bootstrap candidates a peer knows (issue 15): configured `--bootstrap` peers, the peer cache
 * (RFC 6940 §11.4 "cached nodes") and what LAN discovery finds (multicast bootstrap §11.4, mDNS).
 * Bounded (least recently offered evicted first, configured ones last), de-duplicated by address,
 * with a per-candidate backoff after failures — 1 s doubling to 60 s, jittered — so a host that is
 * not a member (its TLS certificate fails) is never retried in a tight loop. Sans-I/O: times are
 * passed in, the jitter comes from an injected Random.
 */
import type { Random } from '../lib/random.js';
import type { BootstrapCandidate, BootstrapCandidateSink, BootstrapSource } from './bootstrap-candidate.js';

export interface CandidateTableOptions {
  /** Candidates kept at most (default 64). */
  maxCandidates?: number;
  /** First wait after a failure (default 1 s); doubles per failure. */
  initialBackoffMs?: number;
  /** Longest wait after failures (default 60 s). */
  maxBackoffMs?: number;
}

export const DEFAULT_CANDIDATE_TABLE_OPTIONS: Required<CandidateTableOptions> = {
  maxCandidates: 64,
  initialBackoffMs: 1000,
  maxBackoffMs: 60_000,
};

/** Longest host string accepted (an IPv6 literal with a zone fits). */
const MAX_HOST_CHARS = 64;

/** One candidate as the table and /api/status show it. */
export interface CandidateEntry {
  readonly host: string;
  readonly port: number;
  source: BootstrapSource;
  nodeId: string | undefined;
  /** Failures in a row (0 after a success). */
  failures: number;
  /** Earliest time of the next attempt (clock ms). */
  nextAttemptAt: number;
  lastAttemptAt: number | undefined;
  lastResult: string | undefined;
  /** When last offered (LRU order). */
  offeredAt: number;
}

/** Which source wins when one address is offered by several (configured is kept longest). */
const RANK: Record<BootstrapSource, number> = { configured: 3, cache: 1, multicast: 2, mdns: 2 };

export class CandidateTable implements BootstrapCandidateSink {
  private readonly opts: Required<CandidateTableOptions>;
  private readonly entries = new Map<string, CandidateEntry>();
  /** Called when a candidate new to the table (or one that had failed) is offered: it is due now. */
  onFresh: (() => void) | undefined;

  constructor(
    private readonly now: () => number,
    private readonly random: Random,
    options: CandidateTableOptions = {},
  ) {
    this.opts = { ...DEFAULT_CANDIDATE_TABLE_OPTIONS, ...options };
  }

  get size(): number {
    return this.entries.size;
  }

  /** Takes a candidate (bad ones ignored): new ones are due at once, known ones keep their backoff. */
  offer(c: BootstrapCandidate): void {
    if (typeof c.host !== 'string' || c.host.length === 0 || c.host.length > MAX_HOST_CHARS) return;
    if (!Number.isInteger(c.port) || c.port < 1 || c.port > 65535) return;
    const key = keyOf(c.host, c.port);
    const now = this.now();
    const nodeId = c.nodeId !== undefined && /^[0-9a-f]{2,128}$/i.test(c.nodeId) ? c.nodeId.toLowerCase() : undefined;
    const had = this.entries.get(key);
    if (had !== undefined) {
      this.entries.delete(key); // re-inserted: most recently offered last
      if (RANK[c.source] > RANK[had.source]) had.source = c.source;
      if (nodeId !== undefined) had.nodeId = nodeId;
      had.offeredAt = now;
      this.entries.set(key, had);
      return;
    }
    if (this.entries.size >= this.opts.maxCandidates) this.evictOne();
    this.entries.set(key, { host: c.host, port: c.port, source: c.source, nodeId, failures: 0, nextAttemptAt: now, lastAttemptAt: undefined, lastResult: undefined, offeredAt: now });
    this.onFresh?.();
  }

  /** Candidates whose backoff is over at `now`, never-tried first, then fewest failures, then most recent. */
  due(now: number): CandidateEntry[] {
    const out = [...this.entries.values()].filter((e) => e.nextAttemptAt <= now);
    out.sort((a, b) => Number(a.lastAttemptAt !== undefined) - Number(b.lastAttemptAt !== undefined) || a.failures - b.failures || b.offeredAt - a.offeredAt);
    return out;
  }

  /** When the next candidate is due (undefined: none known). */
  nextDueAt(): number | undefined {
    let t: number | undefined;
    for (const e of this.entries.values()) if (t === undefined || e.nextAttemptAt < t) t = e.nextAttemptAt;
    return t;
  }

  /** An attempt failed: the candidate waits initialBackoff·2^(failures−1), capped (maxBackoffMs, or `capMs` if lower), jittered ±50 %. */
  failed(e: CandidateEntry, now: number, result: string, capMs?: number): void {
    e.failures++;
    e.lastAttemptAt = now;
    e.lastResult = result;
    e.nextAttemptAt = now + this.backoffMs(e.failures, capMs);
  }

  /**
   * The ring lost members (a split, a crash): every candidate is due again within `delayMs` with its
   * failures forgotten, so the peers we lost are tried at once and then with a short backoff.
   */
  expedite(now: number, delayMs: number): void {
    for (const e of this.entries.values()) {
      e.failures = 0;
      e.nextAttemptAt = Math.min(e.nextAttemptAt, now + delayMs);
    }
  }

  /** An attempt succeeded: checked again after `recheckMs` (the partition check, RFC 6940 §10.7.4.4). */
  succeeded(e: CandidateEntry, now: number, result: string, recheckMs: number): void {
    e.failures = 0;
    e.lastAttemptAt = now;
    e.lastResult = result;
    e.nextAttemptAt = now + recheckMs;
  }

  /** The wait after `failures` failures in a row. */
  backoffMs(failures: number, capMs?: number): number {
    const cap = Math.min(this.opts.maxBackoffMs, capMs ?? Infinity);
    const base = Math.min(cap, this.opts.initialBackoffMs * 2 ** Math.min(30, Math.max(0, failures - 1)));
    return Math.floor(base * (0.5 + this.random.float()));
  }

  /** Every candidate, most recently offered first. */
  list(): CandidateEntry[] {
    return [...this.entries.values()].reverse();
  }

  has(host: string, port: number): boolean {
    return this.entries.has(keyOf(host, port));
  }

  /** The least recently offered candidate goes; a configured one only when all are configured. */
  private evictOne(): void {
    for (const [k, e] of this.entries) {
      if (e.source !== 'configured') {
        this.entries.delete(k);
        return;
      }
    }
    const first = this.entries.keys().next();
    if (first.done !== true) this.entries.delete(first.value);
  }
}

function keyOf(host: string, port: number): string {
  return `${host.toLowerCase()}|${port}`;
}
