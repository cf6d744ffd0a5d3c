/**
 * Routing failures (RFC 6940 §6.1.2: a peer that cannot route a request answers it with an error)
 * as a typed reason, and their one form on the wire: an error code and a fixed error_info text per
 * kind. The router refuses with these; an originator reads an error answer back into its kind here
 * (the wire has nothing else to tell a routing failure from, say, storage's Error_Not_Found) and
 * decides on the kind whether to try again once the tables heal.
 */
import { ReloadErrorCode } from '../codec/index.js';

/** no-route: no next hop; not-connected: a node-addressed message to a node we are responsible for but hold no link to; ttl-exceeded. */
export type RoutingFailure = 'no-route' | 'not-connected' | 'ttl-exceeded';

/** An error answer the router gives instead of routing a message. */
export interface Refusal {
  readonly code: ReloadErrorCode;
  readonly info: string;
  /** Set when the refusal is a routing failure (the originator may try again). */
  readonly failure: RoutingFailure | undefined;
}

const NO_ROUTE = 'no route toward the destination';
const NOT_CONNECTED = 'not connected here: node ';
const TTL_EXCEEDED = 'TTL exceeded';

/** No next hop toward the destination. */
export function noRoute(): Refusal {
  return { code: ReloadErrorCode.NotFound, info: NO_ROUTE, failure: 'no-route' };
}

/** The destination node falls in our range but no link to it is up (`nodeHex`: its Node-ID). */
export function notConnected(nodeHex: string): Refusal {
  return { code: ReloadErrorCode.NotFound, info: `${NOT_CONNECTED}${nodeHex}`, failure: 'not-connected' };
}

/** The message's TTL ran out (RFC 6940 §6.3.2). */
export function ttlExceeded(): Refusal {
  return { code: ReloadErrorCode.TtlExceeded, info: TTL_EXCEEDED, failure: 'ttl-exceeded' };
}

/** A refusal that is not a routing failure (a malformed destination). */
export function invalidMessage(info: string): Refusal {
  return { code: ReloadErrorCode.InvalidMessage, info, failure: undefined };
}

/** The routing failure an error answer reports, read back from its wire form; undefined for any other error. */
export function routingFailureOf(code: number, info: string): RoutingFailure | undefined {
  if (code === ReloadErrorCode.TtlExceeded) return 'ttl-exceeded';
  if (code !== ReloadErrorCode.NotFound) return undefined;
  if (info === NO_ROUTE) return 'no-route';
  return info.startsWith(NOT_CONNECTED) ? 'not-connected' : undefined;
}
