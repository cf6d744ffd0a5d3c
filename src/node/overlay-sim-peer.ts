/**
 * The real overlay in the simulator: each simulated peer is an OverlayNode on a LinkLayer
 * (RFC 6940 §6.6 framing, ACKs, keepalives) over the simulator's stream links, with the
 * credential exchange standing in for TLS. Messages are not signed here (UnsignedSecurity):
 * the simulator measures routing and topology maintenance, not cryptography.
 */
import { LinkLayer } from '../reload/link/index.js';
import type { LinkLayerOptions } from '../reload/link/index.js';
import { MessageCode, encodePingReq } from '../reload/codec/index.js';
import { OverlayNode } from '../reload/overlay/overlay-node.js';
import type { OverlayOptions } from '../reload/overlay/overlay-types.js';
import { UnsignedSecurity } from '../reload/overlay/unsigned-security.js';
import { IdentityHelloDriver } from '../sim/identity-hello-driver.js';
import type { SimPeer, SimPeerContext, SimPeerFactory } from '../sim/sim-peer.js';
import type { LinkEndpoint } from '../reload/link/link-driver.js';

export interface OverlaySimPeerOptions {
  overlay?: Partial<OverlayOptions>;
  links?: LinkLayerOptions;
}

const PING = encodePingReq({ padding: new Uint8Array(0) });

export function createOverlaySimPeerFactory(o: OverlaySimPeerOptions = {}): SimPeerFactory {
  return (ctx: SimPeerContext): SimPeer => new OverlaySimPeer(ctx, o);
}

class OverlaySimPeer implements SimPeer {
  readonly nodeId: Uint8Array;
  private readonly node: OverlayNode;
  private readonly links: LinkLayer;

  constructor(
    private readonly ctx: SimPeerContext,
    o: OverlaySimPeerOptions,
  ) {
    this.nodeId = ctx.random.bytes(o.overlay?.nodeIdLength ?? 16);
    this.links = new LinkLayer({ driver: new IdentityHelloDriver(ctx.driver, this.nodeId), clock: ctx.clock }, o.links ?? {});
    this.node = new OverlayNode({ clock: ctx.clock, random: ctx.random, links: this.links, security: new UnsignedSecurity(this.nodeId.length) }, this.nodeId, {
      overlayName: 'sim.p2psip',
      ...o.overlay,
    });
  }

  start(bootstrap: LinkEndpoint[]): Promise<void> {
    return this.node.start({ host: this.ctx.host, port: 6084 }, bootstrap);
  }

  endpoint(): LinkEndpoint {
    return this.node.endpoint() ?? { host: this.ctx.host, port: 6084 };
  }

  leave(): Promise<void> {
    return this.node.leave();
  }

  crash(): void {
    this.node.crash();
  }

  async lookup(resourceId: Uint8Array) {
    const a = await this.node.requestResource(resourceId, MessageCode.ping_req, PING);
    if (!a.ok) return { ok: false as const, reason: a.errorCode === 0 ? a.info : `error ${a.errorCode}: ${a.info}` };
    if (a.responder === undefined) return { ok: false as const, reason: 'no responder' };
    return { ok: true as const, responder: a.responder, hops: a.hops };
  }

  counters(): { bytesSent: number; maintenanceBytesSent: number } {
    const c = this.node.counters;
    // the 9-byte ACK frame (RFC 6940 §6.6.2) sent for each maintenance message received is maintenance too
    return { bytesSent: this.links.totals().bytesOut, maintenanceBytesSent: c.maintenanceBytesOut + 9 * c.maintenanceMessagesIn };
  }
}
