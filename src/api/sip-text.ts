/**
 * Small conversions between the SIP stack's messages and the library API's plain data (issue 17).
 */
import { SipHeaders, formatUri, isSipUri, parseNameAddr, parseUri } from '../sip/message/index.js';
import type { SipResponse, SipUri } from '../sip/message/sip-message.js';
import { P2psipApiError } from './api-error.js';
import type { SipHeader, SipResult } from './sip-types.js';

/** Longest AoR or URI the API takes from the application, characters. */
export const MAX_URI_CHARS = 512;

const utf8 = new TextDecoder('utf-8');

/**
 * The AoR `to` names: a sip:/sips: URI, `user@domain`, or `user` alone (in `domain`). Throws
 * `bad-argument` for anything else (no user part, not SIP, too long).
 */
export function aorOf(to: string, domain: string): string {
  const t = typeof to === 'string' ? to.trim() : '';
  if (t === '' || t.length > MAX_URI_CHARS) throw new P2psipApiError('bad-argument', `not an AoR: ${JSON.stringify(String(to)).slice(0, 80)}`);
  const text = /^sips?:/i.test(t) ? t : t.includes('@') ? `sip:${t}` : `sip:${t}@${domain}`;
  let uri;
  try {
    uri = parseUri(text);
  } catch (e) {
    throw new P2psipApiError('bad-argument', `not a SIP URI: ${JSON.stringify(t)} (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!isSipUri(uri) || uri.user === undefined || uri.user === '') throw new P2psipApiError('bad-argument', `an AoR needs a user part: ${JSON.stringify(t)}`);
  return formatUri({ scheme: uri.scheme, user: uri.user, password: undefined, host: uri.host.toLowerCase(), port: uri.port, params: [], headers: undefined });
}

/** The URI of a From/To/Contact value without display name and parameters, or the value itself when unreadable. */
export function uriOfNameAddr(value: string | undefined): string {
  if (value === undefined) return '';
  try {
    const na = parseNameAddr(value);
    if (isSipUri(na.uri)) return formatUri({ ...na.uri, params: [], headers: undefined, password: undefined });
    return formatUri(na.uri);
  } catch {
    return value;
  }
}

/** The SIP URI of a name-addr value (Contact, Route), or undefined. */
export function sipUriOf(value: string): SipUri | undefined {
  try {
    const u = parseNameAddr(value).uri;
    return isSipUri(u) ? u : undefined;
  } catch {
    return undefined;
  }
}

export function headerList(headers: SipHeaders): SipHeader[] {
  return [...headers].map((f) => [f.name, f.value] as const);
}

/** A body the application gave: strings are UTF-8. */
export function bodyBytes(body: string | Uint8Array | undefined): Uint8Array {
  if (body === undefined) return new Uint8Array(0);
  if (typeof body === 'string') return new TextEncoder().encode(body);
  if (body instanceof Uint8Array) return body;
  throw new P2psipApiError('bad-argument', 'a body is a string or a Uint8Array');
}

export function textOf(body: Uint8Array): string {
  return utf8.decode(body);
}

/** The application's view of a response. */
export function resultOf(r: SipResponse, extra: { dialog?: SipResult['dialog'] } = {}): SipResult {
  const headers = r.headers.clone();
  return {
    status: r.status,
    reason: r.reason,
    headers: headerList(headers),
    header: (name: string) => headers.get(name),
    body: r.body,
    text: textOf(r.body),
    local: false,
    ...(extra.dialog === undefined ? {} : { dialog: extra.dialog }),
  };
}

/** A result made here: 408 after a timeout, 503 when the SIP front cannot be reached or the peer stopped. */
export function localResult(status: number, reason: string): SipResult {
  return { status, reason, headers: [], header: () => undefined, body: new Uint8Array(0), text: '', local: true };
}
