/**
 * The overlay links as the dashboard draws them: which node is on each, the link type (RFC 6940
 * §6.6: TLS-TCP-FH-NO-ICE, or DTLS-UDP-SR negotiated by ICE — relayed when its selected pair uses a
 * TURN relay candidate) and its round-trip time (the link layer's RFC 6298 SRTT, or the ICE check's).
 */
import type { Connection } from '../../reload/overlay/connection-table.js';

/** Links shown at most (the Connection Table holds up to 512; the page draws the nearest). */
export const MAX_LINKS_SHOWN = 64;

export type LinkType = 'tls' | 'dtls' | 'relayed' | 'unknown';

export interface LinkView {
  linkId: string;
  /** Node-ID on the link, hex; null before the peer identified itself. */
  nodeId: string | null;
  type: LinkType;
  /** Smoothed RTT (ms, rounded to 0.1), null before the first sample. */
  rttMs: number | null;
  /** `host:port` of the other end. */
  remote: string;
  outbound: boolean;
  /** Routing may use it (peer_ready seen) and it is not late with its ACKs. */
  routable: boolean;
  suspect: boolean;
  /** Seconds since it came up. */
  upSec: number;
}

/** One ICE link as IceLinks.describe() shows it (the part read here). */
export interface IceLinkSummary {
  id: string;
  /** Candidate types of the selected pair, ours→theirs ('host→relay'…). */
  pair?: string;
  checkRttMs?: number;
  sr?: { srttMs: number | undefined };
}

/** Where the links are read from (the running overlay; a fake in tests). */
export interface LinkSources {
  connections(): Iterable<Connection>;
  /** The TLS link layer's statistics of a link (undefined: not one of its links). */
  tlsStats(linkId: string): { srttMs: number | undefined } | undefined;
  /** The ICE links (DTLS-UDP-SR), when enabled. */
  iceLinks(): readonly IceLinkSummary[];
  hex(id: bigint): string;
  now(): number;
}

const round = (ms: number | undefined): number | null => (ms === undefined || !Number.isFinite(ms) ? null : Math.round(ms * 10) / 10);
const hostPort = (h: string, p: number): string => `${h.includes(':') ? `[${h}]` : h}:${p}`;

/** The type and RTT of one link. */
export function classifyLink(linkId: string, src: LinkSources, ice: ReadonlyMap<string, IceLinkSummary>): { type: LinkType; rttMs: number | null } {
  const tls = src.tlsStats(linkId);
  if (tls !== undefined) return { type: 'tls', rttMs: round(tls.srttMs) };
  const i = ice.get(linkId);
  if (i !== undefined) return { type: i.pair?.includes('relay') === true ? 'relayed' : 'dtls', rttMs: round(i.sr?.srttMs ?? i.checkRttMs) };
  return { type: 'unknown', rttMs: null };
}

/** Every link (at most {@link MAX_LINKS_SHOWN}: routable ones first, then by Node-ID). */
export function linkViews(src: LinkSources): LinkView[] {
  const ice = new Map(src.iceLinks().map((l) => [l.id, l]));
  const now = src.now();
  const all = [...src.connections()];
  const usable = (c: Connection): number => (c.routable && !c.suspect ? 1 : 0);
  const byId = (a: Connection, b: Connection): number => {
    const x = a.nodeId ?? -1n;
    const y = b.nodeId ?? -1n;
    return x < y ? -1 : x > y ? 1 : 0;
  };
  all.sort((a, b) => usable(b) - usable(a) || byId(a, b));
  return all.slice(0, MAX_LINKS_SHOWN).map((c) => ({
    linkId: c.linkId,
    nodeId: c.nodeId === undefined ? null : src.hex(c.nodeId),
    ...classifyLink(c.linkId, src, ice),
    remote: hostPort(c.remote.host, c.remote.port),
    outbound: c.outbound,
    routable: c.routable && !c.suspect,
    suspect: c.suspect,
    upSec: Math.max(0, Math.round((now - c.upAt) / 1000)),
  }));
}
