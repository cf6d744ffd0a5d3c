/**
 * RFC 3261 §18.1.1: a request too large for UDP (over 1300 bytes, path MTU unknown) is sent over
 * TCP, and "if this causes a change in the transport protocol from the one indicated in the top
 * Via, the value in the top Via MUST be changed".
 */
import { formatVia, parseVia, splitFirstValue } from '../message/index.js';
import type { SipMessage, SipRequest } from '../message/sip-message.js';
import type { TransportAddress } from './sip-transport.js';

/**
 * A copy of `message` (headers cloned, the caller's message untouched: transactions retransmit
 * it) whose top Via says TCP; its sent-by port becomes the TCP listener's port when it was the
 * UDP listener's. Undefined when the top Via cannot be read.
 */
export function moveRequestToTcp(message: SipRequest, udp: TransportAddress | undefined, tcp: TransportAddress): SipMessage | undefined {
  const headers = message.headers.clone();
  const field = headers.get('via');
  if (field === undefined) return undefined;
  const [first, rest] = splitFirstValue(field);
  let top;
  try {
    top = parseVia(first)[0];
  } catch {
    return undefined;
  }
  if (top === undefined) return undefined;
  top.transport = 'TCP';
  if (udp !== undefined && top.port === udp.port && tcp.port !== udp.port) top.port = tcp.port;
  headers.replaceFirst('via', formatVia(top) + rest);
  return { ...message, headers };
}
