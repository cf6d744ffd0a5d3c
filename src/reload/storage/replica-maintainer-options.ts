/**
 * Settings of replication and data migration (RFC 6940 §10.4, §10.5, §10.7): the decisions of the
 * ReplicaMaintainer and the limits of its ReplicaSendQueue.
 */
export interface ReplicaMaintainerOptions {
  /**
   * Successor replacement hold-down before new replicas are made after a successor is lost
   * (RFC 6940 §10.7.1; §3 gives 30 s as its default). Default here 5 s: the triggered Update it
   * waits for comes within a round trip, while each second of it leaves the values of the range
   * with two copies. In the simulator (30 peers, 10-min sessions, the responsible peer and its
   * successor crashed together every 3 min), seeds 10–17 lost the 11 values of one range with
   * 30 s (a third holder crashed 5 s before) and nothing with 5 s.
   */
  holdDownMs?: number;
  /**
   * Wait before a failed replica or handover Store is sent again (default 5 s). A handover refused
   * as "not responsible" is sent again sooner: after HANDOVER_FIRST_RETRY_MS (250 ms), doubling up
   * to this.
   */
  retryMs?: number;
  /**
   * Sends of one Store at most (default 5). A replica given up on is sent again at the next periodic
   * re-check (resyncIntervalMs) while we are still responsible for its resource.
   */
  maxAttempts?: number;
  /** Replica and handover Stores in flight at once (default 32); the rest wait in a queue. */
  maxInFlight?: number;
  /** Most queued sends (default 100 000); past it new sends are dropped and counted. */
  maxQueued?: number;
  /**
   * Period of a local re-check of roles and replica set (default 30 s): copies that views racing
   * during churn left outside their replica set are dropped, missing replicas made. 0 = off.
   */
  resyncIntervalMs?: number;
  /**
   * Data outside our replica sets is deleted only after it has stayed outside for this long
   * (default 90 s; RFC 6940 §10.7.3 says SHOULD delete, not when). Predecessors that crashed
   * silently stay in our table until their links time out (keepalive idle + failure timeout,
   * 50 s by default): counting them, a peer joining next to them puts us "three predecessors
   * away" while the dead ones held the other copies. 0 = delete at once.
   */
  dropGraceMs?: number;
  /**
   * An original Store is answered once a replica holds the value, or after this long (default 2 s;
   * 0 = answer at once, before any replica is sent). Without it a value whose responsible peer
   * crashes in the few ms between its answer and its replicas' arrival is gone although its writer
   * was told it is stored.
   */
  replicaAckWaitMs?: number;
}

export const DEFAULT_REPLICA_MAINTAINER_OPTIONS: Required<ReplicaMaintainerOptions> = {
  holdDownMs: 5000,
  retryMs: 5_000,
  maxAttempts: 5,
  maxInFlight: 32,
  maxQueued: 100_000,
  resyncIntervalMs: 30_000,
  dropGraceMs: 90_000,
  replicaAckWaitMs: 2000,
};
