/**
 * One stream connection of the node transport driver: a net/tls socket or a `ws` WebSocket
 * behind the same small interface. Every socket gets its 'error' listener at once, so no socket
 * error is ever uncaught; errors surface as `failed` (before open) or `closed` (after).
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { DriverConnection, StreamProtocol } from '../sip/transport/transport-driver.js';
import { TransportError } from '../sip/transport/transport-error.js';
import type { TransportAddress } from '../sip/transport/sip-transport.js';
import { address, asError, toBytes } from './node-address.js';

export interface ConnectionEvents {
  opened(conn: NodeConnection): void;
  failed(conn: NodeConnection, error: Error): void;
  closed(conn: NodeConnection, error: Error | undefined): void;
  data(conn: NodeConnection, bytes: Uint8Array, binary: boolean): void;
}

export interface ConnectionLimits {
  /** Bytes allowed to wait in the kernel/user send buffers before the connection is dropped. */
  maxWriteBufferBytes: number;
  /** A graceful close that has not finished after this long is forced. */
  closeTimeoutMs: number;
}

type State = 'connecting' | 'open' | 'done';

abstract class BaseConnection {
  protected state: State = 'connecting';
  protected error: Error | undefined;
  info: DriverConnection | undefined;

  constructor(
    readonly id: string,
    readonly protocol: StreamProtocol,
    readonly outbound: boolean,
    protected readonly remote: TransportAddress,
    protected readonly events: ConnectionEvents,
    protected readonly limits: ConnectionLimits,
  ) {}

  get isOpen(): boolean {
    return this.state === 'open';
  }

  protected markOpen(local: TransportAddress, remote: TransportAddress): void {
    if (this.state !== 'connecting') return;
    this.state = 'open';
    this.info = { id: this.id, protocol: this.protocol, local, remote, outbound: this.outbound };
    this.events.opened(this as unknown as NodeConnection);
  }

  protected markDone(): void {
    const was = this.state;
    if (was === 'done') return;
    this.state = 'done';
    const self = this as unknown as NodeConnection;
    if (was === 'connecting') this.events.failed(self, this.error ?? new TransportError('TRANSPORT_CONNECT_FAILED', 'connection closed before it opened'));
    else this.events.closed(self, this.error);
  }

  protected forceLater(force: () => void): void {
    const t = setTimeout(force, this.limits.closeTimeoutMs);
    t.unref();
  }
}

/** tcp and tls. */
export class SocketConnection extends BaseConnection {
  constructor(
    id: string,
    protocol: 'tcp' | 'tls',
    outbound: boolean,
    remote: TransportAddress,
    private readonly socket: Socket | TLSSocket,
    events: ConnectionEvents,
    limits: ConnectionLimits,
  ) {
    super(id, protocol, outbound, remote, events, limits);
    socket.on('error', (e) => {
      this.error ??= asError(e);
    });
    socket.on('close', () => this.markDone());
    socket.on('data', (d: Buffer) => {
      if (this.state === 'open') this.events.data(this, d, false);
    });
    socket.setNoDelay(true);
  }

  /** Starts reporting: at once for an accepted socket, on (secure)connect for an outbound one. */
  start(): void {
    if (!this.outbound) return this.opened();
    this.socket.once(this.protocol === 'tls' ? 'secureConnect' : 'connect', () => this.opened());
  }

  private opened(): void {
    const s = this.socket;
    if (s.destroyed) return;
    this.markOpen(address(this.protocol, s.localAddress, s.localPort), this.outbound ? this.remote : address(this.protocol, s.remoteAddress, s.remotePort));
  }

  write(data: Uint8Array, _binary = false): void {
    if (this.state !== 'open') return;
    this.socket.write(data);
    if (this.socket.writableLength > this.limits.maxWriteBufferBytes) {
      this.error = new TransportError('TRANSPORT_WRITE_OVERFLOW', `more than ${this.limits.maxWriteBufferBytes} bytes unsent`);
      this.socket.destroy();
    }
  }

  close(): void {
    if (this.state === 'connecting') {
      this.socket.destroy();
      return;
    }
    if (this.state !== 'open') return;
    this.socket.end();
    this.forceLater(() => this.socket.destroy());
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** ws and wss (RFC 7118): one SIP message per WebSocket message. */
export class WsConnection extends BaseConnection {
  private local: TransportAddress | undefined;
  private remoteAccepted: TransportAddress | undefined;

  constructor(
    id: string,
    protocol: 'ws' | 'wss',
    outbound: boolean,
    remote: TransportAddress,
    private readonly ws: WebSocket,
    events: ConnectionEvents,
    limits: ConnectionLimits,
    /** For an accepted WebSocket: the HTTP upgrade request (gives both addresses). */
    request?: IncomingMessage,
  ) {
    super(id, protocol, outbound, remote, events, limits);
    ws.on('error', (e) => {
      this.error ??= asError(e);
    });
    ws.on('close', () => this.markDone());
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      if (this.state === 'open') this.events.data(this, toBytes(data), isBinary);
    });
    if (request !== undefined) {
      const s = request.socket;
      this.local = address(protocol, s.localAddress, s.localPort);
      this.remoteAccepted = address(protocol, s.remoteAddress, s.remotePort);
    }
    ws.on('upgrade', (res: IncomingMessage) => {
      this.local = address(protocol, res.socket.localAddress, res.socket.localPort);
    });
  }

  start(): void {
    if (!this.outbound) {
      this.markOpen(this.local ?? address(this.protocol, undefined, 0), this.remoteAccepted ?? this.remote);
      return;
    }
    this.ws.once('open', () => {
      // RFC 7118 §4.1: the 'sip' subprotocol must have been agreed.
      if (this.ws.protocol !== 'sip') {
        this.error = new TransportError('TRANSPORT_CONNECT_FAILED', "server did not agree to the 'sip' WebSocket subprotocol");
        this.ws.terminate();
        return;
      }
      this.markOpen(this.local ?? address(this.protocol, undefined, 0), this.remote);
    });
  }

  write(data: Uint8Array, binary: boolean): void {
    if (this.state !== 'open') return;
    this.ws.send(data, { binary });
    if (this.ws.bufferedAmount > this.limits.maxWriteBufferBytes) {
      this.error = new TransportError('TRANSPORT_WRITE_OVERFLOW', `more than ${this.limits.maxWriteBufferBytes} bytes unsent`);
      this.ws.terminate();
    }
  }

  close(): void {
    if (this.state === 'connecting') {
      this.ws.terminate();
      return;
    }
    if (this.state !== 'open') return;
    this.ws.close(1000);
    this.forceLater(() => this.ws.terminate());
  }

  destroy(): void {
    this.ws.terminate();
  }
}

export type NodeConnection = SocketConnection | WsConnection;
