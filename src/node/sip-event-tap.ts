/**
 * What the SIP front publishes on the peer's event hub (peer-events.ts) and logs about calls, read
 * off the messages that pass its transport: each request that arrives (`sip.request`), the first
 * final response sent back for it (`sip.response`, with the time it took), the bindings of the
 * location service as they change (`registration`), and the INVITE dialogs proxied here (`call`).
 * The SIP cores know nothing of it: SipPeer hands the tap every inbound message, gives the
 * transaction layer and the proxy a transport wrapped by {@link SipEventTap.wrap}, and makes it the
 * location service's BindingObserver.
 *
 * Everything it keeps is bounded (requests awaiting their final response, calls in progress) and
 * aged out on the injected clock; nothing is parsed or kept unless somebody listens (or debug
 * logging is on, for the call lines).
 *
 * Logs (pino's shape): every line about a call carries `callId` (the SIP Call-ID), so one call can
 * be followed across the logs of the peers on its path. Each peer logs at debug when the INVITE
 * arrives and where it is forwarded; a failure is logged at info (warn for 408 and 5xx) with its
 * status and reason.
 */
import type { Clock } from '../lib/clock.js';
import type { EventHub } from '../lib/event-hub.js';
import { callId as callIdOf, cseqOf, detachString, formatUri, hasParam, isSipUri, parseNameAddr, toTag } from '../sip/message/index.js';
import type { SipMessage, SipRequest, SipResponse } from '../sip/message/sip-message.js';
import type { Binding, BindingObserver } from '../sip/core/location-service.js';
import type { InboundMessage, OutboundTarget, SipTransport, TransportAddress } from '../sip/transport/sip-transport.js';
import { PEER_MARK } from '../usages/sip/peer-binding.js';
import type { CallEvent, PeerEventMap } from './peer-events.js';

/** Requests remembered while they wait for their final response (for `sip.response`'s elapsed time). */
export const MAX_TRACKED_REQUESTS = 10_000;
/** How long a request waits for its final response before it is forgotten: 64 × T1 (RFC 3261 Timer B/F). */
export const REQUEST_TRACK_MS = 32_000;
/** Calls (INVITE dialogs) followed at once; past it the oldest is dropped (reported as ended). */
export const MAX_TRACKED_CALLS = 10_000;
/** A Call-ID or a request key longer than this is not followed (events still fire for it). */
export const MAX_TRACKED_ID_CHARS = 256;
/** Longest From/To/reason text put in an event or kept for a call. */
export const MAX_EVENT_TEXT_CHARS = 256;
/** A challenged INVITE (401/407) not sent again with credentials within this is reported failed. */
export const CHALLENGE_WAIT_MS = 32_000;
/** A call neither answered nor failed after this is reported failed: Timer C (180 s) and a margin. */
export const MAX_SETUP_MS = 200_000;
/** An answered call with no BYE seen after this is reported ended (the phones may have vanished). */
export const MAX_CALL_MS = 12 * 3600_000;
/** Least time between two sweeps of the call table. */
export const SWEEP_INTERVAL_MS = 1_000;

