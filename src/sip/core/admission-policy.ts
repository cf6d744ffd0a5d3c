/**
 * Overload admission (RFC 3261 §21.5.4; the spirit of RFC 7339), asked by the transaction layer for
 * every new request before anything is kept for it. New work is refused early with a stateless 503
 * and a small jittered Retry-After, so that what is already in progress finishes and the peer stays
 * responsive, instead of every request timing out together (a saturated UDP proxy otherwise
 * collapses under its clients' retransmissions). Two signals:
 * - the platform's LoadMonitor (UDP receive backlog, heap): while overloaded, new out-of-dialog
 *   requests are refused;
 * - the overlay's work in flight against its budget (issue 14): while it is saturated, the requests
 *   that would add overlay work — a REGISTER that is not a refresh (a Store), an out-of-dialog
 *   request for a user of our domain (a Fetch) — are refused. REGISTER used to be always admitted:
 *   1,000–4,000 REGISTER/s, each a Store, left the peer answering nothing for seconds.
 * Always admitted: what ends or continues existing work (CANCEL, BYE, PRACK, ACK, in-dialog
 * requests), REGISTER refreshes (they keep registrations alive), and OPTIONS for the peer itself
 * (health checks are answered ahead of work: the answer costs what a 503 would).
 */
import type { Random } from '../../lib/random.js';
import { isSipUri, parseNameAddr, toTag } from '../message/index.js';
import type { SipRequest } from '../message/sip-message.js';
import type { LocalIdentity } from './local-identity.js';

/** Whether the element is overloaded now; the platform measures it (UDP backlog, heap). */
export interface LoadMonitor {
  overloaded(): boolean;
}

/** Work in flight on a shared resource (the overlay) against its budget. */
export interface WorkBudget {
  /** True while the work in flight is at or past the budget: add no more. */
  saturated(): boolean;
}

/** What the policy needs to tell which requests add overlay work. */
export interface OverlayAdmission {
  budget: WorkBudget;
  /** The Call-IDs of the bindings this peer holds for a canonical AoR now (a REGISTER with one of them is a refresh). */
  localCallIds(aor: string): Iterable<string>;
  /** A request for a local AoR that needs no overlay lookup (e.g. one a peer forwarded to its own phones). */
  servedLocally?(request: SipRequest): boolean;
}

export interface AdmissionDeps {
  monitor?: LoadMonitor | undefined;
  overlay?: OverlayAdmission | undefined;
  /** Our domains and addresses (which requests are for us, which AoRs are ours). */
  identity: LocalIdentity;
  /** Jitter of Retry-After. */
  random: Random;
}

export interface AdmissionOptions {
  /** Retry-After of a refusal, whole seconds drawn uniformly from [min, max] (default 1..4): a burst's clients do not come back together. */
  retryAfterMinS: number;
  retryAfterMaxS: number;
}

export const DEFAULT_ADMISSION_OPTIONS: Readonly<AdmissionOptions> = Object.freeze({ retryAfterMinS: 1, retryAfterMaxS: 4 });

/** A refusal: answered with a stateless 503, this Retry-After and reason phrase. */
export interface AdmissionRefusal {
  retryAfterS: number;
  reason: string;
}

export type AdmissionVerdict = true | AdmissionRefusal;

/** What ends or continues existing work. */
const ALWAYS = new Set(['CANCEL', 'BYE', 'PRACK', 'ACK']);

export function admissionPolicy(deps: AdmissionDeps, options: Partial<AdmissionOptions> = {}): (request: SipRequest) => AdmissionVerdict {
  const o = { ...DEFAULT_ADMISSION_OPTIONS, ...options };
  if (!(o.retryAfterMinS >= 0 && o.retryAfterMaxS >= o.retryAfterMinS)) throw new RangeError('admission: need 0 <= retryAfterMinS <= retryAfterMaxS');
  const refuse = (reason: string): AdmissionRefusal => ({
    retryAfterS: o.retryAfterMinS + Math.floor(deps.random.float() * (o.retryAfterMaxS - o.retryAfterMinS + 1)),
    reason,
  });
  return (request) => {
    // the cheap questions first: with no load, nothing else need be parsed or looked up
    const saturated = deps.overlay?.budget.saturated() === true;
    const overloaded = deps.monitor?.overloaded() === true;
    if (!saturated && !overloaded) return true;
    if (ALWAYS.has(request.method) || inDialog(request) || isHealthCheck(request, deps.identity)) return true;
    const overlayWork = deps.overlay !== undefined && addsOverlayWork(request, deps.overlay, deps.identity);
    if (overlayWork && saturated) return refuse('Service Unavailable - Overlay busy');
    if (!overloaded) return true;
    // a REGISTER that adds no overlay work (a refresh, a query, a peer without overlay) is answered
    // statelessly at about the cost of the 503: refusing it saves nothing
    if (request.method === 'REGISTER' && !overlayWork) return true;
    return refuse('Service Unavailable - Overloaded');
  };
}

function inDialog(request: SipRequest): boolean {
  try {
    return toTag(request) !== undefined;
  } catch {
    return false;
  }
}

/** OPTIONS for the peer itself (no user part, one of our domains or addresses). */
function isHealthCheck(request: SipRequest, identity: LocalIdentity): boolean {
  const uri = request.uri;
  return request.method === 'OPTIONS' && isSipUri(uri) && (uri.user === undefined || uri.user === '') && identity.isLocalDomainUri(uri);
}

/**
 * A new REGISTER with a Contact that is not a refresh (no binding of the AoR with its Call-ID here):
 * a Store; an out-of-dialog request for a user of our domains: a Fetch (unless served locally).
 */
function addsOverlayWork(request: SipRequest, overlay: OverlayAdmission, identity: LocalIdentity): boolean {
  if (request.method === 'REGISTER') {
    if (!identity.isLocalDomainUri(request.uri) || !request.headers.has('contact')) return false;
    const aor = toAor(request, identity);
    if (aor === undefined) return true;
    const callId = request.headers.get('call-id');
    for (const c of overlay.localCallIds(aor)) if (c === callId) return false;
    return true;
  }
  const uri = request.uri;
  if (!isSipUri(uri) || uri.user === undefined || uri.user === '' || !identity.isLocalDomainUri(uri)) return false;
  if (request.headers.has('route')) return false; // routed elsewhere (preloaded Route), no lookup here
  return overlay.servedLocally?.(request) !== true;
}

/** The canonical AoR of a REGISTER's To (RFC 3261 §10.3 step 5); undefined when unreadable. */
function toAor(request: SipRequest, identity: LocalIdentity): string | undefined {
  const to = request.headers.get('to');
  if (to === undefined) return undefined;
  try {
    return identity.canonicalAor(parseNameAddr(to).uri);
  } catch {
    return undefined;
  }
}
