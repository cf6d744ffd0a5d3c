import type { DriverLink, LinkDriver, LinkDriverUser, LinkEndpoint } from '../reload/link/link-driver.js';
import type { LinkEndOwner, OwnedHost, StreamLink } from './stream-link.js';
import { SimNetworkError } from './sim-network-error.js';
import type { StreamTransport } from './stream-transport.js';

/**
 * A {@link LinkDriver} on one simulated host (src/reload/link/link-driver.ts): in-memory
 * TCP+TLS-like streams with the latency, loss and failure model of the SimNetwork. No TLS, so
 * links carry no peer certificate. Every event comes from a clock timer (never synchronously).
 */
export class SimLinkDriver implements LinkDriver, LinkEndOwner {
  readonly links = new Map<string, StreamLink>();
  private user: LinkDriverUser | undefined;
  private live = true;
  private readonly ports = new Set<number>();

  constructor(
    readonly host: OwnedHost,
    private readonly transport: StreamTransport,
  ) {
    host.owners.add(this);
  }

  get alive(): boolean {
    return this.live;
  }

  setUser(user: LinkDriverUser): void {
    this.user = user;
  }

  listen(host: string, port: number): Promise<LinkEndpoint> {
    const h = this.host;
    if (!this.live) return Promise.reject(new SimNetworkError('EINVAL', 'driver is shut down'));
    if (host !== h.address && host !== '0.0.0.0' && host !== '::') {
      return Promise.reject(new SimNetworkError('EADDRNOTAVAIL', `${host} is not an address of this host (${h.address})`));
    }
    if (!Number.isInteger(port) || port < 0 || port > 65535) return Promise.reject(new SimNetworkError('EINVAL', `bad port ${port}`));
    const p = port === 0 ? h.ephemeralPort() : port;
    if (p === 0 || h.listeners.has(p)) return Promise.reject(new SimNetworkError('EADDRINUSE', `${h.address}:${port} is in use`));
    h.listeners.set(p, this);
    this.ports.add(p);
    return Promise.resolve({ host: h.address, port: p });
  }

  connect(remote: LinkEndpoint): string {
    return this.transport.connect(this, remote);
  }

  write(id: string, data: Uint8Array): void {
    this.transport.write(this, id, data);
  }

  close(id: string): void {
    this.transport.close(this, id);
  }

  shutdown(): Promise<void> {
    if (this.live) {
      this.live = false;
      this.unbind();
      this.transport.closeAll(this);
    }
    return Promise.resolve();
  }

  kill(): void {
    this.live = false;
    this.unbind();
  }

  emitOpened(link: StreamLink, side: 0 | 1): void {
    const other = side === 0 ? 1 : 0;
    const view: DriverLink = {
      id: link.ids[side]!,
      local: { host: link.hosts[side]!.address, port: link.ports[side] },
      remote: { host: link.hosts[other]!.address, port: link.ports[other] },
      outbound: side === 0,
    };
    if (this.live) this.user?.onLinkOpened(view);
  }

  emitFailed(id: string, error: Error): void {
    if (this.live) this.user?.onLinkFailed(id, error);
  }

  emitClosed(id: string, error: Error | undefined): void {
    if (this.live) this.user?.onLinkClosed(id, error);
  }

  emitData(id: string, data: Uint8Array): void {
    if (this.live) this.user?.onLinkData(id, data);
  }

  private unbind(): void {
    for (const p of this.ports) if (this.host.listeners.get(p) === this) this.host.listeners.delete(p);
    this.ports.clear();
    this.host.owners.delete(this);
  }
}
