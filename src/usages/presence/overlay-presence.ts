/**
 * Presence in the overlay (issue 16): the PresenceSource of the presence service, and how watcher
 * peers learn of changes.
 *
 * Kept in the overlay, under the presentity's Resource Name `user@domain` (the Resource-ID of its
 * SIP-REGISTRATION):
 * - P2PSIP-PRESENCE (dictionary, keyed by the publishing peer's Node-ID, the SIP-REGISTRATION rules:
 *   USER-NODE-MATCH with granted writes in a closed overlay — only the peer where the user proved
 *   its password writes it —, proxy-peer writes in an open one): the composed PIDF of the user's
 *   devices that PUBLISHed at that peer. Several peers' entries compose.
 * - P2PSIP-PRESENCE-WATCH (dictionary, keyed by a watcher peer's Node-ID, USAGE-GUARD WatchGuard):
 *   "this peer has subscribers to this presentity"; the value is the AoR's Resource Name (the guard
 *   checks it hashes to the Resource-ID). Stored while the peer has subscriptions, refreshed every
 *   15 min with a 30-min lifetime, removed when the last one ends.
 *
 * Changes reach watchers by a notification from the STORING peer: the responsible peer of the
 * presentity's Resource-ID sees every Store of its SIP-REGISTRATION and P2PSIP-PRESENCE (an original
 * Store is applied there first) and holds the watch entries, so it sends each watcher peer a hint —
 * a SIP NOTIFY `Event: x-p2psip-presence` to `sip:<user>@<domain>;p2psip=peer` at that peer's SIP
 * front (located by AppAttach like any peer). The hint carries nothing trusted: the watcher peer
 * fetches the signed values again and notifies its subscribers if anything changed. No peer polls;
 * a registration or a PUBLISH costs the storing peer one NOTIFY per watching peer.
 *
 * When a peer dies: a dead presentity's peer leaves its registration and presence entries until they
 * expire (their lifetimes), and watchers see them as they were until then; a dead watcher's peer
 * leaves a watch entry that expires within 30 min (hints to it fail and cost nothing more), and its
 * phones' subscriptions are gone with it: their refresh gets 481 from whichever peer they reach, and
 * they subscribe again (RFC 6665 §4.1.2.2). A storing peer that dies hands its data (watch entries
 * included) to its replicas; hints sent by nobody in between are caught up at the next change.
 */
import type { Clock, TimerHandle } from '../../lib/clock.js';
import { ReloadErrorCode, type StoredData, type StoredDataValue, type StoreReq } from '../../reload/codec/index.js';
import type { GuardDecision, GuardRequest, HashResourceName, KindGuard } from '../../reload/storage/index.js';
import type { LocalServices, ServiceRequest } from '../../sip/core/local-services.js';
import { createResponse } from '../../sip/message/index.js';
import { aorResourceName } from '../sip/aor-resource-id.js';
import { composePidf, parsePidf } from './pidf.js';
import type { PresenceSnapshot, PresenceSource, PresenceState } from './presence-host.js';
import type { CallDialog, CallStateSource } from './dialog-info.js';
import { bytesEqual } from '../../lib/bytes.js';

/** p2psip private-use Kind-IDs (reload/config/registered-kinds.ts). */
export const PRESENCE_KIND_ID = 0xf0000105;
export const PRESENCE_WATCH_KIND_ID = 0xf0000108;
/** SIP-REGISTRATION (RFC 7904). */
const SIP_REGISTRATION_KIND_ID = 1;

/** Bytes of one peer's composed PIDF kept in the overlay (a value and its signature fit one RELOAD message). */
export const MAX_PRESENCE_VALUE_BYTES = 3000;
/** Lifetime of a presence entry, s: the longest publication (RFC 3903 Expires we allow). */
export const PRESENCE_LIFETIME_S = 3600;
/** Watch entries: lifetime and refresh period. */
export const WATCH_LIFETIME_S = 1800;
export const WATCH_REFRESH_MS = 15 * 60_000;
/** Longest AoR Resource Name in a watch entry. */
export const MAX_WATCH_VALUE_BYTES = 512;
/** Presentities one peer watches at once. */
export const MAX_WATCHED_AORS = 4096;
/** The Event of the storing peer's hint. */
export const HINT_EVENT = 'x-p2psip-presence';

