/**
 * Issue 16: presence for a running peer — the presence service (usages/presence/presence-service.ts)
 * on the overlay (usages/presence/overlay-presence.ts), its NOTIFYs sent through the SIP front's
 * transaction layer, and the storing peer's hints to watcher peers (located by AppAttach like any
 * peer, sent as a NOTIFY `Event: x-p2psip-presence`).
 */
import type { Clock } from '../lib/clock.js';
import type { Random } from '../lib/random.js';
import type { StoreReq } from '../reload/codec/index.js';
import type { OverlayStorage } from '../reload/storage/index.js';
import type { LocalServices } from '../sip/core/local-services.js';
import { numericTarget } from '../sip/core/target-resolver.js';
import { detachString, generateBranch, isSipUri, parseUri, SipHeaders } from '../sip/message/index.js';
import type { SipRequest, Uri } from '../sip/message/sip-message.js';
import type { ClientTransactionUser } from '../sip/transaction/transaction-contract.js';
import type { OutboundTarget, TransportAddress, TransportProtocol } from '../sip/transport/sip-transport.js';
import { nextHopUri } from '../usages/presence/notify-request.js';
import { HINT_EVENT, OverlayPresence, PRESENCE_WATCH_KIND_ID, PresenceHintReceiver } from '../usages/presence/overlay-presence.js';
import { PresenceService } from '../usages/presence/presence-service.js';
import { OverlayPresenceRules } from '../usages/presence/presence-rules.js';
import type { MessageSummarySource } from '../usages/presence/message-summary.js';
import { PEER_MARK } from '../usages/sip/peer-binding.js';
import type { LocateResult } from '../usages/sip/sip-peer-locator.js';

/** Hints in flight at once; past it they wait (one per peer and user). */
export const MAX_HINTS_IN_FLIGHT = 64;
/** Hints waiting at once; past it one is dropped (the watcher catches up at the next change). */
export const MAX_HINTS_QUEUED = 4096;

export interface PresenceWiringDeps {
  clock: Clock;
  random: Random;
  storage: OverlayStorage;
  selfNodeId: Uint8Array;
  registeredHere(aor: string): boolean;
  /** The SIP front (set once it exists). */
  sip(): PresenceSip | undefined;
  advertisedHost: string;
  locate(nodeId: Uint8Array): Promise<LocateResult>;
  canonicalAor(uri: Uri): string | undefined;
  /** Digest authentication is on (a closed overlay): PUBLISH needs the user's own verified phone. */
  requireAuth: boolean;
  /** Waiting voicemail for the message-summary package (RFC 3842); none: not offered. */
  messageSummary?: MessageSummarySource;
  logger?: { warn(obj: object, msg: string): void };
}

/** What of the SIP front is used here (SipPeer fits). */
export interface PresenceSip {
  readonly transport: { localAddress(protocol: TransportProtocol): TransportAddress | undefined };
  readonly transactions: { sendRequest(request: SipRequest, target: OutboundTarget, user: ClientTransactionUser): unknown };
}

/** Calls followed at once for the busy lamp; the oldest is forgotten past it. */
export const MAX_TRACKED_CALLS = 10_000;

export interface RunningPresence {
  readonly services: LocalServices[];
  /** The users' watcher rules, kept in the overlay (the HTTP API sets them). */
  readonly rules: OverlayPresenceRules;
  /** A binding of `aor` changed at this peer. */
  registrationChanged(aor: string): void;
  /** A call proxied here changed state (peer-events `call`): our users on the phone (the busy lamp). */
  callChanged(e: { callId: string; from: string; to: string; state: string }): void;
  status(): object;
  /** Shutdown: subscriptions terminated (NOTIFY deactivated), our publications and watch entries withdrawn. */
  close(): Promise<void>;
}

