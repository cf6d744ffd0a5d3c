/**
 * The real {@link LinkDriver} of RELOAD overlay links: mutual TLS over TCP (RFC 6940 §6.6.5, TLS-TCP-FH-
 * NO-ICE). Both ends present a certificate; the peer's is verified against the configured CA list
 * (enrolled overlays) and/or by `verifyPeer` (self-signed overlays: the Node-ID must be the hash of the
 * key, RFC 6940 §11.3). Hosts are not checked: RELOAD names peers by Node-ID, not by host name.
 * Network errors never throw: they become events. Key log lines can be collected with `onKeylog`
 * (as Node's `--tls-keylog=<file>` does for the whole process) to decrypt captures.
 *
 * The listener's port also takes TURN clients over TCP (RFC 8656 §3.1; issue 12: a peer behind a
 * router that blocks UDP reaches its TURN peer at the address it bootstrapped from, no new port): an
 * accepted connection is demultiplexed by its first byte (RFC 7983 style) — 0x16, a TLS handshake
 * record, goes to TLS; 0x00–0x03, STUN, to the handler set with `setStunStreamHandler` (none: closed);
 * anything else, or nothing within the handshake timeout, is closed and counted (`refusedProtocol`).
 */
import { createServer as createNetServer, isIP, type Server as NetServer, type Socket } from 'node:net';
import { connect as tlsConnect, createServer, type ConnectionOptions, type Server, type TLSSocket, type TlsOptions } from 'node:tls';
import type { DriverLink, LinkDriver, LinkDriverUser, LinkEndpoint } from '../reload/link/link-driver.js';
import { P2psipError } from '../lib/errors.js';
import { asError, normalizeHost } from './node-address.js';

export interface TlsLinkDriverOptions {
  /** Our certificate (PEM, chain allowed) and private key. */
  cert: string | Buffer;
  key: string | Buffer;
  /** Trust anchors; with them a peer certificate must chain to one (rejectUnauthorized). */
  ca?: string | Buffer | Array<string | Buffer>;
  /**
   * Extra check of the peer's certificate (DER), after the CA check if any: a refusal reason, or
   * undefined to accept. Without `ca` this is the only check, so one of `ca`/`verifyPeer` is required.
   */
  verifyPeer?: (certDer: Uint8Array, link: { remote: LinkEndpoint; outbound: boolean }) => string | undefined;
  /** Lowest TLS version. Default 'TLSv1.2'. */
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** A TLS handshake not done after this long fails. Default 10000 ms. */
  handshakeTimeoutMs?: number;
  /** A link whose unsent bytes exceed this is dropped (the peer does not read). Default 4 MiB. */
  maxWriteBufferBytes?: number;
  /**
   * Inbound connections one listener holds at once, handshaking or open; more are closed at once.
   * Default DEFAULT_MAX_INBOUND_LINKS.
   */
  maxInboundConnections?: number;
  /** Inbound connections from one source address at once; more are closed at once. Default DEFAULT_MAX_INBOUND_PER_SOURCE. */
  maxInboundPerSource?: number;
  /** A graceful close is forced after this long. Default 5000 ms. */
  closeTimeoutMs?: number;
  /**
   * Writes to one link within one event-loop turn leave together (the socket is corked until the
   * turn's check phase): an ACK frame and the answer that follows it share a TLS record and a
   * syscall, and the peer wakes once. Default true.
   */
  coalesceWrites?: boolean;
  /** Listeners on '::' accept IPv6 only (default false: IPv4 too). */
  ipv6Only?: boolean;
  /** NSS key log lines of every TLS session of this driver (for decrypting captures; test use). */
  onKeylog?: (line: Buffer) => void;
  /** Errors not tied to one link (listener errors, refused handshakes of inbound connections). */
  onError?: (context: string, error: Error) => void;
}

/** A refusal of the peer's certificate by `verifyPeer` or the CA check (code RELOAD_LINK_PEER_CERT). */
export class PeerCertificateError extends P2psipError {
  constructor(message: string) {
    super('RELOAD_LINK_PEER_CERT', message);
    this.name = 'PeerCertificateError';
  }
}

