/**
 * Messages for absent users (issue 16), the SIP side: a LocalServices (sip/core/local-services.ts).
 *
 * Keeping. A MESSAGE from one of our phones (not one another peer forwarded: that peer keeps it) to a
 * user of the overlay whose routing failed with 404 (no registration), 408 or 480 (phones did not
 * answer, every peer of the user unreachable) is stored as a P2PSIP-MESSAGE entry under the
 * recipient (message-box.ts) and answered 202 Accepted once the overlay holds it (its responsible
 * peer and a replica, as registrations). Bodies over MAX_KEPT_BODY_BYTES get 413, a full box 480
 * with the reason, an overlay failure 503 / 500 as a REGISTER's would.
 *
 * Delivering. When a phone registers here (a new binding, or a refresh when the AoR was not checked
 * for `recheckMs`), the AoR's box is fetched and every message sent to it in acceptance order, one at
 * a time, through the proxy as a phone's MESSAGE would go (ProxyCore.originate), with its original
 * From and Date; each answered 2xx is removed from the overlay before the next. A failure ends the
 * pass; it is tried again after `retryMs` while the AoR is registered here. A message delivered whose
 * removal failed is remembered (bounded) so it is not sent twice by this peer.
 *
 * Privacy. With `sealing` (enrolled overlays) the value is sealed to the recipient's certificates
 * (sealed-box.ts), bound to its Resource Name and key: only the recipient's own peers read it. A
 * recipient the overlay holds no certificate of is no user: the failure goes to the sender as it was.
 */
import type { Clock, TimerHandle } from '../../lib/clock.js';
import { randomToken, type Random } from '../../lib/random.js';
import { ReloadErrorCode, type StatKindResponse, type StoredData, type StoredDataValue } from '../../reload/codec/index.js';
import type { LocalServices, ServiceRequest } from '../../sip/core/local-services.js';
import { createResponse, parseUri, SipHeaders } from '../../sip/message/index.js';
import type { SipRequest, SipResponse } from '../../sip/message/sip-message.js';
import { looksSealed } from '../sealing/sealed-box.js';
import type { UserSealing } from '../sealing/user-sealing.js';
import { aorResourceName } from '../sip/aor-resource-id.js';
import {
  DEFAULT_KEPT_LIFETIME_S,
  decodeKeptMessage,
  encodeKeptMessage,
  KEPT_TOMBSTONE_S,
  keptMessageKey,
  keyOrder,
  MAX_KEPT_BODY_BYTES,
  MAX_KEPT_FIELD,
  MAX_KEPT_VALUE_BYTES,
  MESSAGE_KIND_ID,
  type KeptMessage,
} from './message-box.js';

type Failure = { ok: false; errorCode: number; info: string };

/** The part of the overlay's storage client used here (OverlayStorage fits). */
export interface MessageBoxStorage {
  store(kindId: number, ref: { resourceName: string }, values: readonly StoredDataValue[], opts?: { lifetime?: number }): Promise<{ ok: true } | Failure>;
  fetch(kindId: number, ref: { resourceName: string }, sel?: { keys?: Uint8Array[] }): Promise<{ ok: true; values: Array<{ data: StoredData }> } | Failure>;
  stat(kindId: number, ref: { resourceName: string }, sel?: { keys?: Uint8Array[] }): Promise<{ ok: true; kind: StatKindResponse | undefined } | Failure>;
}

export interface MessageStoreDeps {
  clock: Clock;
  random: Random;
  storage: MessageBoxStorage;
  /** Our Node-ID: the first part of every key we write. */
  selfNodeId: Uint8Array;
  /** Wall-clock ms (acceptance times, Date headers, expiry of what we fetch). */
  wallClock: () => number;
  /** True for a canonical AoR that lives in the overlay (its domain is the overlay's). */
  inOverlay(aor: string): boolean;
  /** True while a phone of the AoR is registered at this peer. */
  registeredHere(aor: string): boolean;
  /** Sends a request to an AoR the way a phone's would go (ProxyCore.originate). */
  originate(request: SipRequest): Promise<SipResponse>;
  /** Enrolled overlays: kept messages are encrypted to the recipient's certificates. */
  sealing?: UserSealing;
  logger?: { warn(obj: object, msg: string): void; info?(obj: object, msg: string): void };
}

