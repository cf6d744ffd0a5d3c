import type { StoredDataValue } from '../codec/index.js';
import type { HashResourceName } from './access-policy.js';
import { CERTIFICATE_BY_NODE, CERTIFICATE_BY_USER } from './certificate-kinds.js';
import type { KindDefinition } from './kind.js';

/** A CERTIFICATE_BY_* Kind at a Resource-ID, where a signer's certificate may be found (RFC 6940 §8). */
export interface CertificatePlace {
  kind: number;
  resourceId: Uint8Array;
}

/**
 * Where the certificate of the signer of a value stored at `resourceId` under Kind `def` is published
 * (RFC 6940 §8), derived from the Kind's access policy (§7.3): USER-MATCH data lives at hash(user name),
 * where CERTIFICATE_BY_USER is stored too; NODE-MATCH data at hash(Node-ID), as CERTIFICATE_BY_NODE;
 * USER-NODE-MATCH data keys its dictionary entry by the signer's Node-ID (CERTIFICATE_BY_NODE at its
 * hash) at hash(user name). NODE-MULTIPLE names no place (hash(Node-ID || i) cannot be inverted).
 * Only Kinds the configuration has (`has`).
 */
export function certificatePlaces(def: KindDefinition, resourceId: Uint8Array, value: StoredDataValue, hash: HashResourceName, has: (kind: number) => boolean): CertificatePlace[] {
  const out: CertificatePlace[] = [];
  if (def.accessControl === 'USER-NODE-MATCH' && value.model === 'dictionary' && value.key.length > 0) out.push({ kind: CERTIFICATE_BY_NODE, resourceId: hash(value.key) });
  if (def.accessControl === 'NODE-MATCH') out.push({ kind: CERTIFICATE_BY_NODE, resourceId });
  if (def.accessControl === 'USER-MATCH' || def.accessControl === 'USER-NODE-MATCH') out.push({ kind: CERTIFICATE_BY_USER, resourceId });
  return out.filter((p) => has(p.kind));
}
