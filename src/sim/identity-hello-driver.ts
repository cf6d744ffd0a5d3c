/**
 * Stands in for the certificate exchange of a TLS handshake in the simulator: each side of a new
 * link first sends its credential (the Node-ID) and the link is reported open, with that credential
 * as `peerCertificate`, only once the other side's has arrived — one extra one-way delay, as a
 * handshake costs. Everything after passes through unchanged.
 */
import type { DriverLink, LinkDriver, LinkDriverUser, LinkEndpoint } from '../reload/link/link-driver.js';

interface Pending {
  link: DriverLink;
  got: Uint8Array;
}

export class IdentityHelloDriver implements LinkDriver, LinkDriverUser {
  private user: LinkDriverUser | undefined;
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly inner: LinkDriver,
    private readonly credential: Uint8Array,
  ) {
    if (credential.length === 0 || credential.length > 255) throw new RangeError('credential must be 1..255 bytes');
    inner.setUser(this);
  }

  setUser(user: LinkDriverUser): void {
    this.user = user;
  }

  listen(host: string, port: number): Promise<LinkEndpoint> {
    return this.inner.listen(host, port);
  }

  connect(remote: LinkEndpoint): string {
    return this.inner.connect(remote);
  }

  write(id: string, data: Uint8Array): void {
    // (pending is empty between handshakes: no lookup per frame then)
    if (this.pending.size === 0 || !this.pending.has(id)) this.inner.write(id, data);
  }

  close(id: string): void {
    this.inner.close(id);
  }

  shutdown(): Promise<void> {
    this.pending.clear();
    return this.inner.shutdown();
  }

  onLinkOpened(link: DriverLink): void {
    const hello = new Uint8Array(1 + this.credential.length);
    hello[0] = this.credential.length;
    hello.set(this.credential, 1);
    this.pending.set(link.id, { link, got: new Uint8Array(0) });
    this.inner.write(link.id, hello);
  }

  onLinkFailed(id: string, error: Error): void {
    this.user?.onLinkFailed(id, error);
  }

  onLinkClosed(id: string, error: Error | undefined): void {
    if (this.pending.delete(id)) {
      this.user?.onLinkFailed(id, error ?? new Error('closed during the credential exchange'));
      return;
    }
    this.user?.onLinkClosed(id, error);
  }

  onLinkData(id: string, data: Uint8Array): void {
    const p = this.pending.size === 0 ? undefined : this.pending.get(id);
    if (p === undefined) {
      this.user?.onLinkData(id, data);
      return;
    }
    const buf = new Uint8Array(p.got.length + data.length);
    buf.set(p.got, 0);
    buf.set(data, p.got.length);
    p.got = buf;
    const need = buf[0];
    if (need === undefined || buf.length < 1 + need) return;
    this.pending.delete(id);
    const peerCertificate = buf.slice(1, 1 + need);
    this.user?.onLinkOpened({ ...p.link, peerCertificate });
    const rest = buf.subarray(1 + need);
    if (rest.length > 0) this.user?.onLinkData(id, rest);
  }
}
