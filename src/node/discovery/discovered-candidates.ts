/**
 * The bootstrap candidates discovery has heard of: bounded (least recently heard forgotten first),
 * de-duplicated by address and port, and a throttle on the sink: the same candidate is offered again
 * only after `reofferMs`, so a box that answers for our service but fails the overlay link's TLS check
 * (a non-member) is not retried in a tight loop however often it answers.
 */
import type { BootstrapCandidate, BootstrapSource } from '../bootstrap-candidate.js';

export interface DiscoveredCandidatesOptions {
  /** Candidates remembered; default 64. */
  maxEntries: number;
  /** Least time between two offers of one candidate to the sink; default 60 s. */
  reofferMs: number;
}

export const DEFAULT_DISCOVERED_CANDIDATES: Readonly<DiscoveredCandidatesOptions> = Object.freeze({ maxEntries: 64, reofferMs: 60_000 });

export interface DiscoveredCandidate {
  host: string;
  port: number;
  source: BootstrapSource;
  nodeId?: string;
  firstSeenMs: number;
  lastSeenMs: number;
  lastOfferedMs: number;
  /** Times heard. */
  heard: number;
  /** Times offered to the sink. */
  offered: number;
}

export class DiscoveredCandidates {
  private readonly entries = new Map<string, DiscoveredCandidate>();
  evictions = 0;

  constructor(private readonly options: DiscoveredCandidatesOptions = DEFAULT_DISCOVERED_CANDIDATES) {
    if (!Number.isInteger(options.maxEntries) || options.maxEntries < 1) throw new RangeError(`candidate table: maxEntries must be a positive integer (got ${options.maxEntries})`);
    if (!(options.reofferMs >= 0)) throw new RangeError(`candidate table: reofferMs must be >= 0 (got ${options.reofferMs})`);
  }

  /** Records that `c` was heard at `now`; true when it should be offered to the sink now. */
  note(c: BootstrapCandidate, now: number): boolean {
    const key = `${c.host}|${c.port}`;
    const e = this.entries.get(key);
    if (e !== undefined) {
      this.entries.delete(key); // re-inserted: most recently heard last
      this.entries.set(key, e);
      e.lastSeenMs = now;
      e.heard++;
      if (c.nodeId !== undefined) e.nodeId = c.nodeId;
      if (now - e.lastOfferedMs < this.options.reofferMs) return false;
      e.lastOfferedMs = now;
      e.offered++;
      return true;
    }
    if (this.entries.size >= this.options.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) {
        this.entries.delete(oldest.value);
        this.evictions++;
      }
    }
    const entry: DiscoveredCandidate = { host: c.host, port: c.port, source: c.source, firstSeenMs: now, lastSeenMs: now, lastOfferedMs: now, heard: 1, offered: 1 };
    if (c.nodeId !== undefined) entry.nodeId = c.nodeId;
    this.entries.set(key, entry);
    return true;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Most recently heard first. */
  list(): DiscoveredCandidate[] {
    return [...this.entries.values()].reverse().map((e) => ({ ...e }));
  }
}
