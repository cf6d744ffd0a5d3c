/**
 * Message routing of one RELOAD node: what to do with a message by its Destination List
 * (RFC 6940 §6.1: deliver, forward, or drop), forwarding with symmetric recursive routing (§6.2:
 * TTL decremented, the previous hop appended to the Via List, §6.1.2), fragments forwarded as they
 * are and reassembled where they are delivered (§6.7), and the route cache shortcut to a known
 * owner (§10.3). Delivery to this node is in message-delivery.ts; sans-I/O.
 */
import type { Clock } from '../../lib/clock.js';
import { MessageCode, ReloadErrorCode, decodeReloadPdu, encodeReloadPdu } from '../codec/index.js';
import type { CodecOptions, Destination, ForwardingHeader, Reassembler } from '../codec/index.js';
import type { ChordTopology } from './chord/chord-topology.js';
import type { Connection, ConnectionTable } from './connection-table.js';
import { isMaintenanceCode } from './overlay-counters.js';
import type { OverlayCounters } from './overlay-counters.js';
import type { OverlayLinks, OverlayOptions } from './overlay-types.js';
import type { OwnerCache } from './owner-cache.js';
import type { Ring } from './ring.js';

/** What the router needs from its node. */
export interface OverlayRouterDeps {
  readonly ring: Ring;
  readonly id: bigint;
  readonly options: Pick<OverlayOptions, 'client' | 'routeCache'>;
  readonly clock: Clock;
  readonly links: Pick<OverlayLinks, 'send'>;
  readonly conns: ConnectionTable;
  readonly counters: OverlayCounters;
  readonly topology: Pick<ChordTopology, 'isResponsible' | 'nextHop' | 'neighbours'>;
  readonly owners: OwnerCache;
  readonly reassembler: Reassembler;
  /** The node's state is 'joined'. */
  isJoined(): boolean;
  codecOptions(): CodecOptions;
  /** The message is for this node. */
  deliver(h: ForwardingHeader, payload: Uint8Array, from: bigint | undefined): void;
  /** Drops the message, answering a request with an error (RFC 6940 §6.1.2). */
  refuse(h: ForwardingHeader, payload: Uint8Array, from: bigint | undefined, code: number, info: string): void;
}

export class OverlayRouter {
  constructor(private readonly deps: OverlayRouterDeps) {}

  /**
   * RFC 6940 §6.1: examine the first Destination List entry; deliver, forward, or drop.
   * `from` is the adjacent node the message came from (undefined: originated here).
   */
  route(h: ForwardingHeader, payload: Uint8Array, from: bigint | undefined): void {
    const d = this.deps;
    const dest = h.destinationList.slice();
    for (;;) {
      const first = dest[0];
      if (first === undefined) {
        d.counters.dropped('empty destination list');
        return;
      }
      if (first.type === 'node') {
        const id = d.ring.tryFromBytes(first.nodeId);
        if (id === undefined) return d.refuse(h, payload, from, ReloadErrorCode.InvalidMessage, 'Node-ID of the wrong length');
        if (id === d.id || id === d.ring.wildcard) {
          if (dest.length === 1) return d.deliver(h, payload, from);
          dest.shift();
          continue;
        }
        const direct = d.conns.usable(id);
        if (direct !== undefined && this.forward(h, dest, payload, from, direct)) return;
        if (d.options.client && from !== undefined) return d.counters.dropped('client does not route');
        if (d.topology.isResponsible(id) && from !== undefined) {
          return d.refuse(h, payload, from, ReloadErrorCode.NotFound, `${NOT_CONNECTED}${d.ring.hex(id)}`);
        }
        return this.forwardToward(h, dest, payload, from, id);
      }
      if (first.type === 'resource') {
        if (dest.length !== 1) return d.counters.dropped('Resource-ID not last in the destination list');
        const k = d.ring.tryFromBytes(first.resourceId);
        if (k === undefined) return d.refuse(h, payload, from, ReloadErrorCode.InvalidMessage, 'Resource-ID of the wrong length for this overlay');
        if (d.topology.isResponsible(k)) return d.deliver(h, payload, from);
        if (d.options.client && from !== undefined) return d.counters.dropped('client does not route');
        if (this.forwardToOwner(h, dest, payload, from, k)) return;
        return this.forwardToward(h, dest, payload, from, k);
      }
      return d.refuse(h, payload, from, ReloadErrorCode.InvalidMessage, 'opaque destinations are not used in this overlay');
    }
  }

  /** A fragment (RFC 6940 §6.7): forwarded as it is, or reassembled here and routed whole. */
  routeFragment(h: ForwardingHeader, payload: Uint8Array, headerLength: number, from: bigint): void {
    const d = this.deps;
    const first = h.destinationList[0];
    const local =
      h.destinationList.length === 1 &&
      first !== undefined &&
      ((first.type === 'node' && d.ring.tryFromBytes(first.nodeId) === d.id) ||
        (first.type === 'resource' && d.topology.isResponsible(d.ring.tryFromBytes(first.resourceId) ?? -1n)));
    if (!local) {
      // intermediate peers forward fragments as they are (RFC 6940 §6.7)
      this.route(h, payload, from);
      return;
    }
    const r = d.reassembler.accept({ header: h, headerLength, payload }, d.ring.hex(from));
    if (r.kind !== 'complete') return;
    const whole = decodeReloadPdu(r.message, d.codecOptions());
    if (whole.ok) this.route(whole.value.header, whole.value.payload, from);
  }

