/**
 * IP literal helpers (no node:net: lib/ is pure and protocol code is sans-I/O).
 * Hosts may be written with IPv6 brackets (`[2001:db8::1]`, as in Via sent-by) or without
 * (as in {@link TransportAddress}).
 */

/** Strips the brackets of an IPv6 reference. */
export function unbracket(host: string): string {
  return host.length >= 2 && host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** 4 or 6 for an IPv4 / IPv6 literal (brackets allowed), undefined for anything else (a name). */
export function ipFamily(host: string): 4 | 6 | undefined {
  const h = unbracket(host);
  if (parseIpv4(h) !== undefined) return 4;
  if (parseIpv6(h) !== undefined) return 6;
  return undefined;
}

/**
 * Canonical text of an IP literal (IPv4 dotted quad; IPv6 as RFC 5952: lowercase, longest
 * zero run compressed), or undefined when `host` is not an IP literal.
 */
export function canonicalIp(host: string): string | undefined {
  const h = unbracket(host);
  const v4 = parseIpv4(h);
  if (v4 !== undefined) return v4.join('.');
  const v6 = parseIpv6(h);
  return v6 === undefined ? undefined : formatIpv6(v6);
}

/**
 * The network a source address belongs to when sources are counted: an IPv4 address itself, an IPv6
 * address's /64 (one host or one LAN gets a /64: counting /128s would let it use 2^64 sources), or
 * undefined for a name. IPv4-mapped IPv6 counts as the IPv4 address.
 */
export function sourceNetwork(host: string): string | undefined {
  const h = unbracket(host);
  const v4 = parseIpv4(h);
  if (v4 !== undefined) return v4.join('.');
  const v6 = parseIpv6(h);
  if (v6 === undefined) return undefined;
  if (v6.slice(0, 5).every((x) => x === 0) && v6[5] === 0xffff) return [v6[6]! >> 8, v6[6]! & 255, v6[7]! >> 8, v6[7]! & 255].join('.');
  return `${formatIpv6([...v6.slice(0, 4), 0, 0, 0, 0])}/64`;
}

/** True when both are IP literals naming the same address. */
export function sameIp(a: string, b: string): boolean {
  const ca = canonicalIp(a);
  return ca !== undefined && ca === canonicalIp(b);
}

/** Four octets of a dotted quad (1–3 digits each, ≤ 255), or undefined. One pass, no allocation but the result. */
function parseIpv4(s: string): number[] | undefined {
  if (s.length < 7 || s.length > 15) return undefined;
  const out: number[] = [];
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0 || value > 255 || out.length === 4) return undefined;
      out.push(value);
      value = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39 && digits < 3) {
      value = value * 10 + (c - 0x30);
      digits++;
    } else return undefined;
  }
  return out.length === 4 ? out : undefined;
}

/** Eight 16-bit groups, or undefined. Zone ids (`%eth0`) are not accepted. */
function parseIpv6(s: string): number[] | undefined {
  if (s.length < 2 || s.length > 45 || !/^[0-9a-fA-F:.]+$/.test(s)) return undefined;
  const dbl = s.indexOf('::');
  if (dbl >= 0 && s.indexOf('::', dbl + 1) >= 0) return undefined;
  const parseSide = (side: string): number[] | undefined => {
    if (side === '') return [];
    const groups = side.split(':');
    const out: number[] = [];
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (i === groups.length - 1 && g.includes('.')) {
        const v4 = parseIpv4(g);
        if (v4 === undefined) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
        out.push(parseInt(g, 16));
      }
    }
    return out;
  };
  if (dbl < 0) {
    const all = parseSide(s);
    return all !== undefined && all.length === 8 ? all : undefined;
  }
  const head = parseSide(s.slice(0, dbl));
  const tail = parseSide(s.slice(dbl + 2));
  if (head === undefined || tail === undefined || head.length + tail.length > 7) return undefined;
  if (tail.length > 0 && s.slice(0, dbl).includes('.')) return undefined;
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

function formatIpv6(g: number[]): string {
  // Longest run of at least two zero groups (first one on ties), RFC 5952 §4.2.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Strips IPv6 reference brackets: '[::1]' → '::1'. */
export const stripBrackets = unbracket;

/** Adds brackets to a bare IPv6 literal for use in a URI or Via. */
export function hostForUri(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** True for an IPv4 or IPv6 literal (brackets allowed). */
export function isIpLiteral(host: string): boolean {
  return ipFamily(host) !== undefined;
}

/** The 4 (IPv4) or 16 (IPv6) network-order bytes of an IP literal (brackets allowed), or undefined. */
export function ipToBytes(host: string): Uint8Array | undefined {
  const h = unbracket(host);
  const v4 = parseIpv4(h);
  if (v4 !== undefined) return Uint8Array.from(v4);
  const v6 = parseIpv6(h);
  if (v6 === undefined) return undefined;
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[i * 2] = v6[i]! >> 8;
    out[i * 2 + 1] = v6[i]! & 0xff;
  }
  return out;
}

/** The canonical literal of 4 or 16 address bytes, or undefined for another length. */
export function bytesToIp(bytes: Uint8Array): string | undefined {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  if (bytes.length !== 16) return undefined;
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((bytes[i * 2]! << 8) | bytes[i * 2 + 1]!);
  return formatIpv6(g);
}
