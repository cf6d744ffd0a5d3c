/**
 * TCP sockets carrying TURN (RFC 8656 §3.1) for the sans-I/O cores in nat/turn: a connection accepted
 * on the overlay's TLS port whose first byte was STUN's (tls-link-driver.ts demultiplexes), handed to
 * the TurnStreamServer, and a connection a UDP-blocked peer opens to its TURN peer, driving a
 * TurnTcpClient. Bytes in go to `onData` as they come (the cores frame them); writes past
 * `maxWriteBufferBytes` unsent are refused (`write` false: the core drops the message, as a lost
 * datagram) rather than buffered without bound. Errors never throw: they end the connection, once.
 */
import { connect as netConnect, isIP } from 'node:net';
import type { Socket } from 'node:net';
import { asError, normalizeHost } from './node-address.js';

export interface TurnTcpSocketOptions {
  /** Unsent bytes a connection may hold; writes beyond are refused (default 262,144). */
  maxWriteBufferBytes?: number;
  /** A close that has not finished after this long is forced, ms (default 2,000). */
  closeTimeoutMs?: number;
  /** TCP keepalive probes after this long idle, ms (default 30,000; 0: off). */
  keepAliveMs?: number;
}

export interface TurnTcpHandlers {
  onData(bytes: Uint8Array): void;
  /** Once, when the connection has ended (`reason` says why). */
  onClose(reason: string): void;
}

export const DEFAULT_TURN_TCP_WRITE_BUFFER = 262_144;

export class TurnTcpSocket {
  private handlers: TurnTcpHandlers | undefined;
  private ended = false;
  private error: Error | undefined;
  private readonly maxWrite: number;
  private readonly closeTimeoutMs: number;

  constructor(
    private readonly socket: Socket,
    opts: TurnTcpSocketOptions = {},
  ) {
    this.maxWrite = opts.maxWriteBufferBytes ?? DEFAULT_TURN_TCP_WRITE_BUFFER;
    this.closeTimeoutMs = opts.closeTimeoutMs ?? 2_000;
    socket.setNoDelay(true);
    const keepAlive = opts.keepAliveMs ?? 30_000;
    if (keepAlive > 0) socket.setKeepAlive(true, keepAlive);
    socket.on('error', (e) => {
      this.error ??= asError(e);
    });
    socket.on('close', () => this.finish(this.error === undefined ? 'closed' : this.error.message));
  }

  /** The remote end's address (IPv4-mapped IPv6 unmapped; empty when already closed). */
  get remote(): { host: string; port: number } {
    return { host: normalizeHost(this.socket.remoteAddress), port: this.socket.remotePort ?? 0 };
  }

  /** Starts delivering data (anything already read, an unshifted first chunk included, comes first). */
  attach(handlers: TurnTcpHandlers): void {
    this.handlers = handlers;
    if (this.ended) {
      handlers.onClose(this.error?.message ?? 'closed');
      return;
    }
    this.socket.on('data', (d: Buffer) => this.handlers?.onData(new Uint8Array(d.buffer, d.byteOffset, d.length)));
    this.socket.resume();
  }

  write(bytes: Uint8Array): boolean {
    if (this.ended || this.socket.destroyed || !this.socket.writable) return false;
    if (this.socket.writableLength + bytes.length > this.maxWrite) return false;
    this.socket.write(bytes);
    return true;
  }

  close(): void {
    if (this.socket.destroyed) return;
    this.socket.end();
    const t = setTimeout(() => this.socket.destroy(), this.closeTimeoutMs);
    t.unref();
    this.socket.once('close', () => clearTimeout(t));
  }

  destroy(): void {
    this.socket.destroy();
  }

  private finish(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.handlers?.onClose(reason);
  }

  /** Opens a connection to `remote`; an Error when it cannot within `timeoutMs` (default 5,000). */
  static connect(remote: { host: string; port: number }, opts: TurnTcpSocketOptions & { timeoutMs?: number } = {}): Promise<TurnTcpSocket | Error> {
    if (isIP(remote.host) === 0 || !Number.isInteger(remote.port) || remote.port <= 0 || remote.port > 65535) return Promise.resolve(new Error(`bad TURN server address ${remote.host}:${remote.port}`));
    return new Promise((resolve) => {
      const socket = netConnect({ host: remote.host, port: remote.port });
      socket.pause();
      const timer = setTimeout(() => {
        socket.destroy();
        resolve(new Error(`TCP connect to ${remote.host}:${remote.port} not done after ${opts.timeoutMs ?? 5_000} ms`));
      }, opts.timeoutMs ?? 5_000);
      socket.once('error', (e) => {
        clearTimeout(timer);
        socket.destroy();
        resolve(asError(e));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new TurnTcpSocket(socket, opts));
      });
    });
  }
}