  private forwardToward(h: ForwardingHeader, dest: Destination[], payload: Uint8Array, from: bigint | undefined, target: bigint): void {
    const d = this.deps;
    // never back to a node the message already passed (its Via List): a stale routing entry then
    // costs a detour instead of a loop
    const exclude = new Set<bigint>();
    if (from !== undefined) exclude.add(from);
    for (const v of h.viaList) {
      if (v.type !== 'node') continue;
      const id = d.ring.tryFromBytes(v.nodeId);
      if (id !== undefined) exclude.add(id);
    }
    for (let attempt = 0; attempt < 3; attempt++) {
      const next = d.topology.nextHop(target, exclude);
      if (next === undefined) break;
      const c = d.conns.usable(next);
      if (c !== undefined && this.forward(h, dest, payload, from, c)) return;
      exclude.add(next);
    }
    // a peer that cannot route answers rather than staying silent (RFC 6940 §6.1.2)
    if (from !== undefined) d.refuse(h, payload, from, ReloadErrorCode.NotFound, NO_ROUTE);
    else d.counters.dropped('no route');
  }

  /**
   * A Fetch for a Resource-ID outside our neighbour stretch whose owner answered us before: straight
   * there (one hop), when the link is up and the owner is not on the Via List (a stale entry then
   * costs one hop, not a loop). Reads only: writes keep to the ring's path (RFC 6940 §10.3), which
   * ends at the peer the current ring makes responsible (with Stores shortcut too, the simulator's
   * storage-churn run lost values).
   */
  private forwardToOwner(h: ForwardingHeader, dest: Destination[], payload: Uint8Array, from: bigint | undefined, k: bigint): boolean {
    const d = this.deps;
    if (!d.options.routeCache || d.options.client || d.owners.size === 0) return false;
    if (peekCode(payload, h) !== MessageCode.fetch_req) return false;
    if (d.isJoined() && d.topology.neighbours.responsibleNeighbour(k) !== undefined) return false;
    const owner = d.owners.ownerOf(k, (id) => {
      const c = d.conns.usable(id);
      return c !== undefined && c.routable && id !== from;
    });
    if (owner === undefined) return false;
    if (onViaList(d.ring, h, owner)) return false;
    const c = d.conns.usable(owner);
    return c !== undefined && this.forward(h, dest, payload, from, c);
  }

  /** Sends to an adjacent node: TTL decremented, the previous hop appended to the Via List (§6.1.2). */
  private forward(h: ForwardingHeader, dest: Destination[], payload: Uint8Array, from: bigint | undefined, c: Connection): boolean {
    const d = this.deps;
    if (from !== undefined && h.ttl <= 0) {
      d.refuse(h, payload, from, ReloadErrorCode.TtlExceeded, 'TTL exceeded');
      return true;
    }
    if (from !== undefined && onViaList(d.ring, h, d.id)) {
      d.counters.dropped('loop');
      return true;
    }
    const out: ForwardingHeader = {
      ...h,
      ttl: from === undefined ? h.ttl : h.ttl - 1,
      destinationList: dest,
      viaList: from === undefined ? h.viaList : [...h.viaList, { type: 'node', nodeId: d.ring.toBytes(from) }],
    };
    let bytes: Uint8Array;
    try {
      bytes = encodeReloadPdu(out, payload, d.codecOptions());
    } catch {
      d.counters.dropped('message too large to forward');
      return true;
    }
    if (!d.links.send(c.linkId, bytes)) return false;
    c.lastUsed = d.clock.now();
    if (from !== undefined) d.counters.forwarded++;
    d.counters.countSent(bytes.length, isMaintenanceCode(peekCode(payload, h)));
    return true;
  }
}

/** `id` is on the message's Via List (it passed there). */
function onViaList(ring: Ring, h: ForwardingHeader, id: bigint): boolean {
  return h.viaList.some((v) => v.type === 'node' && ring.tryFromBytes(v.nodeId) === id);
}

/** Errors that intermediate peers give when they cannot route (see route() and forwardToward()). */
export function isRoutingFailure(code: number, info: string): boolean {
  return (code === ReloadErrorCode.NotFound && (info === NO_ROUTE || info.startsWith(NOT_CONNECTED))) || code === ReloadErrorCode.TtlExceeded;
}

const NO_ROUTE = 'no route toward the destination';
const NOT_CONNECTED = 'not connected here: node ';

/** The message code of an unfragmented payload (first two bytes of MessageContents), or 0. */
export function peekCode(payload: Uint8Array, h: ForwardingHeader): number {
  if (h.fragment.offset !== 0 || payload.length < 2) return 0;
  return ((payload[0] ?? 0) << 8) | (payload[1] ?? 0);
}
