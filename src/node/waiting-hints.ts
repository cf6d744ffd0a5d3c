/**
 * Issue 16: "something waits for this user" told by the storing peer, so that a REGISTER costs no
 * overlay request for messages and voicemail that are not there.
 *
 * The responsible peer of a user's Resource-ID applies every original Store of its SIP-REGISTRATION
 * and holds its kept messages (P2PSIP-MESSAGE) and voicemail index (P2PSIP-VOICEMAIL). On a Store of a
 * registration (not a withdraw) it looks at what it holds there; when a live message or voicemail is
 * among it, it sends the registering peer (the writer of the registration entry: its key) a hint — a
 * SIP `NOTIFY sip:p2psip-waiting@<domain>;p2psip=peer`, `Event: x-p2psip-waiting`, the Resource-ID in
 * `X-P2psip-Resource` — located by AppAttach like any peer (or a local call when it is itself). The
 * receiving peer finds which of its registered users has that Resource-ID and starts the delivery
 * pass and the message-waiting check for it. Likewise, a new kept message or voicemail for a user
 * registered somewhere: the peers named by its registration entries are told at once (a phone
 * subscribed to message-summary at another peer than the recording one learns of it). The hint carries nothing trusted (the peer fetches the
 * signed values); a hint that comes before the REGISTER's binding is kept here is held 30 s for it.
 */
import type { Clock } from '../lib/clock.js';
import type { Random } from '../lib/random.js';
import type { StoreReq } from '../reload/codec/index.js';
import type { OverlayStorage } from '../reload/storage/index.js';
import type { LocalServices, ServiceRequest } from '../sip/core/local-services.js';
import { createResponse } from '../sip/message/index.js';
import { peerHintRequest } from './presence-wiring.js';
import type { SipRequest } from '../sip/message/sip-message.js';
import type { OutboundTarget } from '../sip/transport/sip-transport.js';
import { aorResourceId } from '../usages/sip/aor-resource-id.js';
import type { LocateResult } from '../usages/sip/sip-peer-locator.js';

export const WAITING_EVENT = 'x-p2psip-waiting';
export const WAITING_USER = 'p2psip-waiting';
/** How long a hint waits for the binding of its REGISTER, ms. */
export const WAITING_HOLD_MS = 30_000;
/** Hints held at once, and in flight. */
export const MAX_WAITING_HELD = 1024;
export const MAX_WAITING_IN_FLIGHT = 64;
const SIP_REGISTRATION_KIND_ID = 1;

export interface WaitingHintsDeps {
  clock: Clock;
  random: Random;
  storage: OverlayStorage;
  selfNodeId: Uint8Array;
  domain: string;
  /** The Kinds whose live values at a user's Resource-ID mean something waits (messages, voicemail). */
  kinds: readonly number[];
  locate(nodeId: Uint8Array): Promise<LocateResult>;
  send(request: SipRequest, target: OutboundTarget): Promise<number>;
  /** The AoRs registered at this peer now. */
  localAors(): Iterable<string>;
  /** Something waits for `aor` (registered here): deliver, check voicemail. */
  onWaiting(aor: string): void;
}

