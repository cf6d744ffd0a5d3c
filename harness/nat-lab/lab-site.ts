/**
 * A site of a NAT lab: a router namespace (WAN veth on the public bridge, LAN bridge, nftables NAT)
 * and the hosts on its LAN. Lets a test change WAN conditions and reset NAT state between cases.
 */
import { missingTools } from '../require-tools.js';
import type { LabHost } from './lab-host.js';
import type { LabNamespace } from './lab-namespace.js';
import type { SiteInfo, WanConditions } from './lab-types.js';
import type { NatType } from './nat-type.js';
import { routerRuleset } from './nat-ruleset.js';
import { applyWan } from './wan-link.js';
import type { WanPortControl } from './wan-link.js';

export interface LabSiteInit {
  readonly name: string;
  readonly nat: NatType;
  readonly wanAddress: string;
  readonly lanSubnet: string;
  readonly gateway: string;
  readonly router: LabNamespace;
  /** The public segment's namespace and the bridge port of this site's WAN link in it. */
  readonly publicSide: LabNamespace;
  readonly publicPort: string;
  /** The lab's delay line once it runs (undefined: the segment is the kernel bridge). */
  readonly delayLine: () => WanPortControl | undefined;
}

/** Interface names inside a router namespace. */
export const ROUTER_WAN_IF = 'wan';
export const ROUTER_LAN_BRIDGE = 'lan';

export class LabSite implements SiteInfo {
  readonly name: string;
  readonly nat: NatType;
  readonly wanAddress: string;
  readonly lanSubnet: string;
  readonly gateway: string;
  /** The router's namespace (run `nft list ruleset`, `conntrack -L`, tcpdump there). */
  readonly router: LabNamespace;
  /** The hosts on the LAN, in spec order. */
  readonly hosts: LabHost[] = [];
  readonly #publicSide: LabNamespace;
  readonly #publicPort: string;
  readonly #delayLine: () => WanPortControl | undefined;
  #wan: WanConditions = {};

  constructor(init: LabSiteInit) {
    this.name = init.name;
    this.nat = init.nat;
    this.wanAddress = init.wanAddress;
    this.lanSubnet = init.lanSubnet;
    this.gateway = init.gateway;
    this.router = init.router;
    this.#publicSide = init.publicSide;
    this.#publicPort = init.publicPort;
    this.#delayLine = init.delayLine;
  }

  /** The site's WAN link's port on the public segment (bridge port or delay-line port). */
  get publicPort(): string {
    return this.#publicPort;
  }

  /** The nftables ruleset this router runs. */
  ruleset(): string {
    return routerRuleset({ nat: this.nat, wanInterface: ROUTER_WAN_IF, wanAddress: this.wanAddress, lanSubnet: this.lanSubnet });
  }

  /** (Re)applies the ruleset: `flush ruleset` first, so every learnt mapping is forgotten too. */
  async applyRuleset(): Promise<void> {
    await this.router.run('nft', ['-f', '-'], { input: this.ruleset() });
  }

  /** `nft list ruleset` of the router, as it is in the kernel now. */
  listRuleset(): Promise<string> {
    return this.router.run('nft', ['list', 'ruleset']);
  }

  /**
   * Forgets all NAT state between test cases: re-applies the ruleset (empties the learnt mappings
   * and sets) and flushes the router's conntrack table when `conntrack` is installed.
   * Resolves with whether conntrack entries were flushed (without `conntrack`, existing flows keep
   * their mappings until they time out: 30 s unreplied, 120 s replied for UDP).
   */
  async resetNat(): Promise<{ conntrackFlushed: boolean }> {
    await this.applyRuleset();
    if (missingTools(['conntrack']).length > 0) return { conntrackFlushed: false };
    const r = await this.router.tryRun('conntrack', ['-F']);
    return { conntrackFlushed: r.code === 0 };
  }

  /** The WAN conditions now in force. */
  get wan(): WanConditions {
    return this.#wan;
  }

  /**
   * Sets the WAN link's conditions (each direction, on top of the segment's): on the delay line
   * when the lab has one, else loss with nftables on the public bridge port (a delay then throws
   * WanDelayUnavailableError). `{}` removes them.
   */
  async setWan(cond: WanConditions): Promise<void> {
    await applyWan(cond, { publicSide: this.#publicSide, publicPort: this.#publicPort, delayLine: this.#delayLine() });
    this.#wan = { ...cond };
  }

  toString(): string {
    return `site ${this.name} (${this.nat}, WAN ${this.wanAddress}, LAN ${this.lanSubnet})`;
  }
}