/** Inbound connections one listener holds at once (the overlay keeps at most 512 links, OverlayOptions.maxConnections). */
export const DEFAULT_MAX_INBOUND_LINKS = 1024;
/**
 * Inbound connections from one address at once. One peer needs one link to us, but every peer behind
 * one NAT (an office) or on one host (loopback tests and benchmarks: 100 peers) shares the address;
 * 32 stranded the 100-peer putget benchmark's joins.
 */
export const DEFAULT_MAX_INBOUND_PER_SOURCE = 256;

interface Conn {
  id: string;
  socket: TLSSocket;
  outbound: boolean;
  open: boolean;
  closeTimer: NodeJS.Timeout | undefined;
  info: DriverLink | undefined;
  corked: boolean;
}

export class TlsLinkDriver implements LinkDriver {
  private user: LinkDriverUser | undefined;
  private readonly conns = new Map<string, Conn>();
  private readonly servers: NetServer[] = [];
  private nextId = 0;
  private down = false;
  private readonly maxWrite: number;
  private readonly closeTimeoutMs: number;
  private readonly handshakeTimeoutMs: number;
  private readonly coalesce: boolean;
  /** Links corked in this turn, uncorked by one setImmediate. */
  private readonly corked: Conn[] = [];
  private readonly maxInbound: number;
  private readonly maxPerSource: number;
  /** Inbound TCP connections per source address, from accept (before TLS) to close. */
  private readonly inboundBySource = new Map<string, number>();
  private inbound = 0;
  /** Inbound connections closed at accept because a cap was reached (not logged one by one: a flood would flood the log). */
  refusedInbound = 0;
  /** Inbound connections closed because their first byte was neither TLS nor (with a handler) STUN, or never came. */
  refusedProtocol = 0;
  /** Inbound connections handed to the STUN stream handler (TURN over TCP). */
  stunStreams = 0;
  private stunStreamHandler: ((socket: Socket) => void) | undefined;

  constructor(private readonly options: TlsLinkDriverOptions) {
    if (options.ca === undefined && options.verifyPeer === undefined) throw new TypeError('TlsLinkDriver needs ca or verifyPeer: a peer must be authenticated');
    this.maxWrite = options.maxWriteBufferBytes ?? 4 * 1024 * 1024;
    this.closeTimeoutMs = options.closeTimeoutMs ?? 5000;
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000;
    this.coalesce = options.coalesceWrites ?? true;
    this.maxInbound = options.maxInboundConnections ?? DEFAULT_MAX_INBOUND_LINKS;
    this.maxPerSource = options.maxInboundPerSource ?? DEFAULT_MAX_INBOUND_PER_SOURCE;
  }

  /** Inbound connections held now (handshaking or open). */
  get inboundConnections(): number {
    return this.inbound;
  }

  setUser(user: LinkDriverUser): void {
    this.user = user;
  }

  /**
   * Who takes inbound connections that start with a STUN byte (0x00–0x03): the socket comes paused,
   * with its first bytes put back (read them by resuming it). Undefined: such connections are closed.
   */
  setStunStreamHandler(handler: ((socket: Socket) => void) | undefined): void {
    this.stunStreamHandler = handler;
  }

  listen(host: string, port: number): Promise<LinkEndpoint> {
    const o = this.options;
    const tlsOptions: TlsOptions = {
      cert: o.cert,
      key: o.key,
      ...(o.ca !== undefined ? { ca: o.ca } : {}),
      requestCert: true,
      rejectUnauthorized: o.ca !== undefined,
      minVersion: o.minVersion ?? 'TLSv1.2',
      handshakeTimeout: this.handshakeTimeoutMs,
    };
    // the TLS server never listens itself: the TCP listener below hands it the connections whose first byte is TLS's
    const tlsServer = createServer(tlsOptions, (socket) => this.accepted(socket));
    // node does not close the socket of a failed handshake (timeout included) when this event has a
    // listener: without destroy(), silent or half-done handshakes stayed open for good
    tlsServer.on('tlsClientError', (e, socket) => {
      socket.destroy();
      o.onError?.('tls handshake', asError(e));
    });
    if (o.onKeylog !== undefined) tlsServer.on('keylog', (line: Buffer) => o.onKeylog?.(line));
    // counted from the TCP accept, before any TLS byte: a connection that never sends a ClientHello
    // holds a descriptor too
    const server: NetServer = createNetServer((raw: Socket) => {
      if (this.admit(raw)) this.demultiplex(raw, tlsServer);
    });
    return new Promise<LinkEndpoint>((resolve, reject) => {
      const onError = (e: Error): void => reject(e);
      server.once('error', onError);
      server.listen({ host, port, ipv6Only: o.ipv6Only ?? false }, () => {
        server.off('error', onError);
        server.on('error', (e) => o.onError?.('listener', e));
        this.servers.push(server);
        const a = server.address();
        resolve(typeof a === 'object' && a !== null ? { host: normalizeHost(a.address), port: a.port } : { host, port });
      });
    });
  }

