/**
 * An in-memory {@link TransportDriver}: drivers created by one {@link MemoryNetwork} reach each
 * other's listeners in the same process, with no sockets and no timers. Events are queued and
 * delivered in FIFO order by `network.flush()` (default) or on a microtask (`delivery: 'microtask'`).
 * For unit tests.
 *
 * Each driver owns host addresses (default `198.18.x.y` and `2001:db8::n`, benchmarking and
 * documentation ranges); a listener on `0.0.0.0` / `::` accepts traffic for those hosts.
 */
import type { DriverConnection, StreamProtocol, TransportDriver, TransportDriverUser } from '../../../src/sip/transport/transport-driver.js';
import { TransportError } from '../../../src/sip/transport/transport-error.js';
import type { TransportAddress, TransportProtocol } from '../../../src/sip/transport/sip-transport.js';

export interface MemoryNetworkOptions {
  /** 'manual': events wait for `flush()` (default). 'microtask': flushed on a queued microtask. */
  delivery?: 'manual' | 'microtask';
  /** Stream writes are cut into chunks of at most this many bytes (exercises framing). Default: no cut. */
  maxChunkBytes?: number;
  /** First port handed out for port 0. Default 40000. */
  firstEphemeralPort?: number;
  /**
   * tls/ws/wss connections are accepted and never finish their handshake (a client that sends no
   * ClientHello or no upgrade request): neither end sees them open. Default false.
   */
  stallHandshakes?: boolean;
}

export interface MemoryDriverOptions {
  /** Host addresses of this driver (sources of its packets and connections). */
  hosts?: string[];
}

/** Returns false to drop the datagram (loss models in tests). */
export type DatagramFilter = (from: TransportAddress, to: TransportAddress, data: Uint8Array) => boolean;

interface End {
  readonly driver: MemoryDriver;
  readonly info: DriverConnection;
  peer: End | undefined;
  open: boolean;
}

const WILDCARDS = new Set(['0.0.0.0', '::']);

function family(host: string): 4 | 6 {
  return host.includes(':') ? 6 : 4;
}

function key(protocol: TransportProtocol, host: string, port: number): string {
  return `${protocol}|${host.toLowerCase()}|${port}`;
}

export class MemoryNetwork {
  private readonly queue: Array<() => void> = [];
  private head = 0;
  private scheduled = false;
  private readonly delivery: 'manual' | 'microtask';
  readonly maxChunkBytes: number;
  private nextPort: number;
  private driverCount = 0;
  private connCount = 0;
  /** Exact (non-wildcard) listeners. */
  readonly exact = new Map<string, MemoryDriver>();
  /** Which driver owns a host address. */
  readonly owners = new Map<string, MemoryDriver>();
  datagramFilter: DatagramFilter | undefined;
  /** See {@link MemoryNetworkOptions.stallHandshakes}; may be changed between connects. */
  stallHandshakes: boolean;

  constructor(options: MemoryNetworkOptions = {}) {
    this.stallHandshakes = options.stallHandshakes ?? false;
    this.delivery = options.delivery ?? 'manual';
    this.maxChunkBytes = options.maxChunkBytes ?? Infinity;
    this.nextPort = options.firstEphemeralPort ?? 40000;
  }

  createDriver(options: MemoryDriverOptions = {}): MemoryDriver {
    const k = ++this.driverCount;
    const hosts = options.hosts ?? [`198.${18 + ((k >> 16) & 1)}.${(k >> 8) & 255}.${k & 255}`, `2001:db8::${k.toString(16)}`];
    const d = new MemoryDriver(this, hosts);
    for (const h of hosts) if (!this.owners.has(h.toLowerCase())) this.owners.set(h.toLowerCase(), d);
    return d;
  }

  /** Events waiting for delivery. */
  get pending(): number {
    return this.queue.length - this.head;
  }

  /**
   * Delivers queued events, including those queued while delivering, until none is left or
   * `maxEvents` were delivered. Returns how many were delivered.
   */
  flush(maxEvents = 1_000_000): number {
    let n = 0;
    while (this.head < this.queue.length && n < maxEvents) {
      const task = this.queue[this.head]!;
      this.queue[this.head++] = noop;
      n++;
      task();
    }
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    }
    return n;
  }

  /** @internal */
  enqueue(task: () => void): void {
    this.queue.push(task);
    if (this.delivery === 'microtask' && !this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => {
        this.scheduled = false;
        this.flush();
      });
    }
  }

  /** @internal */
  allocatePort(protocol: TransportProtocol, host: string): number {
    for (let i = 0; i < 65536; i++) {
      const p = this.nextPort;
      this.nextPort = this.nextPort >= 65535 ? 1024 : this.nextPort + 1;
      if (!this.exact.has(key(protocol, host, p))) return p;
    }
    throw new TransportError('TRANSPORT_ADDRESS_IN_USE', 'no free port left');
  }

  /** @internal */
  nextConnectionId(): string {
    return `mem-${++this.connCount}`;
  }

  /** @internal The driver listening for `to`, and the listener address it bound. */
  resolve(to: TransportAddress): { driver: MemoryDriver; listener: TransportAddress } | undefined {
    const exact = this.exact.get(key(to.protocol, to.host, to.port));
    if (exact !== undefined) return { driver: exact, listener: { ...to } };
    const owner = this.owners.get(to.host.toLowerCase());
    if (owner === undefined) return undefined;
    const listener = owner.wildcardListener(to.protocol, family(to.host), to.port);
    return listener === undefined ? undefined : { driver: owner, listener };
  }
}

