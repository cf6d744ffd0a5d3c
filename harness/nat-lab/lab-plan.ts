/**
 * Turns a NatLabSpec into a concrete plan: namespace and interface names, addresses. Pure (no I/O),
 * so a bad spec fails before anything is created.
 */
import type { NatLabSpec, PublicHostSpec, PublicSegmentKind, WanConditions } from './lab-types.js';
import type { NatType } from './nat-type.js';
import { isNatType } from './nat-type.js';
import { hasWanConditions, normalizeWan } from './wan-link.js';
import { formatIpv4, hostAddress, parseIpv4, parseSubnet, subnetContains } from './ipv4.js';

export interface PlannedPublicHost {
  readonly name: string;
  readonly namespace: string;
  readonly addresses: readonly string[];
  /** Its bridge port in the public namespace. */
  readonly port: string;
}

export interface PlannedLanHost {
  readonly name: string;
  readonly namespace: string;
  readonly address: string;
  /** Its bridge port in the router namespace. */
  readonly port: string;
}

export interface PlannedSite {
  readonly name: string;
  readonly nat: NatType;
  readonly namespace: string;
  readonly wanAddress: string;
  readonly lanSubnet: string;
  readonly gateway: string;
  /** The WAN link's bridge port in the public namespace. */
  readonly publicPort: string;
  readonly wan: WanConditions;
  readonly hosts: readonly PlannedLanHost[];
}

export interface LabPlan {
  readonly prefix: string;
  readonly publicNamespace: string;
  readonly publicSubnet: string;
  readonly publicHosts: readonly PlannedPublicHost[];
  readonly sites: readonly PlannedSite[];
  readonly ipv6: boolean;
  /** What serves the public segment (see NatLabSpec.segment). */
  readonly segment: PublicSegmentKind;
  /** Conditions of the segment itself (delay line only). */
  readonly wan: WanConditions;
  /** Seed of the delay line's draws. */
  readonly seed: number;
}

/** Name of the public host the lab's RFC 5780 STUN server runs on. */
export const STUN_HOST_NAME = 'stun';
/** Name of the bridge in the public namespace. */
export const PUBLIC_BRIDGE = 'br0';

const NAME_RE = /^[a-z][a-z0-9-]{0,15}$/;
const MAX_SITES = 80;
const FIRST_WAN_HOST = 11;
const FIRST_PUBLIC_HOST = 100;

