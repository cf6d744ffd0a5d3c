/**
 * The one I/O shape the NAT plane needs: a bound datagram socket it can send from. The platform
 * implements it with node:dgram (platform/udp-port.ts); tests and the simulator with memory.
 */

/** An IP literal (no brackets) and a port. */
export interface UdpAddress {
  readonly host: string;
  readonly port: number;
}

export interface DatagramSocket {
  /** Where the socket is bound. */
  readonly local: UdpAddress;
  /** Sends one datagram; never throws (failures are counted by the implementation). */
  send(datagram: Uint8Array, to: UdpAddress): void;
}

/** RFC 7983 §7 demultiplexing by the first byte of a datagram. */
export type DatagramKind = 'stun' | 'dtls' | 'channel-data' | 'rtp' | 'other';

export function classifyDatagram(d: Uint8Array): DatagramKind {
  if (d.length === 0) return 'other';
  const b = d[0]!;
  if (b <= 3) return 'stun';
  if (b >= 20 && b <= 63) return 'dtls';
  if (b >= 64 && b <= 79) return 'channel-data';
  if (b >= 128 && b <= 191) return 'rtp';
  return 'other';
}

/** `host:port` key of an address (IPv6 bracketed) for maps. */
export function addressKey(a: UdpAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
