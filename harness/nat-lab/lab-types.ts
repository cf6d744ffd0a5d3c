/** Plain data types of the NAT lab: what a spec asks for and what a site tells its hosts. */
import type { NatType } from './nat-type.js';

/**
 * Conditions of a WAN link (one site's, or the whole public segment's); each value applies to each
 * direction. Delay and jitter need the public segment to be the delay line (delay-switch.py, see
 * wan-link.ts); loss works on the kernel bridge too.
 */
export interface WanConditions {
  /** One-way delay in ms, added in each direction (the RTT grows by twice this). Default 0. */
  readonly delayMs?: number;
  /** Jitter in ms around the delay (needs delayMs > 0). Default 0. */
  readonly jitterMs?: number;
  /** Random loss in percent, in each direction. Default 0. */
  readonly lossPercent?: number;
}

export interface SiteSpec {
  /** Lab-unique name: lower-case letters, digits, '-' (up to 16 characters). */
  readonly name: string;
  readonly nat: NatType;
  /** Host names (lab-unique, same alphabet as site names) on the site's LAN; at least one. */
  readonly hosts: readonly string[];
  /**
   * Private LAN subnet, a /24 (e.g. '192.168.1.0/24'); two sites may use the same one, as real
   * homes do. Default 10.0.<site index + 1>.0/24. The router is .1, hosts .10, .11, ...
   */
  readonly lanSubnet?: string;
  /** WAN address on the public segment. Default <public subnet>.<11 + site index>. */
  readonly wanAddress?: string;
  /**
   * Delay / loss of the site's WAN link, each direction (on top of the segment's own `wan`). A delay
   * makes the lab use the delay line. Default none.
   */
  readonly wan?: WanConditions;
}

export interface PublicHostSpec {
  /** Lab-unique name (same alphabet as site names). */
  readonly name: string;
  /** How many public addresses it gets (consecutive, default 1), or the exact addresses. */
  readonly addresses?: number | readonly string[];
}

export interface NatLabSpec {
  readonly sites?: readonly SiteSpec[];
  /** Hosts on the public segment (a name alone means one address). */
  readonly publicHosts?: readonly (PublicHostSpec | string)[];
  /**
   * Add the public host `stun` with two addresses (<public>.2 and .3) for the lab's RFC 5780 STUN
   * server (coturn, started on first use by `stunServer()` / `probeNat()`). Default true.
   */
  readonly stunHost?: boolean;
  /** The public segment, a /24 documentation range. Default 203.0.113.0/24. */
  readonly publicSubnet?: '203.0.113.0/24' | '198.51.100.0/24' | '192.0.2.0/24';
  /** IPv6 on the lab's veths (link-local only; there is no IPv6 NAT here). Default false. */
  readonly ipv6?: boolean;
  /**
   * Conditions of the public segment itself: every frame that crosses it (public host ↔ public
   * host, public host ↔ site, site ↔ site) gets this one-way delay, jitter and loss once, so
   * `{ delayMs: 50 }` makes every path across the segment 100 ms RTT (a LAN stays fast). Needs the
   * delay line (chosen by default when this is set). Default none.
   */
  readonly wan?: WanConditions;
  /**
   * What serves the public segment: `bridge` (the kernel bridge br0; site loss with nftables, no
   * delay) or `delay-line` (harness/nat-lab/delay-switch.py, a userspace switch with a delay line:
   * delay, jitter and loss of the segment and of each site, changeable at run time). Default
   * `delay-line` when `wan` or a site's `wan` asks for anything but site loss, else `bridge`.
   */
  readonly segment?: PublicSegmentKind;
  /** Seed of the delay line's loss and jitter draws. Default 1. */
  readonly seed?: number;
}

export type PublicSegmentKind = 'bridge' | 'delay-line';

/** What a LAN host knows of its site (LabSite implements it). */
export interface SiteInfo {
  readonly name: string;
  readonly nat: NatType;
  /** The router's address on the public segment (what a peer outside sees). */
  readonly wanAddress: string;
  /** The LAN subnet (CIDR). */
  readonly lanSubnet: string;
  /** The router's LAN address (the LAN hosts' default gateway). */
  readonly gateway: string;
}
