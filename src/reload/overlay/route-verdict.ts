/**
 * What the router decided for one message (RFC 6940 §6.1: deliver, forward or drop; §6.1.2: a peer
 * that cannot route a request answers it with an error). The router sends what it forwards itself
 * (it tries the next hops in turn until a link takes the message); MessageDispatcher acts on the
 * other verdicts.
 */
import type { ForwardingHeader } from '../codec/index.js';
import type { Refusal } from './routing-failure.js';

/** A message as it was routed: `from` is the adjacent node it came from (undefined: originated here). */
export interface RoutedMessage {
  readonly header: ForwardingHeader;
  readonly payload: Uint8Array;
  readonly from: bigint | undefined;
}

export type RouteVerdict =
  /** For this node (a reassembled message: its whole header and payload). */
  | ({ readonly kind: 'deliver' } & RoutedMessage)
  /** Already sent on `linkId`, to the adjacent node `to` (TTL decremented, Via List extended, §6.1.2). */
  | { readonly kind: 'forward'; readonly linkId: string; readonly to: bigint }
  /** Not routed: dropped (counted under the refusal's info), a request from another node answered with the error. */
  | ({ readonly kind: 'refuse'; readonly refusal: Refusal } & RoutedMessage)
  /** Dropped without an answer (counted under `reason`). */
  | { readonly kind: 'drop'; readonly reason: string }
  /**
   * A fragment for this node (§6.7): `held` until its message is whole, else its message was given up
   * (the Reassembler counts that in its own stats).
   */
  | { readonly kind: 'fragment'; readonly held: boolean };
