import { LAN_MULTICAST_BOOTSTRAP, type OverlayConfiguration } from './overlay-configuration.js';
import type { KindDefinition } from '../storage/kind.js';
import { P2PSIP_AUTH_PROOF_KIND_ID, P2PSIP_MESSAGE_KIND_ID, P2PSIP_PRESENCE_KIND_ID, P2PSIP_PRESENCE_RULES_KIND_ID, P2PSIP_PRESENCE_WATCH_KIND_ID, P2PSIP_USER_KIND_ID, P2PSIP_VOICEMAIL_CHUNK_KIND_ID, P2PSIP_VOICEMAIL_GREETING_KIND_ID, P2PSIP_VOICEMAIL_KIND_ID, P2PSIP_WRITE_GRANT_KIND_ID } from './registered-kinds.js';

/** Kind limits of the zero-configuration overlay. */
export const LAN_SIP_REGISTRATION_MAX_COUNT = 10;
export const LAN_SIP_REGISTRATION_MAX_SIZE = 1000;
export const LAN_CERTIFICATE_MAX_COUNT = 4;
export const LAN_CERTIFICATE_MAX_SIZE = 8192;
/** Issue 15 (closed overlays): bytes of one user record (user, realm, two HA1s, times, owner). */
export const LAN_USER_RECORD_MAX_SIZE = 1024;
/** Bytes of one digest proof (the phone's Authorization fields). */
export const LAN_AUTH_PROOF_MAX_SIZE = 2048;
/** Write grants per user (Resource-ID): peers that may register the user at the same time. */
export const LAN_WRITE_GRANT_MAX_COUNT = LAN_SIP_REGISTRATION_MAX_COUNT;

/** Issue 16: keys of P2PSIP-MESSAGE per user (live messages and recent tombstones; usages/messages/message-box.ts). */
export const LAN_MESSAGE_MAX_COUNT = 40;
/** Bytes of one kept message (its 1300-byte body in base64 and five 256-byte fields). */
export const LAN_MESSAGE_MAX_SIZE = 3200;
/** Issue 16: presence entries per user (peers where its devices PUBLISH) and their size (a composed PIDF). */
export const LAN_PRESENCE_MAX_COUNT = LAN_SIP_REGISTRATION_MAX_COUNT;
export const LAN_PRESENCE_MAX_SIZE = 3000;
/** Issue 16: voicemail index entries per user (20 live and tombstones) and their size; a chunk of audio (2,400 bytes of µ-law and its writer). */
export const LAN_VOICEMAIL_MAX_COUNT = 40;
export const LAN_VOICEMAIL_MAX_SIZE = 1024;
export const LAN_VOICEMAIL_CHUNK_MAX_SIZE = 2500;
/** A user's greeting pointer (UTF-8 JSON of about 200 bytes; its audio is in voicemail chunks). */
export const LAN_VOICEMAIL_GREETING_MAX_SIZE = 512;
/** Peers watching one user, and a watch entry's size (the user's Resource Name). */
export const LAN_PRESENCE_WATCH_MAX_COUNT = 64;
export const LAN_PRESENCE_WATCH_MAX_SIZE = 512;

/**
 * Open or closed (issue 15). Closed (the default of `p2psip up`): SIP-REGISTRATION takes writes only
 * from peers holding a write grant that a digest proof of the user's password earned, and the
 * overlay carries the user directory Kinds. Open (`--open`): any peer may register any user of the
 * domain under its own Node-ID (proxy-peer-writes), no user directory — labs and demos. The two
 * configurations differ, so open and closed boxes are different overlays.
 */
export type LanAuthMode = 'open' | 'closed';

function sipRegistrationKind(mode: LanAuthMode): KindDefinition {
  const base = { id: 1, name: 'SIP-REGISTRATION', dataModel: 'dictionary', accessControl: 'USER-NODE-MATCH', maxCount: LAN_SIP_REGISTRATION_MAX_COUNT, maxSize: LAN_SIP_REGISTRATION_MAX_SIZE } as const;
  return mode === 'open' ? { ...base, proxyPeerWrites: true } : { ...base, grantedWrites: true };
}

/** Issue 16: a user's presence, written under the rules of its registrations (the peer where it registered). */
function presenceKind(mode: LanAuthMode): KindDefinition {
  const base = { id: P2PSIP_PRESENCE_KIND_ID, name: 'P2PSIP-PRESENCE', dataModel: 'dictionary', accessControl: 'USER-NODE-MATCH', maxCount: LAN_PRESENCE_MAX_COUNT, maxSize: LAN_PRESENCE_MAX_SIZE } as const;
  return mode === 'open' ? { ...base, proxyPeerWrites: true } : { ...base, grantedWrites: true };
}

/** Issue 16: a user's watcher rules, under the same rules. */
function presenceRulesKind(mode: LanAuthMode): KindDefinition {
  const base = { id: P2PSIP_PRESENCE_RULES_KIND_ID, name: 'P2PSIP-PRESENCE-RULES', dataModel: 'dictionary', accessControl: 'USER-NODE-MATCH', maxCount: LAN_PRESENCE_MAX_COUNT, maxSize: LAN_PRESENCE_MAX_SIZE } as const;
  return mode === 'open' ? { ...base, proxyPeerWrites: true } : { ...base, grantedWrites: true };
}

