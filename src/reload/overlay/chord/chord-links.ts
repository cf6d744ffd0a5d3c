/**
 * The links of CHORD-RELOAD: which connections carry routing state, Attach to a node source-routed
 * through a peer that knows it (RFC 6940 §10.6), deduplicated per node, and a connection to any
 * bootstrap peer (§10.5 step 1, §10.7.4.4).
 */
import type { Destination } from '../../codec/index.js';
import type { LinkEndpoint } from '../../link/link-driver.js';
import type { ChordHost } from './chord-host.js';

/** What the links need from the node. */
export type ChordLinksHost = Pick<ChordHost, 'ring' | 'random' | 'conns' | 'attach' | 'connectBootstrap'>;

export class ChordLinks {
  private readonly attaching = new Map<bigint, Promise<bigint | undefined>>();
  private bootstrap: readonly LinkEndpoint[] = [];

  constructor(private readonly host: ChordLinksHost) {}

  /** The overlay's bootstrap peers (set when joining). */
  setBootstrap(bootstrap: readonly LinkEndpoint[]): void {
    this.bootstrap = bootstrap;
  }

  hasBootstrap(): boolean {
    return this.bootstrap.length > 0;
  }

  /** Attach to node `x`, source-routed through `via` when given (§10.6); deduplicated per node. */
  attachTo(x: bigint, via: bigint | undefined): Promise<bigint | undefined> {
    if (this.host.conns.usable(x) !== undefined) {
      this.markRoutable(x);
      return Promise.resolve(x);
    }
    const inFlight = this.attaching.get(x);
    if (inFlight !== undefined) return inFlight;
    const ring = this.host.ring;
    const dest: Destination[] = via !== undefined && via !== x && this.host.conns.usable(via) !== undefined ? [{ type: 'node', nodeId: ring.toBytes(via) }, { type: 'node', nodeId: ring.toBytes(x) }] : [{ type: 'node', nodeId: ring.toBytes(x) }];
    const p = this.host.attach(dest).then((got) => {
      this.attaching.delete(x);
      if (got === x) this.markRoutable(x);
      return got === x ? x : undefined;
    });
    this.attaching.set(x, p);
    return p;
  }

  /** Connect to the bootstrap peers in random order; the Node-ID of the first that answers. */
  async connectAnyBootstrap(): Promise<bigint | undefined> {
    const order = [...this.bootstrap];
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(this.host.random.float() * (i + 1));
      [order[i], order[j]] = [order[j] as LinkEndpoint, order[i] as LinkEndpoint];
    }
    for (const ep of order) {
      const id = await this.host.connectBootstrap(ep);
      if (id !== undefined) return id;
    }
    return undefined;
  }

  markRoutable(id: bigint): void {
    const c = this.host.conns.forNode(id);
    if (c !== undefined) c.routable = true;
  }

  routableConnected(): bigint[] {
    const out: bigint[] = [];
    for (const c of this.host.conns.all()) if (c.nodeId !== undefined && c.routable && !c.suspect) out.push(c.nodeId);
    return out;
  }
}
