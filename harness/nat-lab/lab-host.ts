/** A host of a NAT lab: its own namespace, on a site's LAN (behind its NAT) or on the public segment. */
import { LabNamespace } from './lab-namespace.js';
import type { LabSpawner } from './lab-namespace.js';
import type { NatType } from './nat-type.js';
import type { SiteInfo } from './lab-types.js';

export type LabHostKind = 'lan' | 'public';

export class LabHost extends LabNamespace {
  /** The host's lab-unique name. */
  readonly name: string;
  readonly kind: LabHostKind;
  /** Its (first) IPv4 address: private on a LAN, public on the public segment. */
  readonly address: string;
  /** All its addresses (public hosts may have several, e.g. the RFC 5780 STUN server). */
  readonly addresses: readonly string[];
  /** Its site (LAN hosts), undefined for public hosts. */
  readonly site: SiteInfo | undefined;
  /** The interface holding its address(es) inside its namespace. */
  readonly interfaceName = 'eth0';

  constructor(init: {
    readonly name: string;
    readonly namespace: string;
    readonly kind: LabHostKind;
    readonly addresses: readonly string[];
    readonly site?: SiteInfo;
    readonly spawner: LabSpawner;
  }) {
    super(init.namespace, init.name, init.spawner);
    const first = init.addresses[0];
    if (first === undefined) throw new RangeError(`host ${init.name} needs an address`);
    this.name = init.name;
    this.kind = init.kind;
    this.address = first;
    this.addresses = [...init.addresses];
    this.site = init.site;
  }

  /** The NAT between this host and the public segment ('none' on the public segment). */
  get nat(): NatType | 'none' {
    return this.site?.nat ?? 'none';
  }

  /** The address peers on the public segment see this host's traffic come from. */
  get publicAddress(): string {
    return this.site?.wanAddress ?? this.address;
  }

  override toString(): string {
    return `${this.name} (${this.address}${this.site === undefined ? ', public' : `, ${this.site.nat} site ${this.site.name}`})`;
  }
}
