/**
 * Small conversions between the SIP stack's messages and the library API's plain data (issue 17).
 */
import { SipHeaders, formatUri, headerKey, isSipUri, parseNameAddr, parseUri } from '../sip/message/index.js';
import type { SipResponse, SipUri } from '../sip/message/sip-message.js';
import { P2psipApiError } from './api-error.js';
import type { OutgoingRequest, SipHeader, SipResult } from './sip-types.js';

/** Largest body the application may send in a request or a reply, bytes (UDP to the local SIP front). */
export const MAX_REQUEST_BODY_BYTES = 16_384;
/** Extra header fields one request or reply may carry. */
export const MAX_EXTRA_HEADERS = 32;
/** Headers the user agent writes itself (the application may not give them). */
const OWN_HEADERS = new Set(['via', 'from', 'to', 'call-id', 'cseq', 'max-forwards', 'contact', 'content-length', 'content-type', 'route', 'record-route']);

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
  if (uri.password !== undefined) throw new P2psipApiError('bad-argument', `not an AoR (a password, or a scheme other than sip:/sips:): ${JSON.stringify(t)}`);
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

/** The application's extra header fields, checked: names, values without CR/LF/NUL, not the API's own, at most MAX_EXTRA_HEADERS. */
export function checkedHeaders(headers: OutgoingRequest['headers']): Array<[string, string]> {
  const list = headers ?? [];
  if (!Array.isArray(list) || list.length > MAX_EXTRA_HEADERS) throw new P2psipApiError('bad-argument', `headers: a list of at most ${MAX_EXTRA_HEADERS} [name, value] pairs`);
  return list.map((h): [string, string] => {
    const [name, value] = Array.isArray(h) ? h : [];
    if (typeof name !== 'string' || !/^[A-Za-z0-9!%*_+`'~.-]{1,64}$/.test(name)) throw new P2psipApiError('bad-argument', `not a header name: ${JSON.stringify(String(name)).slice(0, 40)}`);
    if (OWN_HEADERS.has(headerKey(name))) throw new P2psipApiError('bad-argument', `${name} is written by the API`);
    if (typeof value !== 'string' || value.length > 1024 || /[\r\n\0]/.test(value)) throw new P2psipApiError('bad-argument', `header ${name}: a value of at most 1024 characters without CR, LF or NUL`);
    return [name, value];
  });
}
