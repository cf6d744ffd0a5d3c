/**
 * What a running peer tells its observers (issue 17): the metrics, the dashboard's live stream, the
 * logs and the library API subscribe here; the SIP front and the usages publish without knowing them
 * (lib/event-hub.ts). The overlay's own events (links, neighbours, joins) stay on
 * `OverlayNode.events`; this hub carries what happens at the SIP side of a peer.
 *
 * Payloads are plain data (strings and numbers), small, and built only when somebody listens
 * (`hasListeners`), so the hot path pays nothing for an unobserved peer.
 */
import type { EventSource } from '../lib/event-hub.js';

/** A SIP request that reached the SIP front from the network (before authentication). */
export interface SipRequestEvent {
  method: string;
  callId: string;
  /** Transport it came on: udp, tcp, tls, ws, wss, or `channel` (a SIP channel from another peer). */
  transport: string;
  /** Source address, `host:port`. */
  source: string;
}

/** A final response the SIP front sent or forwarded upstream for a request (one per server transaction). */
export interface SipResponseEvent {
  method: string;
  status: number;
  callId: string;
  /** ms from the request's arrival to this response. */
  elapsedMs: number;
}

/** A binding at this peer's registrar changed. */
export interface RegistrationEvent {
  aor: string;
  contact: string;
  /** Seconds left; 0 when removed or expired. */
  expires: number;
  action: 'added' | 'refreshed' | 'removed' | 'expired';
}

/** A call (INVITE dialog) proxied by this peer changed state. */
export interface CallEvent {
  callId: string;
  from: string;
  to: string;
  state: 'started' | 'ringing' | 'answered' | 'ended' | 'failed';
  /** Final status, for answered/failed. */
  status?: number;
  /** Why it failed (reason phrase or Reason header), for failed. */
  reason?: string;
}

export interface PeerEventMap {
  'sip.request': SipRequestEvent;
  'sip.response': SipResponseEvent;
  registration: RegistrationEvent;
  call: CallEvent;
}

/** The subscribing side, as observers get it. */
export type PeerEvents = EventSource<PeerEventMap>;