const utf8 = new TextEncoder();
const utf8Decode = new TextDecoder();

/** The storing peer's rule for P2PSIP-PRESENCE-WATCH: a peer writes only its own entry, naming the presentity it watches. */
export class WatchGuard implements KindGuard {
  constructor(private readonly o: { nodeIdLength: number; hashResourceName: HashResourceName }) {}

  check(r: GuardRequest): GuardDecision {
    const v = r.data.value;
    if (v.model !== 'dictionary') return { ok: false, info: 'P2PSIP-PRESENCE-WATCH is a dictionary' };
    if (v.key.length !== this.o.nodeIdLength || !r.signer.nodeIds.some((n) => bytesEqual(n, v.key))) return { ok: false, info: "a watch entry's key is its signer's Node-ID" };
    if (!v.value.exists) return { ok: true, keep: true };
    if (r.data.lifetime > 2 * WATCH_LIFETIME_S) return { ok: false, info: `a watch entry lives at most ${2 * WATCH_LIFETIME_S} s` };
    const name = v.value.value;
    if (name.length === 0 || name.length > MAX_WATCH_VALUE_BYTES || !bytesEqual(this.o.hashResourceName(name), r.resource)) {
      return { ok: false, info: "a watch entry's value is the Resource Name of its Resource-ID" };
    }
    return { ok: true, keep: true };
  }
}

type Failure = { ok: false; errorCode: number; info: string };

/** The part of the overlay's storage client used here (OverlayStorage fits). */
export interface PresenceStorage {
  store(kindId: number, ref: { resourceName: string }, values: readonly StoredDataValue[], opts?: { lifetime?: number }): Promise<{ ok: true } | Failure>;
  fetch(kindId: number, ref: { resourceName: string }, sel?: { keys?: Uint8Array[] }): Promise<{ ok: true; values: Array<{ data: StoredData }> } | Failure>;
}

export interface OverlayPresenceDeps {
  clock: Clock;
  storage: PresenceStorage;
  selfNodeId: Uint8Array;
  /** True while a phone of the AoR is registered at this peer. */
  registeredHere(aor: string): boolean;
  /** The watch entries held here (as a storing peer) at a Resource-ID: watcher Node-IDs and the AoR each names. */
  watchersHeld(resource: Uint8Array): Array<{ nodeId: Uint8Array; resourceName: string }>;
  /** Sends the hint (HINT_EVENT) for `aor` to the SIP front of peer `nodeId`. */
  sendHint(nodeId: Uint8Array, aor: string): void;
  /**
   * A call's on-the-phone reaches the overlay only once it has lasted this long (default
   * BUSY_WRITE_DELAY_MS; 0: at once): a call shorter than that costs no Store at all — a third of a
   * proxied call's CPU went to the two Stores of its busy lamp (issue 18). Watchers at this peer see it
   * at once either way.
   */
  busyWriteDelayMs?: number;
  /** The overlay's domain: the AoR of a Resource Name `user@domain` is `sip:user@domain`. */
  logger?: { warn(obj: object, msg: string): void };
}

export interface OverlayPresenceStats {
  fetches: number;
  fetchFailures: number;
  publishes: number;
  publishFailures: number;
  watchStores: number;
  watchFailures: number;
  hintsSent: number;
  hintsReceived: number;
}

/**
 * The RPID activity this peer adds to a user's entry while one of the user's calls through this peer is
 * answered (RFC 4480 `on-the-phone`): watchers' presence shows it, and the dialog package (busy lamp)
 * reads it back as a confirmed dialog at any peer.
 */