  connect(remote: LinkEndpoint): string {
    const id = `tls${this.nextId++}`;
    const o = this.options;
    if (this.down || isIP(remote.host) === 0 || !Number.isInteger(remote.port) || remote.port <= 0 || remote.port > 65535) {
      setImmediate(() => this.emit((u) => u.onLinkFailed(id, new Error(this.down ? 'driver shut down' : `bad link endpoint ${remote.host}:${remote.port}`))));
      return id;
    }
    const co: ConnectionOptions = {
      host: remote.host,
      port: remote.port,
      cert: o.cert,
      key: o.key,
      ...(o.ca !== undefined ? { ca: o.ca } : {}),
      rejectUnauthorized: o.ca !== undefined,
      minVersion: o.minVersion ?? 'TLSv1.2',
      checkServerIdentity: () => undefined, // RELOAD identifies peers by Node-ID (RFC 6940 §11.3), not host
    };
    let socket: TLSSocket;
    try {
      socket = tlsConnect(co);
    } catch (e) {
      // e.g. a key or certificate node:tls refuses
      setImmediate(() => this.emit((u) => u.onLinkFailed(id, asError(e))));
      return id;
    }
    const conn: Conn = { id, socket, outbound: true, open: false, closeTimer: undefined, info: undefined, corked: false };
    this.conns.set(id, conn);
    if (o.onKeylog !== undefined) socket.on('keylog', (line) => o.onKeylog?.(line));
    socket.setTimeout(this.handshakeTimeoutMs, () => {
      if (!conn.open) socket.destroy(new Error(`TLS handshake not done after ${this.handshakeTimeoutMs} ms`));
    });
    socket.once('secureConnect', () => {
      socket.setTimeout(0);
      this.secured(conn);
    });
    this.wire(conn);
    return id;
  }

  write(id: string, data: Uint8Array): void {
    const c = this.conns.get(id);
    if (c === undefined || !c.open || c.closeTimer !== undefined) return;
    if (c.socket.writableLength + data.length > this.maxWrite) {
      c.socket.destroy(new Error(`more than ${this.maxWrite} bytes unsent: the peer does not read`));
      return;
    }
    if (this.coalesce && !c.corked) {
      c.corked = true;
      c.socket.cork();
      if (this.corked.push(c) === 1) setImmediate(this.flush);
    }
    c.socket.write(data);
  }

  // End of the turn: every corked link sends what it was given (one TLS record, one write).
  private readonly flush = (): void => {
    for (const c of this.corked.splice(0)) {
      c.corked = false;
      if (!c.socket.destroyed) c.socket.uncork();
    }
  };

  close(id: string): void {
    const c = this.conns.get(id);
    if (c === undefined || c.closeTimer !== undefined) return;
    if (!c.open) {
      c.socket.destroy();
      return;
    }
    c.closeTimer = setTimeout(() => c.socket.destroy(), this.closeTimeoutMs);
    c.closeTimer.unref();
    c.socket.end();
  }

  async shutdown(): Promise<void> {
    this.down = true;
    const closing = this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    for (const c of this.conns.values()) {
      if (c.closeTimer !== undefined) clearTimeout(c.closeTimer);
      c.socket.destroy();
    }
    this.conns.clear();
    this.servers.length = 0;
    await Promise.all(closing);
  }