/** The user directory Kinds of a closed overlay (issue 15; registered-kinds.ts P2PSIP_KINDS). */
function userDirectoryKinds(): KindDefinition[] {
  return [
    { id: P2PSIP_USER_KIND_ID, name: 'P2PSIP-USER', dataModel: 'single', accessControl: 'USAGE-GUARD', maxCount: 1, maxSize: LAN_USER_RECORD_MAX_SIZE, private: true },
    { id: P2PSIP_AUTH_PROOF_KIND_ID, name: 'P2PSIP-AUTH-PROOF', dataModel: 'single', accessControl: 'USAGE-GUARD', maxCount: 1, maxSize: LAN_AUTH_PROOF_MAX_SIZE, private: true },
    { id: P2PSIP_WRITE_GRANT_KIND_ID, name: 'P2PSIP-WRITE-GRANT', dataModel: 'dictionary', accessControl: 'USAGE-GUARD', maxCount: LAN_WRITE_GRANT_MAX_COUNT, maxSize: 8 },
  ];
}

/**
 * The configuration of a zero-configuration LAN overlay: self-signed certificates (RFC 6940
 * §11.3.1, SHA-256 Node-IDs), CHORD-RELOAD, no enrollment server, no root-cert, and the Kinds
 * with their registered models and policies: SIP-REGISTRATION (RFC 7904), TURN-SERVICE (§9),
 * CERTIFICATE_BY_NODE and CERTIFICATE_BY_USER (§8).
 */
export function defaultLanConfiguration(overlayName: string, mode: LanAuthMode = 'closed'): OverlayConfiguration {
  return {
    instanceName: overlayName,
    sequence: 0,
    topologyPlugin: 'CHORD-RELOAD',
    nodeIdLength: 16,
    rootCertificates: [],
    enrollmentServers: [],
    selfSignedPermitted: true,
    selfSignedDigest: 'sha256',
    bootstrapNodes: [],
    // issue 15: peers of the LAN overlay find each other with multicast Pings to this group
    multicastBootstrap: [{ ...LAN_MULTICAST_BOOTSTRAP }],
    turnDensity: 1,
    clientsPermitted: true,
    noIce: false,
    maxMessageSize: 5000,
    initialTtl: 100,
    overlayReliabilityTimer: 3000,
    overlayLinkProtocols: ['TLS'],
    configurationSigners: [],
    kindSigners: [],
    badNodes: [],
    mandatoryExtensions: [],
    kinds: [
      sipRegistrationKind(mode),
      { id: 2, name: 'TURN-SERVICE', dataModel: 'single', accessControl: 'NODE-MULTIPLE', maxCount: 1, maxSize: 100, maxNodeMultiple: 20 },
      { id: 3, name: 'CERTIFICATE_BY_NODE', dataModel: 'array', accessControl: 'NODE-MATCH', maxCount: LAN_CERTIFICATE_MAX_COUNT, maxSize: LAN_CERTIFICATE_MAX_SIZE },
      { id: 16, name: 'CERTIFICATE_BY_USER', dataModel: 'array', accessControl: 'USER-MATCH', maxCount: LAN_CERTIFICATE_MAX_COUNT, maxSize: LAN_CERTIFICATE_MAX_SIZE },
      ...(mode === 'closed' ? userDirectoryKinds() : []),
      // issue 16: messages for absent users
      presenceKind(mode),
      presenceRulesKind(mode),
      { id: P2PSIP_PRESENCE_WATCH_KIND_ID, name: 'P2PSIP-PRESENCE-WATCH', dataModel: 'dictionary', accessControl: 'USAGE-GUARD', maxCount: LAN_PRESENCE_WATCH_MAX_COUNT, maxSize: LAN_PRESENCE_WATCH_MAX_SIZE },
      { id: P2PSIP_VOICEMAIL_KIND_ID, name: 'P2PSIP-VOICEMAIL', dataModel: 'dictionary', accessControl: 'USAGE-GUARD', maxCount: LAN_VOICEMAIL_MAX_COUNT, maxSize: LAN_VOICEMAIL_MAX_SIZE, allReplicasFirst: true },
      { id: P2PSIP_VOICEMAIL_CHUNK_KIND_ID, name: 'P2PSIP-VOICEMAIL-CHUNK', dataModel: 'single', accessControl: 'USAGE-GUARD', maxCount: 1, maxSize: LAN_VOICEMAIL_CHUNK_MAX_SIZE, allReplicasFirst: true },
      { id: P2PSIP_VOICEMAIL_GREETING_KIND_ID, name: 'P2PSIP-VOICEMAIL-GREETING', dataModel: 'single', accessControl: 'USAGE-GUARD', maxCount: 1, maxSize: LAN_VOICEMAIL_GREETING_MAX_SIZE, allReplicasFirst: true },
      { id: P2PSIP_MESSAGE_KIND_ID, name: 'P2PSIP-MESSAGE', dataModel: 'dictionary', accessControl: 'USAGE-GUARD', maxCount: LAN_MESSAGE_MAX_COUNT, maxSize: LAN_MESSAGE_MAX_SIZE, allReplicasFirst: true },
    ],
    chordReactive: true,
  };
}

/** The name the brief of issue 5 uses for {@link defaultLanConfiguration}. */
export const DEFAULT_LAN_CONFIGURATION = defaultLanConfiguration;