export const ON_THE_PHONE_XML =
  '<dm:person xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" id="p2psip-calls"><rpid:activities><rpid:on-the-phone/></rpid:activities></dm:person>';

function onThePhoneElements(aor: string): PresenceState['elements'] {
  const doc = parsePidf(`<?xml version="1.0" encoding="UTF-8"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="${aor.replace(/[<>&"]/g, '')}">${ON_THE_PHONE_XML}</presence>`);
  return doc.ok ? doc.document.elements : [];
}

/** True when a user's composed state says it is on the phone (our element, or any RPID on-the-phone). */
export function isOnThePhone(state: PresenceState): boolean {
  return state.elements.some((e) => /on-the-phone\b/.test(e.xml));
}

/** Users whose on-the-phone state is held at once (the peer's own calls). */
export const MAX_BUSY_AORS = 10_000;
/** Default of OverlayPresenceDeps.busyWriteDelayMs. */
export const BUSY_WRITE_DELAY_MS = 300;

export class OverlayPresence implements PresenceSource, CallStateSource {
  readonly stats: OverlayPresenceStats = { fetches: 0, fetchFailures: 0, publishes: 0, publishFailures: 0, watchStores: 0, watchFailures: 0, hintsSent: 0, hintsReceived: 0 };
  private readonly listeners = new Map<string, Set<() => void>>();
  /** What our devices published per user (PresenceService's own state) and who is on the phone here. */
  private readonly own = new Map<string, PresenceState>();
  private readonly busy = new Set<string>();
  /** Users whose last Store carried on-the-phone, and the delayed busy-lamp writes pending. */
  private readonly writtenBusy = new Set<string>();
  private readonly busyTimers = new Map<string, TimerHandle>();
  /** Our entry's Store in flight per user, and the users whose state changed meanwhile. */
  private readonly writing = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private readonly refreshers = new Map<string, TimerHandle>();
  private readonly selfHex: string;
  private stopped = false;

  constructor(private readonly deps: OverlayPresenceDeps) {
    this.selfHex = Buffer.from(deps.selfNodeId).toString('hex');
  }

  async fetch(aor: string): Promise<PresenceSnapshot> {
    this.stats.fetches++;
    const ref = { resourceName: aorResourceName(aor) };
    const [pres, regs] = await Promise.all([this.deps.storage.fetch(PRESENCE_KIND_ID, ref, { keys: [] }), this.deps.storage.fetch(SIP_REGISTRATION_KIND_ID, ref, { keys: [] })]);
    const published: PresenceState[] = [];
    if (pres.ok) {
      for (const { data } of pres.values) {
        const v = data.value;
        if (v.model !== 'dictionary' || !v.value.exists || Buffer.from(v.key).toString('hex') === this.selfHex) continue;
        const parsed = parsePidf(utf8Decode.decode(v.value.value));
        if (parsed.ok) published.push({ tuples: parsed.document.tuples, elements: parsed.document.elements });
      }
    } else if (pres.errorCode !== ReloadErrorCode.NotFound) this.stats.fetchFailures++;
    // our own devices' publications the service adds itself; our calls' on-the-phone is added here
    if (this.busy.has(aor)) published.push({ tuples: [], elements: onThePhoneElements(aor) });
    let registered = this.deps.registeredHere(aor);
    if (regs.ok) registered ||= regs.values.some(({ data }) => data.value.model === 'dictionary' && data.value.value.exists);
    else if (regs.errorCode !== ReloadErrorCode.NotFound) this.stats.fetchFailures++;
    return { registered, published };
  }

  async publish(aor: string, own: PresenceState): Promise<void> {
    if (own.tuples.length === 0 && own.elements.length === 0) this.own.delete(aor);
    else this.own.set(aor, own);
    await this.write(aor);
  }

