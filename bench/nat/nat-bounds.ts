/**
 * The physical bounds of the NAT benchmark: how many round trips across the lab's public segment a
 * join, a Fetch and a call need at least, counted from the protocol steps the code takes in series
 * (src/node/overlay-service.ts, src/reload/overlay/chord/chord-join.ts, usages/sip/sip-peer-locator.ts,
 * reload/link/ice-links.ts), with no processing time and no timer. One RTT is 2 × the segment's
 * one-way delay; a path inside one LAN costs 0; a path that only a TURN relay (at the public
 * bootstrap peer) can carry crosses the segment twice each way: 2 RTT. Pure, no I/O.
 */

/** What a host sits behind: 'none' on the public segment. */
export type HostNat = 'none' | 'full-cone' | 'address-restricted' | 'port-restricted' | 'symmetric';

export interface BoundHost {
  readonly name: string;
  readonly nat: HostNat;
  /** The site (LAN) it is on; undefined on the public segment. */
  readonly site: string | undefined;
}

/**
 * Round trips (in RTTs of the segment) of the shortest path the two NATs allow: 0 on one host or
 * one LAN, 2 when only a relay connects them (symmetric facing port-restricted or symmetric:
 * RFC 4787 — the symmetric side's port is new per destination, and the other side filters by
 * port), else 1 (direct, after hole punching where needed).
 */
export function pathRtts(a: BoundHost, b: BoundHost): number {
  if (a.name === b.name) return 0;
  if (a.site !== undefined && a.site === b.site) return 0;
  const needsRelay = (x: HostNat, y: HostNat): boolean => x === 'symmetric' && (y === 'symmetric' || y === 'port-restricted');
  return needsRelay(a.nat, b.nat) || needsRelay(b.nat, a.nat) ? 2 : 1;
}

/** A bound, its parts, and how they were counted. */
export interface Bound {
  /** Round trips in all. */
  readonly rtts: number;
  /** The parts, e.g. "Fetch 1 + AppAttach 1 + ICE 1.5 + DTLS 2.5 + INVITE→180 1". */
  readonly counted: string;
}

/**
 * Fetch: the request goes to the responsible peer and the answer comes back: one round trip on the
 * path between the two (a perfect router goes straight there; more overlay hops are the protocol's
 * cost, not physics). 0 when the requester or a peer on its LAN is responsible.
 */
export function fetchBound(from: BoundHost, responsible: BoundHost): Bound {
  const p = pathRtts(from, responsible);
  return { rtts: p, counted: `Fetch ${p}` };
}

/**
 * A call on an open SIP channel: the Fetch of the callee's AoR (the registration cache is off by
 * default, so every call fetches), then INVITE out and 180 back over the channel.
 */
export function laterCallBound(caller: BoundHost, callee: BoundHost, aorHolder: BoundHost): Bound {
  const f = pathRtts(caller, aorHolder);
  const p = pathRtts(caller, callee);
  return { rtts: f + p, counted: `Fetch ${f} + INVITE→180 ${p}` };
}

/**
 * The first call between two peers: Fetch; AppAttach to the callee's peer (1 path RTT: a direct
 * overlay link); ICE as the caller's peer (controlling) sees it — the first check answered 1 path
 * RTT after it starts (the callee's agent started checking when it answered, so its NAT is open),
 * the nominating check reaches the callee 0.5 later (regular nomination), which only then starts
 * DTLS as the client; DTLS 1.2 with werift's cookie exchange: ClientHello, HelloVerifyRequest,
 * ClientHello, server flight, client flight — 2.5 path RTT until the caller's peer (the server)
 * holds the client's Finished; then INVITE out and 180 back: 1. In all Fetch + 6 path RTT.
 * Not counted: the 250 ms the controlling agent waits after its first valid pair
 * (NOMINATION_DELAY_MS), TURN permissions, pacing of checks (Ta 50 ms).
 */
export function firstCallBound(caller: BoundHost, callee: BoundHost, aorHolder: BoundHost): Bound {
  const f = pathRtts(caller, aorHolder);
  const p = pathRtts(caller, callee);
  return {
    rtts: f + 6 * p,
    counted: `Fetch ${f} + AppAttach ${p} + ICE ${1.5 * p} + DTLS ${2.5 * p} + INVITE→180 ${p}`,
  };
}

/**
 * Joining (RFC 6940 §10.5 as overlay-service.ts and chord-join.ts do it), `joining` → `joined`:
 * the bootstrap link (TCP 1 + TLS 1.3 1); a NATed peer then gets TURN relays at the bootstrap peer
 * for its overlay port and its SIP port (each: AppAttach for credentials 1 + Allocate answered 401
 * 1 + Allocate 1); the Attach to the admitting peer routed through the bootstrap peer (2: two hops);
 * ICE + DTLS of that link (4, as in a first call); the admitting peer's Update (1: it sends it once
 * its end of the link is open, half an RTT after ours); the Attaches to the neighbours it names, in
 * parallel, source-routed through it (2 + ICE/DTLS 4); the Join (1). Process start → `joining` adds
 * the STUN Binding to the bootstrap peer from the overlay port, then from the SIP port (2). All
 * paths are counted at 1 RTT (every joining peer reaches the public bootstrap peer directly).
 * Not counted: the 250 ms nomination wait of each of the two ICE rounds in series.
 */
export function joinBound(joiner: BoundHost): { beforeJoining: Bound; joining: Bound } {
  const natted = joiner.nat !== 'none';
  const parts: Array<[string, number]> = [
    ['bootstrap TCP+TLS', 2],
    ...(natted ? ([['TURN relays (2 × AppAttach + 401 + Allocate)', 6]] as Array<[string, number]>) : []),
    ['Attach via bootstrap', 2],
    ['ICE+DTLS', 4],
    ['Update', 1],
    ['neighbour Attaches + ICE+DTLS', 6],
    ['Join', 1],
  ];
  return {
    beforeJoining: { rtts: 2, counted: 'STUN overlay port 1 + STUN SIP port 1' },
    joining: { rtts: parts.reduce((a, [, n]) => a + n, 0), counted: parts.map(([w, n]) => `${w} ${n}`).join(' + ') },
  };
}

/** The peer responsible for `id` among `ring` (Chord: the first Node-ID ≥ id, wrapping). */
export function responsibleFor(id: bigint, ring: ReadonlyArray<{ readonly nodeId: bigint; readonly name: string }>): string | undefined {
  if (ring.length === 0) return undefined;
  const sorted = [...ring].sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  return (sorted.find((x) => x.nodeId >= id) ?? sorted[0])?.name;
}
