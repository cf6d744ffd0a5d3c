import { detachString, parseMessage, serializeMessage, SipHeaders, transactionIdentity } from '../message/index.js';
import type { SipMessage, SipResponse } from '../message/sip-message.js';

/**
 * What a transaction keeps of a message once it only absorbs retransmissions (Timer J/K/L/M: up to
 * 32 s over UDP), issue 18: ≤ 5 KB per call in progress. Neither keeps a string cut from the received
 * text (a slice keeps the whole message alive).
 */

/**
 * A message's transaction identity (see transactionIdentity: start line, Via, From, To, Call-ID,
 * CSeq, Route, no body) as the octets of its text in one flat one-byte string, ~1 B a character,
 * instead of a parsed message (an object, a name, key and value string per header field: ~3× the
 * size). Reading it parses the text again — a fresh object at each read, so callers compare what they
 * read by value, never by identity; lingering transactions are read seldom (a CANCEL, an RFC 2543
 * match). Only for messages that parsed or were built within the limits once.
 */
export class PackedMessage<T extends SipMessage> {
  private readonly text: string;

  constructor(message: T) {
    this.text = serializeMessage(transactionIdentity(message)).toString('latin1');
  }

  unpack(): T {
    const r = parseMessage(Buffer.from(this.text, 'latin1'), { datagram: true });
    // cannot fail for a serialised identity: a failure is a bug, named as such
    if (!r.ok) throw new Error(`internal: a packed ${this.text.slice(0, this.text.indexOf(' '))} did not parse again: ${r.error.message}`);
    // serialisation added a Content-Length: what was packed had none
    return transactionIdentity(r.message) as T;
  }

  /** Characters held (octets of the serialised identity). */
  get size(): number {
    return this.text.length;
  }
}

/**
 * What an INVITE server transaction keeps of its 2xx in Accepted and of its final response in
 * Confirmed (RFC 6026 §7.1, RFC 3261 §17.2.1): neither is ever sent again by the transaction, so
 * only that it was sent (status, reason) and its To header (an RFC 2543 ACK matches on its To tag,
 * §17.2.3). `response()` gives it as a response with that one header field, a fresh one at each read.
 */
export class FinalMark {
  private readonly status: number;
  private readonly reason: string;
  private readonly version: string;
  private readonly to: string | undefined;

  constructor(response: SipResponse) {
    this.status = response.status;
    this.reason = detachString(response.reason);
    this.version = response.version;
    const to = response.headers.get('to');
    this.to = to === undefined ? undefined : detachString(to);
  }

  response(): SipResponse {
    const headers = new SipHeaders();
    if (this.to !== undefined) headers.append('To', this.to);
    return { kind: 'response', status: this.status, reason: this.reason, version: this.version, headers, body: NO_BODY };
  }
}

const NO_BODY = new Uint8Array(0);