export interface MessageStoreOptions {
  /** Lifetime of a kept message, s (default 7 days). */
  lifetimeS: number;
  /** Failure statuses after which a MESSAGE is kept (default 404, 408, 480). */
  keepOn: readonly number[];
  /** Stores of kept messages in flight at once; past it a MESSAGE to an absent user gets 503 (default 64). */
  maxStoring: number;
  /** Delivery passes at once (default 4); the others wait in a queue of at most `maxQueued` AoRs. */
  maxPasses: number;
  maxQueued: number;
  /** A refresh checks the box again only after this long (default 10 min); a new binding always does. */
  recheckMs: number;
  /** After a failed delivery, the next pass (default 30 s) while the AoR is registered here. */
  retryMs: number;
  /** Delivered messages whose removal is still to be done, remembered at most (default 10,000). */
  maxDelivered: number;
  /** AoRs whose last check time is remembered (default 10,000). */
  maxChecked: number;
}

export const DEFAULT_MESSAGE_STORE_OPTIONS: Readonly<MessageStoreOptions> = Object.freeze({
  lifetimeS: DEFAULT_KEPT_LIFETIME_S,
  keepOn: Object.freeze([404, 408, 480]),
  maxStoring: 64,
  maxPasses: 4,
  maxQueued: 10_000,
  recheckMs: 10 * 60_000,
  retryMs: 30_000,
  maxDelivered: 10_000,
  maxChecked: 10_000,
});

/** What a pass found in a box. */
interface Found {
  key: Uint8Array;
  keyHex: string;
  message: KeptMessage;
  /** Seconds it had left. */
  remainingS: number;
}

export interface MessageStoreStats {
  kept: number;
  refusedTooLarge: number;
  refusedFull: number;
  keepFailed: number;
  /** Enrolled overlays: MESSAGEs to a name without a certificate (no user), not kept. */
  noRecipient: number;
  /** Kept messages we could not open (sealed to other certificates, or changed). */
  unreadable: number;
  delivered: number;
  deliveryFailed: number;
  removeFailed: number;
  passes: number;
  queueDropped: number;
}

export class MessageStoreService implements LocalServices {
  readonly stats: MessageStoreStats = { kept: 0, refusedTooLarge: 0, refusedFull: 0, keepFailed: 0, noRecipient: 0, unreadable: 0, delivered: 0, deliveryFailed: 0, removeFailed: 0, passes: 0, queueDropped: 0 };
  private readonly options: MessageStoreOptions;
  private storing = 0;
  private counter = 0;
  private readonly queue = new Set<string>();
  private readonly running = new Set<string>();
  private readonly again = new Set<string>();
  private readonly checked = new Map<string, number>();
  /** Delivered messages (key hex → expiry ms) whose removal is not confirmed yet. */
  private readonly delivered = new Map<string, number>();
  private readonly retries = new Map<string, TimerHandle>();
  private stopped = false;

  constructor(
    private readonly deps: MessageStoreDeps,
    options: Partial<MessageStoreOptions> = {},
  ) {
    this.options = { ...DEFAULT_MESSAGE_STORE_OPTIONS, ...options };
  }

  claim(): boolean {
    return false;
  }

  divert(r: ServiceRequest, status: number): boolean {
    const req = r.request;
    if (this.stopped || req.method !== 'MESSAGE' || r.fromPeer || r.aor === undefined) return false;
    if (!this.options.keepOn.includes(status) || !this.deps.inOverlay(r.aor)) return false;
    if (req.body.length > MAX_KEPT_BODY_BYTES) {
      this.stats.refusedTooLarge++;
      this.reply(r, 413, `Request Entity Too Large - a message kept for an absent user is at most ${MAX_KEPT_BODY_BYTES} bytes`);
      return true;
    }
    if (this.storing >= this.options.maxStoring) {
      this.reply(r, 503, 'Service Unavailable - too many messages being kept', [['Retry-After', '5']]);
      return true;
    }
    const message = this.keptFrom(r);
    if (message === undefined) return false; // a header too long to keep: the failure goes as it was
    void this.keep(r, r.aor, message, status);
    return true;
  }

