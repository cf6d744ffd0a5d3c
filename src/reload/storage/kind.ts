/**
 * A Kind as the overlay configuration defines it (RFC 6940 §7.4.3? no: §11.1 <kind> element, §7.3
 * access control, §6.3.? data models). The configuration document parser produces these; the
 * storage engine enforces them. Shared by src/reload/config and src/reload/storage.
 */

/** RFC 6940 §7.2 data models. */
export type DataModelName = 'single' | 'array' | 'dictionary';

/** RFC 6940 §7.3 access control policies (RFC 7904 adds none; the RFC's four are these). */
export type AccessPolicyName = 'USER-MATCH' | 'NODE-MATCH' | 'USER-NODE-MATCH' | 'NODE-MULTIPLE';

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
  /** NODE-MULTIPLE: how many node ids (i = 0..max-1) a user may store under (RFC 6940 §7.3.4). */
  maxNodeMultiple?: number;
}
