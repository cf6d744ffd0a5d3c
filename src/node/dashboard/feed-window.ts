/**
 * The dashboard's counters over time: what happened in the current interval (SIP requests and
 * responses, overlay lookups and their latency, replication), turned into one {@link FeedSample}
 * per interval and kept for the last minutes (the page's graphs).
 */

/** Samples kept: 150 × 2 s = the last 5 minutes. */
export const HISTORY_SAMPLES = 150;

/** Counters that only grow, read at each interval's end (their difference is the interval's). */
export interface CumulativeCounters {
  overlayMessagesIn: number;
  overlayMessagesOut: number;
}

/** One interval, as the graphs draw it. */
export interface FeedSample {
  /** Wall-clock time of the interval's end, ms since the epoch. */
  at: number;
  sipRequestsPerSec: number;
  sipResponsesPerSec: number;
  /** Final responses ≥ 400 other than the 401/407 digest challenges, per second. */
  sipErrorsPerSec: number;
  /** Overlay lookups (Fetch, Stat, Find, Ping sent to a Resource-ID) that ended in the interval. */
  lookups: number;
  lookupsFailed: number;
  /** Their mean and largest latency, ms (null: none in the interval). */
  lookupMsAvg: number | null;
  lookupMsMax: number | null;
  /** Store requests sent to a Node-ID (replicas, hand-over: RFC 6940 §10.4, §10.5), per second, and their bytes. */
  replicationStoresPerSec: number;
  replicationBytesPerSec: number;
  overlayInPerSec: number;
  overlayOutPerSec: number;
}

const round1 = (x: number): number => Math.round(x * 10) / 10;

/** The current interval's counts and the history of closed intervals. */
export class FeedWindow {
  private sipRequests = 0;
  private sipResponses = 0;
  private sipErrors = 0;
  private lookups = 0;
  private lookupsFailed = 0;
  private lookupMsSum = 0;
  private lookupMsMax = 0;
  private replicationStores = 0;
  private replicationBytes = 0;
  private last: CumulativeCounters | undefined;
  private readonly samples: FeedSample[] = [];
  /** Totals since start (the page's counters). */
  readonly totals = { sipRequests: 0, sipResponses: 0, sipErrors: 0, lookups: 0, lookupsFailed: 0, replicationStores: 0, replicationBytes: 0 };

  constructor(private readonly capacity = HISTORY_SAMPLES) {}

  sipRequest(): void {
    this.sipRequests++;
    this.totals.sipRequests++;
  }

  sipResponse(status: number): void {
    this.sipResponses++;
    this.totals.sipResponses++;
    if (status >= 400 && status !== 401 && status !== 407) {
      this.sipErrors++;
      this.totals.sipErrors++;
    }
  }

  lookup(ms: number, ok: boolean): void {
    this.lookups++;
    this.totals.lookups++;
    if (!ok) {
      this.lookupsFailed++;
      this.totals.lookupsFailed++;
    }
    const v = Number.isFinite(ms) && ms >= 0 ? ms : 0;
    this.lookupMsSum += v;
    if (v > this.lookupMsMax) this.lookupMsMax = v;
  }

  replication(bytes: number): void {
    this.replicationStores++;
    this.replicationBytes += bytes;
    this.totals.replicationStores++;
    this.totals.replicationBytes += bytes;
  }

  /** Closes the interval of `seconds` ending at `at` (wall ms); returns its sample (kept in the history). */
  close(at: number, seconds: number, counters: CumulativeCounters): FeedSample {
    const per = (n: number): number => round1(n / Math.max(seconds, 0.001));
    const prev = this.last ?? counters;
    const s: FeedSample = {
      at,
      sipRequestsPerSec: per(this.sipRequests),
      sipResponsesPerSec: per(this.sipResponses),
      sipErrorsPerSec: per(this.sipErrors),
      lookups: this.lookups,
      lookupsFailed: this.lookupsFailed,
      lookupMsAvg: this.lookups === 0 ? null : round1(this.lookupMsSum / this.lookups),
      lookupMsMax: this.lookups === 0 ? null : round1(this.lookupMsMax),
      replicationStoresPerSec: per(this.replicationStores),
      replicationBytesPerSec: per(this.replicationBytes),
      // a counter that went back (never, but a restarted source would) counts as 0, not negative
      overlayInPerSec: per(Math.max(0, counters.overlayMessagesIn - prev.overlayMessagesIn)),
      overlayOutPerSec: per(Math.max(0, counters.overlayMessagesOut - prev.overlayMessagesOut)),
    };
    this.last = { ...counters };
    this.sipRequests = this.sipResponses = this.sipErrors = 0;
    this.lookups = this.lookupsFailed = this.lookupMsSum = this.lookupMsMax = 0;
    this.replicationStores = this.replicationBytes = 0;
    this.samples.push(s);
    if (this.samples.length > this.capacity) this.samples.shift();
    return s;
  }

  /** The closed intervals, oldest first. */
  history(): FeedSample[] {
    return [...this.samples];
  }
}
