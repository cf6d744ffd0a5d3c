import { parseMessage } from '../../src/sip/message/index.js';
import type { SipMessage } from '../../src/sip/message/sip-message.js';

/** Parses SIP text or bytes as one datagram; a parse failure throws its SipParseError (tests only). */
export function parse(text: string | Uint8Array): SipMessage {
  const r = parseMessage(typeof text === 'string' ? new TextEncoder().encode(text) : text, { datagram: true });
  if (!r.ok) throw r.error;
  return r.message;
}