export function planLab(spec: NatLabSpec, prefix: string): LabPlan {
  const publicSubnet = parseSubnet(spec.publicSubnet ?? '203.0.113.0/24');
  if (publicSubnet.prefixLength !== 24) throw new RangeError('publicSubnet must be a /24');
  const used = new Set<string>();
  const claim = (addr: string, what: string): string => {
    parseIpv4(addr);
    if (!subnetContains(publicSubnet, addr)) throw new RangeError(`${what}: ${addr} is outside ${publicSubnet.cidr}`);
    const last = parseIpv4(addr) % 256;
    if (last === 0 || last === 255) throw new RangeError(`${what}: ${addr} is not a host address`);
    if (used.has(addr)) throw new RangeError(`${what}: address ${addr} is used twice`);
    used.add(addr);
    return addr;
  };
  const names = new Set<string>();
  const siteNames = new Set<string>();
  const checkName = (name: string, set: Set<string>, what: string): void => {
    if (!NAME_RE.test(name)) throw new RangeError(`${what} name '${name}' must match ${NAME_RE}`);
    if (set.has(name)) throw new RangeError(`${what} name '${name}' is used twice`);
    set.add(name);
  };

  const sitesSpec = spec.sites ?? [];
  if (sitesSpec.length > MAX_SITES) throw new RangeError(`at most ${MAX_SITES} sites`);
  // Explicit addresses first, so that defaults step around them.
  for (const s of sitesSpec) if (s.wanAddress !== undefined) claim(s.wanAddress, `site ${s.name}`);
  const publicSpecs: PublicHostSpec[] = (spec.publicHosts ?? []).map((h) => (typeof h === 'string' ? { name: h } : h));
  if (spec.stunHost ?? true) publicSpecs.unshift({ name: STUN_HOST_NAME, addresses: [hostAddress(publicSubnet, 2), hostAddress(publicSubnet, 3)] });
  for (const h of publicSpecs) {
    if (typeof h.addresses === 'object') for (const a of h.addresses) claim(a, `public host ${h.name}`);
  }
  let nextPublic = FIRST_PUBLIC_HOST;
  const nextFree = (what: string): string => {
    for (; nextPublic < 255; nextPublic++) {
      const a = formatIpv4(publicSubnet.network + nextPublic);
      if (!used.has(a)) return claim(a, what);
    }
    throw new RangeError(`${what}: the public subnet is full`);
  };

  const sites: PlannedSite[] = sitesSpec.map((s, i) => {
    checkName(s.name, siteNames, 'site');
    if (!isNatType(s.nat)) throw new RangeError(`site ${s.name}: unknown nat '${String(s.nat)}'`);
    if (s.hosts.length === 0) throw new RangeError(`site ${s.name}: needs at least one host`);
    const lan = parseSubnet(s.lanSubnet ?? `10.0.${i + 1}.0/24`);
    if (lan.prefixLength !== 24) throw new RangeError(`site ${s.name}: lanSubnet must be a /24`);
    if (subnetContains(publicSubnet, formatIpv4(lan.network))) throw new RangeError(`site ${s.name}: lanSubnet overlaps the public subnet`);
    const wanAddress = s.wanAddress ?? claim(formatIpv4(publicSubnet.network + FIRST_WAN_HOST + i), `site ${s.name}`);
    if (s.hosts.length > 200) throw new RangeError(`site ${s.name}: at most 200 hosts`);
    return {
      name: s.name,
      nat: s.nat,
      namespace: `${prefix}r-${s.name}`,
      wanAddress,
      lanSubnet: lan.cidr,
      gateway: hostAddress(lan, 1),
      publicPort: `s${i}`,
      wan: hasWanConditions(s.wan) ? { ...s.wan } : {},
      hosts: s.hosts.map((name, j) => {
        checkName(name, names, 'host');
        return { name, namespace: `${prefix}h-${name}`, address: hostAddress(lan, 10 + j), port: `h${j}` };
      }),
    };
  });

  const publicHosts: PlannedPublicHost[] = publicSpecs.map((h, i) => {
    checkName(h.name, names, 'host');
    const count = h.addresses === undefined ? 1 : typeof h.addresses === 'number' ? h.addresses : h.addresses.length;
    if (!Number.isInteger(count) || count < 1 || count > 16) throw new RangeError(`public host ${h.name}: 1 to 16 addresses`);
    const addresses = typeof h.addresses === 'object' ? [...h.addresses] : Array.from({ length: count }, () => nextFree(`public host ${h.name}`));
    return { name: h.name, namespace: `${prefix}h-${h.name}`, addresses, port: `p${i}` };
  });

  const wan = hasWanConditions(spec.wan) ? { ...spec.wan } : {};
  const needsDelayLine = Object.keys(wan).length > 0 || sites.some((s) => normalizeWan(s.wan).delayMs > 0);
  const segment = spec.segment ?? (needsDelayLine ? 'delay-line' : 'bridge');
  if (segment !== 'bridge' && segment !== 'delay-line') throw new RangeError(`segment must be 'bridge' or 'delay-line'`);
  if (segment === 'bridge' && needsDelayLine) throw new RangeError("segment 'bridge' cannot delay, nor apply the segment's own conditions: use 'delay-line'");
  const seed = spec.seed ?? 1;
  if (!Number.isSafeInteger(seed)) throw new RangeError('seed must be an integer');
  return { prefix, publicNamespace: `${prefix}pub`, publicSubnet: publicSubnet.cidr, publicHosts, sites, ipv6: spec.ipv6 ?? false, segment, wan, seed };
}

/** Every namespace of the plan (public segment first). */
export function planNamespaces(plan: LabPlan): string[] {
  return [
    plan.publicNamespace,
    ...plan.publicHosts.map((h) => h.namespace),
    ...plan.sites.flatMap((s) => [s.namespace, ...s.hosts.map((h) => h.namespace)]),
  ];
}