export interface RunningWaitingHints {
  readonly receiver: LocalServices;
  /** A binding of `aor` was added here: a hint held for its Resource-ID fires now. */
  registered(aor: string): void;
  status(): object;
  stop(): void;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export function startWaitingHints(d: WaitingHintsDeps): RunningWaitingHints {
  const held = new Map<string, number>(); // resource hex → until
  const selfHex = hex(d.selfNodeId);
  const counts = { sent: 0, received: 0, matched: 0, held: 0, dropped: 0 };
  let inFlight = 0;
  let stopped = false;

  const waitsAt = (resource: Uint8Array): boolean => {
    for (const kind of d.kinds) {
      const a = d.storage.engine.fetch({ resource, specifiers: [{ kind, generation: 0n, model: 'dictionary', keys: [] }] });
      if (a.ok && a.answer.kindResponses.some((k) => k.values.some((v) => v.value.value.exists))) return true;
    }
    return false;
  };

  /** A hint for `resourceHex` here: the registered user it names, now or when its binding comes. */
  const arrived = (resourceHex: string): void => {
    for (const aor of d.localAors()) {
      let id: string;
      try {
        id = hex(aorResourceId(aor));
      } catch {
        continue;
      }
      if (id === resourceHex) {
        counts.matched++;
        d.onWaiting(aor);
        return;
      }
    }
    const now = d.clock.now();
    for (const [k, until] of held) if (until <= now) held.delete(k);
    if (held.size >= MAX_WAITING_HELD) {
      counts.dropped++;
      return;
    }
    counts.held++;
    held.set(resourceHex, now + WAITING_HOLD_MS);
  };

  /** The peers where the user of `resource` is registered: the keys of its live SIP-REGISTRATION entries held here. */
  const registeredAt = (resource: Uint8Array): Uint8Array[] => {
    const a = d.storage.engine.fetch({ resource, specifiers: [{ kind: SIP_REGISTRATION_KIND_ID, generation: 0n, model: 'dictionary', keys: [] }] });
    if (!a.ok) return [];
    return a.answer.kindResponses.flatMap((k) => k.values.filter((v) => v.value.model === 'dictionary' && v.value.value.exists).map((v) => (v.value.model === 'dictionary' ? v.value.key : new Uint8Array(0))));
  };

  const unobserve = d.storage.observeStores((req: StoreReq) => {
    if (stopped) return;
    let writers: Uint8Array[];
    const reg = req.kindData.find((k) => k.kind === SIP_REGISTRATION_KIND_ID);
    if (reg !== undefined) {
      // a REGISTER (not a withdraw): does anything wait here for this user?
      writers = reg.values.filter((v) => v.value.model === 'dictionary' && v.value.value.exists).map((v) => (v.value.model === 'dictionary' ? v.value.key : new Uint8Array(0)));
      if (writers.length === 0 || !waitsAt(req.resource)) return;
    } else if (req.kindData.some((k) => d.kinds.includes(k.kind) && k.values.some((v) => v.value.value.exists))) {
      // a new message or voicemail for a user registered somewhere: its peers are told at once
      writers = registeredAt(req.resource);
      if (writers.length === 0) return;
    } else return;
    const resourceHex = hex(req.resource);
    for (const w of writers) {
      if (hex(w) === selfHex) {
        arrived(resourceHex);
        continue;
      }
      if (inFlight >= MAX_WAITING_IN_FLIGHT) {
        counts.dropped++;
        continue;
      }
      inFlight++;
      counts.sent++;
      void d
        .locate(w)
        .then((loc) => (loc.ok ? d.send(peerHintRequest(`sip:${WAITING_USER}@${d.domain}`, WAITING_EVENT, d.random, [['X-P2psip-Resource', resourceHex]]), { destination: loc.address }) : undefined))
        .catch(() => undefined)
        .finally(() => inFlight--);
    }
  });

  const receiver: LocalServices = {
    claim: (r: ServiceRequest) => {
      if (r.request.method !== 'NOTIFY' || r.aor === undefined) return false;
      if ((r.request.headers.get('event') ?? '').split(';')[0]!.trim().toLowerCase() !== WAITING_EVENT) return false;
      if (!r.fromPeer) {
        r.tx.respond(createResponse(r.tx.request, 403, 'Forbidden - hints come from peers of the overlay', { toTag: r.toTag }));
        return true;
      }
      const resource = (r.request.headers.get('x-p2psip-resource') ?? '').trim().toLowerCase();
      if (!/^[0-9a-f]{2,64}$/.test(resource)) {
        r.tx.respond(createResponse(r.tx.request, 400, 'Bad Request - X-P2psip-Resource names no Resource-ID', { toTag: r.toTag }));
        return true;
      }
      r.tx.respond(createResponse(r.tx.request, 200, 'OK', { toTag: r.toTag }));
      counts.received++;
      arrived(resource);
      return true;
    },
    divert: () => false,
  };

  return {
    receiver,
    registered(aor) {
      if (held.size === 0) return;
      let id: string;
      try {
        id = hex(aorResourceId(aor));
      } catch {
        return;
      }
      const until = held.get(id);
      if (until === undefined) return;
      held.delete(id);
      if (until > d.clock.now()) {
        counts.matched++;
        d.onWaiting(aor);
      }
    },
    status: () => ({ ...counts, holding: held.size, inFlight }),
    stop() {
      stopped = true;
      unobserve();
      held.clear();
    },
  };
}
