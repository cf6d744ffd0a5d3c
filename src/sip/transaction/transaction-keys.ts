/**
 * Transaction matching keys (RFC 3261 §17.1.3, §17.2.3, §9.2). These helpers read the headers of
 * a parsed message and may throw on a message without Via/CSeq/Call-ID: the layer catches.
 */
import { BRANCH_COOKIE, callId, cseqOf, formatVia, fromTag, paramValue, toTag, topVia, uriEquals } from '../message/index.js';
import type { SipMessage, SipRequest, Via } from '../message/sip-message.js';

/** The top Via branch when it carries the RFC 3261 magic cookie, else undefined. */
export function compliantBranch(via: Via): string | undefined {
  const branch = paramValue(via.params, 'branch');
  return branch !== undefined && branch.startsWith(BRANCH_COOKIE) && branch.length > BRANCH_COOKIE.length ? branch : undefined;
}

/** sent-by as compared by §17.2.3: host case-insensitive, port as written. */
function sentBy(via: Via): string {
  return `${via.host.toLowerCase()}:${via.port ?? ''}`;
}

/** §17.1.3: a client transaction is named by its branch and its CSeq method. */
export function clientKey(branch: string, method: string): string {
  return `${branch}|${method}`;
}

/** §17.1.3: the client transaction key a response names, undefined when it names none. */
export function responseClientKey(response: SipMessage): string | undefined {
  const branch = paramValue(topVia(response).params, 'branch');
  if (branch === undefined || branch === '') return undefined;
  return clientKey(branch, cseqOf(response).method);
}

/**
 * §17.2.3 with the magic cookie: branch + sent-by + method (ACK names the INVITE transaction).
 * `method` is the request's method, or INVITE when §9.2 matches a CANCEL as its INVITE.
 */
export function serverBranchKey(msg: SipMessage, method: string): string | undefined {
  const via = topVia(msg);
  const branch = compliantBranch(via);
  if (branch === undefined) return undefined;
  return `${branch}|${sentBy(via)}|${method === 'ACK' ? 'INVITE' : method}`;
}

/**
 * §17.2.3 RFC 2543 fallback: requests of one transaction share Call-ID, CSeq number, From tag
 * and top Via; the rest (Request-URI, To tag, method) is checked by {@link fallbackMatches}.
 */
export function fallbackBucket(msg: SipMessage): string {
  return `${callId(msg)}|${cseqOf(msg).seq}|${fromTag(msg) ?? ''}|${formatVia(topVia(msg))}`;
}

/**
 * §17.2.3 RFC 2543 fallback, given a request in the same bucket as the transaction's `original`:
 * same Request-URI; for ACK the original is an INVITE and the ACK's To tag is the To tag of the
 * response the transaction sent (`sentToTag`); otherwise same method and same To tag.
 * `asMethod` replaces the request's method (§9.2: a CANCEL is matched as its INVITE).
 */
export function fallbackMatches(original: SipRequest, sentToTag: string | undefined, request: SipRequest, asMethod = request.method): boolean {
  if (!uriEquals(original.uri, request.uri)) return false;
  if (asMethod === 'ACK') return original.method === 'INVITE' && toTag(request) === sentToTag;
  if (original.method !== asMethod || toTag(request) !== toTag(original)) return false;
  return asMethod !== request.method || cseqOf(request).method === cseqOf(original).method;
}
