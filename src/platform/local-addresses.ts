import { networkInterfaces } from 'node:os';

/** Every IP address of this machine's interfaces (IPv6 without zone), loopback included. */
export function localAddresses(): string[] {
  const out = new Set<string>(['127.0.0.1', '::1']);
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) out.add(a.address.split('%')[0]!);
  }
  return [...out];
}

/** The first non-internal IPv4 address, else 127.0.0.1: what to advertise for a wildcard listener. */
export function primaryAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}
