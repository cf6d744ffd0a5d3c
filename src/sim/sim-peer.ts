import type { Clock } from '../lib/clock.js';
import type { Random } from '../lib/random.js';
import type { LinkDriver, LinkEndpoint } from '../reload/link/link-driver.js';
import type { StorageTrafficCounters } from './storage-traffic.js';

/** What the simulator gives each peer it creates. */
export interface SimPeerContext {
  /** 0, 1, 2, … in creation order (replacements get new indexes). */
  index: number;
  /** The peer's own IP address on the simulated network. */
  host: string;
  driver: LinkDriver;
  clock: Clock;
  random: Random;
  /** Set when the run has a storage workload: the peer must run RELOAD storage (`storage` below). */
  storage?: { replication: boolean };
}

export type SimLookupResult = { ok: true; responder: Uint8Array; hops: number } | { ok: false; reason: string };

export type SimStoreResult = { ok: true } | { ok: false; reason: string };
/** The data values found at a resource (those of the workload's Kind), or why the Fetch failed. */
export type SimFetchResult = { ok: true; values: Uint8Array[]; responder: Uint8Array | undefined } | { ok: false; reason: string };

/** RELOAD storage of a sim peer, as the storage workload (src/sim/storage-workload.ts) drives it. */
export interface SimPeerStorage {
  /** The overlay's Resource-ID of a Resource Name. */
  resourceId(name: string): Uint8Array;
  /** Stores `value` as this peer's entry of the workload's Kind at `name` (RFC 6940 §7.4.1). */
  store(name: string, value: Uint8Array, lifetimeS: number): Promise<SimStoreResult>;
  /** Fetches every value of the workload's Kind at `name` from the responsible peer (§7.4.2). */
  fetch(name: string): Promise<SimFetchResult>;
  /** The replica number this peer holds `resourceId` under (0 = as responsible), undefined = no copy. The checker's oracle. */
  replicaNumber(resourceId: Uint8Array): number | undefined;
  /** Resources, values and bytes held here. */
  summary(): { resources: number; values: number; bytes: number };
  /** Storage bytes this peer sent, by purpose. */
  traffic(): StorageTrafficCounters;
  /** Replication work (RFC 6940 §10.4, §10.5). */
  replication(): { replicaStoresSent: number; handoversSent: number; sendFailures: number; queueOverflows: number };
}

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
  /** Present when the peer was built with storage (sim option storage). */
  readonly storage?: SimPeerStorage;
  /**
   * A candidate member of the overlay at `ep` (as LAN discovery offers one): the partition check
   * through it (RFC 6940 §10.7.4.4), merging the rings when it is in another one (split/heal scenario).
   */
  mergeThrough?(ep: LinkEndpoint): Promise<string>;
  /** The peer's successor list now, nearest first (split/heal scenario: one ring?). */
  successors?(): Uint8Array[];
}

export type SimPeerFactory = (ctx: SimPeerContext) => SimPeer;
