/** Settings of the simulator's storage workload (sim option `storage`); defaults in DEFAULT_STORAGE_WORKLOAD_OPTIONS. */
export interface StorageWorkloadOptions {
  /** Values stored (one Resource Name each: `user<i>@sim.p2psip`). */
  readonly values: number;
  /** Bytes of each value (about a SIP registration's contact). */
  readonly valueSize: number;
  /** Lifetime of every Store (s); a value not refreshed within it expires. */
  readonly lifetimeS: number;
  /** Its writer re-Stores each value this often (ms), before the lifetime ends. */
  readonly refreshMs: number;
  /** Initial Stores per second over the overlay (before the measured window). */
  readonly loadRatePerSec: number;
  /** A failed or unanswered Store is tried again after this long (ms). */
  readonly storeRetryMs: number;
  /** A Store or Fetch with no answer after this long counts as failed (ms). */
  readonly requestTimeoutMs: number;
  /** Period of the audits in the measured window (ms; 0 = none: only the final audit). */
  readonly auditEveryMs: number;
  /** Values checked by each periodic audit (random sample; 0 = all). The final audit checks all. */
  readonly auditSample: number;
  /** The checks of one audit are spread over this long (ms). */
  readonly auditSpreadMs: number;
  /** Fetches (each from a new random live peer) before a value is declared lost or unreachable. */
  readonly fetchAttempts: number;
  /** Wait between those Fetches (ms). */
  readonly fetchRetryMs: number;
  /**
   * Every this many ms of the measured window, the live peer responsible for a random stored value
   * and its successor crash at the same instant (0 = off): the worst case replication must survive.
   */
  readonly targetedCrashEveryMs: number;
  /** Replica Stores and handovers on (false: the checker must then report losses — its own test). */
  readonly replication: boolean;
  /** Most losses listed one by one in the report (all are counted). */
  readonly maxLossesListed: number;
}

export const DEFAULT_STORAGE_WORKLOAD_OPTIONS: StorageWorkloadOptions = {
  values: 1000,
  valueSize: 200,
  lifetimeS: 3600,
  refreshMs: 1_800_000,
  loadRatePerSec: 100,
  storeRetryMs: 30_000,
  requestTimeoutMs: 30_000,
  auditEveryMs: 600_000,
  auditSample: 1000,
  auditSpreadMs: 60_000,
  fetchAttempts: 3,
  fetchRetryMs: 10_000,
  targetedCrashEveryMs: 0,
  replication: true,
  maxLossesListed: 100,
};

/** A value a Fetch did not return at its latest stored version (or no Fetch could reach). */
export interface StorageLoss {
  /** Value number (Resource Name `user<value>@sim.p2psip`). */
  readonly value: number;
  readonly resourceId: string;
  /** Virtual time the verdict was reached (ms since the run began). */
  readonly atMs: number;
  readonly audit: 'periodic' | 'final';
  /** Latest version a Store of it succeeded with, and when. */
  readonly storedVersion: number;
  readonly storedAtMs: number;
  /** Newest version a Fetch returned (0: none). */
  readonly foundVersion: number;
  /** Live peers holding a copy of the resource at the verdict (oracle): Node-ID and replica number (0 = responsible). */
  readonly holders: ReadonlyArray<{ readonly nodeId: string; readonly replicaNumber: number }>;
  /** The live peer responsible for it then (oracle), and the peer that answered the last Fetch. */
  readonly responsible: string;
  readonly responder: string;
  readonly reason: string;
}

/** What the storage workload measured. */
export interface StorageWorkloadStats {
  readonly values: number;
  /** Values whose initial Store succeeded (the others are retried and not audited until stored). */
  readonly storedInitially: number;
  readonly stores: { readonly attempted: number; readonly succeeded: number; readonly failed: number; readonly timedOut: number };
  /** Successful re-Stores in the measured window (refreshes by the writer or its successor). */
  readonly refreshes: number;
  /** Values whose writer departed and passed the value on to another live peer. */
  readonly ownerHandoffs: number;
  readonly targetedCrashes: number;
  readonly audits: AuditCounts & { readonly rounds: number };
  readonly finalAudit: AuditCounts;
  /** Listed losses (at most maxLossesListed; the counts above have all). */
  readonly losses: readonly StorageLoss[];
  readonly failureReasons: Readonly<Record<string, number>>;
}

export interface AuditCounts {
  readonly checks: number;
  readonly passed: number;
  /** Passed only on a later Fetch (the first did not return the latest version). */
  readonly passedOnRetry: number;
  /** Every Fetch answered, none with the latest stored version. */
  readonly lost: number;
  /** No Fetch was answered (routing, not storage; counted apart and not as passed). */
  readonly unreachable: number;
  /** The value's lifetime ended without a refresh (not counted as lost). */
  readonly expired: number;
}
