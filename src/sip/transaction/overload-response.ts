import { callId, createResponse, cseqOf, fromTag, toTag, topVia, formatVia } from '../message/index.js';
import type { SipRequest, SipResponse } from '../message/sip-message.js';
import { fnv1a } from '../../lib/fnv1a.js';

/** Seconds a client is asked to wait after a 503 sent because the transaction table is full or the element is overloaded. */
export const OVERLOAD_RETRY_AFTER_S = 5;

/**
 * RFC 3261 §8.2.7: a stateless answer must carry the same To tag for every retransmission of a
 * request, so the tag is a hash of what identifies the request (Call-ID, From tag, CSeq, top Via).
 */
export function statelessToTag(request: SipRequest): string {
  const cseq = cseqOf(request);
  const text = `${callId(request)}|${fromTag(request) ?? ''}|${cseq.seq}|${cseq.method}|${formatVia(topVia(request))}`;
  return fnv1a(text, 0x811c9dc5).toString(36) + fnv1a(text, 0x9747b28c).toString(36);
}

/**
 * The stateless 503 (Service Unavailable) sent when `maxTransactions` is reached or admission
 * control refuses a request (RFC 3261 §21.5.4).
 */
export function overloadResponse(request: SipRequest, retryAfterS = OVERLOAD_RETRY_AFTER_S, reason?: string): SipResponse {
  const tag = toTag(request) === undefined ? statelessToTag(request) : undefined;
  return createResponse(request, 503, reason, {
    ...(tag !== undefined ? { toTag: tag } : {}),
    headers: [['Retry-After', String(retryAfterS)]],
  });
}
