/**
 * The real {@link TransportDriver}: node:dgram (udp4/udp6), node:net, node:tls and `ws`
 * (RFC 7118: subprotocol 'sip'; wss over an https server). The only SIP transport code that
 * touches sockets. Socket errors never escape: they become driver events, `onError` calls, or
 * rejected `listen` promises.
 *
 * Every accepted TCP socket is reported at once (`onConnectionAccepted`), before any TLS or HTTP
 * byte is read: the transport layer counts it against its caps from there and may refuse it (the
 * socket is destroyed in the same turn), and it owns the handshake's deadline (`close(id)` destroys
 * a connection still in its TLS handshake or WebSocket upgrade).
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { connect as netConnect, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer, type ConnectionOptions, type TlsOptions } from 'node:tls';
import type { Duplex } from 'node:stream';
import { isIP } from 'node:net';
import type { StreamProtocol, TransportDriver, TransportDriverUser } from '../sip/transport/transport-driver.js';
import { TransportError } from '../sip/transport/transport-error.js';
import type { TransportAddress, TransportProtocol } from '../sip/transport/sip-transport.js';
import { address, addressKey, asError, familyOf, normalizeHost, urlHost } from './node-address.js';
import { SocketConnection, WsConnection, type ConnectionEvents, type ConnectionLimits, type NodeConnection } from './node-connection.js';
import { wsModule } from './ws-module.js';

export interface NodeTransportDriverOptions {
  /** SO_RCVBUF of UDP sockets, bytes (the kernel may cap it: net.core.rmem_max). Default 4 MiB. */
  udpReceiveBufferBytes?: number;
  /** SO_SNDBUF of UDP sockets, bytes (capped by net.core.wmem_max). Default 4 MiB. */
  udpSendBufferBytes?: number;
  /** Server side of tls and wss listeners: key, cert, ca, requestCert, rejectUnauthorized, … */
  tls?: TlsOptions;
  /** Client side of tls and wss connections: ca, key, cert, rejectUnauthorized, servername, … */
  tlsClient?: ConnectionOptions;
  /** Listeners on '::' accept IPv6 only (default false: IPv4 too, reported as plain IPv4). */
  ipv6Only?: boolean;
  /** A connection whose unsent bytes exceed this is dropped. Default 4 MiB. */
  maxWriteBufferBytes?: number;
  /** Largest WebSocket message accepted (bigger ones close the connection, 1009). Default 65535. */
  maxWsPayloadBytes?: number;
  /** Graceful close forced after this long, ms. Default 5000. */
  closeTimeoutMs?: number;
  /** WebSocket opening handshake timeout, ms. Default 10000. */
  wsHandshakeTimeoutMs?: number;
  /** Path requested by outbound WebSocket connections. Default '/'. */
  wsPath?: string;
  /** Errors of listeners (not of one connection) after they started: logged by the caller. */
  onError?: (context: string, error: Error) => void;
}

interface Listener {
  address: TransportAddress;
  udp?: UdpSocket;
  close(): Promise<void>;
}

/** An accepted connection in its TLS handshake or WebSocket upgrade. */
interface Handshaking {
  raw: Socket;
  /** The TLS socket over `raw` once node made it (wss: TLS done, upgrade awaited). */
  secure: Socket | undefined;
}

/** The 4-tuple of a socket: finds the accepted connection again when its handshake is done. */
function socketKey(s: Socket): string {
  return `${s.remoteAddress}|${s.remotePort}|${s.localAddress}|${s.localPort}`;
}

const MiB = 1024 * 1024;

export class NodeTransportDriver implements TransportDriver {
  private user: TransportDriverUser | undefined;
  private readonly options: NodeTransportDriverOptions;
  private readonly limits: ConnectionLimits;
  private readonly listeners = new Map<string, Listener>();
  private readonly connections = new Map<string, NodeConnection>();
  /** Accepted connections whose handshake is not done, by id and by socketKey. */
  private readonly handshaking = new Map<string, Handshaking>();
  private readonly handshakeIds = new Map<string, string>();
  private nextId = 0;
  private down = false;
  private readonly events: ConnectionEvents;

  constructor(options: NodeTransportDriverOptions = {}) {
    this.options = options;
    this.limits = { maxWriteBufferBytes: options.maxWriteBufferBytes ?? 4 * MiB, closeTimeoutMs: options.closeTimeoutMs ?? 5000 };
    this.events = {
      opened: (c) => {
        if (c.info !== undefined) this.emit((u) => u.onConnectionOpened(c.info!));
      },
      failed: (c, e) => {
        this.connections.delete(c.id);
        this.emit((u) => u.onConnectionFailed(c.id, e));
      },
      closed: (c, e) => {
        this.connections.delete(c.id);
        this.emit((u) => u.onConnectionClosed(c.id, e));
      },
      data: (c, bytes, binary) => {
        if (c.protocol === 'ws' || c.protocol === 'wss') this.emit((u) => u.onWsMessage(c.id, bytes, binary));
        else this.emit((u) => u.onStreamData(c.id, bytes));
      },
    };
  }

