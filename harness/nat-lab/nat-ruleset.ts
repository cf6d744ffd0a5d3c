/**
 * The nftables ruleset of one lab router (applied with `nft -f` inside the router's namespace).
 *
 * - Every type source-NATs the LAN to the WAN address. Linux snat reuses an existing mapping of the
 *   same internal address:port (and keeps the port when free), i.e. endpoint-independent mapping
 *   (RFC 4787 §4.1) while a conntrack entry of that internal endpoint lives; `symmetric` uses
 *   `masquerade random` instead: a port per destination (endpoint-dependent mapping).
 * - full-cone and address-restricted learn every UDP mapping in a dynamic map (external port →
 *   internal address . port) after the snat (`ct reply proto-dst` is the translated port) and
 *   dnat unsolicited inbound UDP through it, so the mapping outlives the conntrack entry and new
 *   remote endpoints get in (the notes' "fullcone" map). A `type nat hook prerouting` chain must
 *   exist, even empty, or replies are not un-NATed.
 * - Filtering (RFC 4787 §5): full-cone none; address-restricted admits inbound UDP from an
 *   address the internal endpoint has sent to (dynamic set); port-restricted and udp-blocked admit
 *   only conntrack-established flows; udp-blocked drops all forwarded UDP both ways.
 * - Unsolicited UDP to the router's own WAN address (no mapping dnat-ed it) is dropped at input, as a
 *   home router does: accepted there, its conntrack entry (router:port ← remote) would be confirmed, and a
 *   LAN host's later packet to that remote from the same port would clash with it at the snat and get a
 *   new port — the endpoint-independent mapping turning endpoint-dependent whenever the far side's ICE
 *   check arrived first (it made port-restricted ↔ port-restricted pairs fall back to a TURN relay).
 * Only traffic through the WAN interface is matched, so LAN-to-LAN traffic (bridged, and seen by
 * netfilter when br_netfilter is loaded) is never filtered.
 */
import type { NatType } from './nat-type.js';

export interface RouterRulesetOptions {
  readonly nat: NatType;
  /** Name of the WAN interface inside the router namespace. */
  readonly wanInterface: string;
  readonly wanAddress: string;
  /** The LAN subnet (CIDR). */
  readonly lanSubnet: string;
  /** Lifetime of learnt mappings without traffic. Default 300 s. */
  readonly mappingTimeoutS?: number;
}

/** Name of the nftables table every lab router uses. */
export const NAT_LAB_TABLE = 'natlab';

/** The ruleset text; `flush ruleset` first, so re-applying it also forgets every learnt mapping. */
export function routerRuleset(opts: RouterRulesetOptions): string {
  const wan = JSON.stringify(opts.wanInterface);
  const lan = opts.lanSubnet;
  const timeout = `${opts.mappingTimeoutS ?? 300}s`;
  const learnsMappings = opts.nat === 'full-cone' || opts.nat === 'address-restricted';
  const out: string[] = ['flush ruleset', `table ip ${NAT_LAB_TABLE} {`];
  if (learnsMappings) {
    out.push(`  map fullcone { type inet_service : ipv4_addr . inet_service; flags dynamic,timeout; timeout ${timeout}; }`);
  }
  if (opts.nat === 'address-restricted') {
    out.push(`  set contacted { type ipv4_addr . inet_service . ipv4_addr; flags dynamic,timeout; timeout ${timeout}; }`);
  }
  out.push('  chain prerouting {', '    type nat hook prerouting priority dstnat; policy accept;');
  if (learnsMappings) out.push(`    iifname ${wan} dnat ip to udp dport map @fullcone`);
  out.push('  }');
  out.push('  chain postrouting {', '    type nat hook postrouting priority srcnat; policy accept;');
  if (opts.nat === 'symmetric') out.push(`    oifname ${wan} ip saddr ${lan} masquerade random`);
  else out.push(`    oifname ${wan} ip saddr ${lan} snat ip to ${opts.wanAddress}`);
  out.push('  }');
  if (learnsMappings) {
    out.push(
      '  chain learn {',
      '    type filter hook postrouting priority srcnat + 10; policy accept;',
      `    oifname ${wan} meta l4proto udp ct original ip saddr ${lan} update @fullcone { ct reply proto-dst : ct original ip saddr . ct original proto-src }`,
      '  }',
    );
  }
  out.push('  chain input {', '    type filter hook input priority filter; policy accept;', `    iifname ${wan} meta l4proto udp ct state new drop`, '  }');
  out.push('  chain forward {', '    type filter hook forward priority filter; policy accept;');
  switch (opts.nat) {
    case 'full-cone':
      break;
    case 'address-restricted':
      out.push(
        `    oifname ${wan} meta l4proto udp update @contacted { ip saddr . udp sport . ip daddr }`,
        `    iifname ${wan} ct state established,related accept`,
        `    iifname ${wan} meta l4proto udp ip daddr . udp dport . ip saddr @contacted accept`,
        `    iifname ${wan} drop`,
      );
      break;
    case 'port-restricted':
    case 'symmetric':
      out.push(`    iifname ${wan} ct state established,related accept`, `    iifname ${wan} drop`);
      break;
    case 'udp-blocked':
      out.push(
        `    iifname ${wan} meta l4proto udp drop`,
        `    oifname ${wan} meta l4proto udp drop`,
        `    iifname ${wan} ct state established,related accept`,
        `    iifname ${wan} drop`,
      );
      break;
  }
  out.push('  }', '}', '');
  return out.join('\n');
}