function noop(): void {}

export class MemoryDriver implements TransportDriver {
  private user: TransportDriverUser | undefined;
  private readonly listeners: TransportAddress[] = [];
  private readonly ends = new Map<string, End>();
  private down = false;
  /** Ids given by `connect` whose connection is not made yet (close() cancels them). */
  private readonly connecting = new Set<string>();
  /** Both ends of connections stuck in their handshake (stallHandshakes): id → the other end. */
  private readonly handshaking = new Map<string, { driver: MemoryDriver; id: string }>();

  /** Use {@link MemoryNetwork.createDriver}. */
  constructor(
    private readonly network: MemoryNetwork,
    readonly hosts: readonly string[],
  ) {}

  setUser(user: TransportDriverUser): void {
    this.user = user;
  }

  listen(protocol: TransportProtocol, host: string, port: number): Promise<TransportAddress> {
    if (this.down) return Promise.reject(new TransportError('TRANSPORT_CLOSED', 'driver is shut down'));
    const h = host.toLowerCase();
    const wildcard = WILDCARDS.has(h);
    if (!wildcard && this.network.owners.get(h) !== this && this.network.owners.has(h)) {
      return Promise.reject(new TransportError('TRANSPORT_BAD_ADDRESS', `${host} belongs to another driver`));
    }
    const p = port === 0 ? this.network.allocatePort(protocol, h) : port;
    const addr: TransportAddress = { protocol, host: h, port: p };
    const k = key(protocol, h, p);
    const taken = wildcard ? this.wildcardListener(protocol, family(h), p) !== undefined : this.network.exact.has(k);
    if (taken) return Promise.reject(new TransportError('TRANSPORT_ADDRESS_IN_USE', `${protocol} ${host}:${p} in use`));
    if (!wildcard) {
      this.network.exact.set(k, this);
      if (!this.network.owners.has(h)) this.network.owners.set(h, this);
    }
    this.listeners.push(addr);
    return Promise.resolve({ ...addr });
  }

  /** @internal */
  wildcardListener(protocol: TransportProtocol, fam: 4 | 6, port: number): TransportAddress | undefined {
    return this.listeners.find((l) => l.protocol === protocol && l.port === port && WILDCARDS.has(l.host) && family(l.host) === fam);
  }

  sendDatagram(from: TransportAddress, to: TransportAddress, data: Uint8Array, onError?: (error: Error) => void): void {
    const copy = data.slice();
    const src: TransportAddress = { protocol: 'udp', host: this.sourceHost(from.host, to.host), port: from.port };
    this.network.enqueue(() => {
      if (this.down) return;
      const filter = this.network.datagramFilter;
      if (filter !== undefined && !filter(src, to, copy)) return;
      const target = this.network.resolve({ ...to, protocol: 'udp' });
      if (target === undefined) {
        onError?.(new TransportError('TRANSPORT_SEND_FAILED', `udp ${to.host}:${to.port} unreachable`));
        return;
      }
      target.driver.deliverNow((u) => u.onDatagram({ ...target.listener }, { ...src }, copy));
    });
  }

  connect(remote: TransportAddress & { protocol: StreamProtocol }): string {
    const id = this.network.nextConnectionId();
    const to = { ...remote };
    this.connecting.add(id);
    this.network.enqueue(() => {
      if (this.down) return;
      const cancelled = !this.connecting.delete(id);
      const target = this.network.resolve(to);
      if (cancelled) {
        this.deliverNow((u) => u.onConnectionFailed(id, new TransportError('TRANSPORT_CONNECT_FAILED', 'closed while connecting')));
        return;
      }
      if (target === undefined || target.driver.down) {
        this.deliverNow((u) => u.onConnectionFailed(id, new TransportError('TRANSPORT_CONNECT_FAILED', `${to.protocol} ${to.host}:${to.port} refused`)));
        return;
      }
      const host = this.sourceHost(undefined, to.host);
      const local: TransportAddress = { protocol: to.protocol, host, port: this.network.allocatePort(to.protocol, host) };
      const mine: End = { driver: this, info: { id, protocol: to.protocol, local, remote: to, outbound: true }, peer: undefined, open: true };
      const theirsId = this.network.nextConnectionId();
      const theirs: End = {
        driver: target.driver,
        info: { id: theirsId, protocol: to.protocol, local: { ...to }, remote: { ...local }, outbound: false },
        peer: mine,
        open: true,
      };
      let accepted = true;
      target.driver.deliverNow((u) => {
        accepted = u.onConnectionAccepted?.({ id: theirsId, protocol: to.protocol, listener: { ...target.listener }, remote: { ...local } }) ?? true;
      });
      if (!accepted) {
        // refused at the accept: a tcp client saw its connection made and closed at once; a handshake fails
        if (to.protocol !== 'tcp') return this.deliverNow((u) => u.onConnectionFailed(id, new TransportError('TRANSPORT_CONNECT_FAILED', 'closed by the server')));
        this.ends.set(id, mine);
        this.deliverNow((u) => u.onConnectionOpened(mine.info));
        this.end(id, new TransportError('TRANSPORT_CONNECTION_CLOSED', 'connection reset'));
        return;
      }
      if (this.network.stallHandshakes && to.protocol !== 'tcp') {
        this.handshaking.set(id, { driver: target.driver, id: theirsId });
        target.driver.handshaking.set(theirsId, { driver: this, id });
        return;
      }
      mine.peer = theirs;
      this.ends.set(id, mine);
      target.driver.ends.set(theirsId, theirs);
      target.driver.deliverNow((u) => u.onConnectionOpened(theirs.info));
      this.deliverNow((u) => u.onConnectionOpened(mine.info));
    });
    return id;
  }