  setUser(user: TransportDriverUser): void {
    this.user = user;
  }

  async listen(protocol: TransportProtocol, host: string, port: number): Promise<TransportAddress> {
    if (this.down) throw new TransportError('TRANSPORT_CLOSED', 'driver is shut down');
    const h = normalizeHost(host);
    if (isIP(h) === 0) throw new TransportError('TRANSPORT_BAD_ADDRESS', `listen needs an IP address, not '${host}'`);
    let listener: Listener;
    if (protocol === 'udp') listener = await this.listenUdp(h, port);
    else listener = await this.listenStream(protocol, h, port);
    this.listeners.set(addressKey(listener.address), listener);
    return { ...listener.address };
  }

  sendDatagram(from: TransportAddress, to: TransportAddress, data: Uint8Array, onError?: (error: Error) => void): void {
    const sock = this.listeners.get(addressKey({ ...from, protocol: 'udp' }))?.udp;
    const report = (e: Error): void => {
      if (!this.down && onError !== undefined) onError(e);
    };
    if (sock === undefined) {
      queueMicrotask(() => report(new TransportError('TRANSPORT_NOT_LISTENING', `no udp socket ${from.host}:${from.port}`)));
      return;
    }
    let host = normalizeHost(to.host);
    const v6socket = familyOf(from.host) === 6;
    if (v6socket && isIP(host) === 4) {
      if (this.options.ipv6Only === true) {
        queueMicrotask(() => report(new TransportError('TRANSPORT_BAD_ADDRESS', `IPv6-only socket cannot reach ${host}`)));
        return;
      }
      host = `::ffff:${host}`;
    } else if (!v6socket && isIP(host) === 6) {
      queueMicrotask(() => report(new TransportError('TRANSPORT_BAD_ADDRESS', `IPv4 socket cannot reach ${host}`)));
      return;
    }
    try {
      sock.send(data, to.port, host, (err) => {
        if (err) report(new TransportError('TRANSPORT_SEND_FAILED', err.message, { cause: err }));
      });
    } catch (e) {
      queueMicrotask(() => report(new TransportError('TRANSPORT_SEND_FAILED', asError(e).message, { cause: e })));
    }
  }

  connect(remote: TransportAddress & { protocol: StreamProtocol }): string {
    const id = `${remote.protocol}-${++this.nextId}`;
    const to: TransportAddress = { protocol: remote.protocol, host: normalizeHost(remote.host), port: remote.port };
    if (this.down) {
      queueMicrotask(() => this.emit((u) => u.onConnectionFailed(id, new TransportError('TRANSPORT_CLOSED', 'driver is shut down'))));
      return id;
    }
    let conn: NodeConnection;
    try {
      conn = this.openOutbound(id, to);
    } catch (e) {
      const err = new TransportError('TRANSPORT_CONNECT_FAILED', asError(e).message, { cause: e });
      queueMicrotask(() => this.emit((u) => u.onConnectionFailed(id, err)));
      return id;
    }
    this.connections.set(id, conn);
    conn.start();
    return id;
  }

  write(id: string, data: Uint8Array, binary = false): void {
    this.connections.get(id)?.write(data, binary);
  }

  close(id: string): void {
    this.connections.get(id)?.close();
    const h = this.handshaking.get(id);
    if (h !== undefined) {
      // still in its handshake: destroyed now; onConnectionFailed follows from the raw socket's close
      h.secure?.destroy();
      h.raw.destroy();
    }
  }

  async shutdown(): Promise<void> {
    if (this.down) return;
    this.down = true;
    for (const c of this.connections.values()) c.destroy();
    this.connections.clear();
    for (const h of this.handshaking.values()) h.raw.destroy();
    this.handshaking.clear();
    this.handshakeIds.clear();
    const closing = [...this.listeners.values()].map((l) => l.close());
    this.listeners.clear();
    await Promise.all(closing);
  }

  async unlisten(a: TransportAddress): Promise<void> {
    const k = addressKey(a);
    const l = this.listeners.get(k);
    if (l === undefined) return;
    this.listeners.delete(k);
    await l.close();
  }

  /** Actual kernel buffer sizes of a udp listener (Linux reports twice the value set). */
  udpBufferSizes(local: TransportAddress): { receive: number; send: number } | undefined {
    const sock = this.listeners.get(addressKey({ ...local, protocol: 'udp' }))?.udp;
    if (sock === undefined) return undefined;
    return { receive: sock.getRecvBufferSize(), send: sock.getSendBufferSize() };
  }

