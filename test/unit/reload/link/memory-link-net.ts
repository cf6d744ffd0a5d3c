/**
 * An in-test network of LinkDrivers: events are queued and delivered only by `pump()`, so tests
 * decide exactly when bytes arrive (and can drop them: `blackhole`).
 */
import type { DriverLink, LinkDriver, LinkDriverUser, LinkEndpoint } from '../../../../src/reload/link/link-driver.js';

interface Half {
  id: string;
  driver: MemoryLinkDriver;
  peer: Half | undefined;
  open: boolean;
  local: LinkEndpoint;
  remote: LinkEndpoint;
}

export class MemoryLinkNet {
  private readonly queue: Array<() => void> = [];
  readonly listeners = new Map<string, MemoryLinkDriver>();
  /** Link ids whose writes are dropped. */
  readonly blackholed = new Set<string>();
  private nextId = 0;
  private nextPort = 40000;

  driver(host = '10.0.0.1'): MemoryLinkDriver {
    return new MemoryLinkDriver(this, host);
  }

  enqueue(fn: () => void): void {
    this.queue.push(fn);
  }

  newId(): string {
    return `m${this.nextId++}`;
  }

  ephemeralPort(): number {
    return this.nextPort++;
  }

  /** Delivers queued events (and those they cause) until none is left; returns how many. */
  pump(limit = 100_000): number {
    let n = 0;
    while (this.queue.length > 0 && n < limit) {
      this.queue.shift()!();
      n++;
    }
    return n;
  }
}

export class MemoryLinkDriver implements LinkDriver {
  user: LinkDriverUser | undefined;
  readonly halves = new Map<string, Half>();
  readonly written: Array<{ id: string; data: Uint8Array }> = [];
  private endpoint: LinkEndpoint | undefined;

  constructor(
    private readonly net: MemoryLinkNet,
    private readonly host: string,
  ) {}

  setUser(user: LinkDriverUser): void {
    this.user = user;
  }

  listen(host: string, port: number): Promise<LinkEndpoint> {
    const ep = { host, port: port === 0 ? this.net.ephemeralPort() : port };
    this.endpoint = ep;
    this.net.listeners.set(`${ep.host}:${ep.port}`, this);
    return Promise.resolve(ep);
  }

  connect(remote: LinkEndpoint): string {
    const id = this.net.newId();
    const local = { host: this.host, port: this.net.ephemeralPort() };
    const mine: Half = { id, driver: this, peer: undefined, open: false, local, remote };
    this.halves.set(id, mine);
    this.net.enqueue(() => {
      const server = this.net.listeners.get(`${remote.host}:${remote.port}`);
      if (server === undefined || !this.halves.has(id)) {
        this.halves.delete(id);
        this.user?.onLinkFailed(id, new Error('ECONNREFUSED'));
        return;
      }
      const theirs: Half = { id: this.net.newId(), driver: server, peer: mine, open: true, local: remote, remote: local };
      mine.peer = theirs;
      mine.open = true;
      server.halves.set(theirs.id, theirs);
      server.user?.onLinkOpened(view(theirs, false));
      this.user?.onLinkOpened(view(mine, true));
    });
    return id;
  }

  write(id: string, data: Uint8Array): void {
    const h = this.halves.get(id);
    if (h === undefined || !h.open) return;
    this.written.push({ id, data: data.slice() });
    if (this.net.blackholed.has(id)) return;
    const peer = h.peer;
    const copy = data.slice();
    this.net.enqueue(() => {
      if (peer !== undefined && peer.open) peer.driver.user?.onLinkData(peer.id, copy);
    });
  }

  close(id: string): void {
    const h = this.halves.get(id);
    if (h === undefined) return;
    this.halves.delete(id);
    h.open = false;
    this.net.enqueue(() => this.user?.onLinkClosed(id, undefined));
    const p = h.peer;
    if (p !== undefined && p.open) {
      p.open = false;
      p.driver.halves.delete(p.id);
      this.net.enqueue(() => p.driver.user?.onLinkClosed(p.id, undefined));
    }
  }

  /** Delivers bytes as if the peer of `id` had sent them. */
  inject(id: string, data: Uint8Array): void {
    this.net.enqueue(() => this.user?.onLinkData(id, data));
  }

  shutdown(): Promise<void> {
    for (const id of [...this.halves.keys()]) this.close(id);
    if (this.endpoint !== undefined) this.net.listeners.delete(`${this.endpoint.host}:${this.endpoint.port}`);
    this.user = undefined;
    return Promise.resolve();
  }
}

function view(h: Half, outbound: boolean): DriverLink {
  return { id: h.id, local: h.local, remote: h.remote, outbound };
}
