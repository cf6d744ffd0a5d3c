// The overlay configuration document (RFC 6940 §11.1): parse, serialize, sign, verify, defaults.
export { ConfigDocumentError } from './config-error.js';
export type { ConfigDocumentErrorCode } from './config-error.js';
export { CONFIG_BASE_NAMESPACE, CONFIG_CHORD_NAMESPACE, DEFAULT_BOOTSTRAP_PORT, LAN_MULTICAST_BOOTSTRAP, OVERLAY_CONFIGURATION_MEDIA_TYPE } from './overlay-configuration.js';
export type { BootstrapNode, OverlayConfiguration } from './overlay-configuration.js';
export { P2PSIP_AUTH_PROOF_KIND_ID, P2PSIP_KINDS, P2PSIP_MESSAGE_KIND_ID, P2PSIP_PRESENCE_KIND_ID, P2PSIP_PRESENCE_RULES_KIND_ID, P2PSIP_PRESENCE_WATCH_KIND_ID, P2PSIP_USER_KIND_ID, P2PSIP_VOICEMAIL_CHUNK_KIND_ID, P2PSIP_VOICEMAIL_KIND_ID, P2PSIP_WRITE_GRANT_KIND_ID, REGISTERED_KINDS, p2psipKindById, registeredKindById, registeredKindByName } from './registered-kinds.js';
export type { P2psipKind, RegisteredKind } from './registered-kinds.js';
export { DEFAULT_MAX_DOCUMENT_SIZE, DEFAULT_MAX_REPEATED, parseOverlayConfiguration } from './parse-overlay-configuration.js';
export type { ConfigurationLimits, ParseConfigurationOptions, ParseConfigurationResult, ParsedOverlayDocument } from './parse-overlay-configuration.js';
export { escapeXml, serializeConfigurationElement, serializeKindElement, serializeOverlayConfiguration, serializeOverlayDocument } from './serialize-overlay-configuration.js';
export {
  DEFAULT_LAN_CONFIGURATION,
  LAN_CERTIFICATE_MAX_COUNT,
  LAN_CERTIFICATE_MAX_SIZE,
  LAN_SIP_REGISTRATION_MAX_COUNT,
  LAN_SIP_REGISTRATION_MAX_SIZE,
  LAN_AUTH_PROOF_MAX_SIZE,
  LAN_USER_RECORD_MAX_SIZE,
  LAN_WRITE_GRANT_MAX_COUNT,
  defaultLanConfiguration,
} from './default-lan-configuration.js';
export type { LanAuthMode } from './default-lan-configuration.js';
export { trustPolicyOf } from './trust-policy-of.js';
export { signOverlayConfiguration, signXmlBlob, verifyOverlayConfiguration } from './configuration-signature.js';
export type { VerifyConfigurationOptions } from './configuration-signature.js';
