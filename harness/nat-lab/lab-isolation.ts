/**
 * Checks that a lab is sealed: every veth's peer lives in a namespace of the lab, there are no other
 * kinds of links (macvlan, vxlan, ...) that could reach the host's network, no route leads outside
 * the lab's subnets, and the only default routes are the LAN hosts' ones via their own router.
 */
import { runCommand } from './lab-command.js';
import type { Ipv4Subnet } from './ipv4.js';
import { parseSubnet, subnetWithin } from './ipv4.js';

interface RouteJson {
  readonly type?: string;
  readonly dst?: string;
  readonly gateway?: string;
  readonly dev?: string;
  readonly table?: string;
}

interface LinkJson {
  readonly ifname?: string;
  readonly link_netnsid?: number;
  readonly linkinfo?: { readonly info_kind?: string };
}

interface NsidJson {
  readonly nsid?: number;
  readonly name?: string;
}

const ALLOWED_LINK_KINDS = new Set(['veth', 'bridge']);
const LOOPBACK = parseSubnet('127.0.0.0/8');

/**
 * Problems found (empty = sealed). `subnets` are the lab's CIDRs (public segment and LANs);
 * `defaultGateways` maps a namespace to the one default route it may have (a LAN host's router).
 */
export async function isolationProblems(
  namespaces: readonly string[],
  subnets: readonly string[],
  defaultGateways: ReadonlyMap<string, string> = new Map(),
): Promise<string[]> {
  const allowed = subnets.map(parseSubnet);
  const ours = new Set(namespaces);
  const problems: string[] = [];
  await Promise.all(
    namespaces.map(async (ns) => {
      const v4 = parseJson<RouteJson[]>(await runCommand('ip', ['-n', ns, '-j', '-4', 'route', 'show', 'table', 'all']));
      for (const r of v4) {
        const p = ipv4RouteProblem(r, allowed, defaultGateways.get(ns));
        if (p !== undefined) problems.push(`${ns}: ${p}`);
      }
      const v6 = parseJson<RouteJson[]>(await runCommand('ip', ['-n', ns, '-j', '-6', 'route', 'show', 'table', 'all']));
      for (const r of v6) {
        const p = ipv6RouteProblem(r);
        if (p !== undefined) problems.push(`${ns}: ${p}`);
      }
      const links = parseJson<LinkJson[]>(await runCommand('ip', ['-n', ns, '-j', '-d', 'link', 'show']));
      const ids = parseJson<NsidJson[]>(await runCommand('ip', ['-n', ns, '-j', 'netns', 'list-id']));
      const nameOf = new Map(ids.map((i) => [i.nsid, i.name]));
      for (const l of links) {
        const kind = l.linkinfo?.info_kind;
        if (l.ifname === 'lo' && kind === undefined) continue;
        if (kind === undefined || !ALLOWED_LINK_KINDS.has(kind)) {
          problems.push(`${ns}: link ${String(l.ifname)} of kind ${String(kind)}`);
          continue;
        }
        if (kind === 'veth' && l.link_netnsid !== undefined) {
          const peerNs = nameOf.get(l.link_netnsid);
          if (peerNs === undefined || !ours.has(peerNs)) {
            problems.push(`${ns}: veth ${String(l.ifname)} has its peer outside the lab (${peerNs ?? `nsid ${l.link_netnsid}`})`);
          }
        }
      }
    }),
  );
  return problems.sort();
}

function ipv4RouteProblem(r: RouteJson, allowed: readonly Ipv4Subnet[], defaultGateway: string | undefined): string | undefined {
  const dst = r.dst ?? '';
  const via = r.gateway === undefined ? '' : ` via ${r.gateway}`;
  const what = `IPv4 route ${r.type ?? 'unicast'} ${dst}${via} dev ${String(r.dev)}${r.table === undefined ? '' : ` table ${r.table}`}`;
  if (dst === 'default' || dst === '0.0.0.0/0') {
    if (defaultGateway !== undefined && r.gateway === defaultGateway && r.type === undefined && r.table === undefined) return undefined;
    return `${what} (a default route${defaultGateway === undefined ? '' : `; only one via ${defaultGateway} is expected`})`;
  }
  if (r.gateway !== undefined && !allowed.some((s) => safeWithin(s, r.gateway ?? ''))) return `${what} (gateway outside the lab)`;
  if (r.type === 'unreachable' || r.type === 'blackhole' || r.type === 'prohibit') return undefined;
  if (r.type === 'multicast') return undefined;
  if (subnetWithin(LOOPBACK, dst)) return undefined;
  if (allowed.some((s) => safeWithin(s, dst))) return undefined;
  return `${what} (outside the lab's subnets)`;
}

function ipv6RouteProblem(r: RouteJson): string | undefined {
  const dst = r.dst ?? '';
  if (r.type === 'unreachable' || r.type === 'blackhole' || r.type === 'prohibit' || r.type === 'multicast') return undefined;
  if (dst === '::1' || dst.startsWith('fe80:') || dst.startsWith('ff00:') || dst === 'ff00::/8') return undefined;
  return `IPv6 route ${r.type ?? 'unicast'} ${dst} dev ${String(r.dev)}${dst === 'default' ? ' (a default route)' : ''}`;
}

function safeWithin(outer: Ipv4Subnet, dst: string): boolean {
  try {
    return subnetWithin(outer, dst);
  } catch {
    return false;
  }
}

function parseJson<T>(text: string): T {
  const trimmed = text.trim();
  return (trimmed === '' ? [] : JSON.parse(trimmed)) as T;
}
