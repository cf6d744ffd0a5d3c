/**
 * Who wrote something, as far as RELOAD access control cares (RFC 6940 §7.3): the user name and
 * Node-IDs of the signer's certificate. For NODE-MATCH, USER-NODE-MATCH and NODE-MULTIPLE the
 * verifier lists only the Node-ID the SignerIdentity names (cert_hash_node_id), §7.3.2–§7.3.4.
 */
export interface AccessIdentity {
  userName: string;
  nodeIds: Uint8Array[];
}