  private emit(call: (user: TransportDriverUser) => void): void {
    if (this.down || this.user === undefined) return;
    call(this.user);
  }

  private listenerError(context: string, e: unknown): void {
    if (!this.down) this.options.onError?.(context, asError(e));
  }

  private listenUdp(host: string, port: number): Promise<Listener> {
    const type = isIP(host) === 6 ? 'udp6' : 'udp4';
    const sock = createSocket({ type, ipv6Only: this.options.ipv6Only === true, reuseAddr: false });
    return new Promise<Listener>((resolve, reject) => {
      const onBindError = (e: Error): void => {
        sock.close();
        reject(bindError('udp', host, port, e));
      };
      sock.once('error', onBindError);
      sock.bind({ address: host, port, exclusive: true }, () => {
        sock.off('error', onBindError);
        sock.on('error', (e) => this.listenerError(`udp ${host}:${port}`, e));
        this.setBuffers(sock, host);
        const bound = address('udp', host, sock.address().port);
        sock.on('message', (msg, rinfo) => {
          this.emit((u) => u.onDatagram({ ...bound }, address('udp', rinfo.address, rinfo.port), msg));
        });
        resolve({ address: bound, udp: sock, close: () => new Promise<void>((r) => sock.close(() => r())) });
      });
    });
  }

  /** SO_RCVBUF / SO_SNDBUF, set deliberately (bursts of SIP over UDP overflow small defaults). */
  private setBuffers(sock: UdpSocket, host: string): void {
    try {
      sock.setRecvBufferSize(this.options.udpReceiveBufferBytes ?? 4 * MiB);
      sock.setSendBufferSize(this.options.udpSendBufferBytes ?? 4 * MiB);
    } catch (e) {
      this.listenerError(`udp ${host}: buffer sizes`, e);
    }
  }