  /**
   * Whether a call of `aor` through this peer is answered (the busy lamp): our entry for the user
   * carries the RPID on-the-phone activity while one is.
   */
  async setOnThePhone(aor: string, onThePhone: boolean): Promise<void> {
    if (onThePhone === this.busy.has(aor)) return;
    if (onThePhone) {
      if (this.busy.size >= MAX_BUSY_AORS) return;
      this.busy.add(aor);
    } else this.busy.delete(aor);
    this.changed(aor);
    const delay = this.deps.busyWriteDelayMs ?? BUSY_WRITE_DELAY_MS;
    if (delay <= 0) {
      await this.write(aor);
      return;
    }
    if (this.busyTimers.has(aor) || this.stopped) return;
    this.busyTimers.set(
      aor,
      this.deps.clock.setTimer(delay, () => {
        this.busyTimers.delete(aor);
        // back to what the overlay holds (a short call): nothing to write
        if (!this.stopped && this.busy.has(aor) !== this.writtenBusy.has(aor)) void this.write(aor);
      }),
    );
  }

  /** CallStateSource (RFC 4235 dialog package): one confirmed dialog while the user is on the phone at any peer. */
  async dialogs(aor: string): Promise<readonly CallDialog[]> {
    const onPhone = this.busy.has(aor) || (await this.fetch(aor)).published.some(isOnThePhone);
    return onPhone ? [{ id: 'p2psip-call', callId: undefined, localTag: undefined, remoteTag: undefined, direction: undefined, state: 'confirmed', remote: undefined }] : [];
  }

  /**
   * One Store of our entry per user at a time, the latest state after it: two in flight could reach
   * the storing peer out of order (the second then refused as not newer, or the older state kept).
   */
  private write(aor: string): Promise<void> {
    const running = this.writing.get(aor);
    if (running !== undefined) {
      this.again.add(aor);
      return running;
    }
    const p = this.writeNow(aor).finally(() => {
      this.writing.delete(aor);
      if (this.again.delete(aor) && !this.stopped) void this.write(aor);
    });
    this.writing.set(aor, p);
    return p;
  }

  private async writeNow(aor: string): Promise<void> {
    this.stats.publishes++;
    const mine = this.own.get(aor) ?? { tuples: [], elements: [] };
    if (this.busy.has(aor)) this.writtenBusy.add(aor);
    else this.writtenBusy.delete(aor);
    const own: PresenceState = this.busy.has(aor) ? { tuples: mine.tuples, elements: [...mine.elements, ...onThePhoneElements(aor)] } : mine;
    const empty = own.tuples.length === 0 && own.elements.length === 0;
    let value: { exists: boolean; value: Uint8Array };
    if (empty) value = { exists: false, value: new Uint8Array(0) };
    else {
      let bytes = utf8.encode(composePidf(aor, own.tuples, own.elements));
      // too large for one value: the person elements (RPID) go first, the tuples stay
      if (bytes.length > MAX_PRESENCE_VALUE_BYTES) bytes = utf8.encode(composePidf(aor, own.tuples));
      if (bytes.length > MAX_PRESENCE_VALUE_BYTES) bytes = utf8.encode(composePidf(aor, own.tuples.map((t) => ({ ...t, xml: `<tuple id="${t.id.replace(/[^A-Za-z0-9._-]/g, '')}"><status><basic>${t.basic ?? 'closed'}</basic></status></tuple>` }))));
      value = { exists: true, value: bytes };
    }
    const r = await this.deps.storage.store(PRESENCE_KIND_ID, { resourceName: aorResourceName(aor) }, [{ model: 'dictionary', key: this.deps.selfNodeId, value }], { lifetime: empty ? 600 : PRESENCE_LIFETIME_S });
    if (!r.ok) {
      this.stats.publishFailures++;
      this.deps.logger?.warn({ aor, err: r.info }, 'presence: the overlay did not keep our devices\' state');
    }
  }

  watch(aor: string, onChange: () => void): () => void {
    let set = this.listeners.get(aor);
    if (set === undefined) {
      if (this.listeners.size >= MAX_WATCHED_AORS || this.stopped) return () => {};
      set = new Set();
      this.listeners.set(aor, set);
      this.storeWatch(aor);
    }
    set.add(onChange);
    return () => {
      const s = this.listeners.get(aor);
      if (s === undefined || !s.delete(onChange) || s.size > 0) return;
      this.listeners.delete(aor);
      this.refreshers.get(aor)?.cancel();
      this.refreshers.delete(aor);
      void this.writeWatch(aor, false);
    };
  }