/** The logging the tap uses (pino's shape). */
export interface TapLogger {
  info?(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug?(obj: object, msg: string): void;
  isLevelEnabled?(level: string): boolean;
}

export interface SipEventTapDeps {
  clock: Clock;
  events: EventHub<PeerEventMap>;
  logger?: TapLogger;
  /** True when `source` is a SIP channel to another peer (its requests are reported with transport `channel`). */
  isChannel?: (source: TransportAddress) => boolean;
}

type CallState = 'started' | 'ringing' | 'answered' | 'challenged';

interface Call {
  from: string;
  to: string;
  state: CallState;
  startedAt: number;
  /** When the challenge was sent (state 'challenged'). */
  challengedAt: number;
  challengeStatus: number;
  /** The INVITE came from another peer (Request-URI marked, RFC 7904 target). */
  fromPeer: boolean;
}

const cut = (s: string): string => (s.length > MAX_EVENT_TEXT_CHARS ? `${s.slice(0, MAX_EVENT_TEXT_CHARS)}…` : s);
const hostPort = (a: TransportAddress): string => `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;

function uriOf(message: SipMessage, header: 'From' | 'To'): string {
  const v = message.headers.get(header);
  if (v === undefined) return '';
  try {
    return cut(formatUri(parseNameAddr(v, header).uri));
  } catch {
    return cut(v);
  }
}

function isMarked(request: SipRequest): boolean {
  return isSipUri(request.uri) && hasParam(request.uri.params, PEER_MARK);
}

/** The key a request and the responses sent back for it share: top Via branch, CSeq, Call-ID (RFC 3261 §17.2.3). */
function requestKey(message: SipMessage, callId: string): string | undefined {
  const via = message.headers.get('via');
  if (via === undefined) return undefined;
  const branch = /;\s*branch\s*=\s*([^;,\s]+)/i.exec(via)?.[1] ?? '';
  const cseq = cseqOf(message);
  const key = `${branch}|${cseq.seq}|${cseq.method}|${callId}`;
  return key.length > MAX_TRACKED_ID_CHARS * 2 ? undefined : key;
}

export class SipEventTap implements BindingObserver {
  /** Requests waiting for their final response: key → arrival time (insertion order = age order). */
  private readonly arrivals = new Map<string, number>();
  /** Calls followed, by Call-ID (insertion order = age order). */
  private readonly calls = new Map<string, Call>();
  private lastSweep = -Infinity;

  constructor(private readonly deps: SipEventTapDeps) {}

  /** The transport the transaction layer and the proxy send through: every message also passes here. */
  wrap(inner: SipTransport): SipTransport {
    return {
      send: (message: SipMessage, target: OutboundTarget) => {
        inner.send(message, target);
        this.guard(() => this.outbound(message, target));
      },
      isReliable: (p) => inner.isReliable(p),
      localAddress: (p) => inner.localAddress(p),
    };
  }

  /** Every message the transport layer delivers (before the transaction layer sees it). */
  inbound(inbound: InboundMessage): void {
    if (inbound.message.kind === 'request') this.guard(() => this.request(inbound, inbound.message as SipRequest));
  }

  /** Calls in progress: started, ringing or answered (a challenged INVITE waiting for its credentials is not). */
  callsInProgress(): number {
    this.sweep();
    let n = 0;
    for (const c of this.calls.values()) if (c.state !== 'challenged') n++;
    return n;
  }

  /** BindingObserver: a location service changed an AoR's bindings. */
  bindingsChanged(aor: string, before: readonly Binding[], after: readonly Binding[], now: number): void {
    const ev = this.deps.events;
    const log = this.debugLog();
    if (!ev.hasListeners('registration') && log === undefined) return;
    this.guard(() => {
      const key = (b: Binding): string => formatUri(b.contact.uri);
      const old = new Map(before.map((b) => [key(b), b] as const));
      const publish = (contact: string, expiresMs: number, action: 'added' | 'refreshed' | 'removed' | 'expired'): void => {
        const e = { aor: cut(aor), contact: cut(contact), expires: Math.max(0, Math.round(expiresMs / 1000)), action };
        ev.emit('registration', e);
        log?.(e, `registration: ${action}`);
      };
      for (const b of after) {
        const k = key(b);
        const o = old.get(k);
        old.delete(k);
        if (o === undefined) publish(k, b.expiresAt - now, 'added');
        else if (o.expiresAt !== b.expiresAt || o.cseq !== b.cseq || o.callId !== b.callId) publish(k, b.expiresAt - now, 'refreshed');
      }
      for (const [k, o] of old) publish(k, 0, o.expiresAt <= now ? 'expired' : 'removed');
    });
  }

  private request(inbound: InboundMessage, request: SipRequest): void {
    const ev = this.deps.events;
    const wantRequest = ev.hasListeners('sip.request');
    const wantResponse = ev.hasListeners('sip.response') && request.method !== 'ACK';
    const wantCalls = this.followsCalls();
    if (!wantRequest && !wantResponse && !wantCalls) return;
    const id = callIdOf(request);
    if (wantRequest) {
      const transport = this.deps.isChannel?.(inbound.source) === true ? 'channel' : inbound.source.protocol;
      ev.emit('sip.request', { method: request.method, callId: id, transport, source: hostPort(inbound.source) });
    }
    const now = this.deps.clock.now();
    if (wantResponse) this.track(request, id, now);
    if (wantCalls) this.callRequest(inbound, request, id, now);
  }

  /** Remembers when a request arrived (a retransmission keeps the first arrival). */
  private track(request: SipRequest, id: string, now: number): void {
    const key = requestKey(request, id);
    if (key === undefined || this.arrivals.has(key)) return;
    for (const [k, at] of this.arrivals) {
      if (now - at < REQUEST_TRACK_MS && this.arrivals.size < MAX_TRACKED_REQUESTS) break;
      this.arrivals.delete(k);
    }
    this.arrivals.set(key, now);
  }

  private callRequest(inbound: InboundMessage, request: SipRequest, id: string, now: number): void {
    this.sweep(now);
    const log = this.debugLog();
    if (request.method === 'INVITE' && toTag(request) === undefined) {
      const call = this.calls.get(id);
      if (call !== undefined) {
        // the same INVITE again (a retransmission), or sent again with credentials after our challenge
        if (call.state === 'challenged') {
          call.state = 'started';
          log?.({ callId: id }, 'call: INVITE sent again after the challenge');
        }
        return;
      }
      const c: Call = { from: uriOf(request, 'From'), to: uriOf(request, 'To'), state: 'started', startedAt: now, challengedAt: 0, challengeStatus: 0, fromPeer: isMarked(request) };
      if (id.length <= MAX_TRACKED_ID_CHARS) {
        if (this.calls.size >= MAX_TRACKED_CALLS) this.evictOldest();
        this.calls.set(detachString(id), c); // kept for the call: not a view into the INVITE's text
      }
      this.publish({ callId: id, from: c.from, to: c.to, state: 'started' });
      log?.({ callId: id, from: c.from, to: c.to, source: `${inbound.source.protocol}:${hostPort(inbound.source)}`, fromPeer: c.fromPeer }, c.fromPeer ? 'call: INVITE from a peer' : 'call: INVITE from a phone');
      return;
    }
    if (request.method === 'BYE') {
      const call = this.calls.get(id);
      log?.({ callId: id, source: `${inbound.source.protocol}:${hostPort(inbound.source)}` }, call === undefined ? 'call: BYE for a call not followed here' : 'call: BYE, call ended');
      if (call === undefined) return;
      this.calls.delete(id);
      this.publish({ callId: id, from: call.from, to: call.to, state: 'ended' });
      return;
    }
    if (request.method === 'CANCEL') log?.({ callId: id }, 'call: CANCEL');
  }

  private outbound(message: SipMessage, target: OutboundTarget): void {
    if (message.kind === 'response') {
      this.response(message);
      return;
    }
    if (message.method !== 'INVITE' || toTag(message) !== undefined) return;
    const log = this.debugLog();
    if (log === undefined) return;
    const id = callIdOf(message);
    const where = `${target.destination.protocol}:${hostPort(target.destination)}`;
    const uri = cut(formatUri(message.uri));
    if (isMarked(message)) log({ callId: id, target: where, uri }, `call: INVITE forwarded to the callee's peer at ${where}`);
    else if (this.calls.get(id)?.fromPeer === true) log({ callId: id, target: where, uri }, `call: INVITE from a peer delivered to ${uri}`);
    else log({ callId: id, target: where, uri }, `call: INVITE forwarded to ${uri}`);
  }

  private response(response: SipResponse): void {
    const ev = this.deps.events;
    const wantResponse = ev.hasListeners('sip.response') && response.status >= 200;
    const wantCalls = this.followsCalls();
    if (!wantResponse && !wantCalls) return;
    const id = callIdOf(response);
    const method = cseqOf(response).method;
    const now = this.deps.clock.now();
    if (wantResponse) {
      const key = requestKey(response, id);
      const at = key === undefined ? undefined : this.arrivals.get(key);
      // only the first final response for a request (a retransmission, or a forked 2xx, is not another)
      if (at !== undefined && key !== undefined) {
        this.arrivals.delete(key);
        ev.emit('sip.response', { method, status: response.status, callId: id, elapsedMs: now - at });
      }
    }
    if (wantCalls && method === 'INVITE') this.callResponse(response, id, now);
  }

  private callResponse(response: SipResponse, id: string, now: number): void {
    const call = this.calls.get(id);
    if (call === undefined || call.state === 'answered' || call.state === 'challenged') return;
    const s = response.status;
    const log = this.debugLog();
    if (s > 100 && s < 200) {
      if (call.state !== 'started') return;
      call.state = 'ringing';
      this.publish({ callId: id, from: call.from, to: call.to, state: 'ringing', status: s });
      log?.({ callId: id, status: s }, 'call: ringing');
    } else if (s >= 200 && s < 300) {
      call.state = 'answered';
      this.publish({ callId: id, from: call.from, to: call.to, state: 'answered', status: s });
      log?.({ callId: id, status: s }, 'call: answered');
    } else if (s === 401 || s === 407) {
      // RFC 3261 §22: the phone sends the INVITE again with credentials, same Call-ID
      call.state = 'challenged';
      call.challengedAt = now;
      call.challengeStatus = s;
      log?.({ callId: id, status: s }, 'call: INVITE challenged');
    } else if (s >= 300) {
      this.calls.delete(id);
      const reason = cut(response.headers.get('reason') ?? response.reason);
      this.fail(id, call, s, reason);
    }
  }

  private fail(id: string, call: Call, status: number | undefined, reason: string): void {
    this.publish({ callId: id, from: call.from, to: call.to, state: 'failed', ...(status === undefined ? {} : { status }), reason });
    const logger = this.deps.logger;
    if (logger === undefined) return;
    const fields = { callId: id, from: call.from, to: call.to, ...(status === undefined ? {} : { status }), reason };
    // 408 and 5xx: the path (the overlay, a peer, a phone) failed; other answers are the callee's or the caller's doing
    if (status === undefined || status === 408 || status >= 500) logger.warn(fields, 'call: failed');
    else logger.info?.(fields, 'call: failed');
  }

  /** Reports calls whose end was never seen (no answer after a challenge, no final answer, no BYE). */
  private sweep(now = this.deps.clock.now()): void {
    if (now - this.lastSweep < SWEEP_INTERVAL_MS) return;
    this.lastSweep = now;
    for (const [id, c] of this.calls) {
      if (c.state === 'challenged' && now - c.challengedAt >= CHALLENGE_WAIT_MS) {
        this.calls.delete(id);
        this.fail(id, c, c.challengeStatus, 'the INVITE was not sent again with credentials after the challenge');
      } else if ((c.state === 'started' || c.state === 'ringing') && now - c.startedAt >= MAX_SETUP_MS) {
        this.calls.delete(id);
        this.fail(id, c, undefined, 'no final answer seen');
      } else if (c.state === 'answered' && now - c.startedAt >= MAX_CALL_MS) {
        this.calls.delete(id);
        this.publish({ callId: id, from: c.from, to: c.to, state: 'ended', reason: 'no BYE seen' });
      }
    }
  }

  private evictOldest(): void {
    const first = this.calls.entries().next();
    if (first.done === true) return;
    const [id, c] = first.value;
    this.calls.delete(id);
    this.publish({ callId: id, from: c.from, to: c.to, state: c.state === 'answered' ? 'ended' : 'failed', reason: 'no longer followed (call table full)' });
  }

  private publish(e: CallEvent): void {
    this.deps.events.emit('call', e);
  }

  private followsCalls(): boolean {
    return this.deps.events.hasListeners('call') || this.debugLog() !== undefined;
  }

  private debugLog(): ((obj: object, msg: string) => void) | undefined {
    const l = this.deps.logger;
    if (l?.debug === undefined || l.isLevelEnabled?.('debug') !== true) return undefined;
    return (obj, msg) => l.debug?.(obj, msg);
  }

  /** A message the parser let through but without a usable Call-ID or CSeq is not reported (never thrown). */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.deps.logger?.debug?.({ err: err instanceof Error ? err.message : String(err) }, 'peer events: message not reported');
    }
  }
}
