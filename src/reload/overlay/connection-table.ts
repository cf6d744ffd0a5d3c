import type { LinkEndpoint } from '../link/link-driver.js';

/** One row of the Connection Table (RFC 6940 §3.3, §6.5): an overlay link and the node on it. */
export interface Connection {
  linkId: string;
  remote: LinkEndpoint;
  outbound: boolean;
  /** Node-ID the peer uses on this link (from its certificate / its Attach); undefined until known. */
  nodeId: bigint | undefined;
  /** The node said it is a peer that may be routed through (Update peer_ready / neighbours). */
  routable: boolean;
  /** Late with ACKs: not used for routing until it recovers. */
  suspect: boolean;
  lastUsed: number;
}

/**
 * The Connection Table: links keyed by link id and by Node-ID. One link per Node-ID is kept
 * (a newer link for the same node replaces the older one, which the caller closes).
 */
export class ConnectionTable {
  private readonly byLink = new Map<string, Connection>();
  private readonly byNode = new Map<bigint, Connection>();

  get size(): number {
    return this.byLink.size;
  }

  add(c: Connection): void {
    this.byLink.set(c.linkId, c);
  }

  get(linkId: string): Connection | undefined {
    return this.byLink.get(linkId);
  }

  forNode(id: bigint): Connection | undefined {
    return this.byNode.get(id);
  }

  /** Binds `linkId` to `nodeId`; returns the link previously bound to that node (to be closed), if another. */
  bind(linkId: string, nodeId: bigint): Connection | undefined {
    const c = this.byLink.get(linkId);
    if (c === undefined) return undefined;
    const old = this.byNode.get(nodeId);
    c.nodeId = nodeId;
    this.byNode.set(nodeId, c);
    return old !== undefined && old !== c ? old : undefined;
  }

  remove(linkId: string): Connection | undefined {
    const c = this.byLink.get(linkId);
    if (c === undefined) return undefined;
    this.byLink.delete(linkId);
    if (c.nodeId !== undefined && this.byNode.get(c.nodeId) === c) this.byNode.delete(c.nodeId);
    return c;
  }

  /** Usable connection to a node: bound, not suspect. */
  usable(id: bigint): Connection | undefined {
    const c = this.byNode.get(id);
    return c !== undefined && !c.suspect ? c : undefined;
  }

  nodes(): IterableIterator<bigint> {
    return this.byNode.keys();
  }

  all(): IterableIterator<Connection> {
    return this.byLink.values();
  }
}
