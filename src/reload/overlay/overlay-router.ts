/**
 * Message routing of one RELOAD node: what to do with a message by its Destination List
 * (RFC 6940 §6.1: deliver, forward, or drop), forwarding with symmetric recursive routing (§6.2:
 * TTL decremented, the previous hop appended to the Via List, §6.1.2), fragments forwarded as they
 * are and reassembled where they are delivered (§6.7), and the route cache shortcut to a known
 * owner (§10.3). Each message gets a {@link RouteVerdict}: forwards are sent here, MessageDispatcher
 * acts on the rest (delivery to this node is in message-delivery.ts). Sans-I/O.
 */
import type { Clock } from '../../lib/clock.js';
import { MessageCode, decodeReloadPdu, encodeReloadPdu } from '../codec/index.js';
import type { CodecOptions, Destination, ForwardingHeader, Reassembler } from '../codec/index.js';
import type { ChordTopology } from './chord/chord-topology.js';
import type { Connection, ConnectionTable } from './connection-table.js';
import { isMaintenanceCode } from './overlay-counters.js';
import type { OverlayCounters } from './overlay-counters.js';
import type { OverlayLinks, OverlayOptions } from './overlay-types.js';
import type { OwnerCache } from './owner-cache.js';
import type { Ring } from './ring.js';
import type { RouteVerdict } from './route-verdict.js';
import { invalidMessage, noRoute, notConnected, ttlExceeded } from './routing-failure.js';
import type { Refusal } from './routing-failure.js';

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
}

export class OverlayRouter {
  constructor(private readonly deps: OverlayRouterDeps) {}

  /**
   * RFC 6940 §6.1: examine the first Destination List entry; deliver, forward, or drop.
   * `from` is the adjacent node the message came from (undefined: originated here).
   */
  route(h: ForwardingHeader, payload: Uint8Array, from: bigint | undefined): RouteVerdict {
    const d = this.deps;
    const dest = h.destinationList.slice();
    for (;;) {
      const first = dest[0];
      if (first === undefined) return drop('empty destination list');
      if (first.type === 'node') {
        const id = d.ring.tryFromBytes(first.nodeId);
        if (id === undefined) return refuse(h, payload, from, invalidMessage('Node-ID of the wrong length'));
        if (id === d.id || id === d.ring.wildcard) {
          if (dest.length === 1) return { kind: 'deliver', header: h, payload, from };
          dest.shift();
          continue;
        }
        const direct = d.conns.usable(id);
        const sent = direct === undefined ? undefined : this.forward(h, dest, payload, from, id, direct);
        if (sent !== undefined) return sent;
        if (d.options.client && from !== undefined) return drop('client does not route');
        if (d.topology.isResponsible(id) && from !== undefined) return refuse(h, payload, from, notConnected(d.ring.hex(id)));
        return this.forwardToward(h, dest, payload, from, id);
      }
      if (first.type === 'resource') {
        if (dest.length !== 1) return drop('Resource-ID not last in the destination list');
        const k = d.ring.tryFromBytes(first.resourceId);
        if (k === undefined) return refuse(h, payload, from, invalidMessage('Resource-ID of the wrong length for this overlay'));
        if (d.topology.isResponsible(k)) return { kind: 'deliver', header: h, payload, from };
        if (d.options.client && from !== undefined) return drop('client does not route');
        return this.forwardToOwner(h, dest, payload, from, k) ?? this.forwardToward(h, dest, payload, from, k);
      }
      return refuse(h, payload, from, invalidMessage('opaque destinations are not used in this overlay'));
    }
  }

  /** A fragment (RFC 6940 §6.7): forwarded as it is, or reassembled here and routed whole. */
  routeFragment(h: ForwardingHeader, payload: Uint8Array, headerLength: number, from: bigint): RouteVerdict {
    const d = this.deps;
    const first = h.destinationList[0];
    const local =
      h.destinationList.length === 1 &&
      first !== undefined &&
      ((first.type === 'node' && d.ring.tryFromBytes(first.nodeId) === d.id) ||
        (first.type === 'resource' && d.topology.isResponsible(d.ring.tryFromBytes(first.resourceId) ?? -1n)));
    // intermediate peers forward fragments as they are (RFC 6940 §6.7)
    if (!local) return this.route(h, payload, from);
    const r = d.reassembler.accept({ header: h, headerLength, payload }, d.ring.hex(from));
    if (r.kind !== 'complete') return { kind: 'fragment', held: r.kind === 'incomplete' };
    const whole = decodeReloadPdu(r.message, d.codecOptions());
    return whole.ok ? this.route(whole.value.header, whole.value.payload, from) : { kind: 'fragment', held: false };
  }

