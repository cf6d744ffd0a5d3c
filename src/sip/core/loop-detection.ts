/**
 * Loop detection (RFC 3261 §16.3 step 4, §16.6 step 8): our branch IDs carry a hash of the
 * fields that identify a request at this hop; a request coming back with one of our Vias whose
 * hash equals the request's current hash is a loop (482), a different hash is a spiral.
 */
import { fnv1a32 } from '../../lib/fnv1a.js';
import type { Random } from '../../lib/random.js';
import { randomToken } from '../../lib/random.js';
import { BRANCH_COOKIE, formatUri, fromTag, toTag, callId, cseqOf, parseVia, paramValue } from '../message/index.js';
import type { SipRequest } from '../message/sip-message.js';
import type { LocalIdentity } from './local-identity.js';

/** Our branches look like `z9hG4bK-p2p<hash8>.<random>`. */
const MARK = `${BRANCH_COOKIE}-p2p`;

export function loopHash(req: SipRequest): string {
  return fnv1a32(
    [
      formatUri(req.uri),
      toTag(req) ?? '',
      fromTag(req) ?? '',
      callId(req),
      String(cseqOf(req).seq),
      req.headers.getAll('proxy-require').join(','),
      req.headers.getAll('proxy-authorization').join(','),
      req.headers.getAll('route').join(','),
    ].join('\n'),
  );
}

export function proxyBranch(req: SipRequest, random: Random): string {
  return `${MARK}${loopHash(req)}.${randomToken(random, 10)}`;
}

/** True when one of the request's Vias is ours and carries the request's own loop hash. */
export function isLoop(req: SipRequest, identity: LocalIdentity): boolean {
  let hash: string | undefined;
  for (const value of req.headers.getAll('via')) {
    for (const via of parseVia(value)) {
      const branch = paramValue(via.params, 'branch');
      if (branch === undefined || !branch.startsWith(MARK) || !identity.isLocalHost(via.host)) continue;
      hash ??= loopHash(req);
      if (branch.slice(MARK.length, MARK.length + 8) === hash) return true;
    }
  }
  return false;
}
