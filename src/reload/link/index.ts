// RELOAD overlay links (RFC 6940 §6.6): the one barrel of src/reload/link.
export type { DriverLink, LinkDriver, LinkDriverUser, LinkEndpoint } from './link-driver.js';
export { LinkLayer } from './link-layer.js';
export type { LinkDownReason, LinkInfo, LinkLayerDeps, LinkLayerTotals, LinkLayerUser } from './link-layer.js';
export { resolveLinkLayerOptions } from './link-layer-options.js';
export type { LinkLayerOptions, ResolvedLinkLayerOptions } from './link-layer-options.js';
export { FramedLink } from './framed-link.js';
export type { FramedLinkState, LinkStats, ReceiveResult } from './framed-link.js';
export { AckWindow } from './ack-window.js';
export { RtoEstimator } from './rto-estimator.js';
export type { RtoOptions } from './rto-estimator.js';
export { LinkError } from './link-error.js';
export type { LinkErrorCode } from './link-error.js';
