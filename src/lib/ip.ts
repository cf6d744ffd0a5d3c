/** IP literal helpers without node:net (lib/ is pure). */

const V4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIPv4(s: string): boolean {
  return V4.test(s);
}

/** True for an IPv6 literal without brackets (RFC 4291 text forms, optional embedded IPv4). */
export function isIPv6(s: string): boolean {
  if (s.length < 2 || s.length > 45 || !s.includes(':')) return false;
  let head = s;
  let groupsFromV4 = 0;
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    if (!isIPv4(tail)) return false;
    head = s.slice(0, lastColon + 1) + '0';
    groupsFromV4 = 1;
  }
  const dbl = head.indexOf('::');
  if (dbl !== head.lastIndexOf('::')) return false;
  const parts = head.split(':');
  const hex = /^[0-9a-fA-F]{1,4}$/;
  if (dbl >= 0) {
    const nonEmpty = parts.filter((p) => p !== '');
    if (!nonEmpty.every((p) => hex.test(p))) return false;
    return nonEmpty.length + groupsFromV4 <= 7;
  }
  return parts.length + groupsFromV4 === 8 && parts.every((p) => hex.test(p));
}

/** Strips IPv6 reference brackets: '[::1]' → '::1'. */
export function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** Adds brackets to a bare IPv6 literal for use in a URI or Via. */
export function hostForUri(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

export function isIpLiteral(host: string): boolean {
  const h = stripBrackets(host);
  return isIPv4(h) || isIPv6(h);
}
