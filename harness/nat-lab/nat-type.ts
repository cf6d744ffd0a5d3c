/**
 * The NAT behaviours a lab router can emulate, in RFC 4787 / RFC 5780 terms, and what an RFC 5780
 * behaviour discovery should report for each.
 */

export type NatType = 'full-cone' | 'address-restricted' | 'port-restricted' | 'symmetric' | 'udp-blocked';

export const NAT_TYPES: readonly NatType[] = ['full-cone', 'address-restricted', 'port-restricted', 'symmetric', 'udp-blocked'];

/** RFC 4787 §4.1 mapping / §5 filtering behaviours (the RFC 5780 §4.3/§4.4 verdicts). */
export type NatBehaviourClass = 'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent';

export interface ExpectedNatBehaviour {
  /** Whether a STUN server on the public side answers UDP at all. */
  readonly udp: boolean;
  /** Acceptable mapping verdicts (empty when no UDP). */
  readonly mapping: readonly NatBehaviourClass[];
  /** Acceptable filtering verdicts (empty when no UDP). */
  readonly filtering: readonly NatBehaviourClass[];
}

/** What each lab NAT type must look like from a LAN host (RFC 5780 §4.3, §4.4). */
export function expectedNatBehaviour(nat: NatType): ExpectedNatBehaviour {
  switch (nat) {
    case 'full-cone':
      return { udp: true, mapping: ['endpoint-independent'], filtering: ['endpoint-independent'] };
    case 'address-restricted':
      return { udp: true, mapping: ['endpoint-independent'], filtering: ['address-dependent'] };
    case 'port-restricted':
      return { udp: true, mapping: ['endpoint-independent'], filtering: ['address-and-port-dependent'] };
    case 'symmetric':
      // Random ports per destination: a new port per address (and per port) of the server.
      return { udp: true, mapping: ['address-and-port-dependent', 'address-dependent'], filtering: ['address-and-port-dependent'] };
    case 'udp-blocked':
      return { udp: false, mapping: [], filtering: [] };
  }
}

export function isNatType(value: string): value is NatType {
  return (NAT_TYPES as readonly string[]).includes(value);
}