export function startPresence(d: PresenceWiringDeps): RunningPresence {
  let hintsInFlight = 0;
  let hintsDropped = 0;
  const utf8 = new TextDecoder();

  const own = ownRequestSender(d);
  const send = own.send;
  const self = own.self;

  // hints past MAX_HINTS_IN_FLIGHT wait, one per (peer, user): a burst of changes costs one hint each,
  // and the last change of a burst is never lost (only past MAX_HINTS_QUEUED is one dropped)
  const queued = new Map<string, { nodeId: Uint8Array; aor: string }>();
  const pump = (): void => {
    while (hintsInFlight < MAX_HINTS_IN_FLIGHT && queued.size > 0) {
      const [key, h] = queued.entries().next().value!;
      queued.delete(key);
      hintsInFlight++;
      void d
        .locate(h.nodeId)
        .then((loc) => (loc.ok ? send(peerHintRequest(h.aor, HINT_EVENT, d.random), { destination: loc.address }) : undefined))
        .catch(() => undefined)
        .finally(() => {
          hintsInFlight--;
          pump();
        });
    }
  };
  const queueHint = (nodeId: Uint8Array, aor: string): void => {
    const key = `${Buffer.from(nodeId).toString('hex')} ${aor}`;
    if (!queued.has(key)) {
      if (queued.size >= MAX_HINTS_QUEUED) {
        hintsDropped++;
        return;
      }
      queued.set(key, { nodeId, aor });
    }
    pump();
  };

  const source = new OverlayPresence({
    clock: d.clock,
    storage: d.storage,
    selfNodeId: d.selfNodeId,
    registeredHere: d.registeredHere,
    watchersHeld: (resource) => {
      const a = d.storage.engine.fetch({ resource, specifiers: [{ kind: PRESENCE_WATCH_KIND_ID, generation: 0n, model: 'dictionary', keys: [] }] });
      if (!a.ok) return [];
      const out: Array<{ nodeId: Uint8Array; resourceName: string }> = [];
      for (const kr of a.answer.kindResponses) {
        for (const v of kr.values) {
          const e = v.value;
          if (e.model === 'dictionary' && e.value.exists) out.push({ nodeId: e.key, resourceName: utf8.decode(e.value.value) });
        }
      }
      return out;
    },
    sendHint: (nodeId, aor) => queueHint(nodeId, aor),
    ...(d.logger === undefined ? {} : { logger: d.logger }),
  });
  const unobserve = d.storage.observeStores((req: StoreReq) => source.onStored(req));

  const rules = new OverlayPresenceRules({ clock: d.clock, storage: d.storage, selfNodeId: d.selfNodeId });
  const service = new PresenceService(
    {
      clock: d.clock,
      random: d.random,
      presence: source,
      callState: source,
      rules,
      ...(d.messageSummary === undefined ? {} : { messageSummary: d.messageSummary }),
      canonicalAor: d.canonicalAor,
      localContact: () => {
        const a = self('udp') ?? self('tcp');
        return a === undefined ? `sip:${d.advertisedHost}` : `sip:${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
      },
      send: own.sendInDialog,
    },
    { requireAuth: d.requireAuth },
  );

  // the busy lamp: our users with an answered call through this peer (callId → the users it counts for)
  const calls = new Map<string, string[]>();
  const onPhone = new Map<string, number>();
  const aorOf = (text: string): string | undefined => {
    try {
      return d.canonicalAor(parseUri(text));
    } catch {
      return undefined;
    }
  };
  const callChanged = (e: { callId: string; from: string; to: string; state: string }): void => {
    if (e.state === 'answered' && !calls.has(e.callId)) {
      const users = [aorOf(e.from), aorOf(e.to)].filter((a): a is string => a !== undefined && d.registeredHere(a));
      if (users.length === 0) return;
      if (calls.size >= MAX_TRACKED_CALLS) end(calls.keys().next().value!);
      // kept for the call: the Call-ID not a view into the 200's text, the users an exact-size copy (filter's array has room for 17)
      calls.set(detachString(e.callId), users.slice());
      for (const u of users) {
        const n = (onPhone.get(u) ?? 0) + 1;
        onPhone.set(u, n);
        if (n === 1) void source.setOnThePhone(u, true);
      }
    } else if (e.state === 'ended' || e.state === 'failed') end(e.callId);
  };
  function end(callId: string): void {
    const users = calls.get(callId);
    if (users === undefined) return;
    calls.delete(callId);
    for (const u of users) {
      const n = (onPhone.get(u) ?? 1) - 1;
      if (n > 0) onPhone.set(u, n);
      else {
        onPhone.delete(u);
        void source.setOnThePhone(u, false);
      }
    }
  }

  return {
    services: [new PresenceHintReceiver(source), service],
    rules,
    registrationChanged: (aor) => source.changed(aor),
    callChanged,
    status: () => ({ ...service.stats(), overlay: { ...source.stats, watched: source.watchedCount(), hintsInFlight, hintsQueued: queued.size, hintsDropped } }),
    async close() {
      unobserve();
      queued.clear();
      await service.close();
      await source.unwatchAll();
    },
  };
}

/** The storing peer's hint to a watcher peer: a NOTIFY for `aor`, marked as from a peer (RFC 7904 target mark). */
/**
 * A hint from one peer to another (presence changed, something waits): an out-of-dialog NOTIFY with
 * `event` to `aor` marked as from a peer (RFC 7904 target mark), `extra` headers added, no body.
 */
export function peerHintRequest(aor: string, event: string, random: Random, extra: ReadonlyArray<[string, string]> = []): SipRequest {
  return {
    kind: 'request',
    method: 'NOTIFY',
    uri: parseUri(`${aor};${PEER_MARK}=peer`),
    version: 'SIP/2.0',
    headers: new SipHeaders([
      ['Max-Forwards', '70'],
      ['From', `<${aor}>;tag=${generateBranch(random).slice(7, 19)}`],
      ['To', `<${aor}>`],
      ['Call-ID', `${generateBranch(random).slice(7)}@p2psip-hint`],
      ['CSeq', '1 NOTIFY'],
      ['Event', event],
      ...extra,
      ['Content-Length', '0'],
    ]),
    body: new Uint8Array(0),
  };
}

/**
 * Requests the peer sends as a user agent of its own (NOTIFYs of the presence agent, voicemail's BYE,
 * hints to other peers) through the SIP front's transaction layer: `send` adds our Via and resolves the
 * final status (408 on timeout, 503 when it cannot go); `sendInDialog` picks the target by the proxy's
 * bindingTarget rule — the next hop (first Route, else the Request-URI) when we can reach it directly,
 * else back over the flow the dialog's last request came on (WebSocket, phones behind NAT on TCP).
 */
export function ownRequestSender(d: { sip(): PresenceSip | undefined; advertisedHost: string; random: Random }): {
  self(protocol: TransportProtocol): TransportAddress | undefined;
  send(req: SipRequest, target: OutboundTarget): Promise<number>;
  sendInDialog(req: SipRequest, arrivedOn: OutboundTarget): Promise<number>;
} {
  const self = (protocol: TransportProtocol): TransportAddress | undefined => {
    const a = d.sip()?.transport.localAddress(protocol);
    if (a === undefined) return undefined;
    return a.host === '0.0.0.0' || a.host === '::' ? { ...a, host: d.advertisedHost } : a;
  };
  const send = (req: SipRequest, target: OutboundTarget): Promise<number> => {
    const sip = d.sip();
    const local = self(target.destination.protocol);
    if (sip === undefined || local === undefined) return Promise.resolve(503);
    const host = local.host.includes(':') ? `[${local.host}]` : local.host;
    req.headers.prepend('Via', `SIP/2.0/${target.destination.protocol.toUpperCase()} ${host}:${local.port};branch=${generateBranch(d.random)};rport`);
    return new Promise<number>((resolve) => {
      try {
        sip.transactions.sendRequest(req, target, {
          onResponse: (res) => {
            if (res.status >= 200) resolve(res.status);
          },
          onTimeout: () => resolve(408),
          onTransportError: () => resolve(503),
        });
      } catch {
        resolve(503);
      }
    });
  };
  const sendInDialog = (req: SipRequest, arrivedOn: OutboundTarget): Promise<number> => {
    const hop = nextHopUri(req);
    const routed = req.headers.has('route');
    const direct = isSipUri(hop) && !hop.host.toLowerCase().endsWith('.invalid') && (routed || arrivedOn.destination.protocol === 'udp');
    const dest = direct && isSipUri(hop) ? numericTarget(hop) : undefined;
    return send(req, dest !== undefined ? { destination: dest } : arrivedOn);
  };
  return { self, send, sendInDialog };
}