  private forwardToward(h: ForwardingHeader, dest: Destination[], payload: Uint8Array, from: bigint | undefined, target: bigint): RouteVerdict {
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
      const sent = c === undefined ? undefined : this.forward(h, dest, payload, from, next, c);
      if (sent !== undefined) return sent;
      exclude.add(next);
    }
    // a peer that cannot route answers rather than staying silent (RFC 6940 §6.1.2)
    return from !== undefined ? refuse(h, payload, from, noRoute()) : drop('no route');
  }

  /**
   * A Fetch for a Resource-ID outside our neighbour stretch whose owner answered us before: straight
   * there (one hop), when the link is up and the owner is not on the Via List (a stale entry then
   * costs one hop, not a loop). Reads only: writes keep to the ring's path (RFC 6940 §10.3), which
   * ends at the peer the current ring makes responsible (with Stores shortcut too, the simulator's
   * storage-churn run lost values). Undefined: not taken.
   */
  private forwardToOwner(h: ForwardingHeader, dest: Destination[], payload: Uint8Array, from: bigint | undefined, k: bigint): RouteVerdict | undefined {
    const d = this.deps;
    if (!d.options.routeCache || d.options.client || d.owners.size === 0) return undefined;
    if (peekCode(payload, h) !== MessageCode.fetch_req) return undefined;
    if (d.isJoined() && d.topology.neighbours.responsibleNeighbour(k) !== undefined) return undefined;
    const owner = d.owners.ownerOf(k, (id) => {
      const c = d.conns.usable(id);
      return c !== undefined && c.routable && id !== from;
    });
    if (owner === undefined) return undefined;
    if (onViaList(d.ring, h, owner)) return undefined;
    const c = d.conns.usable(owner);
    return c === undefined ? undefined : this.forward(h, dest, payload, from, owner, c);
  }

  /**
   * Sends to the adjacent node `to` on `c`: TTL decremented, the previous hop appended to the Via
   * List (§6.1.2). Undefined when the link does not take it (the caller tries another hop).
   */
  private forward(h: ForwardingHeader, dest: Destination[], payload: Uint8Array, from: bigint | undefined, to: bigint, c: Connection): RouteVerdict | undefined {
    const d = this.deps;
    if (from !== undefined && h.ttl <= 0) return refuse(h, payload, from, ttlExceeded());
    if (from !== undefined && onViaList(d.ring, h, d.id)) return drop('loop');
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
      return drop('message too large to forward');
    }
    if (!d.links.send(c.linkId, bytes)) return undefined;
    c.lastUsed = d.clock.now();
    if (from !== undefined) d.counters.forwarded++;
    const code = peekCode(payload, h);
    d.counters.countSent(bytes.length, isMaintenanceCode(code), code);
    return { kind: 'forward', linkId: c.linkId, to };
  }
}

function drop(reason: string): RouteVerdict {
  return { kind: 'drop', reason };
}

function refuse(header: ForwardingHeader, payload: Uint8Array, from: bigint | undefined, refusal: Refusal): RouteVerdict {
  return { kind: 'refuse', refusal, header, payload, from };
}

/** `id` is on the message's Via List (it passed there). */
function onViaList(ring: Ring, h: ForwardingHeader, id: bigint): boolean {
  return h.viaList.some((v) => v.type === 'node' && ring.tryFromBytes(v.nodeId) === id);
}

/** The message code of an unfragmented payload (first two bytes of MessageContents), or 0. */
export function peekCode(payload: Uint8Array, h: ForwardingHeader): number {
  if (h.fragment.offset !== 0 || payload.length < 2) return 0;
  return ((payload[0] ?? 0) << 8) | (payload[1] ?? 0);
}
