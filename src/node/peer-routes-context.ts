/**
 * What the HTTP route groups of issue 17 (metrics/, dashboard/, phone/) may read of the running
 * peer (peer-routes.ts gives them one).
 */
import type { Clock } from '../lib/clock.js';
import type { PeerEvents } from './peer-events.js';
import type { SipPeer } from './sip-peer.js';
import type { StatusSource } from './status-api.js';
import type { RunningOverlay } from './overlay-service.js';
import type { SipUsage } from '../usages/sip/sip-usage.js';
import type { TransportAddress } from '../sip/transport/sip-transport.js';
import type { LogTail } from './dashboard/log-tail.js';
import type { VoicemailApiSource } from './voicemail-route.js';
import type { PresenceRulesApiSource } from './presence-route.js';

/** The logging the routes use (pino's shape; run-peer.ts's Logger). */
export interface RoutesLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** What the route groups may read of the running peer. */
export interface PeerRoutesContext {
  clock: Clock;
  logger: RoutesLogger;
  /** The same source /api/status reads. */
  status: StatusSource;
  /** SIP-side events of this peer (peer-events.ts). */
  events: PeerEvents;
  sip: SipPeer;
  /** The SIP front's bound addresses (ws/wss among them when configured). */
  sipAddresses: () => readonly TransportAddress[];
  overlay: RunningOverlay | undefined;
  sipUsage: SipUsage | undefined;
  /** The SIP domain (overlay name). */
  domain: string;
  /** Where the HTTP server listens (known once bound). */
  httpAddress: () => { host: string; port: number } | undefined;
  /** The recent lines of the peer's log (dashboard/log-tail.ts), when startPeer keeps them. */
  logTail?: LogTail;
  /** Issue 16: the users' voicemail (list, download, delete), when the peer runs it. */
  voicemail?: VoicemailApiSource;
  /** Issue 16: the users' watcher rules, when the peer runs presence. */
  presenceRules?: PresenceRulesApiSource;
}

