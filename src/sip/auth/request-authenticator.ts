/**
 * What the proxy core asks before it routes a request (RFC 3261 §22): may it go on, or is it answered
 * here (a challenge, 403, 400, 503)? Absent, every request goes on as before (an open overlay).
 */
import type { SipRequest } from '../message/sip-message.js';
import type { TransportAddress } from '../transport/sip-transport.js';

export type AuthVerdict =
  /**
   * The request goes on: it needed no authentication, or its answer was verified (`user` then names
   * the authenticated user). `request` is what to route: a copy without our realm's credentials
   * (§22.3) when it carried any, else the request itself.
   */
  | { readonly kind: 'pass'; readonly request: SipRequest; readonly user?: string }
  /** Answered here with this status, reason phrase and headers (WWW-/Proxy-Authenticate, Retry-After). */
  | { readonly kind: 'reply'; readonly status: number; readonly reason: string; readonly headers: Array<[string, string]> };

export interface RequestAuthenticator {
  /** The verdict; synchronous unless the verifier must be asked (see {@link answersAtOnce}). */
  authenticate(request: SipRequest, source: TransportAddress): AuthVerdict | Promise<AuthVerdict>;
  /**
   * True when `authenticate` answers this request without the verifier (it carries no credentials that
   * could be checked): such a REGISTER may still be answered statelessly (§8.2.7); one that needs the
   * verifier goes through a server transaction, which absorbs retransmissions while it waits.
   */
  answersAtOnce(request: SipRequest): boolean;
}