  /** Ids of this driver's connections stuck in their handshake (stallHandshakes). */
  handshakingConnections(): string[] {
    return [...this.handshaking.keys()];
  }

  write(id: string, data: Uint8Array, binary = false): void {
    const end = this.ends.get(id);
    const peer = end?.peer;
    if (end === undefined || !end.open || peer === undefined) return;
    if (end.info.protocol === 'ws' || end.info.protocol === 'wss') {
      const copy = data.slice();
      this.network.enqueue(() => {
        if (peer.open) peer.driver.deliverNow((u) => u.onWsMessage(peer.info.id, copy, binary));
      });
      return;
    }
    const step = Math.max(1, Math.min(this.network.maxChunkBytes, data.length));
    for (let i = 0; i < data.length; i += step) {
      const chunk = data.slice(i, i + step);
      this.network.enqueue(() => {
        if (peer.open) peer.driver.deliverNow((u) => u.onStreamData(peer.info.id, chunk));
      });
    }
  }

  close(id: string): void {
    if (this.connecting.delete(id)) return;
    const other = this.handshaking.get(id);
    if (other !== undefined) {
      // a connection in its handshake is destroyed: both ends see it fail
      this.handshaking.delete(id);
      other.driver.handshaking.delete(other.id);
      const error = new TransportError('TRANSPORT_CONNECT_FAILED', 'closed during the handshake');
      this.emit((u) => u.onConnectionFailed(id, error));
      other.driver.emit((u) => u.onConnectionFailed(other.id, error));
      return;
    }
    this.end(id, undefined);
  }

  /** Aborts a connection: both ends see it closed with an error (a TCP reset). */
  reset(id: string): void {
    this.end(id, new TransportError('TRANSPORT_CONNECTION_CLOSED', 'connection reset'));
  }

  /** Ids of this driver's open connections. */
  openConnections(): DriverConnection[] {
    return [...this.ends.values()].filter((e) => e.open).map((e) => e.info);
  }

  unlisten(address: TransportAddress): Promise<void> {
    const h = address.host.toLowerCase();
    const i = this.listeners.findIndex((l) => l.protocol === address.protocol && l.host === h && l.port === address.port);
    if (i < 0) return Promise.resolve();
    this.listeners.splice(i, 1);
    const k = key(address.protocol, h, address.port);
    if (this.network.exact.get(k) === this) this.network.exact.delete(k);
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    for (const id of [...this.handshaking.keys()]) this.close(id);
    for (const id of [...this.ends.keys()]) this.end(id, undefined);
    for (const l of this.listeners) {
      const k = key(l.protocol, l.host, l.port);
      if (this.network.exact.get(k) === this) this.network.exact.delete(k);
    }
    this.listeners.length = 0;
    this.down = true;
    return Promise.resolve();
  }

  private end(id: string, error: Error | undefined): void {
    const end = this.ends.get(id);
    if (end === undefined || !end.open) return;
    end.open = false;
    this.ends.delete(id);
    this.emit((u) => u.onConnectionClosed(id, error));
    const peer = end.peer;
    if (peer === undefined) return;
    // Queued after the writes already in flight, so the peer receives them first.
    this.network.enqueue(() => {
      if (!peer.open) return;
      peer.open = false;
      peer.driver.ends.delete(peer.info.id);
      peer.driver.deliverNow((u) => u.onConnectionClosed(peer.info.id, error));
    });
  }

  /** Queues a call to this driver's user. @internal */
  emit(call: (user: TransportDriverUser) => void): void {
    this.network.enqueue(() => this.deliverNow(call));
  }

  /** Calls this driver's user now (from inside a queued task). @internal */
  deliverNow(call: (user: TransportDriverUser) => void): void {
    if (!this.down && this.user !== undefined) call(this.user);
  }

  private sourceHost(bound: string | undefined, toHost: string): string {
    if (bound !== undefined && !WILDCARDS.has(bound)) return bound;
    const fam = family(toHost);
    return this.hosts.find((h) => family(h) === fam) ?? this.hosts[0] ?? (fam === 6 ? '::1' : '127.0.0.1');
  }
}
