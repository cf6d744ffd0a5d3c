import type { ManualClock } from '../lib/manual-clock.js';
import type { Random } from '../lib/random.js';
import type { OwnedHost as SimHost } from './stream-link.js';
import type { LinkConditions, SimNetworkOptions } from './sim-network-options.js';
import type { Flow } from './stream-link.js';

/** What the transports share of the network: time, randomness, hosts and the link model. */
export interface NetworkCore {
  readonly clock: ManualClock;
  readonly random: Random;
  readonly options: SimNetworkOptions;
  /** Flows whose head cannot be delivered now (partition, silent host). */
  readonly stalled: Set<Flow>;
  hostByAddress(address: string): SimHost | undefined;
  /** Packet conditions from `a` to `b`. */
  conditions(a: SimHost, b: SimHost): LinkConditions;
  /** Whether a packet sent now from `a` reaches `b`: `b` is up and both are in the same partition group. */
  reachable(a: SimHost, b: SimHost): boolean;
  /** The pair's base one-way latency (ms). */
  baseLatency(a: SimHost, b: SimHost): number;
  /** One packet's extra latency (the jitter distribution; 0 by default). */
  jitter(): number;
  /** A fresh link-end id (never reused in this network). */
  nextLinkId(): string;
  countDuplicate(): void;
}
