/**
 * p2psip as a library (issue 17): `import { startPeer } from 'p2psip'`. This module is the package's
 * only entry (package.json `exports`); what it exports is the supported API and follows semver
 * (docs/api.md). Everything else under dist/src is internal and may change in any release.
 */
export { startPeer } from './api/peer.js';
export type { AorLocation, Peer, PeerAddresses, PeerStatus, RegisterOptions, Registration } from './api/peer.js';
export { DEFAULT_KIND_MAX_COUNT, DEFAULT_KIND_MAX_SIZE } from './api/peer-options.js';
export type { AccessPolicy, Address, ApiLogger, KindSpec, PeerOptions } from './api/peer-options.js';
export { DEFAULT_REQUEST_TIMEOUT_MS, HANDLER_TIMEOUT_MS } from './api/sip-types.js';
export type { Dialog, IncomingRequest, OutgoingRequest, RequestHandler, SipHeader, SipReply, SipResult } from './api/sip-types.js';
export { DEFAULT_LIFETIME_S, MAX_KEY_BYTES, MAX_LIFETIME_S, MAX_RESOURCE_NAME_BYTES } from './api/app-storage.js';
export type { FetchOptions, ResourceName, StoreOptions, StoreReceipt, StoredValue } from './api/app-storage.js';
export type { CallChange, OverlayStateName, PeerEventMapApi as PeerEvents, PeerEventName, RegistrationChange, RequestNotice } from './api/api-events.js';
export { P2psipApiError } from './api/api-error.js';
export type { ApiErrorCode } from './api/api-error.js';
// the explicit bounds of the API (docs/api.md "Limits")
export {
  DEFAULT_REGISTER_EXPIRES_S,
  MAX_PENDING_REQUESTS,
  MAX_REGISTER_EXPIRES_S,
  MAX_REQUEST_TIMEOUT_MS,
  MAX_USERS,
  MIN_REGISTER_EXPIRES_S,
} from './api/user-agent.js';
export { MAX_PENDING_INCOMING } from './api/ua-incoming.js';
export { MAX_EXTRA_HEADERS, MAX_REQUEST_BODY_BYTES } from './api/sip-text.js';
export { MAX_DIALOGS as MAX_DIALOGS_PER_PEER } from './api/ua-dialogs.js';
export { MAX_APPLICATION_KINDS, MAX_APPLICATION_KIND_COUNT, MAX_APPLICATION_KIND_ID, MIN_APPLICATION_KIND_ID } from './node/application-kinds.js';
