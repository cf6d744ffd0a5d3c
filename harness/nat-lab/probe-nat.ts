/**
 * NAT behaviour discovery (RFC 5780 §4.3 mapping, §4.4 filtering) from a lab host with coturn's
 * `turnutils_natdiscovery -m -f` against the lab's STUN server, parsed into a NatBehaviour.
 * `verifyNatBehaviours(lab)` checks every site against what its NAT type must look like before a
 * test trusts a result.
 */
import type { LabHost } from './lab-host.js';
import type { NatLab } from './nat-lab.js';
import type { NatBehaviourClass, NatType } from './nat-type.js';
import { expectedNatBehaviour } from './nat-type.js';

export interface NatBehaviour {
  /** Some STUN answer came back over UDP (false: UDP is blocked, or nothing listens). */
  readonly udp: boolean;
  /** False when natdiscovery saw no NAT (mapped address = local address); undefined without UDP. */
  readonly natDetected: boolean | undefined;
  /** RFC 5780 §4.3 verdict; undefined when none was reached. */
  readonly mapping: NatBehaviourClass | undefined;
  /** RFC 5780 §4.4 verdict; undefined when none was reached. */
  readonly filtering: NatBehaviourClass | undefined;
  /** Server-reflexive addresses (ip:port) reported, in order. */
  readonly reflexiveAddresses: readonly string[];
  /** The whole natdiscovery output, for messages. */
  readonly output: string;
}

const VERDICT_RE = /NAT with (Endpoint Independent|Address Dependent|Address and Port Dependent) (Mapping|Filtering)!/;
const CLASS: Record<string, NatBehaviourClass> = {
  'Endpoint Independent': 'endpoint-independent',
  'Address Dependent': 'address-dependent',
  'Address and Port Dependent': 'address-and-port-dependent',
};

/**
 * Parses the output of `turnutils_natdiscovery -m -f` (coturn 4.6.1). natdiscovery binds 0.0.0.0,
 * so it says "NAT with Endpoint Independent Mapping!" even where there is no NAT; given the
 * prober's own addresses, a reflexive address among them means no NAT (natDetected false).
 */
export function parseNatDiscovery(output: string, localAddresses: readonly string[] = []): NatBehaviour {
  let mapping: NatBehaviourClass | undefined;
  let filtering: NatBehaviourClass | undefined;
  let natDetected: boolean | undefined;
  const reflexiveAddresses: string[] = [];
  for (const line of output.split('\n')) {
    const v = VERDICT_RE.exec(line);
    if (v !== null) {
      const cls = CLASS[v[1] ?? ''];
      if (v[2] === 'Mapping') {
        mapping = cls;
        natDetected = true;
      } else {
        filtering = cls;
      }
      continue;
    }
    if (/No NAT! \(Endpoint Independent Mapping\)/.test(line)) {
      mapping = 'endpoint-independent';
      natDetected = false;
      continue;
    }
    const r = /UDP reflexive addr: (\d+\.\d+\.\d+\.\d+:\d+)/.exec(line);
    if (r?.[1] !== undefined) reflexiveAddresses.push(r[1]);
  }
  const udp = reflexiveAddresses.length > 0 || mapping !== undefined || filtering !== undefined;
  if (localAddresses.length > 0 && reflexiveAddresses.length > 0) {
    natDetected = reflexiveAddresses.some((r) => !localAddresses.includes(r.slice(0, r.lastIndexOf(':'))));
  }
  return { udp, natDetected, mapping, filtering, reflexiveAddresses, output };
}

export interface ProbeNatOptions {
  /** Bound on the discovery (each unanswered STUN step costs ~3 s). Default 30 s. */
  readonly timeoutMs?: number;
}

/** Runs RFC 5780 mapping and filtering discovery from `host` (a lab host or its name). */
export async function probeNat(lab: NatLab, host: LabHost | string, opts: ProbeNatOptions = {}): Promise<NatBehaviour> {
  const h = typeof host === 'string' ? lab.host(host) : host;
  const stun = await lab.stunServer();
  const r = await h.tryRun('turnutils_natdiscovery', ['-m', '-f', '-p', String(stun.port), stun.primary], {
    timeoutMs: opts.timeoutMs ?? 30_000,
  });
  const behaviour = parseNatDiscovery(`${r.stdout}\n${r.stderr}`, h.addresses);
  if (r.code !== 0 && !behaviour.udp) {
    throw new Error(`turnutils_natdiscovery in ${h.name} failed (exit ${String(r.code)}):\n${r.stdout}\n${r.stderr}`);
  }
  return behaviour;
}

/** Why `behaviour` does not fit `nat`, or undefined when it does. */
export function natBehaviourMismatch(nat: NatType | 'none', behaviour: NatBehaviour): string | undefined {
  if (nat === 'none') {
    return behaviour.udp && behaviour.natDetected === false ? undefined : `expected no NAT, got ${describeNatBehaviour(behaviour)}`;
  }
  const want = expectedNatBehaviour(nat);
  if (!want.udp) return behaviour.udp ? `expected no UDP answer, got ${describeNatBehaviour(behaviour)}` : undefined;
  const ok =
    behaviour.udp &&
    behaviour.mapping !== undefined &&
    want.mapping.includes(behaviour.mapping) &&
    behaviour.filtering !== undefined &&
    want.filtering.includes(behaviour.filtering);
  return ok ? undefined : `expected mapping ${want.mapping.join('|')}, filtering ${want.filtering.join('|')}; got ${describeNatBehaviour(behaviour)}`;
}

/** `mapping X, filtering Y` or `no UDP`. */
export function describeNatBehaviour(b: NatBehaviour): string {
  if (!b.udp) return 'no UDP answer';
  return `mapping ${b.mapping ?? '?'}, filtering ${b.filtering ?? '?'}${b.natDetected === false ? ' (no NAT)' : ''}`;
}

/**
 * Probes the first host of every site (in parallel) and throws, with natdiscovery's output, when
 * one does not behave as its NAT type must. Resolves with each site's behaviour by site name.
 */
export async function verifyNatBehaviours(lab: NatLab, opts: ProbeNatOptions = {}): Promise<Map<string, NatBehaviour>> {
  const results = await Promise.all(
    lab.sites.map(async (site) => {
      const host = site.hosts[0];
      if (host === undefined) throw new Error(`site ${site.name} has no host`);
      return [site, await probeNat(lab, host, opts)] as const;
    }),
  );
  const problems = results.flatMap(([site, b]) => {
    const why = natBehaviourMismatch(site.nat, b);
    return why === undefined ? [] : [`site ${site.name} (${site.nat}): ${why}\n${b.output}`];
  });
  if (problems.length > 0) throw new Error(`NAT behaviour check failed:\n${problems.join('\n')}`);
  return new Map(results.map(([site, b]) => [site.name, b]));
}
