import type { ChurnOptions } from './churn-model.js';
import type { StorageWorkloadOptions } from './storage-workload-options.js';
import type { CrashMode, SimNetworkOptions } from './sim-network-options.js';

/** Settings of {@link runSimulation}; defaults in DEFAULT_SIM_RUN_OPTIONS. */
export interface SimRunOptions {
  readonly nodes: number;
  readonly seed: number;
  /** Measured window after the overlay is built and stabilised (ms). */
  readonly durationMs: number;
  /** Lookups per second over the whole overlay (Poisson). */
  readonly lookupRatePerSec: number;
  /** Churn during the measured window; undefined = none. */
  readonly churn: ChurnOptions | undefined;
  /** Peers started per second while building (staggered joins). */
  readonly joinRatePerSec: number;
  /** Endpoints of random joined peers handed to each joining peer. */
  readonly bootstrapPeers: number;
  /** Quiet time after the last initial join before measuring (ms). */
  readonly stabilizeMs: number;
  readonly joinTimeoutMs: number;
  readonly leaveTimeoutMs: number;
  readonly lookupTimeoutMs: number;
  /** A failed lookup counts as `failedNearChurn` when a membership change moving its key happened from this long before issue until its end (ms). */
  readonly membershipGraceMs: number;
  /** Resource-ID length in bytes (CHORD-RELOAD default: 16 = 128 bits). */
  readonly idBytes: number;
  readonly crashMode: CrashMode;
  readonly network: Partial<SimNetworkOptions>;
  /** Virtual ms between progress reports. */
  readonly progressEveryMs: number;
  /**
   * Timers due within this many ms of the next one fire together before the peers' promise
   * continuations run (fewer macrotask turns in big runs). 0 (default) = exact: continuations run
   * at the virtual time of the event that resolved them; q > 0 lets them run up to q ms late.
   */
  readonly settleQuantumMs: number;
  /**
   * A storage workload (values stored before the window, refreshed, audited; peers must be built
   * with storage); undefined (default) = lookups only.
   */
  readonly storage: StorageWorkloadOptions | undefined;
}

export const DEFAULT_SIM_RUN_OPTIONS: SimRunOptions = {
  nodes: 100,
  seed: 1,
  durationMs: 600_000,
  lookupRatePerSec: 10,
  churn: undefined,
  joinRatePerSec: 20,
  bootstrapPeers: 3,
  stabilizeMs: 60_000,
  joinTimeoutMs: 120_000,
  leaveTimeoutMs: 10_000,
  lookupTimeoutMs: 30_000,
  membershipGraceMs: 10_000,
  idBytes: 16,
  crashMode: 'silent',
  network: {},
  progressEveryMs: 60_000,
  settleQuantumMs: 0,
  storage: undefined,
};

export interface SimProgress {
  readonly phase: 'build' | 'stabilize' | 'load' | 'measure' | 'audit' | 'drain';
  readonly virtualMs: number;
  readonly joined: number;
  readonly lookupsAttempted: number;
  readonly lookupsDone: number;
  /** Timer callbacks run so far. */
  readonly events: number;
}

/** What the runner needs from its host process. */
export interface SimRunDeps {
  /**
   * Lets pending promise continuations of the peers run (one macrotask turn, e.g.
   * `() => new Promise((r) => setImmediate(r))`); called after each step of virtual time.
   * The runner is sans-I/O, so the caller supplies it.
   */
  settle(): Promise<void>;
  /**
   * Optional: a counter of promise events (creations and settlements, e.g. counted by V8 promise
   * hooks) that moves whenever a promise continuation may have been queued. When it has not moved
   * since the last `settle`, the runner fires the next timers without settling (nothing is
   * pending, so the callbacks run in exactly the same order): far fewer macrotask turns. Only
   * valid when the peers queue no microtask other than through promises (no queueMicrotask).
   */
  promiseActivity?(): number;
  onProgress?(p: SimProgress): void;
  /** Heap bytes in use (default process.memoryUsage().heapUsed, after gc() when node runs with --expose-gc). */
  heapUsed?(): number;
}
