import type { OverlayConfiguration } from './overlay-configuration.js';

/** Kind limits of the zero-configuration overlay. */
export const LAN_SIP_REGISTRATION_MAX_COUNT = 10;
export const LAN_SIP_REGISTRATION_MAX_SIZE = 1000;
export const LAN_CERTIFICATE_MAX_COUNT = 4;
export const LAN_CERTIFICATE_MAX_SIZE = 8192;

/**
 * The configuration of a zero-configuration LAN overlay: self-signed certificates (RFC 6940
 * §11.3.1, SHA-256 Node-IDs), CHORD-RELOAD, no enrollment server, no root-cert, and the Kinds
 * with their registered models and policies: SIP-REGISTRATION (RFC 7904), TURN-SERVICE (§9),
 * CERTIFICATE_BY_NODE and CERTIFICATE_BY_USER (§8).
 */
export function defaultLanConfiguration(overlayName: string): OverlayConfiguration {
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
      { id: 1, name: 'SIP-REGISTRATION', dataModel: 'dictionary', accessControl: 'USER-NODE-MATCH', maxCount: LAN_SIP_REGISTRATION_MAX_COUNT, maxSize: LAN_SIP_REGISTRATION_MAX_SIZE, proxyPeerWrites: true },
      { id: 2, name: 'TURN-SERVICE', dataModel: 'single', accessControl: 'NODE-MULTIPLE', maxCount: 1, maxSize: 100, maxNodeMultiple: 20 },
      { id: 3, name: 'CERTIFICATE_BY_NODE', dataModel: 'array', accessControl: 'NODE-MATCH', maxCount: LAN_CERTIFICATE_MAX_COUNT, maxSize: LAN_CERTIFICATE_MAX_SIZE },
      { id: 16, name: 'CERTIFICATE_BY_USER', dataModel: 'array', accessControl: 'USER-MATCH', maxCount: LAN_CERTIFICATE_MAX_COUNT, maxSize: LAN_CERTIFICATE_MAX_SIZE },
    ],
    chordReactive: true,
  };
}

/** The name the brief of issue 5 uses for {@link defaultLanConfiguration}. */
export const DEFAULT_LAN_CONFIGURATION = defaultLanConfiguration;
