/**
 * Where a peer stands before its Join (issue 12): what its bootstrap peers (every peer is a STUN
 * server on its overlay port, RFC 6940 §6.5.1.4) and the operator's STUN servers (`--stun-server`,
 * RFC 8489 Binding) see of its overlay UDP port. Their answers become server-reflexive candidates and
 * decide the role: `public` (seen at our own address), `nat` (seen elsewhere), `no-udp` (no answer).
 */
import type { CandidateGatherer } from '../nat/candidate-gatherer.js';
import type { UdpAddress } from '../nat/datagram-socket.js';

/** Servers of each kind (bootstrap peers, configured STUN servers) asked at most, in parallel. */
export const MAX_REFLEXIVE_SERVERS = 4;
/** Binding retransmission timeout and transmissions per server (≈1.6 s in all, RFC 8489 §6.2.1 Rc/Rm scaled down). */
export const REFLEXIVE_RTO_MS = 200;
export const REFLEXIVE_TRANSMISSIONS = 3;

/** Where this peer stands (issue 12), from the STUN answers of its bootstrap peers and STUN servers. */
export interface NatRole {
  role: 'public' | 'nat' | 'no-udp' | 'unknown';
  reason: string;
  /** The configured STUN servers (`--stun-server`) and what each saw (null: no answer); absent without. */
  stunServers?: Array<{ server: string; mapped: string | null }>;
}

/** What one server saw. */
export interface ReflexiveAnswer {
  server: UdpAddress;
  mapped: UdpAddress;
}

/** The Binding client (NatPort.reflexiveAddress). */
export interface ReflexiveProbe {
  reflexiveAddress(server: UdpAddress, rtoMs: number, transmissions: number): Promise<{ mapped: UdpAddress } | undefined>;
}

/**
 * Asks each server (at most MAX_REFLEXIVE_SERVERS) for our reflexive address, all in parallel, so an
 * unreachable one costs no more than the Binding's own timeout; each answer is learnt by `gatherer`.
 */
export async function learnReflexive(nat: ReflexiveProbe, gatherer: CandidateGatherer, servers: readonly UdpAddress[], now: () => number): Promise<ReflexiveAnswer[]> {
  const seen: ReflexiveAnswer[] = [];
  await Promise.all(
    servers.slice(0, MAX_REFLEXIVE_SERVERS).map(async (s) => {
      const r = await nat.reflexiveAddress({ host: s.host, port: s.port }, REFLEXIVE_RTO_MS, REFLEXIVE_TRANSMISSIONS);
      if (r === undefined) return;
      seen.push({ server: s, mapped: r.mapped });
      gatherer.learnReflexive(r.mapped, { host: s.host, port: s.port }, now());
    }),
  );
  return seen;
}

/** Bootstrap peers and configured STUN servers asked at once; what each kind saw. */
export async function learnReflexiveFromAll(
  nat: ReflexiveProbe,
  gatherer: CandidateGatherer,
  bootstrap: readonly UdpAddress[],
  stunServers: readonly UdpAddress[],
  now: () => number,
): Promise<{ peers: ReflexiveAnswer[]; stun: ReflexiveAnswer[] }> {
  const [peers, stun] = await Promise.all([learnReflexive(nat, gatherer, bootstrap, now), learnReflexive(nat, gatherer, stunServers, now)]);
  return { peers, stun };
}

const hp = (a: UdpAddress): string => (a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`);

/**
 * The role from what was seen: `bootstrap` and `stunServers` are the servers asked (only the first
 * MAX_REFLEXIVE_SERVERS of each count), `seen` their answers, `isHost` tells our own addresses.
 */
export function natRoleOf(o: {
  bootstrap: readonly UdpAddress[];
  stunServers: readonly UdpAddress[];
  seen: { peers: readonly ReflexiveAnswer[]; stun: readonly ReflexiveAnswer[] };
  isHost(a: UdpAddress): boolean;
}): NatRole {
  const askedPeers = Math.min(o.bootstrap.length, MAX_REFLEXIVE_SERVERS);
  const askedStun = Math.min(o.stunServers.length, MAX_REFLEXIVE_SERVERS);
  const stunServers =
    o.stunServers.length === 0
      ? {}
      : {
          stunServers: o.stunServers.slice(0, MAX_REFLEXIVE_SERVERS).map((s) => {
            const a = o.seen.stun.find((x) => x.server.host === s.host && x.server.port === s.port);
            return { server: hp(s), mapped: a === undefined ? null : hp(a.mapped) };
          }),
        };
  const counted = (peers: number, stun: number): string => [peers > 0 || stun === 0 ? `${peers} bootstrap peer(s)` : '', stun > 0 ? `${stun} STUN server(s)` : ''].filter((x) => x !== '').join(' and ');
  if (askedPeers + askedStun === 0) return { role: 'unknown', reason: 'no bootstrap peer or STUN server to ask (the first peer)' };
  const seen = [...o.seen.peers, ...o.seen.stun];
  if (seen.length === 0) return { role: 'no-udp', reason: `no STUN answer from ${counted(askedPeers, askedStun)} on UDP`, ...stunServers };
  const natted = seen.filter((x) => !o.isHost(x.mapped));
  if (natted.length === 0) return { role: 'public', reason: `seen at our own address by ${counted(o.seen.peers.length, o.seen.stun.length)}`, ...stunServers };
  const distinct = new Set(natted.map((x) => hp(x.mapped)));
  return { role: 'nat', reason: `seen as ${[...distinct].join(', ')} by ${counted(o.seen.peers.length, o.seen.stun.length)} (behind a NAT${distinct.size > 1 ? ', mapping differs per destination' : ''})`, ...stunServers };
}
