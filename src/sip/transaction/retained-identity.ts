import { SipHeaders, transactionIdentity } from '../message/index.js';
import type { Param, SipMessage, SipResponse, Uri } from '../message/sip-message.js';

/**
 * What a transaction keeps of a message once it only absorbs retransmissions (Timer J/L/M: 32 s
 * over UDP): its transaction identity (see transactionIdentity), with every string copied out of
 * the received text. A header value, URI part or reason phrase is a slice of the message it was
 * parsed from, and a slice keeps the whole message text alive: issue 18 found each held call
 * keeping the full text of its INVITE and of its 200 (~1 KB) through them.
 */
export function retainedIdentity<T extends SipMessage>(message: T): T {
  const id = transactionIdentity(message);
  const headers = new SipHeaders();
  for (const f of id.headers) headers.append(f.name, ownCopy(f.value));
  if (id.kind === 'request') return { ...id, uri: uriCopy(id.uri), headers };
  return { ...id, reason: ownCopy(id.reason), headers };
}

/** V8's SlicedString::kMinLength: shorter substrings are copies already. */
const MIN_SLICE_CHARS = 13;

/**
 * `s` as a flat string of its own. Unlike `(' ' + s).slice(1)` (a slice of a fresh copy: two
 * objects), the JSON round trip gives one sequential string — the copy is made once per kept value,
 * its cost (~0.3 µs) paid against ~32 B less per value for the 32 s a transaction lingers.
 */
export function ownCopy(s: string): string {
  return s.length < MIN_SLICE_CHARS ? s : (JSON.parse(JSON.stringify(s)) as string);
}

/**
 * What an INVITE server transaction keeps of its 2xx in Accepted and of its final response in
 * Confirmed (RFC 6026 §7.1, RFC 3261 §17.2.1): neither is ever sent again by the transaction, so
 * only that it was sent (status) and its To header (an RFC 2543 ACK matches on its To tag, §17.2.3).
 */
export function sentFinalMark(response: SipResponse): SipResponse {
  const headers = new SipHeaders();
  const to = response.headers.get('to');
  if (to !== undefined) headers.append('To', ownCopy(to));
  return { kind: 'response', status: response.status, reason: ownCopy(response.reason), version: response.version, headers, body: NO_BODY };
}

const NO_BODY = new Uint8Array(0);

function paramsCopy(params: readonly Param[]): Param[] {
  return params.map((p) => ({ name: ownCopy(p.name), value: p.value === undefined ? undefined : ownCopy(p.value) }));
}

function uriCopy(uri: Uri): Uri {
  if (uri.scheme === 'sip' || uri.scheme === 'sips') {
    const u = uri as Extract<Uri, { scheme: 'sip' | 'sips' }>;
    return {
      scheme: u.scheme,
      user: u.user === undefined ? undefined : ownCopy(u.user),
      password: u.password === undefined ? undefined : ownCopy(u.password),
      host: ownCopy(u.host),
      port: u.port,
      params: paramsCopy(u.params),
      headers: u.headers === undefined ? undefined : ownCopy(u.headers),
    };
  }
  if (uri.scheme === 'tel' && 'number' in uri) return { scheme: 'tel', number: ownCopy(uri.number), params: paramsCopy(uri.params) };
  if ('raw' in uri) return { scheme: ownCopy(uri.scheme), raw: ownCopy(uri.raw) };
  return uri;
}
