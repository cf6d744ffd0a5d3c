/** Copies of parsed URIs and name-addrs that keep no received message alive (see detachString). */
import { detachString } from './detach-string.js';
import type { NameAddr, OtherUri, Param, SipUri, TelUri, Uri } from './sip-message.js';

function detachParams(params: readonly Param[]): Param[] {
  return params.map((p) => ({ name: detachString(p.name), value: p.value === undefined ? undefined : detachString(p.value) }));
}

function detachUri(uri: Uri): Uri {
  if (uri.scheme === 'sip' || uri.scheme === 'sips') {
    const u = uri as SipUri;
    return {
      scheme: u.scheme,
      user: u.user === undefined ? undefined : detachString(u.user),
      password: u.password === undefined ? undefined : detachString(u.password),
      host: detachString(u.host),
      port: u.port,
      params: detachParams(u.params),
      headers: u.headers === undefined ? undefined : detachString(u.headers),
    };
  }
  if (uri.scheme === 'tel') {
    const t = uri as TelUri;
    return { scheme: 'tel', number: detachString(t.number), params: detachParams(t.params) };
  }
  const o = uri as OtherUri;
  return { scheme: detachString(o.scheme), raw: detachString(o.raw) };
}

/** A deep copy of `na` whose strings keep no message alive. */
export function detachNameAddr(na: NameAddr): NameAddr {
  return {
    displayName: na.displayName === undefined ? undefined : detachString(na.displayName),
    uri: detachUri(na.uri),
    params: detachParams(na.params),
  };
}
