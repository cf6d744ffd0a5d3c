/**
 * NatLab: peers and phones behind emulated NATs, in network namespaces this process creates and
 * always deletes. Topology (see harness/README.md, "NAT lab"):
 *
 *   public namespace: bridge br0 on a documentation /24 (default 203.0.113.0/24), or, when the lab
 *   has a WAN delay, the delay line (delay-switch.py, a userspace switch: see wan-link.ts)
 *     ├─ public host namespaces (eth0, one or more public addresses; the `stun` host has two)
 *     └─ per site: router namespace (wan on br0, LAN bridge `lan`, nftables NAT, ip_forward=1)
 *          └─ LAN host namespaces (eth0 on a private /24, default route via the router)
 *
 * Nothing is joined to the root namespace and no namespace has a route out of the lab: routers
 * and public hosts know only the connected public /24, LAN hosts route everything to their router.
 * dispose() (also registered on the ProcessScope, and done synchronously on process exit) stops
 * the lab's processes and deletes every namespace; a later build() sweeps labs whose owner died.
 */
import type { BoundedProcess, SpawnBoundedOptions } from '../bounded-process.js';
import type { ProcessScope } from '../process-scope.js';
import { withScope } from '../process-scope.js';
import { runCommand, runCommandSync, tryCommand } from './lab-command.js';
import { LabHost } from './lab-host.js';
import { isolationProblems } from './lab-isolation.js';
import { listNamespaces, newLabPrefix, sweepStaleNatLabs } from './lab-names.js';
import { LabNamespace } from './lab-namespace.js';
import type { LabSpawner } from './lab-namespace.js';
import { planLab, planNamespaces, PUBLIC_BRIDGE, STUN_HOST_NAME } from './lab-plan.js';
import type { LabPlan, PlannedPublicHost, PlannedSite } from './lab-plan.js';
import { LabSite, ROUTER_LAN_BRIDGE, ROUTER_WAN_IF } from './lab-site.js';
import type { NatLabSpec, PublicHostSpec, SiteSpec } from './lab-types.js';
import { startStunServer } from './stun-server.js';
import type { StunServer } from './stun-server.js';
import { DelayLine, disableOffloads } from './delay-line.js';
import type { DelayLineCounters } from './delay-line.js';
import type { PublicSegmentKind, WanConditions } from './lab-types.js';
import { normalizeWan, WanDelayUnavailableError } from './wan-link.js';

const HOST_IF = 'eth0';

export class NatLab implements LabSpawner {
  /** Prefix of every namespace name of this lab (unique per process and lab). */
  readonly prefix: string;
  /** The public segment (CIDR). */
  readonly publicSubnet: string;
  /** The namespace holding the public bridge. */
  readonly publicSegment: LabNamespace;
  readonly sites: readonly LabSite[];
  /** Every host: public hosts first, then the LAN hosts site by site. */
  readonly hosts: readonly LabHost[];

  readonly #scope: ProcessScope;
  readonly #plan: LabPlan;
  /** Namespaces created (or being created): all of them are deleted by dispose(). */
  readonly #namespaces: string[] = [];
  readonly #processes = new Set<BoundedProcess>();
  readonly #onExit = (): void => this.#disposeNow();
  #stun: Promise<StunServer> | undefined;
  #delayLine: DelayLine | undefined;
  #wan: WanConditions;
  #disposing: Promise<void> | undefined;

  private constructor(scope: ProcessScope, plan: LabPlan) {
    this.#scope = scope;
    this.#plan = plan;
    this.prefix = plan.prefix;
    this.publicSubnet = plan.publicSubnet;
    this.publicSegment = new LabNamespace(plan.publicNamespace, 'public', this);
    this.#wan = { ...plan.wan };
    const publicHosts = plan.publicHosts.map(
      (h) => new LabHost({ name: h.name, namespace: h.namespace, kind: 'public', addresses: h.addresses, spawner: this }),
    );
    this.sites = plan.sites.map((s) => {
      const site = new LabSite({
        name: s.name,
        nat: s.nat,
        wanAddress: s.wanAddress,
        lanSubnet: s.lanSubnet,
        gateway: s.gateway,
        router: new LabNamespace(s.namespace, `router:${s.name}`, this),
        publicSide: this.publicSegment,
        publicPort: s.publicPort,
        delayLine: () => this.#delayLine,
      });
      for (const h of s.hosts) {
        site.hosts.push(new LabHost({ name: h.name, namespace: h.namespace, kind: 'lan', addresses: [h.address], site, spawner: this }));
      }
      return site;
    });
    this.hosts = [...publicHosts, ...this.sites.flatMap((s) => s.hosts)];
  }

