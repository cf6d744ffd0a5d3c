/**
 * One bound UDP socket (node:dgram) as the NAT plane's `DatagramSocket`: the peer's overlay UDP port
 * (STUN, ICE checks, TURN, DTLS-UDP-SR all share it, RFC 7983 demultiplexing above) or a relay port.
 * Send errors (unreachable, no route) are counted, never thrown; the socket is closed once.
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
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
    // 4 MiB by default: the SIP channels' port carries the media frames of every relayed call to
    // other peers (issue 13), in bursts a small default buffer drops (the kernel caps it at rmem_max)
    try {
      socket.setRecvBufferSize(opts.receiveBufferBytes ?? 4 * 1024 * 1024);
      socket.setSendBufferSize(4 * 1024 * 1024);
    } catch {
      // the kernel's cap applies
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

  /**
   * A UDP port whose number is also free on TCP, for an overlay asked to listen on port 0 (the TLS
   * listener then takes the same number). Drawn below the kernel's ephemeral range (Linux 32768–60999):
   * a port listen(0) gets is one outgoing connections are also given, and one of them could take it
   * before the TLS listener binds (seen in CI). Falls back to any UDP port after `tries`.
   */
  static async bindPair(host: string, onDatagram: (datagram: Uint8Array, from: UdpAddress) => void, tries = 64): Promise<UdpPort> {
    for (let i = 0; i < tries; i++) {
      const port = 20_000 + Math.floor(Math.random() * 12_000);
      let udp: UdpPort;
      try {
        udp = await UdpPort.bind(host, port, onDatagram);
      } catch {
        continue;
      }
      if (await tcpFree(host, port)) return udp;
      await udp.close();
    }
    return UdpPort.bind(host, 0, onDatagram);
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

function tcpFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ host, port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}
