import type { StorageWorkloadStats } from './storage-workload-options.js';

/** The q-quantile (0…1) of `sorted` (nearest rank); 0 for an empty list. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) return 0;
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

/** The storage workload's results in a run (sim option storage). */
export interface SimStorageRunStats extends StorageWorkloadStats {
  /** Storage bytes sent per second of peer uptime in the measured window, by purpose (see storage-traffic.ts). */
  readonly bytesPerSecPerNode: { readonly workloadStore: number; readonly replication: number; readonly audit: number };
  /** Replica Stores and handovers sent in the window, over all peers. */
  readonly replication: { readonly replicaStoresSent: number; readonly handoversSent: number; readonly sendFailures: number; readonly queueOverflows: number };
  /** What the live peers hold at the end: values and bytes per peer (mean and max), copies per value. */
  readonly held: { readonly valuesPerNodeMean: number; readonly valuesPerNodeMax: number; readonly bytesPerNodeMean: number; readonly copiesPerValue: number };
  /** Heap growth from the built overlay to the loaded one, divided by N (wall-clock measure). */
  readonly loadMemoryPerNodeBytes: number;
}

/** What a simulation run measured (virtual time unless said otherwise). */
export interface SimRunStats {
  readonly nodes: number;
  readonly seed: number;
  /** Length of the measured window (ms of virtual time). */
  readonly measuredMs: number;
  readonly lookups: {
    readonly attempted: number;
    /** Answered by the right peer (per the oracle at issue or at completion). */
    readonly succeeded: number;
    /** Failed (wrong responder, error or timeout) with no membership change near the key. */
    readonly failed: number;
    /** Failed within the grace window of a membership change that moved the key's responsibility. */
    readonly failedNearChurn: number;
    /** The originating peer departed before the answer (excluded from successRate). */
    readonly abandoned: number;
    /** succeeded / (attempted − abandoned). */
    readonly successRate: number;
    readonly failureReasons: Readonly<Record<string, number>>;
  };
  /** Over successful lookups. */
  readonly hops: { readonly mean: number; readonly median: number; readonly p99: number };
  /** Over successful lookups (ms). */
  readonly latencyMs: { readonly mean: number; readonly p50: number; readonly p95: number; readonly p99: number };
  /** The peers' own maintenanceBytesSent per second of peer uptime in the window. */
  readonly maintenanceBytesPerSecPerNode: number;
  /** The peers' own bytesSent per second of peer uptime. */
  readonly totalBytesPerSecPerNode: number;
  /** What the network carried (retransmissions included) per second of peer uptime. */
  readonly networkBytesPerSecPerNode: number;
  readonly population: {
    readonly initial: number;
    readonly alive: number;
    readonly joins: number;
    readonly leaves: number;
    readonly crashes: number;
    readonly joinFailures: number;
  };
  /** Heap growth while building the overlay, divided by the node count (bytes; wall-clock measure, not deterministic). */
  readonly memoryPerNodeBytes: number;
  /** Timer callbacks run by the virtual clock over the whole run. */
  readonly events: number;
  /** Virtual time of the whole run, build and drain included (ms). */
  readonly virtualTotalMs: number;
  /** Present when the run had a storage workload. */
  readonly storage?: SimStorageRunStats;
}
