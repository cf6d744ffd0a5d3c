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
  /** When the link came up (clock ms). */
  upAt: number;
}

/**
 * The Connection Table: links keyed by link id and by Node-ID. One link per Node-ID is kept
 * (a newer link for the same node replaces the older one, which the caller closes; the caller
 * decides which of two links survives, see {@link keepsExistingLink}).
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

/**
 * Two nodes that Attach to each other at the same time (both learnt of the other from the same
 * Update) get two links, one opened by each. Each end sees them come up in its own order (a TLS
 * client finishes its handshake before the server does), so "the newer link wins" can make each
 * end keep a different link and close the other: both links die, both ends lose each other, and
 * the next Updates make them Attach again — a loop seen at 100 peers, every few hundred ms.
 * Within `windowMs` of the first link, links opened from opposite ends are decided the same way at
 * both ends: the one opened by the smaller Node-ID survives. Otherwise (a reconnection from the
 * same end, a node restarted long after the old link came up, an existing link late with its ACKs)
 * the newer link wins.
 * @returns true when `existing` stays and the link that just came up is to be closed.
 */
export function keepsExistingLink(existing: Connection, newOutbound: boolean, self: bigint, peer: bigint, now: number, windowMs: number): boolean {
  if (existing.outbound === newOutbound || existing.suspect || now - existing.upAt >= windowMs) return false;
  // existing.outbound: we opened it; it survives when we are the smaller Node-ID
  return existing.outbound ? self < peer : peer < self;
}
