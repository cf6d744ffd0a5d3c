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

/**
 * p2psip's own Kinds (issue 15), in the private-use range of the Kind-ID registry (RFC 6940 §14.6:
 * 0xf0000000–0xfffffffe). Named by id in documents; the parser gives them these names, models,
 * policies and privacy (a document cannot make a user record public).
 */
export interface P2psipKind extends RegisteredKind {
  private?: boolean;
  /** Answered only once both replicas hold a value (KindDefinition.allReplicasFirst). */
  allReplicasFirst?: boolean;
}

export const P2PSIP_USER_KIND_ID = 0xf0000101;
export const P2PSIP_AUTH_PROOF_KIND_ID = 0xf0000102;
/** = WRITE_GRANT_KIND_ID of reload/storage/write-grant.ts. */
export const P2PSIP_WRITE_GRANT_KIND_ID = 0xf0000103;
/** Issue 16: messages kept for absent users (= MESSAGE_KIND_ID of usages/messages/message-box.ts). */
export const P2PSIP_MESSAGE_KIND_ID = 0xf0000104;
/** Issue 16: presence (usages/presence/overlay-presence.ts): each peer's composed PIDF of a user, and the peers watching a user. */
export const P2PSIP_PRESENCE_KIND_ID = 0xf0000105;
export const P2PSIP_PRESENCE_WATCH_KIND_ID = 0xf0000108;
/** Issue 16: a user's watcher rules (usages/presence/presence-rules.ts). */
export const P2PSIP_PRESENCE_RULES_KIND_ID = 0xf0000109;
/** Issue 16: voicemail (usages/voicemail/voicemail-store.ts): a user's index of messages, and their audio chunks. */
export const P2PSIP_VOICEMAIL_KIND_ID = 0xf0000106;
export const P2PSIP_VOICEMAIL_CHUNK_KIND_ID = 0xf0000107;
/** Issue 16: a user's own recorded greeting (usages/voicemail/greeting-store.ts): a pointer to its audio chunks. */
export const P2PSIP_VOICEMAIL_GREETING_KIND_ID = 0xf000010a;

export const P2PSIP_KINDS: readonly P2psipKind[] = [
  { id: P2PSIP_USER_KIND_ID, name: 'P2PSIP-USER', dataModel: 'single', accessControl: 'USAGE-GUARD', private: true },
  { id: P2PSIP_AUTH_PROOF_KIND_ID, name: 'P2PSIP-AUTH-PROOF', dataModel: 'single', accessControl: 'USAGE-GUARD', private: true },
  { id: P2PSIP_WRITE_GRANT_KIND_ID, name: 'P2PSIP-WRITE-GRANT', dataModel: 'dictionary', accessControl: 'USAGE-GUARD' },
  { id: P2PSIP_MESSAGE_KIND_ID, name: 'P2PSIP-MESSAGE', dataModel: 'dictionary', accessControl: 'USAGE-GUARD', allReplicasFirst: true },
  { id: P2PSIP_PRESENCE_KIND_ID, name: 'P2PSIP-PRESENCE', dataModel: 'dictionary', accessControl: 'USER-NODE-MATCH' },
  { id: P2PSIP_PRESENCE_WATCH_KIND_ID, name: 'P2PSIP-PRESENCE-WATCH', dataModel: 'dictionary', accessControl: 'USAGE-GUARD' },
  { id: P2PSIP_PRESENCE_RULES_KIND_ID, name: 'P2PSIP-PRESENCE-RULES', dataModel: 'dictionary', accessControl: 'USER-NODE-MATCH' },
  { id: P2PSIP_VOICEMAIL_KIND_ID, name: 'P2PSIP-VOICEMAIL', dataModel: 'dictionary', accessControl: 'USAGE-GUARD', allReplicasFirst: true },
  { id: P2PSIP_VOICEMAIL_CHUNK_KIND_ID, name: 'P2PSIP-VOICEMAIL-CHUNK', dataModel: 'single', accessControl: 'USAGE-GUARD', allReplicasFirst: true },
  { id: P2PSIP_VOICEMAIL_GREETING_KIND_ID, name: 'P2PSIP-VOICEMAIL-GREETING', dataModel: 'single', accessControl: 'USAGE-GUARD', allReplicasFirst: true },
];

export function p2psipKindById(id: number): P2psipKind | undefined {
  return P2PSIP_KINDS.find((k) => k.id === id);
}
