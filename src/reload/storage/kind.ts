/**
 * A Kind as the overlay configuration defines it (RFC 6940 §7.4.3? no: §11.1 <kind> element, §7.3
 * access control, §6.3.? data models). The configuration document parser produces these; the
 * storage engine enforces them. Shared by src/reload/config and src/reload/storage.
 */

/** RFC 6940 §7.2 data models. */
export type DataModelName = 'single' | 'array' | 'dictionary';

/**
 * RFC 6940 §7.3 access control policies: the RFC's four, and p2psip's USAGE-GUARD (issue 15; a
 * usage may define new policies): the usage that defines the Kind registers a KindGuard
 * (kind-guard.ts) with the storage engine and the guard decides every original Store of it; with
 * no guard every original Store is refused. Replica and hand-over Stores need a valid signature only.
 */
export type AccessPolicyName = 'USER-MATCH' | 'NODE-MATCH' | 'USER-NODE-MATCH' | 'NODE-MULTIPLE' | 'USAGE-GUARD';

export interface KindDefinition {
  /** Kind-ID (uint32); RFC 6940 §14.? registry: 1 SIP-REGISTRATION (RFC 7904), 2 TURN-SERVICE, 3 CERTIFICATE_BY_NODE, 16 CERTIFICATE_BY_USER. */
  id: number;
  /** Registered name (e.g. 'SIP-REGISTRATION'), for messages and the dashboard. */
  name: string;
  dataModel: DataModelName;
  accessControl: AccessPolicyName;
  /** Maximum number of values (array entries / dictionary keys / 1 for single) per Resource-ID. */
  maxCount: number;
  /** Maximum size in bytes of one value. */
  maxSize: number;
  /**
   * USER-NODE-MATCH for proxy peers: the signer's user name need not hash to the Resource-ID, the
   * dictionary key must still be the signer's Node-ID — a peer registering the many phones it serves
   * (the P2PSIP proxy peer). Only the zero-configuration LAN overlay sets it: there certificates are
   * self-signed, so a user name proves nothing, and each peer still writes only its own entry.
   */
  proxyPeerWrites?: boolean;
  /**
   * p2psip closed overlays (issue 15): USER-NODE-MATCH where the user-name half is replaced by a
   * write grant — the dictionary key must be the signer's Node-ID AND the responsible peer must hold
   * a live grant for that Node-ID at the Resource-ID (Kind {@link import('./write-grant.js').WRITE_GRANT_KIND_ID}).
   * Replicas do not check the grant (their responsible peer did). Exclusive with proxyPeerWrites.
   */
  grantedWrites?: boolean;
  /**
   * Never answered in Fetch, Stat or Find (p2psip user records hold password hashes): Fetch and
   * Stat of it are Error_Forbidden, Find skips it. Only replication and hand-over move it.
   */
  private?: boolean;
  /**
   * p2psip (issue 16): the responsible peer answers an original Store only once BOTH replicas answered
   * it (or replicaAckWaitMs passed), not after the first: a value written once and never again (a
   * message kept for an absent user) survives the loss of two of its three holders right after the
   * answer. Costs the slower of the two replica round trips.
   */
  allReplicasFirst?: boolean;
  /** NODE-MULTIPLE: how many node ids (i = 0..max-1) a user may store under (RFC 6940 §7.3.4). */
  maxNodeMultiple?: number;
}
