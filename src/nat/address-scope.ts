/**
 * Where an IP address may be reached from: the test of RFC 6940 §9 ("if the peer's IP address is in
 * the private address space range as defined by [RFC1918], then it is also SHOULD NOT be a candidate
 * for a TURN server"), widened to every range that is not reachable across the Internet: RFC 1918,
 * RFC 6598 shared (CGN) space, loopback, link-local, unspecified, multicast, the IETF protocol
 * assignments 192.0.0.0/24, benchmarking 198.18.0.0/15, 240.0.0.0/4 and broadcast; IPv6 loopback,
 * unspecified, unique-local fc00::/7, link-local fe80::/10, site-local fec0::/10, multicast, the
 * discard prefix 100::/64 and anything outside global unicast 2000::/3. IPv4-mapped IPv6 is judged
 * as its IPv4 address.
 *
 * The documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) count as
 * public: the NAT test lab (harness/nat-lab) uses them as its "public Internet".
 */
import { ipToBytes } from '../lib/ip.js';

export type AddressScope =
  | 'public'
  | 'private'
  | 'shared'
  | 'loopback'
  | 'link-local'
  | 'unspecified'
  | 'multicast'
  | 'reserved'
  | 'unique-local'
  | 'not-an-ip';

/** The scope of an IP literal (brackets allowed). */
export function addressScope(host: string): AddressScope {
  const b = ipToBytes(host);
  if (b === undefined) return 'not-an-ip';
  if (b.length === 4) return v4Scope(b);
  let mapped = true;
  for (let i = 0; i < 10; i++) if (b[i] !== 0) mapped = false;
  if (mapped && b[10] === 0xff && b[11] === 0xff) return v4Scope(b.subarray(12));
  return v6Scope(b);
}

/** True when `host` is an IP literal of the public Internet (see the file comment). */
export function isPublicAddress(host: string): boolean {
  return addressScope(host) === 'public';
}

function v4Scope(a: Uint8Array): AddressScope {
  const o0 = a[0]!;
  const o1 = a[1]!;
  const o2 = a[2]!;
  if (o0 === 0) return 'unspecified';
  if (o0 === 10 || (o0 === 172 && o1 >= 16 && o1 <= 31) || (o0 === 192 && o1 === 168)) return 'private';
  if (o0 === 100 && o1 >= 64 && o1 <= 127) return 'shared';
  if (o0 === 127) return 'loopback';
  if (o0 === 169 && o1 === 254) return 'link-local';
  if (o0 === 192 && o1 === 0 && o2 === 0) return 'reserved';
  if (o0 === 198 && (o1 === 18 || o1 === 19)) return 'reserved';
  if (o0 >= 224 && o0 <= 239) return 'multicast';
  if (o0 >= 240) return 'reserved';
  return 'public';
}

function v6Scope(b: Uint8Array): AddressScope {
  let zero15 = true;
  for (let i = 0; i < 15; i++) if (b[i] !== 0) zero15 = false;
  if (zero15 && b[15] === 0) return 'unspecified';
  if (zero15 && b[15] === 1) return 'loopback';
  const b0 = b[0]!;
  const b1 = b[1]!;
  if (b0 === 0xff) return 'multicast';
  if ((b0 & 0xfe) === 0xfc) return 'unique-local';
  if (b0 === 0xfe && (b1 & 0xc0) === 0x80) return 'link-local';
  if (b0 === 0xfe && (b1 & 0xc0) === 0xc0) return 'private';
  if ((b0 & 0xe0) !== 0x20) return 'reserved';
  return 'public';
}
