/**
 * The events an application subscribes to (issue 17), fed by the overlay's hub (`OverlayNode.events`:
 * state, neighbours), the peer's SIP-side hub (`RunningPeer.events`: registrations, calls) and the
 * application's user agent (requests to its users). A source is subscribed to only while the
 * application listens to an event it feeds, so an unobserved peer pays nothing (the hubs'
 * `hasListeners`).
 */
import { EventHub, type EventSource } from '../lib/event-hub.js';
import type { OverlayEventMap } from '../reload/overlay/overlay-types.js';
import type { PeerEventMap } from '../node/peer-events.js';

export type OverlayStateName = 'idle' | 'joining' | 'joined' | 'leaving' | 'left';

/** A binding at this peer's registrar changed (any phone's, the application's users' too). */
export interface RegistrationChange {
  aor: string;
  contact: string;
  /** Seconds left; 0 when removed or expired. */
  expires: number;
  action: 'added' | 'refreshed' | 'removed' | 'expired';
}

/** A call (INVITE dialog) through this peer changed state. */
export interface CallChange {
  callId: string;
  from: string;
  to: string;
  state: 'started' | 'ringing' | 'answered' | 'ended' | 'failed';
  status?: number;
  reason?: string;
}

/** A request reached one of the application's users (before its handler answers). */
export interface RequestNotice {
  method: string;
  from: string;
  to: string;
  user: string;
  callId: string;
}

export interface PeerEventMapApi {
  /** The overlay state of this peer. */
  state: { state: OverlayStateName };
  /** This peer joined the overlay (also after a rejoin). */
  joined: { nodeId: string };
  /** The neighbour table changed: Node-IDs (hex), nearest first. */
  neighbours: { successors: string[]; predecessors: string[] };
  registration: RegistrationChange;
  call: CallChange;
  request: RequestNotice;
}

export type PeerEventName = keyof PeerEventMapApi;

export interface EventSources {
  overlay: EventSource<OverlayEventMap> | undefined;
  /** Node-ID (bigint) as hex. */
  hex: (id: bigint) => string;
  nodeId: string;
  peer: EventSource<PeerEventMap>;
}

/** The application's hub; `emitRequest` is the user agent's side. */
export class ApiEvents {
  private readonly hub: EventHub<PeerEventMapApi>;
  /** Unsubscribers from the sources, per event name with listeners. */
  private readonly feeds = new Map<PeerEventName, () => void>();

  constructor(
    private readonly sources: EventSources,
    onListenerError: (event: string, err: unknown) => void,
  ) {
    this.hub = new EventHub<PeerEventMapApi>({ onListenerError });
  }

  on<K extends PeerEventName>(name: K, listener: (payload: PeerEventMapApi[K]) => void): () => void {
    if (!['state', 'joined', 'neighbours', 'registration', 'call', 'request'].includes(name)) throw new RangeError(`no event '${String(name)}' (state, joined, neighbours, registration, call, request)`);
    const off = this.hub.on(name, listener);
    if (!this.feeds.has(name)) this.feeds.set(name, this.feed(name));
    return () => {
      off();
      if (!this.hub.hasListeners(name)) {
        this.feeds.get(name)?.();
        this.feeds.delete(name);
      }
    };
  }

  private feed(name: PeerEventName): () => void {
    const { overlay, peer, hex, nodeId } = this.sources;
    switch (name) {
      case 'state':
        return overlay?.on('state', (state) => this.hub.emit('state', { state })) ?? noop;
      case 'joined':
        return overlay?.on('state', (state) => (state === 'joined' ? this.hub.emit('joined', { nodeId }) : undefined)) ?? noop;
      case 'neighbours':
        return overlay?.on('neighbours', (n) => this.hub.emit('neighbours', { successors: n.successors.map(hex), predecessors: n.predecessors.map(hex) })) ?? noop;
      case 'registration':
        return peer.on('registration', (r) => this.hub.emit('registration', { aor: r.aor, contact: r.contact, expires: r.expires, action: r.action }));
      case 'call':
        return peer.on('call', (c) => this.hub.emit('call', { ...c }));
      case 'request':
        return noop;
    }
  }

  /** The user agent: a request reached one of our users. */
  emitRequest(r: RequestNotice): void {
    if (this.hub.hasListeners('request')) this.hub.emit('request', r);
  }

  /** Drops every listener and source subscription (the peer stopped). */
  close(): void {
    for (const off of this.feeds.values()) off();
    this.feeds.clear();
  }
}

const noop = (): void => undefined;
