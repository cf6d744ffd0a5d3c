import type { AccessPolicyName, DataModelName } from '../storage/kind.js';

/** Kinds registered with IANA (RFC 6940 §14.6, RFC 7904): their ids, data models and policies win over the document's (§11.1). */
export interface RegisteredKind {
  id: number;
  name: string;
  dataModel: DataModelName;
  accessControl: AccessPolicyName;
  maxNodeMultiple?: number;
}

export const REGISTERED_KINDS: readonly RegisteredKind[] = [
  { id: 1, name: 'SIP-REGISTRATION', dataModel: 'dictionary', accessControl: 'USER-NODE-MATCH' },
  // RFC 6940 §9: single value, NODE-MULTIPLE with a maximum iteration counter of 20
  { id: 2, name: 'TURN-SERVICE', dataModel: 'single', accessControl: 'NODE-MULTIPLE', maxNodeMultiple: 20 },
  // RFC 6940 §8
  { id: 3, name: 'CERTIFICATE_BY_NODE', dataModel: 'array', accessControl: 'NODE-MATCH' },
  { id: 16, name: 'CERTIFICATE_BY_USER', dataModel: 'array', accessControl: 'USER-MATCH' },
];

export function registeredKindByName(name: string): RegisteredKind | undefined {
  return REGISTERED_KINDS.find((k) => k.name === name);
}

export function registeredKindById(id: number): RegisteredKind | undefined {
  return REGISTERED_KINDS.find((k) => k.id === id);
}
