/** The simulator: an in-memory network on a virtual clock, a churn model and the simulation runner. */
export { SimNetwork, type SimDatagramSocket, type SimNetworkStats } from './sim-network.js';
export { DEFAULT_SIM_NETWORK_OPTIONS, type CrashMode, type LinkConditions, type SimNetworkOptions } from './sim-network-options.js';
export { SimNetworkError, type SimNetworkErrorCode } from './sim-network-error.js';
export { SimLinkDriver } from './sim-link-driver.js';
export { simHostAddress, type DatagramReceiver, type HostCounters } from './sim-host.js';
export {
  DEFAULT_PAIR_LATENCY,
  formatLatency,
  latencyAt,
  pairLatency,
  parseLatency,
  sampleLatency,
  type LatencyDistribution,
} from './latency-model.js';
export { ChurnModel, DEFAULT_PARETO_SHAPE, parseDuration, sampleSession, type ChurnOptions, type Departure, type SessionDistribution } from './churn-model.js';
export type { SimLookupResult, SimPeer, SimPeerContext, SimPeerFactory } from './sim-peer.js';
export { RingOracle, onArc, toHex } from './ring-oracle.js';
export { runSimulation } from './sim-runner.js';
export { DEFAULT_SIM_RUN_OPTIONS, type SimProgress, type SimRunDeps, type SimRunOptions } from './sim-run-options.js';
export { mean, quantile, type SimRunStats } from './sim-stats.js';
export type { SimFetchResult, SimPeerStorage, SimStoreResult } from './sim-peer.js';
export { DEFAULT_STORAGE_WORKLOAD_OPTIONS, type AuditCounts, type StorageLoss, type StorageWorkloadOptions, type StorageWorkloadStats } from './storage-workload-options.js';
export { StorageWorkload, encodeWorkloadValue, workloadResourceName, workloadValueVersion, type StorageWorkloadHost, type WorkloadPeer } from './storage-workload.js';
export { StorageCountingLinks, StorageTrafficMeter, emptyStorageTraffic, peekMessageCode, type StorageTrafficCounters } from './storage-traffic.js';
export { SIM_VALUE_SIGNATURE_BYTES, SimStorageSecurity, simStorageCredentials } from './sim-storage-security.js';
export type { SimStorageRunStats } from './sim-stats.js';
