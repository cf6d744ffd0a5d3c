import type { Clock } from '../lib/clock.js';
import type { Random } from '../lib/random.js';
import type { LinkDriver, LinkEndpoint } from '../reload/link/link-driver.js';

/** What the simulator gives each peer it creates. */
export interface SimPeerContext {
  /** 0, 1, 2, … in creation order (replacements get new indexes). */
  index: number;
  /** The peer's own IP address on the simulated network. */
  host: string;
  driver: LinkDriver;
  clock: Clock;
  random: Random;
}

export type SimLookupResult = { ok: true; responder: Uint8Array; hops: number } | { ok: false; reason: string };

/** A peer as the simulation runner drives it (the real overlay peer sits behind an adapter). */
export interface SimPeer {
  /** The peer's Node-ID (known at creation). */
  readonly nodeId: Uint8Array;
  /** Joins through `bootstrap` (empty = first peer, new overlay). Resolves when joined. */
  start(bootstrap: LinkEndpoint[]): Promise<void>;
  /** The endpoint other peers bootstrap through (after start). */
  endpoint(): LinkEndpoint;
  leave(): Promise<void>;
  crash(): void;
  /** Routes a request to the peer responsible for `resourceId`; result says who answered and in how many hops. */
  lookup(resourceId: Uint8Array): Promise<SimLookupResult>;
  counters(): { bytesSent: number; maintenanceBytesSent: number };
}

export type SimPeerFactory = (ctx: SimPeerContext) => SimPeer;
