/**
 * What the digest authenticator reads of a request besides its credentials: whether it is in a dialog,
 * its To / From user, and a copy without our realm's credentials (RFC 3261 §22.3).
 */
import { isSipUri, parseNameAddr, SipHeaders, toTag, unescape } from '../message/index.js';
import type { SipRequest, Uri } from '../message/sip-message.js';
import { parseCredentials } from './digest-header.js';

/** A To tag: the request belongs to a dialog (an unreadable To counts as none). */
export function inDialog(request: SipRequest): boolean {
  try {
    return toTag(request) !== undefined;
  } catch {
    return false;
  }
}

/** The URI of the To or From header; undefined when absent or unreadable. */
export function headerUri(request: SipRequest, name: 'to' | 'from'): Uri | undefined {
  const v = request.headers.get(name);
  if (v === undefined) return undefined;
  try {
    return parseNameAddr(v).uri;
  } catch {
    return undefined;
  }
}

/** The user part of a SIP URI, unescaped (what a digest username is compared with). */
export function userOf(uri: Uri | undefined): string | undefined {
  if (uri === undefined || !isSipUri(uri) || uri.user === undefined || uri.user === '') return undefined;
  return unescape(uri.user);
}

/** RFC 3261 §22.3: a copy without the credentials of our realm (others' are forwarded untouched). */
export function stripOurs(request: SipRequest, realm: string, maxLength: number): SipRequest {
  let removed = false;
  const kept: Array<[string, string]> = [];
  for (const f of request.headers) {
    if (f.key === 'authorization' || f.key === 'proxy-authorization') {
      const p = parseCredentials(f.value, maxLength);
      if (p.ok && p.scheme.toLowerCase() === 'digest' && p.params.get('realm') === realm) {
        removed = true;
        continue;
      }
    }
    kept.push([f.name, f.value]);
  }
  return removed ? { ...request, headers: new SipHeaders(kept) } : request;
}
