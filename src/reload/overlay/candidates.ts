import { OverlayLinkType } from '../codec/index.js';
import type { IceCandidate, IpAddressPort } from '../codec/index.js';
import type { LinkEndpoint } from '../link/link-driver.js';

const TCPTYPE = new TextEncoder().encode('tcptype');
const PASSIVE = new TextEncoder().encode('passive');

/** An IP literal endpoint as an RFC 6940 §6.5.1.1 IpAddressPort; undefined for a non-literal host. */
export function toIpAddressPort(ep: LinkEndpoint): IpAddressPort | undefined {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ep.host);
  if (v4 !== null) {
    const parts = v4.slice(1).map(Number);
    if (parts.some((p) => p > 255)) return undefined;
    return { type: 'ipv4', addr: Uint8Array.from(parts), port: ep.port };
  }
  const v6 = parseIpv6(ep.host);
  return v6 === undefined ? undefined : { type: 'ipv6', addr: v6, port: ep.port };
}

/** The endpoint of an IpAddressPort; undefined for an unknown address type. */
export function fromIpAddressPort(a: IpAddressPort): LinkEndpoint | undefined {
  if (a.type === 'ipv4') return { host: Array.from(a.addr).join('.'), port: a.port };
  if (a.type === 'ipv6') {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push((((a.addr[i] ?? 0) << 8) | (a.addr[i + 1] ?? 0)).toString(16));
    return { host: compressIpv6(groups), port: a.port };
  }
  return undefined;
}

/**
 * Our candidate for TLS-TCP-FH-NO-ICE (RFC 6940 §6.6.5: "a passive candidate MUST be provided"):
 * one host candidate at the advertised listen address, tcptype passive (RFC 6544 §4.5).
 */
export function passiveCandidate(ep: LinkEndpoint): IceCandidate[] {
  const addrPort = toIpAddressPort(ep);
  if (addrPort === undefined) return [];
  return [
    {
      addrPort,
      overlayLink: OverlayLinkType['TLS-TCP-FH-NO-ICE'],
      foundation: new TextEncoder().encode('1'),
      priority: 2130706431,
      type: 'host',
      extensions: [{ name: TCPTYPE, value: PASSIVE }],
    },
  ];
}

/** The first TLS-TCP-FH-NO-ICE candidate's endpoint (what a no-ICE peer connects to). */
export function connectableEndpoint(candidates: readonly IceCandidate[]): LinkEndpoint | undefined {
  for (const c of candidates) {
    if (c.overlayLink !== OverlayLinkType['TLS-TCP-FH-NO-ICE']) continue;
    const ep = fromIpAddressPort(c.addrPort);
    if (ep !== undefined && ep.port > 0) return ep;
  }
  return undefined;
}

function parseIpv6(host: string): Uint8Array | undefined {
  if (!host.includes(':')) return undefined;
  const halves = host.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] === '' ? [] : (halves[0] ?? '').split(':');
  const tail = halves.length === 2 ? (halves[1] === '' ? [] : (halves[1] ?? '').split(':')) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? head.length !== 8 : missing < 1) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const g = groups[i] ?? '';
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  }
  return out;
}

function compressIpv6(groups: string[]): string {
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}