  /** A phone of `aor` registered here (`fresh`: a new binding; otherwise a refresh). */
  onRegistered(aor: string, fresh: boolean): void {
    if (this.stopped || !this.deps.inOverlay(aor)) return;
    const now = this.deps.clock.now();
    const last = this.checked.get(aor);
    if (!fresh && last !== undefined && now - last < this.options.recheckMs) return;
    this.schedule(aor);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.retries.values()) t.cancel();
    this.retries.clear();
    this.queue.clear();
  }

  /** Where things are, for /api/status. */
  status(): object {
    return { ...this.stats, storing: this.storing, passesRunning: this.running.size, queued: this.queue.size, awaitingRemoval: this.delivered.size };
  }

  private reply(r: ServiceRequest, status: number, reason: string, headers: Array<[string, string]> = []): void {
    r.tx.respond(createResponse(r.tx.request, status, reason, { toTag: r.toTag, headers }));
  }

  private keptFrom(r: ServiceRequest): KeptMessage | undefined {
    const h = r.request.headers;
    const from = (h.get('from') ?? '').replace(/;\s*tag=[^;]*/i, '').trim();
    const date = h.get('date') ?? new Date(this.deps.wallClock()).toUTCString();
    const contentType = h.get('content-type') ?? '';
    if (from === '' || from.length > MAX_KEPT_FIELD || date.length > MAX_KEPT_FIELD || contentType.length > MAX_KEPT_FIELD) return undefined;
    return { from, to: r.aor!, date, contentType, body: r.request.body, acceptedAt: Math.floor(this.deps.wallClock()), ...(r.user === undefined ? {} : { sender: r.user }) };
  }

  private async keep(r: ServiceRequest, aor: string, message: KeptMessage, status: number): Promise<void> {
    this.storing++;
    try {
      this.counter = (this.counter + 1) >>> 0;
      const key = keptMessageKey(this.deps.selfNodeId, message.acceptedAt, this.counter);
      let bytes = encodeKeptMessage(message);
      if (this.deps.sealing !== undefined) {
        const sealed = await this.deps.sealing.seal(aor, bytes, messageAad(aor, key));
        if (!sealed.ok) {
          if (sealed.reason === 'no-certificate') {
            // no certificate, no user: the failure goes as it was
            this.stats.noRecipient++;
            this.reply(r, status, status === 404 ? 'Not Found' : status === 408 ? 'Request Timeout' : 'Temporarily Unavailable');
          } else {
            this.stats.keepFailed++;
            this.reply(r, 503, `Service Unavailable - the user is away and its certificate could not be found (${clean(sealed.info)})`, [['Retry-After', '5']]);
          }
          return;
        }
        if (sealed.sealed.length > MAX_KEPT_VALUE_BYTES) {
          this.stats.refusedTooLarge++;
          this.reply(r, 413, `Request Entity Too Large - encrypted to the user's certificates the message is ${sealed.sealed.length} bytes, at most ${MAX_KEPT_VALUE_BYTES}`);
          return;
        }
        bytes = sealed.sealed;
      }
      const value: StoredDataValue = { model: 'dictionary', key, value: { exists: true, value: bytes } };
      const res = await this.deps.storage.store(MESSAGE_KIND_ID, { resourceName: aorResourceName(aor) }, [value], { lifetime: this.options.lifetimeS });
      if (res.ok) {
        this.stats.kept++;
        this.reply(r, 202, 'Accepted - kept for delivery when the user registers');
        // the recipient may have registered meanwhile (here): deliver now rather than at its next REGISTER
        if (this.deps.registeredHere(aor)) this.schedule(aor);
        return;
      }
      if (res.errorCode === ReloadErrorCode.DataTooLarge) {
        this.stats.refusedFull++;
        this.reply(r, 480, `Temporarily Unavailable - the user is away and its message box is full (${clean(res.info)})`);
        return;
      }
      this.stats.keepFailed++;
      const busy = res.errorCode === 0 || res.errorCode === ReloadErrorCode.RequestTimeout;
      if (busy) this.reply(r, 503, `Service Unavailable - the user is away and the overlay did not keep the message (${clean(res.info)})`, [['Retry-After', '5']]);
      else this.reply(r, 500, `Server Internal Error - the user is away and the overlay refused to keep the message (${clean(res.info)})`);
    } catch (e) {
      this.stats.keepFailed++;
      this.reply(r, 500, `Server Internal Error - keeping the message failed (${clean(e instanceof Error ? e.message : String(e))})`);
    } finally {
      this.storing--;
    }
  }

  private schedule(aor: string): void {
    if (this.stopped) return;
    if (this.running.has(aor)) {
      this.again.add(aor);
      return;
    }
    if (this.running.size < this.options.maxPasses) {
      void this.pass(aor);
      return;
    }
    if (this.queue.has(aor)) return;
    if (this.queue.size >= this.options.maxQueued) {
      // nothing is lost: the messages stay in the overlay for the AoR's next REGISTER
      this.stats.queueDropped++;
      return;
    }
    this.queue.add(aor);
  }

  private remember(aor: string): void {
    this.checked.delete(aor);
    this.checked.set(aor, this.deps.clock.now());
    while (this.checked.size > this.options.maxChecked) this.checked.delete(this.checked.keys().next().value!);
  }

  private async pass(aor: string): Promise<void> {
    this.running.add(aor);
    this.stats.passes++;
    this.remember(aor);
    let retry = false;
    try {
      retry = !(await this.deliverAll(aor));
    } catch (e) {
      retry = true;
      this.deps.logger?.warn({ aor, err: e instanceof Error ? e.message : String(e) }, 'messages: a delivery pass failed');
    } finally {
      this.running.delete(aor);
    }
    if (this.stopped) return;
    if (this.again.delete(aor)) this.schedule(aor);
    else if (retry && this.deps.registeredHere(aor) && !this.retries.has(aor)) {
      const t = this.deps.clock.setTimer(this.options.retryMs, () => {
        this.retries.delete(aor);
        if (this.deps.registeredHere(aor)) this.schedule(aor);
      });
      this.retries.set(aor, t);
    }
    const next = this.queue.values().next();
    if (!next.done) {
      this.queue.delete(next.value);
      this.schedule(next.value);
    }
  }

  /**
   * True when the box is empty at the end (or held nothing we could deliver). The box is listed with
   * a Stat (keys only: a Fetch of every message would not fit one RELOAD message) and each message
   * fetched on its own, in acceptance order.
   */
  private async deliverAll(aor: string): Promise<boolean> {
    const ref = { resourceName: aorResourceName(aor) };
    const listed = await this.deps.storage.stat(MESSAGE_KIND_ID, ref, { keys: [] });
    if (!listed.ok) return listed.errorCode === ReloadErrorCode.NotFound;
    const now = this.deps.wallClock();
    const keys: Array<{ key: Uint8Array; keyHex: string; at: bigint; counter: number }> = [];
    for (const m of listed.kind?.values ?? []) {
      const v = m.metadata;
      if (v.model !== 'dictionary' || !v.value.exists || v.key.length < 12) continue;
      if (Number(m.storageTime) + m.lifetime * 1000 <= now) continue;
      keys.push({ key: v.key, keyHex: Buffer.from(v.key).toString('hex'), ...keyOrder(v.key) });
    }
    keys.sort((a, b) => (a.at !== b.at ? (a.at < b.at ? -1 : 1) : a.counter !== b.counter ? a.counter - b.counter : a.keyHex < b.keyHex ? -1 : 1));
    for (const k of keys) {
      if (this.stopped || !this.deps.registeredHere(aor)) return false;
      const f = await this.fetchOne(aor, k.key, k.keyHex);
      if (f === 'failed') return false;
      if (f === undefined) continue; // gone meanwhile (another peer delivered it) or unreadable
      if (!this.delivered.has(f.keyHex)) {
        const answer = await this.deps.originate(this.deliveryRequest(f.message));
        if (answer.status < 200 || answer.status >= 300) {
          this.stats.deliveryFailed++;
          return false;
        }
        this.stats.delivered++;
        this.delivered.set(f.keyHex, now + f.remainingS * 1000);
        this.pruneDelivered(now);
      }
      if (await this.remove(aor, f)) this.delivered.delete(f.keyHex);
      else return false;
    }
    return true;
  }

  private async fetchOne(aor: string, key: Uint8Array, keyHex: string): Promise<Found | undefined | 'failed'> {
    const res = await this.deps.storage.fetch(MESSAGE_KIND_ID, { resourceName: aorResourceName(aor) }, { keys: [key] });
    if (!res.ok) return res.errorCode === ReloadErrorCode.NotFound ? undefined : 'failed';
    const now = this.deps.wallClock();
    for (const { data } of res.values) {
      const v = data.value;
      if (v.model !== 'dictionary' || !v.value.exists || Buffer.from(v.key).toString('hex') !== keyHex) continue;
      const remainingS = (Number(data.storageTime) + data.lifetime * 1000 - now) / 1000;
      if (remainingS <= 0) return undefined;
      try {
        let bytes: Uint8Array | undefined = v.value.value;
        if (looksSealed(bytes)) bytes = this.deps.sealing?.open(bytes, messageAad(aor, key));
        if (bytes === undefined) {
          this.stats.unreadable++;
          return undefined; // sealed to certificates we do not hold: another peer of the user reads it
        }
        const message = decodeKeptMessage(bytes);
        // a message kept for another user under this Resource-ID (a hash collision, or a forged one) is not ours to deliver
        if (message.to.toLowerCase() !== aor.toLowerCase()) return undefined;
        return { key, keyHex, message, remainingS };
      } catch {
        return undefined; // the storing peer checked it; a value we cannot read is left to expire
      }
    }
    return undefined;
  }

  private pruneDelivered(now: number): void {
    for (const [k, until] of this.delivered) if (until <= now) this.delivered.delete(k);
    while (this.delivered.size > this.options.maxDelivered) this.delivered.delete(this.delivered.keys().next().value!);
  }

  private async remove(aor: string, f: Found): Promise<boolean> {
    // a short tombstone (KEPT_TOMBSTONE_S): long enough for the replicas, and the box stays small
    const lifetime = KEPT_TOMBSTONE_S;
    const value: StoredDataValue = { model: 'dictionary', key: f.key, value: { exists: false, value: new Uint8Array(0) } };
    const r = await this.deps.storage.store(MESSAGE_KIND_ID, { resourceName: aorResourceName(aor) }, [value], { lifetime });
    if (!r.ok) {
      this.stats.removeFailed++;
      this.deps.logger?.warn({ aor, err: r.info }, 'messages: a delivered message could not be removed from the overlay (tried again later)');
    }
    return r.ok;
  }

  private deliveryRequest(m: KeptMessage): SipRequest {
    const headers = new SipHeaders([
      ['From', `${m.from};tag=${randomToken(this.deps.random, 12)}`],
      ['To', `<${m.to}>`],
      ['Call-ID', `${randomToken(this.deps.random, 20)}@p2psip`],
      ['CSeq', '1 MESSAGE'],
      ['Max-Forwards', '70'],
      ['Date', m.date],
    ]);
    if (m.contentType !== '') headers.append('Content-Type', m.contentType);
    headers.append('Content-Length', String(m.body.length));
    return { kind: 'request', method: 'MESSAGE', uri: parseUri(m.to), version: 'SIP/2.0', headers, body: m.body };
  }
}

/** What a sealed message is bound to: its Kind, the recipient's Resource Name and its key. */
export function messageAad(aor: string, key: Uint8Array): Uint8Array {
  return new TextEncoder().encode(`P2PSIP-MESSAGE ${aorResourceName(aor).toLowerCase()} ${Buffer.from(key).toString('hex')}`);
}

/** A reason phrase part: no control characters, bounded. */
function clean(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, 160);
}
