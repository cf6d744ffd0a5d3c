/**
 * One bound UDP socket (node:dgram) as the NAT plane's `DatagramSocket`: the peer's overlay UDP port
 * (STUN, ICE checks, TURN, DTLS-UDP-SR all share it, RFC 7983 demultiplexing above) or a relay port.
 * Send errors (unreachable, no route) are counted, never thrown; the socket is closed once.
 */
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { ipFamily } from '../lib/ip.js';
import type { DatagramSocket, UdpAddress } from '../nat/datagram-socket.js';

export interface UdpPortStats {
  datagramsIn: number;
  datagramsOut: number;
  bytesIn: number;
  bytesOut: number;
  sendErrors: number;
}

export class UdpPort implements DatagramSocket {
  private readonly stats: UdpPortStats = { datagramsIn: 0, datagramsOut: 0, bytesIn: 0, bytesOut: 0, sendErrors: 0 };
  private closed = false;

  private constructor(
    private readonly socket: Socket,
    readonly local: UdpAddress,
  ) {}

  /** Binds `host:port` (port 0 = any); `onDatagram` gets every datagram received. Rejects on bind failure. */
  static async bind(host: string, port: number, onDatagram: (datagram: Uint8Array, from: UdpAddress) => void, opts: { receiveBufferBytes?: number } = {}): Promise<UdpPort> {
    const socket = createSocket({ type: ipFamily(host) === 6 ? 'udp6' : 'udp4', reuseAddr: false });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: host, port, exclusive: true }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    if (opts.receiveBufferBytes !== undefined) {
      try {
        socket.setRecvBufferSize(opts.receiveBufferBytes);
      } catch {
        // the kernel's cap applies
      }
    }
    const a = socket.address();
    const port2 = new UdpPort(socket, { host: a.address, port: a.port });
    socket.on('message', (msg, rinfo) => {
      port2.stats.datagramsIn++;
      port2.stats.bytesIn += msg.length;
      onDatagram(new Uint8Array(msg.buffer, msg.byteOffset, msg.length), { host: rinfo.address, port: rinfo.port });
    });
    socket.on('error', () => {
      port2.stats.sendErrors++;
    });
    return port2;
  }

  send(datagram: Uint8Array, to: UdpAddress): void {
    if (this.closed) return;
    this.stats.datagramsOut++;
    this.stats.bytesOut += datagram.length;
    this.socket.send(datagram, to.port, to.host, (err) => {
      if (err) this.stats.sendErrors++;
    });
  }

  counters(): UdpPortStats {
    return { ...this.stats };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}
