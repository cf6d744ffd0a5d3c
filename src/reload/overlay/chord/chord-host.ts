/** What CHORD-RELOAD (RFC 6940 §10) needs from its node: the ring, clock, random, links and messaging. */
import type { Clock } from '../../../lib/clock.js';
import type { Random } from '../../../lib/random.js';
import type { Destination } from '../../codec/index.js';
import type { LinkEndpoint } from '../../link/link-driver.js';
import type { ConnectionTable } from '../connection-table.js';
import type { OverlayAnswer, OverlayState } from '../overlay-types.js';
import type { Ring } from '../ring.js';

/** What the topology needs from its node. */
export interface ChordHost {
  readonly ring: Ring;
  readonly id: bigint;
  readonly clock: Clock;
  readonly random: Random;
  readonly conns: ConnectionTable;
  readonly state: OverlayState;
  uptime(): number;
  request(dest: Destination[], code: number, body: Uint8Array, opts?: { timerMs?: number; transmissions?: number }): Promise<OverlayAnswer>;
  notify(dest: Destination[], code: number, body: Uint8Array): void;
  attach(dest: Destination[], sendUpdate?: boolean): Promise<bigint | undefined>;
  connectBootstrap(ep: LinkEndpoint): Promise<bigint | undefined>;
  disconnect(id: bigint): void;
  codecOptions(): { maxMessageSize: number; nodeIdLength: number };
  neighboursChanged?(successors: readonly bigint[], predecessors: readonly bigint[]): void;
  /** Number of resources stored here (Probe num_resources). */
  storedResources?(): number;
}