  /**
   * Builds the lab described by `spec` and registers its disposal on `scope`. Throws (after deleting
   * whatever it had created) when a step fails. Needs root, `ip` and `nft`.
   */
  static async build(scope: ProcessScope, spec: NatLabSpec): Promise<NatLab> {
    const plan = planLab(spec, newLabPrefix());
    try {
      await sweepStaleNatLabs();
    } catch {
      // best effort: a failing sweep must not stop this run
    }
    const lab = new NatLab(scope, plan);
    scope.defer(() => lab.dispose());
    process.once('exit', lab.#onExit);
    try {
      await lab.#create();
    } catch (err) {
      await lab.dispose().catch(() => undefined);
      throw err;
    }
    return lab;
  }

  /** A fluent way to write the spec: `NatLab.builder(scope).site(...).publicHost(...).build()`. */
  static builder(scope: ProcessScope): NatLabBuilder {
    return new NatLabBuilder(scope);
  }

  /** Every namespace name of the lab (public segment first). */
  get namespaces(): readonly string[] {
    return planNamespaces(this.#plan);
  }

  /** The host named `name`; throws when there is none. */
  host(name: string): LabHost {
    const h = this.hosts.find((x) => x.name === name);
    if (h === undefined) throw new RangeError(`no host '${name}' in the lab (${this.hosts.map((x) => x.name).join(', ')})`);
    return h;
  }

  /** The site named `name`; throws when there is none. */
  site(name: string): LabSite {
    const s = this.sites.find((x) => x.name === name);
    if (s === undefined) throw new RangeError(`no site '${name}' in the lab (${this.sites.map((x) => x.name).join(', ')})`);
    return s;
  }

  /** Starts a bounded process owned by the lab's scope (use a host's spawn() to run it in a namespace). */
  spawn(opts: SpawnBoundedOptions): BoundedProcess {
    if (this.#disposing !== undefined) throw new Error('NAT lab already disposed');
    const proc = this.#scope.spawn(opts);
    this.#processes.add(proc);
    void proc.exited.then(() => this.#processes.delete(proc));
    return proc;
  }

  /**
   * The lab's RFC 5780 STUN (and TURN) server: coturn on the public host `stun`, started on first
   * call. Needs the spec's `stunHost` (default true).
   */
  stunServer(): Promise<StunServer> {
    if (this.#stun === undefined) {
      const host = this.hosts.find((h) => h.name === STUN_HOST_NAME && h.kind === 'public');
      if (host === undefined) return Promise.reject(new Error('this lab was built with stunHost: false'));
      this.#stun = startStunServer(host, { workDir: this.#scope.tempDir('p2psip-natlab-stun-') });
      this.#stun.catch(() => undefined);
    }
    return this.#stun;
  }

  /** What serves the public segment: the kernel bridge br0, or the delay line. */
  get segment(): PublicSegmentKind {
    return this.#plan.segment;
  }

  /** The public segment's own conditions now in force (every frame crossing it). */
  get wan(): WanConditions {
    return this.#wan;
  }

  /**
   * Sets the public segment's own conditions (each frame crossing it, once); `{}` removes them.
   * Needs the delay line (WanDelayUnavailableError on a bridge lab).
   */
  async setWan(cond: WanConditions): Promise<void> {
    const n = normalizeWan(cond);
    if (this.#delayLine === undefined) throw new WanDelayUnavailableError('the segment\'s own conditions');
    await this.#delayLine.configure('*', n);
    this.#wan = { ...cond };
  }

  /** The delay line (undefined on a bridge lab). */
  get delayLine(): DelayLine | undefined {
    return this.#delayLine;
  }

  /** The delay line's counters now; after dispose(), the ones it printed when it stopped. */
  async delayLineCounters(): Promise<DelayLineCounters | undefined> {
    const d = this.#delayLine;
    if (d === undefined) return undefined;
    if (this.#disposing !== undefined || d.process.exitInfo !== undefined) return d.finalCounters;
    return d.stats();
  }

  /** Problems that would let traffic leave the lab (empty when sealed); see lab-isolation.ts. */
  isolationProblems(): Promise<string[]> {
    const defaults = new Map(this.sites.flatMap((s) => s.hosts.map((h) => [h.namespace, s.gateway] as const)));
    return isolationProblems(this.namespaces, [this.publicSubnet, ...this.sites.map((s) => s.lanSubnet)], defaults);
  }

  /** Stops the lab's processes and deletes all its namespaces; throws if one survives. Idempotent. */
  dispose(): Promise<void> {
    this.#disposing ??= this.#dispose();
    return this.#disposing;
  }

  async #dispose(): Promise<void> {
    await Promise.all([...this.#processes].map((p) => p.stop('SIGTERM', 2000)));
    const errors: string[] = [];
    await Promise.all(
      this.#namespaces.map(async (ns) => {
        const r = await tryCommand('ip', ['netns', 'del', ns]);
        if (r.code !== 0 && !/No such file|not exist/i.test(r.stderr)) errors.push(`${ns}: ${r.stderr.trim()}`);
      }),
    );
    process.removeListener('exit', this.#onExit);
    const left = (await listNamespaces()).filter((n) => n.startsWith(this.prefix));
    if (left.length > 0 || errors.length > 0) {
      throw new Error(`NAT lab ${this.prefix}: namespaces left after dispose: ${left.join(', ')} ${errors.join('; ')}`);
    }
  }

  /** Synchronous last resort at process exit. */
  #disposeNow(): void {
    for (const p of this.#processes) p.killNow();
    for (const ns of this.#namespaces) runCommandSync('ip', ['netns', 'del', ns]);
  }

  async #create(): Promise<void> {
    const plan = this.#plan;
    await this.#addNamespace(this.publicSegment, false);
    if (plan.segment === 'bridge') {
      await ip(['-n', plan.publicNamespace, 'link', 'add', 'name', PUBLIC_BRIDGE, 'type', 'bridge']);
      await ip(['-n', plan.publicNamespace, 'link', 'set', 'dev', PUBLIC_BRIDGE, 'up']);
    }
    const publicHosts = new Map(this.hosts.filter((h) => h.kind === 'public').map((h) => [h.name, h]));
    // Independent parts in parallel: each public host, each site (its router, then its hosts).
    await settleAll([
      ...plan.publicHosts.map((h) => this.#createPublicHost(h, publicHosts.get(h.name))),
      ...plan.sites.map((s) => this.#createSite(s, this.site(s.name))),
    ]);
    if (plan.segment === 'delay-line') await this.#startDelayLine();
    await settleAll(plan.sites.filter((s) => Object.keys(s.wan).length > 0).map((s) => this.site(s.name).setWan(s.wan)));
  }

  /**
   * The delay line on every public port: offloads off on both ends of each veth attached to it (the
   * public hosts' eth0, the routers' wan, the ports), then the switch.
   */
  async #startDelayLine(): Promise<void> {
    const plan = this.#plan;
    const ports = [...plan.publicHosts.map((h) => h.port), ...plan.sites.map((s) => s.publicPort)];
    await settleAll([
      disableOffloads(this.publicSegment, ports),
      ...this.hosts.filter((h) => h.kind === 'public').map((h) => disableOffloads(h, [HOST_IF])),
      ...this.sites.map((s) => disableOffloads(s.router, [ROUTER_WAN_IF])),
    ]);
    this.#delayLine = await DelayLine.start(this.publicSegment, ports, { segment: plan.wan, seed: plan.seed });
  }

  async #addNamespace(ns: LabNamespace, forwarding: boolean): Promise<void> {
    if (this.#disposing !== undefined) throw new Error('NAT lab disposed while being built');
    this.#namespaces.push(ns.namespace);
    await ip(['netns', 'add', ns.namespace]);
    await ip(['-n', ns.namespace, 'link', 'set', 'dev', 'lo', 'up']);
    if (!this.#plan.ipv6) {
      // Interfaces created from now on get no IPv6 (lo keeps ::1). Absent when IPv6 is off in the kernel.
      await ns.sysctl('net/ipv6/conf/default/disable_ipv6', '1').catch(() => undefined);
    }
    // A bridge here is a plain switch, even if br_netfilter is loaded (absent otherwise).
    await ns.sysctl('net/bridge/bridge-nf-call-iptables', '0').catch(() => undefined);
    if (forwarding) await ns.sysctl('net/ipv4/ip_forward', '1');
  }

  async #createPublicHost(plan: PlannedPublicHost, host: LabHost | undefined): Promise<void> {
    if (host === undefined) throw new Error(`internal: no host ${plan.name}`);
    await this.#addNamespace(host, false);
    await this.#veth(host.namespace, HOST_IF, this.#plan.publicNamespace, plan.port, this.#publicBridge());
    for (const a of plan.addresses) await ip(['-n', host.namespace, 'addr', 'add', `${a}/24`, 'dev', HOST_IF]);
    await ip(['-n', host.namespace, 'link', 'set', 'dev', HOST_IF, 'up']);
  }

  async #createSite(plan: PlannedSite, site: LabSite): Promise<void> {
    const r = site.router.namespace;
    await this.#addNamespace(site.router, true);
    await this.#veth(r, ROUTER_WAN_IF, this.#plan.publicNamespace, plan.publicPort, this.#publicBridge());
    await ip(['-n', r, 'addr', 'add', `${plan.wanAddress}/24`, 'dev', ROUTER_WAN_IF]);
    await ip(['-n', r, 'link', 'set', 'dev', ROUTER_WAN_IF, 'up']);
    await ip(['-n', r, 'link', 'add', 'name', ROUTER_LAN_BRIDGE, 'type', 'bridge']);
    await ip(['-n', r, 'addr', 'add', `${plan.gateway}/24`, 'dev', ROUTER_LAN_BRIDGE]);
    await ip(['-n', r, 'link', 'set', 'dev', ROUTER_LAN_BRIDGE, 'up']);
    await site.applyRuleset();
    await settleAll(
      plan.hosts.map(async (hp, j) => {
        const host = site.hosts[j];
        if (host === undefined) throw new Error(`internal: no host ${hp.name}`);
        await this.#addNamespace(host, false);
        await this.#veth(host.namespace, HOST_IF, r, hp.port, ROUTER_LAN_BRIDGE);
        await ip(['-n', host.namespace, 'addr', 'add', `${hp.address}/24`, 'dev', HOST_IF]);
        await ip(['-n', host.namespace, 'link', 'set', 'dev', HOST_IF, 'up']);
        await ip(['-n', host.namespace, 'route', 'add', 'default', 'via', plan.gateway, 'dev', HOST_IF]);
      }),
    );
  }

  /** The public segment's bridge, or undefined when the delay line serves it (ports stay unbridged). */
  #publicBridge(): string | undefined {
    return this.#plan.segment === 'bridge' ? PUBLIC_BRIDGE : undefined;
  }

  /** A veth pair created directly between two lab namespaces; the far end joins `bridge` there (if any). */
  async #veth(ns: string, ifName: string, farNs: string, farIf: string, bridge: string | undefined): Promise<void> {
    await ip(['-n', ns, 'link', 'add', 'name', ifName, 'type', 'veth', 'peer', 'name', farIf, 'netns', farNs]);
    if (bridge !== undefined) await ip(['-n', farNs, 'link', 'set', 'dev', farIf, 'master', bridge]);
    await ip(['-n', farNs, 'link', 'set', 'dev', farIf, 'up']);
  }
}

/** Runs the lab's `fn` in a fresh scope and lab, and always disposes both. */
export async function withNatLab<T>(spec: NatLabSpec, fn: (lab: NatLab, scope: ProcessScope) => Promise<T>): Promise<T> {
  return withScope(async (scope) => {
    const lab = await NatLab.build(scope, spec);
    try {
      return await fn(lab, scope);
    } finally {
      await lab.dispose();
    }
  });
}

/** Collects a NatLabSpec step by step (see NatLab.builder). */
export class NatLabBuilder {
  readonly #scope: ProcessScope;
  readonly #sites: SiteSpec[] = [];
  readonly #publicHosts: PublicHostSpec[] = [];
  #options: Omit<NatLabSpec, 'sites' | 'publicHosts'> = {};

  constructor(scope: ProcessScope) {
    this.#scope = scope;
  }

  /** A site named `name` behind a `nat` router, with the given LAN hosts. */
  site(name: string, nat: SiteSpec['nat'], hosts: readonly string[], more: Omit<SiteSpec, 'name' | 'nat' | 'hosts'> = {}): this {
    this.#sites.push({ ...more, name, nat, hosts });
    return this;
  }

  /** A host on the public segment. */
  publicHost(name: string, more: Omit<PublicHostSpec, 'name'> = {}): this {
    this.#publicHosts.push({ ...more, name });
    return this;
  }

  /**
   * The public segment's own conditions: every frame crossing it gets this one-way delay (jitter,
   * loss) once; the lab then runs the delay line (see NatLabSpec.wan).
   */
  wan(cond: WanConditions): this {
    this.#options = { ...this.#options, wan: { ...cond } };
    return this;
  }

  /** Lab-wide options (stunHost, publicSubnet, ipv6, wan, segment, seed). */
  options(options: Omit<NatLabSpec, 'sites' | 'publicHosts'>): this {
    this.#options = { ...this.#options, ...options };
    return this;
  }

  spec(): NatLabSpec {
    return { ...this.#options, sites: [...this.#sites], publicHosts: [...this.#publicHosts] };
  }

  build(): Promise<NatLab> {
    return NatLab.build(this.#scope, this.spec());
  }
}

/** Waits for every promise (so no step is still creating things when teardown starts), then throws the first error. */
async function settleAll(promises: readonly Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(promises);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}

function ip(args: readonly string[]): Promise<string> {
  return runCommand('ip', args);
}

