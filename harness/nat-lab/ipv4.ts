/** IPv4 helpers for the NAT lab: /24 subnets written as CIDR strings, membership tests. */

/** A /24 (or other) IPv4 subnet, e.g. 203.0.113.0/24. */
export interface Ipv4Subnet {
  /** Network address as a 32-bit unsigned number. */
  readonly network: number;
  readonly prefixLength: number;
  /** The CIDR text, normalized (`203.0.113.0/24`). */
  readonly cidr: string;
}

/** Parses dotted-quad text; throws on anything else. */
export function parseIpv4(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4) throw new RangeError(`not an IPv4 address: ${text}`);
  let n = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) throw new RangeError(`not an IPv4 address: ${text}`);
    n = n * 256 + Number(part);
  }
  return n;
}

export function formatIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

/** Parses `a.b.c.d/len` (host bits must be zero). */
export function parseSubnet(cidr: string): Ipv4Subnet {
  const [addr, len, extra] = cidr.split('/');
  if (addr === undefined || len === undefined || extra !== undefined || !/^\d{1,2}$/.test(len) || Number(len) > 32) {
    throw new RangeError(`not an IPv4 subnet: ${cidr}`);
  }
  const prefixLength = Number(len);
  const network = parseIpv4(addr);
  const size = 2 ** (32 - prefixLength);
  if (network % size !== 0) throw new RangeError(`host bits set in subnet ${cidr}`);
  return { network, prefixLength, cidr: `${formatIpv4(network)}/${prefixLength}` };
}

/** The address at `index` inside the subnet (index 1 = first host); throws when outside. */
export function hostAddress(subnet: Ipv4Subnet, index: number): string {
  const size = 2 ** (32 - subnet.prefixLength);
  if (!Number.isInteger(index) || index <= 0 || index >= size - 1) {
    throw new RangeError(`host index ${index} outside ${subnet.cidr}`);
  }
  return formatIpv4(subnet.network + index);
}

/** True when `address` (dotted quad) lies in `subnet`. */
export function subnetContains(subnet: Ipv4Subnet, address: string): boolean {
  let n: number;
  try {
    n = parseIpv4(address);
  } catch {
    return false;
  }
  const size = 2 ** (32 - subnet.prefixLength);
  return n >= subnet.network && n < subnet.network + size;
}

/** True when `inner` (CIDR) lies entirely inside `outer`. */
export function subnetWithin(outer: Ipv4Subnet, inner: string): boolean {
  const s = parseSubnet(inner.includes('/') ? inner : `${inner}/32`);
  return s.prefixLength >= outer.prefixLength && subnetContains(outer, formatIpv4(s.network));
}