  private async listenStream(protocol: StreamProtocol, host: string, port: number): Promise<Listener> {
    let server: NetServer | HttpServer | HttpsServer;
    if (protocol === 'tcp') {
      server = createNetServer();
    } else if (protocol === 'tls') {
      const tlsServer = createTlsServer(this.serverTls(), (s) => this.handshakeDone(s, (id) => this.socketConnection(id, 'tls', s)));
      tlsServer.on('tlsClientError', (_e, s) => s.destroy()); // failed handshakes: dropped
      server = tlsServer;
    } else {
      const web = protocol === 'ws' ? createHttpServer() : createHttpsServer(this.serverTls());
      if (protocol === 'wss') {
        // TLS done, the upgrade request awaited: close(id) must destroy this socket too
        web.on('secureConnection', (s: Socket) => {
          const id = this.handshakeIds.get(socketKey(s));
          const h = id === undefined ? undefined : this.handshaking.get(id);
          if (h !== undefined) h.secure = s;
        });
      }
      this.attachWebSocket(protocol, web);
      server = web;
    }
    let bound: TransportAddress | undefined;
    // Every accepted TCP socket, whatever it becomes (SIP stream, TLS, HTTP upgrade), until it closes.
    const raw = new Set<Socket>();
    server.on('connection', (s: Socket) => {
      raw.add(s);
      s.once('close', () => raw.delete(s));
      if (bound === undefined) s.destroy();
      else this.accept(protocol, bound, s);
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error): void => reject(bindError(protocol, host, port, e));
      server.once('error', onError);
      server.listen({ host, port, ipv6Only: this.options.ipv6Only === true, exclusive: true }, () => {
        server.off('error', onError);
        server.on('error', (e) => this.listenerError(`${protocol} ${host}:${port}`, e));
        resolve();
      });
    });
    const a = server.address();
    bound = address(protocol, host, typeof a === 'object' && a !== null ? a.port : port);
    return {
      address: bound,
      close: () =>
        new Promise<void>((r) => {
          server.close(() => r());
          // Sockets still in a TLS or WebSocket handshake would hold close() open: end them too.
          for (const s of raw) s.destroy();
        }),
    };
  }

  private serverTls(): TlsOptions {
    const t = this.options.tls;
    if (t === undefined || t.cert === undefined || (t.key === undefined && t.pfx === undefined)) {
      throw new TransportError('TRANSPORT_BAD_ADDRESS', 'tls/wss listeners need options.tls with key and cert');
    }
    return t;
  }

  /**
   * A TCP accept on a stream listener, before any TLS or HTTP byte: the user may refuse it (destroyed
   * at once); tcp opens now, tls/ws/wss wait for their handshake.
   */
  private accept(protocol: StreamProtocol, listener: TransportAddress, raw: Socket): void {
    if (this.down || raw.remoteAddress === undefined) {
      raw.destroy();
      return;
    }
    const id = `${protocol}-${++this.nextId}`;
    const remote = address(protocol, raw.remoteAddress, raw.remotePort);
    let taken = true;
    this.emit((u) => {
      taken = u.onConnectionAccepted?.({ id, protocol, listener: { ...listener }, remote }) ?? true;
    });
    if (!taken) {
      raw.destroy();
      return;
    }
    if (protocol === 'tcp') {
      this.adopt(this.socketConnection(id, 'tcp', raw));
      return;
    }
    const key = socketKey(raw);
    const h: Handshaking = { raw, secure: undefined };
    this.handshaking.set(id, h);
    this.handshakeIds.set(key, id);
    raw.once('close', () => {
      if (this.handshaking.get(id) !== h) return; // opened: its connection reports the close
      this.handshaking.delete(id);
      this.handshakeIds.delete(key);
      this.emit((u) => u.onConnectionFailed(id, new TransportError('TRANSPORT_CONNECT_FAILED', `${protocol} handshake not completed`)));
    });
  }

  /** The handshake of the accepted connection `s` belongs to is done: it becomes a connection (`make`). */
  private handshakeDone(s: Socket, make: (id: string) => NodeConnection): void {
    const key = socketKey(s);
    const id = this.handshakeIds.get(key);
    if (id === undefined || this.down) {
      s.destroy(); // not admitted, or closed meanwhile
      return;
    }
    this.handshakeIds.delete(key);
    this.handshaking.delete(id);
    this.adopt(make(id));
  }

  private socketConnection(id: string, protocol: 'tcp' | 'tls', s: Socket): SocketConnection {
    return new SocketConnection(id, protocol, false, address(protocol, s.remoteAddress, s.remotePort), s, this.events, this.limits);
  }

  private adopt(conn: NodeConnection): void {
    this.connections.set(conn.id, conn);
    conn.start();
  }

  /** RFC 7118 §4: the handshake must offer the 'sip' subprotocol; others get 400. */
  private attachWebSocket(protocol: 'ws' | 'wss', server: HttpServer | HttpsServer): void {
    const { WebSocketServer } = wsModule();
    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.options.maxWsPayloadBytes ?? 65535,
      handleProtocols: (protocols) => (protocols.has('sip') ? 'sip' : false),
    });
    server.on('request', (_req, res) => {
      res.writeHead(426, { Connection: 'close', Upgrade: 'websocket' }).end();
    });
    server.on('clientError', (_e, socket) => socket.destroy());
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => socket.destroy());
      const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim().toLowerCase());
      if (this.down || !offered.includes('sip')) {
        socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        const remote = address(protocol, req.socket.remoteAddress, req.socket.remotePort);
        this.handshakeDone(req.socket, (id) => new WsConnection(id, protocol, false, remote, ws, this.events, this.limits, req));
      });
    });
  }

  private openOutbound(id: string, to: TransportAddress): NodeConnection {
    const host = to.host;
    switch (to.protocol) {
      case 'tcp':
        return new SocketConnection(id, 'tcp', true, to, netConnect({ host, port: to.port }), this.events, this.limits);
      case 'tls': {
        // SNI carries names only (RFC 6066 §3); the certificate is checked against the IP otherwise.
        const servername = isIP(host) === 0 ? host : undefined;
        const sock = tlsConnect({ ...this.options.tlsClient, host, port: to.port, ...(servername === undefined ? {} : { servername }) });
        return new SocketConnection(id, 'tls', true, to, sock, this.events, this.limits);
      }
      case 'ws':
      case 'wss': {
        const url = `${to.protocol}://${urlHost(host)}:${to.port}${this.options.wsPath ?? '/'}`;
        const tlsOpts = to.protocol === 'wss' ? (this.options.tlsClient ?? {}) : {};
        const { WebSocket } = wsModule();
        const ws = new WebSocket(url, 'sip', {
          ...tlsOpts,
          maxPayload: this.options.maxWsPayloadBytes ?? 65535,
          handshakeTimeout: this.options.wsHandshakeTimeoutMs ?? 10_000,
          perMessageDeflate: false,
        });
        return new WsConnection(id, to.protocol, true, to, ws, this.events, this.limits);
      }
      default:
        throw new TransportError('TRANSPORT_BAD_ADDRESS', `not a stream protocol: ${String(to.protocol)}`);
    }
  }
}

function bindError(protocol: TransportProtocol, host: string, port: number, e: Error): TransportError {
  const code = (e as NodeJS.ErrnoException).code === 'EADDRINUSE' ? 'TRANSPORT_ADDRESS_IN_USE' : 'TRANSPORT_BAD_ADDRESS';
  return new TransportError(code, `cannot listen on ${protocol} ${host}:${port}: ${e.message}`, { cause: e });
}