  /** A new inbound TCP connection: closed at once past the listener's or its source's cap (false). */
  private admit(raw: Socket): boolean {
    const source = normalizeHost(raw.remoteAddress);
    const fromSource = this.inboundBySource.get(source) ?? 0;
    if (this.down || this.inbound >= this.maxInbound || fromSource >= this.maxPerSource) {
      raw.destroy();
      this.refusedInbound++;
      return false;
    }
    this.inbound++;
    this.inboundBySource.set(source, fromSource + 1);
    raw.once('close', () => {
      this.inbound--;
      const n = (this.inboundBySource.get(source) ?? 1) - 1;
      if (n <= 0) this.inboundBySource.delete(source);
      else this.inboundBySource.set(source, n);
    });
    return true;
  }

  /** RFC 7983 style, on the first byte of the stream: TLS (22) → the TLS server; STUN (0–3) → the handler. */
  private demultiplex(raw: Socket, tlsServer: Server): void {
    raw.on('error', () => undefined); // a reset before the first byte: the 'close' that follows is enough
    raw.setTimeout(this.handshakeTimeoutMs, () => {
      this.refusedProtocol++;
      raw.destroy();
    });
    raw.once('data', (chunk: Buffer) => {
      raw.setTimeout(0);
      raw.pause();
      raw.unshift(chunk); // TLSSocket reads what the socket already holds first (node's initRead)
      const first = chunk[0]!;
      const stun = this.stunStreamHandler;
      if (this.down) raw.destroy();
      else if (first === 0x16) tlsServer.emit('connection', raw);
      else if (first <= 0x03 && stun !== undefined) {
        this.stunStreams++;
        stun(raw);
      } else {
        this.refusedProtocol++;
        raw.destroy();
      }
    });
  }

  private accepted(socket: TLSSocket): void {
    if (this.down) {
      socket.destroy();
      return;
    }
    const id = `tls${this.nextId++}`;
    const conn: Conn = { id, socket, outbound: false, open: false, closeTimer: undefined, info: undefined, corked: false };
    this.conns.set(id, conn);
    this.wire(conn);
    this.secured(conn);
  }

  // Handshake done: check the peer's certificate, then report the link open.
  private secured(c: Conn): void {
    const s = c.socket;
    const remote = { host: normalizeHost(s.remoteAddress), port: s.remotePort ?? 0 };
    const local = { host: normalizeHost(s.localAddress), port: s.localPort ?? 0 };
    const raw = s.getPeerCertificate(false)?.raw as Buffer | undefined;
    let refusal: string | undefined;
    if (raw === undefined || raw.length === 0) refusal = 'the peer presented no certificate';
    else if (this.options.ca !== undefined && !s.authorized) refusal = `peer certificate not trusted: ${String(s.authorizationError)}`;
    else if (this.options.verifyPeer !== undefined) {
      try {
        refusal = this.options.verifyPeer(new Uint8Array(raw), { remote, outbound: c.outbound });
      } catch (e) {
        refusal = `verifyPeer threw: ${asError(e).message}`;
      }
    }
    if (refusal !== undefined) {
      const err = new PeerCertificateError(refusal);
      if (!c.outbound) this.options.onError?.(`inbound link from ${remote.host}:${remote.port}`, err);
      s.destroy(err);
      return;
    }
    c.open = true;
    c.info = { id: c.id, local, remote, outbound: c.outbound, peerCertificate: new Uint8Array(raw!) };
    const info = c.info;
    this.emit((u) => u.onLinkOpened(info));
  }

  private wire(c: Conn): void {
    const s: Socket = c.socket;
    s.setNoDelay(true);
    s.on('data', (d: Buffer) => {
      if (c.open) this.emit((u) => u.onLinkData(c.id, new Uint8Array(d.buffer, d.byteOffset, d.length)));
    });
    let error: Error | undefined;
    s.on('error', (e) => {
      error ??= e;
    });
    s.on('end', () => {
      if (c.closeTimer === undefined) s.end(); // half-close from the peer: finish ours
    });
    s.on('close', () => {
      if (c.closeTimer !== undefined) clearTimeout(c.closeTimer);
      if (this.conns.get(c.id) !== c) return;
      this.conns.delete(c.id);
      if (c.open) this.emit((u) => u.onLinkClosed(c.id, error));
      else if (c.outbound) this.emit((u) => u.onLinkFailed(c.id, error ?? new Error('connection closed before the TLS handshake completed')));
    });
  }

  private emit(fn: (u: LinkDriverUser) => void): void {
    if (this.down || this.user === undefined) return;
    fn(this.user);
  }
}
