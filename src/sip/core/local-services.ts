/**
 * The seam between the proxy and the services a peer runs for its users (issue 16: presence, messages
 * for absent users, voicemail). The proxy asks the services twice on the way of a request for a user
 * of our domains: before routing it (a service may answer it itself: PUBLISH, SUBSCRIBE, a voicemail
 * number), and when routing it failed (a service may answer in place of the failure: a MESSAGE kept
 * for later, a call taken by voicemail). Without services the proxy behaves as before.
 */
import { isSipUri, parseNameAddr } from '../message/index.js';
import type { SipRequest, Uri } from '../message/sip-message.js';
import { canonicalAorUser } from './aor-validation.js';
import type { ServerTransaction } from '../transaction/transaction-contract.js';

/** A request as a service sees it. */
export interface ServiceRequest {
  /** The server transaction: the service answers through it (`respond`), at once or later. */
  readonly tx: ServerTransaction;
  /** The request after route preprocessing and authentication (our realm's credentials removed). */
  readonly request: SipRequest;
  /** The canonical AoR of the Request-URI (a user of our domains); undefined when it names this element (no user part). */
  readonly aor: string | undefined;
  /** The To tag for responses made here (the same one the proxy would use). */
  readonly toTag: string;
  /** The request came from another p2psip peer (the RFC 7904 target mark), not from a phone of ours. */
  readonly fromPeer: boolean;
  /** The user whose digest answer was verified for this request (a canonical AoR), when there was one. */
  readonly user: string | undefined;
  /** True once a 100 Trying went upstream for this INVITE (a service need not send another). */
  readonly tryingSent: boolean;
}

export interface LocalServices {
  /**
   * Asked before a request for a user of our domains, or for this element, is routed (never for
   * REGISTER, CANCEL or ACK). True: a service answers it (now or later) and the proxy does nothing more.
   */
  claim(r: ServiceRequest): boolean;
  /**
   * Asked when routing a request to an AoR ended in a failure the proxy would send upstream:
   * `status` is 404 (no registration), the location service's failure (480, 408, 503…) or the best
   * final response of the forwarded branches (≥ 300, not after a CANCEL). True: a service answers the
   * transaction instead (it must, at once or later); false: the failure goes upstream as before.
   */
  divert(r: ServiceRequest, status: number): boolean;
  /**
   * Optional: for a request about to be forwarded to the AoR's phones, how long they may ring (ms)
   * before the proxy cancels them and offers the call to `divert` with 408 (voicemail on no answer);
   * undefined: no limit but Timer C. Without a service taking it, the caller gets 480 (No answer).
   */
  noAnswerMs?(r: ServiceRequest): number | undefined;
  /** Optional: an ACK no transaction took (the ACK of a service's own 2xx); true when the service took it. */
  onAck?(request: SipRequest): boolean;
}

/** Several services as one: the first that claims (or diverts) a request answers it. */
export function combineServices(services: readonly LocalServices[]): LocalServices | undefined {
  if (services.length === 0) return undefined;
  if (services.length === 1) return services[0];
  return {
    claim: (r) => services.some((s) => s.claim(r)),
    divert: (r, status) => services.some((s) => s.divert(r, status)),
    noAnswerMs: (r) => {
      for (const s of services) {
        const ms = s.noAnswerMs?.(r);
        if (ms !== undefined) return ms;
      }
      return undefined;
    },
    onAck: (request) => services.some((s) => s.onAck?.(request) ?? false),
  };
}

/** The canonical AoR of a request's From (services acting for the sender); undefined when unreadable. */
export function fromAorOf(request: SipRequest, canonicalAor?: (uri: Uri) => string | undefined): string | undefined {
  const from = request.headers.get('from');
  if (from === undefined) return undefined;
  let uri: Uri;
  try {
    uri = parseNameAddr(from, 'From').uri;
  } catch {
    return undefined;
  }
  if (canonicalAor !== undefined) return canonicalAor(uri);
  if (!isSipUri(uri) || uri.user === undefined || uri.user === '') return undefined;
  return `sip:${canonicalAorUser(uri.user)}@${uri.host.toLowerCase()}`;
}
