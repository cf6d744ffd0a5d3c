import { SipHeaders } from './sip-headers.js';
import type { SipMessage } from './sip-message.js';

/** The header fields that identify a message's transaction and route (RFC 3261 §17.1.3, §17.2.3, §9.1, §17.1.1.3). */
const IDENTITY = new Set(['via', 'from', 'to', 'call-id', 'cseq', 'route']);
const NO_BODY = new Uint8Array(0);

/**
 * A copy of a message that keeps only what matching, CANCEL/ACK building and error responses
 * need (start line, Via, From, To, Call-ID, CSeq, Route) and no body. Transactions keep this
 * once they only absorb retransmissions (Timer J/L/M: 32 s over UDP), instead of the whole message.
 */
export function transactionIdentity<T extends SipMessage>(message: T): T {
  const headers = new SipHeaders();
  for (const f of message.headers) if (IDENTITY.has(f.key)) headers.append(f.name, f.value);
  return { ...message, headers, body: NO_BODY };
}
