/**
 * What storage (RFC 6940 §7, replication §10.7.3) needs from the overlay node it runs on, in the
 * style of chord/chord-host.ts: identity and ring, requests, handler registration, responsibility,
 * the neighbour table and its changes, the node's state. Storage is written against this and
 * never against OverlayNode, so it is tested with a fake host and stays unchanged when the
 * topology is not Chord.
 */
import type { Clock } from '../../lib/clock.js';
import type { Destination } from '../codec/index.js';
import type { OverlayAnswer, OverlayState, RequestHandler } from '../overlay/overlay-types.js';
import type { Ring } from '../overlay/ring.js';

/** The identifier arithmetic storage uses (RFC 6940 §10.1: Resource-IDs and Node-IDs on one ring). */
export type StorageRing = Pick<Ring, 'fromBytes' | 'tryFromBytes' | 'toBytes' | 'hex' | 'inInterval' | 'distance'>;

/** The neighbour table as storage reads it (RFC 6940 §10.7.3: replicas go to successors). */
export interface StorageNeighbours {
  /** Nearest first. */
  readonly successors: readonly bigint[];
  /** Nearest first. */
  readonly predecessors: readonly bigint[];
}

export interface StorageHost {
  readonly ring: StorageRing;
  readonly id: bigint;
  readonly idBytes: Uint8Array;
  readonly clock: Clock;
  /** Client mode (RFC 6940 §4.2): the node stores nothing. */
  readonly isClient: boolean;
  readonly state: OverlayState;
  /** When the node last became 'joined' (clock ms), or undefined before that. */
  readonly joinedAt: number | undefined;
  codecOptions(): { maxMessageSize: number; nodeIdLength: number };
  /** Sends a request (RFC 6940 §6.2.1) and waits for its answer. */
  request(dest: Destination[], code: number, body: Uint8Array, opts?: { timerMs?: number; transmissions?: number }): Promise<OverlayAnswer>;
  /** A request to the peer responsible for `resourceId`. */
  requestResource(resourceId: Uint8Array, code: number, body: Uint8Array): Promise<OverlayAnswer>;
  /** Registers the handler of a request method. */
  handle(code: number, handler: RequestHandler): void;
  /** Responsible for `k` as routing sees it now (only live neighbours count). */
  isResponsible(k: bigint): boolean;
  /** Responsible for `k` by the neighbour table alone, live or not (a joining node's future range). */
  coversInTable(k: bigint): boolean;
  /** The neighbour table now. */
  neighbours(): StorageNeighbours;
  /** Subscribes to neighbour-table changes; returns the unsubscribe function. */
  onNeighboursChanged(listener: (n: StorageNeighbours) => void): () => void;
  /** Tells the node how many resources are stored here (Probe num_resources, /api/status). */
  setStoredResourcesProvider(count: () => number): void;
}
