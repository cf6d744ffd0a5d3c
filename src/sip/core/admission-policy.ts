/**
 * Overload admission (RFC 3261 §21.5.4; the spirit of RFC 7339): while the peer is overloaded,
 * new out-of-dialog requests are refused with a stateless 503 + Retry-After, so that the calls
 * and registrations already in progress finish instead of every request timing out together
 * (a saturated UDP proxy otherwise collapses under its clients' retransmissions). Requests that
 * end or continue what exists — in-dialog requests, CANCEL, PRACK — are always admitted, and so
 * is REGISTER (see ALWAYS).
 */
import type { SipRequest } from '../message/sip-message.js';
import { toTag } from '../message/index.js';

/** Whether the element is overloaded now; the platform measures it (event loop, heap). */
export interface LoadMonitor {
  overloaded(): boolean;
}

/**
 * Always admitted: what ends or continues existing work, and REGISTER — answered statelessly, it
 * costs about what a 503 would, so refusing it would save nothing.
 */
const ALWAYS = new Set(['CANCEL', 'BYE', 'PRACK', 'ACK', 'REGISTER']);

export function admissionPolicy(monitor: LoadMonitor): (request: SipRequest) => boolean {
  return (request) => {
    if (ALWAYS.has(request.method)) return true;
    if (!monitor.overloaded()) return true;
    let inDialog = false;
    try {
      inDialog = toTag(request) !== undefined;
    } catch {
      inDialog = false;
    }
    return inDialog;
  };
}