  /** A hint came (another peer stored a change for `aor`), or a registration of it changed here. */
  changed(aor: string): void {
    for (const l of [...(this.listeners.get(aor) ?? [])]) l();
  }

  hintReceived(aor: string): void {
    this.stats.hintsReceived++;
    this.changed(aor);
  }

  /**
   * The storing peer's side: an original Store applied here. A changed registration or presence of a
   * presentity with watchers: each watcher peer gets a hint (ours is told at once).
   */
  onStored(req: StoreReq): void {
    if (this.stopped || !req.kindData.some((kd) => kd.kind === SIP_REGISTRATION_KIND_ID || kd.kind === PRESENCE_KIND_ID)) return;
    for (const w of this.deps.watchersHeld(req.resource)) {
      const aor = `sip:${w.resourceName}`;
      if (Buffer.from(w.nodeId).toString('hex') === this.selfHex) {
        this.changed(aor);
        continue;
      }
      this.stats.hintsSent++;
      this.deps.sendHint(w.nodeId, aor);
    }
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.refreshers.values()) t.cancel();
    this.refreshers.clear();
    for (const t of this.busyTimers.values()) t.cancel();
    this.busyTimers.clear();
  }

  /** Removes our watch entries (shutdown; bounded by the caller). */
  async unwatchAll(): Promise<void> {
    const aors = [...this.listeners.keys()];
    this.listeners.clear();
    this.stop();
    await Promise.all(aors.map((a) => this.writeWatch(a, false)));
  }

  watchedCount(): number {
    return this.listeners.size;
  }

  private storeWatch(aor: string): void {
    void this.writeWatch(aor, true);
    const t = this.deps.clock.setTimer(WATCH_REFRESH_MS, () => {
      this.refreshers.delete(aor);
      if (this.listeners.has(aor) && !this.stopped) this.storeWatch(aor);
    });
    this.refreshers.set(aor, t);
  }

  private async writeWatch(aor: string, on: boolean): Promise<void> {
    this.stats.watchStores++;
    let name: string;
    try {
      name = aorResourceName(aor);
    } catch {
      return;
    }
    const value = on ? { exists: true, value: utf8.encode(name) } : { exists: false, value: new Uint8Array(0) };
    const r = await this.deps.storage.store(PRESENCE_WATCH_KIND_ID, { resourceName: name }, [{ model: 'dictionary', key: this.deps.selfNodeId, value }], { lifetime: on ? WATCH_LIFETIME_S : 600 });
    if (!r.ok) {
      this.stats.watchFailures++;
      this.deps.logger?.warn({ aor, err: r.info }, 'presence: a watch entry was not stored (changes at other peers reach our watchers at their refresh)');
    }
  }
}

/** The hints' receiving end: a NOTIFY `Event: x-p2psip-presence` from another peer, answered 200. */
export class PresenceHintReceiver implements LocalServices {
  constructor(private readonly source: Pick<OverlayPresence, 'hintReceived'>) {}

  claim(r: ServiceRequest): boolean {
    if (r.request.method !== 'NOTIFY' || r.aor === undefined) return false;
    const event = (r.request.headers.get('event') ?? '').split(';')[0]!.trim().toLowerCase();
    if (event !== HINT_EVENT) return false;
    if (!r.fromPeer) {
      r.tx.respond(createResponse(r.tx.request, 403, 'Forbidden - presence hints come from peers of the overlay', { toTag: r.toTag }));
      return true;
    }
    r.tx.respond(createResponse(r.tx.request, 200, 'OK', { toTag: r.toTag }));
    this.source.hintReceived(r.aor);
    return true;
  }

  divert(): boolean {
    return false;
  }
}
