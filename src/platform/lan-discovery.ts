/**
 * The sockets of LAN discovery (issue 15): the mDNS socket (224.0.0.251:5353, through the
 * `multicast-dns` package, which joins the group on every IPv4 interface and decodes packets), the
 * multicast bootstrap group socket and one unicast socket per IPv4 interface to send Pings from (a
 * socket per interface: the multicast interface of a send is the socket's, never raced), and the
 * interface table that tells which of our addresses share a subnet with a packet's source.
 * Nothing here decides anything: packets go to the handlers as they came.
 * `multicast-dns` (and dns-packet) is imported when discovery starts: a peer with discovery off
 * (`--no-discovery`, or an overlay on loopback) does not load it.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { EventEmitter } from 'node:events';
import { networkInterfaces } from 'node:os';
import { canonicalIp, ipFamily, ipToBytes } from '../lib/ip.js';

export interface LanEndpoint {
  host: string;
  port: number;
}

export interface LinkAddressSet {
  v4: string[];
  v6: string[];
}

/** A record in the shape `multicast-dns` (dns-packet) encodes. */
export type MdnsWireRecord =
  | { type: 'A' | 'AAAA' | 'PTR'; name: string; ttl: number; class: 'IN'; flush: boolean; data: string }
  | { type: 'SRV'; name: string; ttl: number; class: 'IN'; flush: boolean; data: { priority: number; weight: number; port: number; target: string } }
  | { type: 'TXT'; name: string; ttl: number; class: 'IN'; flush: boolean; data: Buffer[] }
  | { type: 'NAPTR'; name: string; ttl: number; class: 'IN'; flush: boolean; data: { order: number; preference: number; flags: string; services: string; regexp: string; replacement: string } };

export interface MdnsWirePacket {
  type: 'query' | 'response';
  id: number;
  questions: { name: string; type: 'A' | 'AAAA' | 'PTR' | 'SRV' | 'TXT' | 'NAPTR' | 'ANY'; class: 'IN' }[];
  answers: MdnsWireRecord[];
  additionals: MdnsWireRecord[];
}

export interface LanSocketHandlers {
  /** A decoded mDNS packet (untrusted: validate it) and its size on the wire. */
  mdns(packet: unknown, size: number, from: LanEndpoint): void;
  /** A multicast bootstrap datagram, `via` the group socket or a unicast (answer) socket. */
  bootstrap(bytes: Uint8Array, from: LanEndpoint, via: 'group' | 'unicast'): void;
  /** A socket error or an undecodable packet: `kind` names it (logged once per kind). */
  problem(kind: string, detail: object): void;
}

export interface LanSocketOptions {
  /** mDNS port; default 5353. */
  mdnsPort?: number;
  /** The overlay configuration's multicast bootstrap group (IPv4 only here); absent: none. */
  bootstrapGroup?: LanEndpoint;
  /** Largest bootstrap datagram read; longer ones are dropped unread. */
  maxBootstrapBytes: number;
}

export interface LanSockets {
  sendMdns(packet: MdnsWirePacket, to?: LanEndpoint): void;
  sendBootstrap(bytes: Uint8Array, to?: LanEndpoint): void;
  close(): Promise<void>;
}

/** Non-internal IPv4 interface addresses (what multicast is sent from). */
function ipv4InterfaceAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) out.push(a.address);
  return out;
}

