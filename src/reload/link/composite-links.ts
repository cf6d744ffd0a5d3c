/**
 * Two link types behind one `OverlayLinks`: the TLS-TCP-FH-NO-ICE links (LinkLayer: bootstrap
 * connections and no-ICE Attaches) and the ICE-negotiated DTLS-UDP-SR links. Both report to the
 * same LinkLayerUser (the node's ConnectionManager); a link's id tells which type owns it (the ICE
 * links' ids start with {@link ICE_LINK_PREFIX}).
 */
import type { LinkEndpoint } from './link-driver.js';
import type { LinkLayerUser } from './link-layer.js';

export const ICE_LINK_PREFIX = 'ice:';

/** What both link types offer (the overlay's OverlayLinks contract). */
export interface LinkSet {
  setUser(user: LinkLayerUser): void;
  send(linkId: string, message: Uint8Array): boolean;
  close(linkId: string): void;
  shutdown(): Promise<void>;
}

export interface StreamLinkSet extends LinkSet {
  listen(host: string, port: number): Promise<LinkEndpoint>;
  connect(remote: LinkEndpoint): string;
}

export class CompositeLinks {
  constructor(
    private readonly stream: StreamLinkSet,
    private readonly ice: LinkSet,
  ) {}

  setUser(user: LinkLayerUser): void {
    this.stream.setUser(user);
    this.ice.setUser(user);
  }

  listen(host: string, port: number): Promise<LinkEndpoint> {
    return this.stream.listen(host, port);
  }

  connect(remote: LinkEndpoint): string {
    return this.stream.connect(remote);
  }

  send(linkId: string, message: Uint8Array): boolean {
    return this.owner(linkId).send(linkId, message);
  }

  close(linkId: string): void {
    this.owner(linkId).close(linkId);
  }

  async shutdown(): Promise<void> {
    await Promise.all([this.ice.shutdown(), this.stream.shutdown()]);
  }

  private owner(linkId: string): LinkSet {
    return linkId.startsWith(ICE_LINK_PREFIX) ? this.ice : this.stream;
  }
}
