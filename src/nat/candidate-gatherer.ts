/**
 * Our ICE candidates on the peer's one UDP port (RFC 8445 §5.1.1; RFC 6940 §6.5.1.4–§6.5.1.5),
 * kept up to date and shared by every Attach and AppAttach:
 * - host: the port's address (or, bound to a wildcard, each interface address given by the platform);
 * - server-reflexive: what other peers (every peer is a STUN server) or configured STUN servers see —
 *   grouped by the address seen (§6.5.1.4: one server per group is enough);
 * - relayed: TURN allocations (their relayed address; the base is the allocation's id).
 * Bounded: at most `maxReflexive` reflexive and `maxRelays` relayed candidates; the newest replace the oldest.
 */
import { sameIp } from '../lib/ip.js';
import type { UdpAddress } from './datagram-socket.js';
import type { LocalCandidateInput } from './ice/ice-candidate.js';
import { HOST_BASE } from './nat-port.js';

export interface ReflexiveObservation {
  readonly mapped: UdpAddress;
  /** The STUN server (a peer) that saw it. */
  readonly server: UdpAddress;
  readonly at: number;
}

export interface RelayCandidate {
  /** The allocation's base id (NatPort relays it). */
  readonly base: string;
  readonly relayed: UdpAddress;
  /** Our address as the TURN server saw it (related address). */
  readonly mapped: UdpAddress;
  readonly server: UdpAddress;
}

export interface GathererOptions {
  maxReflexive?: number;
  maxRelays?: number;
}

export class CandidateGatherer {
  private readonly reflexive: ReflexiveObservation[] = [];
  private readonly relays: RelayCandidate[] = [];
  private readonly maxReflexive: number;
  private readonly maxRelays: number;

  /** `hosts`: our addresses with the port's port (one per interface when bound to a wildcard). */
  constructor(
    private readonly hosts: readonly UdpAddress[],
    opts: GathererOptions = {},
  ) {
    this.maxReflexive = opts.maxReflexive ?? 4;
    this.maxRelays = opts.maxRelays ?? 2;
  }

  /** A Binding answer from `server` said we are `mapped`; true when it is a new reflexive address. */
  learnReflexive(mapped: UdpAddress, server: UdpAddress, at: number): boolean {
    if (this.isHost(mapped)) return false;
    const known = this.reflexive.find((r) => sameIp(r.mapped.host, mapped.host) && r.mapped.port === mapped.port);
    if (known !== undefined) return false;
    this.reflexive.push({ mapped, server, at });
    while (this.reflexive.length > this.maxReflexive) this.reflexive.shift();
    return true;
  }

  addRelay(r: RelayCandidate): void {
    const i = this.relays.findIndex((x) => x.base === r.base);
    if (i >= 0) this.relays.splice(i, 1);
    this.relays.push(r);
    while (this.relays.length > this.maxRelays) this.relays.shift();
  }

  removeRelay(base: string): void {
    const i = this.relays.findIndex((x) => x.base === base);
    if (i >= 0) this.relays.splice(i, 1);
  }

  /** True when `a` is one of our host addresses (no NAT between us and whoever saw it). */
  isHost(a: UdpAddress): boolean {
    return this.hosts.some((h) => sameIp(h.host, a.host) && h.port === a.port);
  }

  hostAddresses(): readonly UdpAddress[] {
    return this.hosts;
  }

  reflexiveAddresses(): readonly ReflexiveObservation[] {
    return this.reflexive;
  }

  relayCandidates(): readonly RelayCandidate[] {
    return this.relays;
  }

  /** The candidates of a new ICE session, best first (RFC 8445 §5.1.2: local preference by interface order). */
  candidates(): LocalCandidateInput[] {
    const out: LocalCandidateInput[] = [];
    const hostFor = (family: boolean): UdpAddress | undefined => this.hosts.find((h) => h.host.includes(':') === family);
    this.hosts.forEach((h, i) => out.push({ type: 'host', address: h, base: HOST_BASE, localPreference: 65_535 - i }));
    for (const r of this.reflexive) {
      const base = hostFor(r.mapped.host.includes(':'));
      if (base === undefined) continue;
      out.push({ type: 'srflx', address: r.mapped, base: HOST_BASE, baseAddress: base, related: base, server: r.server.host });
    }
    for (const r of this.relays) out.push({ type: 'relay', address: r.relayed, base: r.base, related: r.mapped, server: r.server.host });
    return out;
  }
}