export async function openLanSockets(options: LanSocketOptions, handlers: LanSocketHandlers): Promise<LanSockets> {
  // one LAN interface (the usual box): join and send there explicitly, so no multicast route is
  // needed; several: the package joins on each and the kernel's route picks where queries go
  const v4 = ipv4InterfaceAddresses();
  const only = v4.length === 1 ? v4[0] : undefined;
  const { default: makeMdns } = await import('multicast-dns');
  const mdns = makeMdns({ port: options.mdnsPort ?? 5353, reuseAddr: true, loopback: true, ttl: 255, ...(only === undefined ? {} : { interface: only, bind: '0.0.0.0' }) });
  const mdnsEvents = mdns as unknown as EventEmitter;
  mdnsEvents.on('packet', (packet: unknown, rinfo: RemoteInfo) => handlers.mdns(packet, rinfo.size, { host: rinfo.address, port: rinfo.port }));
  mdnsEvents.on('warning', (err: Error) => handlers.problem(/decode|buffer|name|label|pointer|range|offset/i.test(err.message) ? 'mdns-undecodable' : 'mdns-socket-warning', { err: err.message }));
  await new Promise<void>((resolve, reject) => {
    mdnsEvents.once('ready', () => resolve());
    mdnsEvents.once('error', (err: Error) => reject(err));
  });
  mdnsEvents.on('error', (err: Error) => handlers.problem('mdns-socket-error', { err: err.message }));

  let group: Socket | undefined;
  const senders: Socket[] = [];
  const g = options.bootstrapGroup;
  try {
    if (g !== undefined && ipFamily(g.host) === 4) group = await openBootstrapSockets(g, senders, options, handlers);
  } catch (err) {
    // the group port is taken: nothing of this start stays open
    for (const s of senders) s.close();
    await new Promise<void>((resolve) => mdns.destroy(() => resolve()));
    throw err;
  }

  const sendErr = (kind: string) => (err: Error | null) => {
    if (err) handlers.problem(kind, { err: err.message });
  };
  return {
    sendMdns(packet, to) {
      const rinfo = to === undefined ? undefined : { port: to.port, address: to.host };
      // the typings name every dns-packet record type; ours are a subset of the same shapes
      const p = packet as unknown as Parameters<typeof mdns.respond>[0];
      if (packet.type === 'query') mdns.query(packet as unknown as Parameters<typeof mdns.query>[0] & object, rinfo, sendErr('mdns-send-failed'));
      else if (rinfo === undefined) mdns.respond(p, sendErr('mdns-send-failed'));
      else mdns.respond(p, rinfo, sendErr('mdns-send-failed'));
    },
    sendBootstrap(bytes, to) {
      if (to !== undefined) {
        // an answer goes out of the socket on the asker's subnet (or the first)
        const s = senders.find((x) => sameSubnet4(x.address().address, to.host)) ?? senders[0];
        s?.send(bytes, to.port, to.host, sendErr('bootstrap-send-failed'));
        return;
      }
      if (g === undefined) return;
      for (const s of senders) s.send(bytes, g.port, g.host, sendErr('bootstrap-send-failed'));
    },
    async close() {
      // let a goodbye sent just before go out (dgram sends after an address lookup tick)
      await new Promise<void>((resolve) => setTimeout(resolve, 20));
      await new Promise<void>((resolve) => mdns.destroy(() => resolve()));
      for (const s of [...senders, ...(group === undefined ? [] : [group])]) await new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };
}

/** The group socket (joined on every IPv4 interface) and one Ping sender per interface (into `senders`). */
async function openBootstrapSockets(g: LanEndpoint, senders: Socket[], options: LanSocketOptions, handlers: LanSocketHandlers): Promise<Socket> {
  const sock = createSocket({ type: 'udp4', reuseAddr: true });
  sock.on('error', (err) => handlers.problem('bootstrap-socket-error', { err: err.message }));
  sock.on('message', (msg, rinfo) => {
    if (msg.length <= options.maxBootstrapBytes) handlers.bootstrap(msg, { host: rinfo.address, port: rinfo.port }, 'group');
    else handlers.problem('bootstrap-too-big', { source: rinfo.address, size: msg.length });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(g.port, '0.0.0.0', () => {
        sock.removeListener('error', reject);
        resolve();
      });
    });
  } catch (err) {
    sock.close();
    throw err;
  }
  for (const addr of ipv4InterfaceAddresses()) {
    try {
      sock.addMembership(g.host, addr);
    } catch (err) {
      handlers.problem('bootstrap-membership', { interface: addr, err: String(err) });
    }
  }
  for (const addr of ipv4InterfaceAddresses()) {
    const s = createSocket({ type: 'udp4' });
    s.on('error', (err) => handlers.problem('bootstrap-socket-error', { err: err.message }));
    s.on('message', (msg, rinfo) => {
      if (msg.length <= options.maxBootstrapBytes) handlers.bootstrap(msg, { host: rinfo.address, port: rinfo.port }, 'unicast');
    });
    try {
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.bind(0, addr, () => {
          s.removeListener('error', reject);
          resolve();
        });
      });
      s.setMulticastInterface(addr);
      s.setMulticastTTL(1);
      s.setMulticastLoopback(true);
      senders.push(s);
    } catch (err) {
      s.close();
      handlers.problem('bootstrap-socket-error', { interface: addr, err: String(err) });
    }
  }
  return sock;
}

function sameSubnet4(local: string, remote: string): boolean {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.address === local && a.family === 'IPv4' && a.cidr !== null && inSubnet(remote, a.address, prefixOf(a.cidr))) return true;
  }
  return false;
}

function prefixOf(cidr: string): number {
  return Number(cidr.slice(cidr.indexOf('/') + 1));
}

function inSubnet(host: string, net: string, prefix: number): boolean {
  const a = ipToBytes(host);
  const b = ipToBytes(net);
  if (a === undefined || b === undefined || a.length !== b.length || !(prefix >= 0 && prefix <= a.length * 8)) return false;
  for (let bit = 0; bit < prefix; bit++) {
    const i = bit >> 3;
    const m = 0x80 >> (bit & 7);
    if ((a[i]! & m) !== (b[i]! & m)) return false;
  }
  return true;
}

const isV6LinkLocal = (h: string): boolean => /^fe[89ab][0-9a-f]:/i.test(h);

/**
 * Our addresses on the interface(s) whose subnet holds `source` (RFC 6762 §11: only on-link
 * sources are answered), IPv6 link-local excluded from answers; undefined when `source` is on none
 * of our links. A source on the loopback interface gets the loopback addresses.
 */
export function linkAddressesFor(source: string): LinkAddressSet | undefined {
  const src = canonicalIp(source.replace(/%.*$/, ''));
  if (src === undefined) return undefined;
  const out: LinkAddressSet = { v4: [], v6: [] };
  let matched = false;
  for (const list of Object.values(networkInterfaces())) {
    const entries = list ?? [];
    const on = entries.some((a) => a.cidr !== null && (inSubnet(src, a.address, prefixOf(a.cidr)) || (isV6LinkLocal(src) && a.family === 'IPv6' && isV6LinkLocal(a.address))));
    if (!on) continue;
    matched = true;
    for (const a of entries) {
      if (a.family === 'IPv4') out.v4.push(a.address);
      else if (!isV6LinkLocal(a.address)) out.v6.push(a.address);
    }
  }
  return matched ? { v4: [...new Set(out.v4)], v6: [...new Set(out.v6)] } : undefined;
}

/** Every address of non-internal interfaces (loopback's only when there is no other). */
export function allLinkAddresses(): LinkAddressSet {
  const out: LinkAddressSet = { v4: [], v6: [] };
  const lo: LinkAddressSet = { v4: [], v6: [] };
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      const into = a.internal ? lo : out;
      if (a.family === 'IPv4') into.v4.push(a.address);
      else if (!isV6LinkLocal(a.address)) into.v6.push(a.address);
    }
  }
  return out.v4.length + out.v6.length > 0 ? out : lo;
}
