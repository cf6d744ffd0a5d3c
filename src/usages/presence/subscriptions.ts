/**
 * The notifier of SIP-specific event notification (RFC 6665 §4.2) for the packages the presence
 * service offers: subscriptions made, refreshed, ended and expired, and their NOTIFYs — at once
 * after a SUBSCRIBE, and on every change of the watched state, at most one per `throttleMs` per
 * subscription (§4.2.2 rate control: changes in between are coalesced into the next, the first
 * change after a quiet spell goes at once) and one at a time (the next waits for the answer to the
 * last, so the subscriber never sees them out of order). Every table is bounded.
 */
import type { Clock, TimerHandle } from '../../lib/clock.js';
import type { SipRequest } from '../../sip/message/sip-message.js';
import type { OutboundTarget } from '../../sip/transport/sip-transport.js';
import type { EventHeader } from './event-header.js';
import type { EventPackage, EventState } from './event-package.js';
import { DEFAULT_SUBSCRIPTION_LIMITS, type SubscriptionLimits } from './subscription-limits.js';
import { buildNotify, notifierDialog, remoteTargetOf, type NotifierDialog } from './notify-request.js';

/**
 * RFC 5057 §5.1 / RFC 6665 §4.2.2: answers to a NOTIFY that end the subscription (it is removed
 * silently). 408 stands for Timer F. Other failures leave it (the next change tries again).
 */
const ENDS_SUBSCRIPTION = new Set([404, 405, 408, 410, 416, 480, 481, 482, 483, 484, 485, 489, 501, 502, 604]);

export interface NotifierDeps {
  clock: Clock;
  /**
   * Sends a NOTIFY (the host adds the Via); resolves with the final status, 408 on timeout.
   * `arrivedOn`: where the subscription's last SUBSCRIBE came from (source address and flow).
   */
  send(request: SipRequest, arrivedOn: OutboundTarget): Promise<number>;
  localContact(): string;
}

/** A SUBSCRIBE as the notifier takes it (the service checked the package, Accept and authorization). */
export interface SubscribeInput {
  request: SipRequest;
  pkg: EventPackage;
  event: EventHeader;
  /** The presentity (canonical AoR). */
  presentity: string;
  /** The watcher (canonical AoR). */
  watcher: string;
  /** The To tag of our answer. */
  toTag: string;
  /** The request's Expires, when present. */
  expires: number | undefined;
  cseq: number;
  /** Where the SUBSCRIBE came from (its source address and flow). */
  arrivedOn: OutboundTarget;
}

/** What to answer: 200 with the Expires granted, or a failure (400, 423 + Min-Expires, 500, 503 + Retry-After, 481). */
export type SubscribeOutcome =
  | { status: 200; expires: number }
  | { status: 400 | 481 | 500; reason: string }
  | { status: 423; minExpires: number }
  | { status: 503; reason: string; retryAfter: number };

interface Subscription {
  key: string;
  resourceKey: string;
  pkg: EventPackage;
  event: EventHeader;
  presentity: string;
  watcher: string;
  dialog: NotifierDialog;
  arrivedOn: OutboundTarget;
  expiresAt: number;
  expiry: TimerHandle | undefined;
  /** NOTIFYs sent (the dialog package's version). */
  version: number;
  lastKey: string | undefined;
  lastSentAt: number;
  busy: boolean;
  /** A change not notified yet. */
  dirty: boolean;
  /** Notify even when the state key is unchanged (a SUBSCRIBE asked for it). */
  force: boolean;
  throttle: TimerHandle | undefined;
  /** The reason of the terminated NOTIFY still to send. */
  ending: string | undefined;
  ended: boolean;
  gone: Array<() => void>;
}

interface Resource {
  subs: Set<Subscription>;
  unwatch: () => void;
  epoch: number;
  cache: { epoch: number; at: number; state: Promise<EventState | undefined> } | undefined;
}

export interface NotifierStats {
  subscriptions: number;
  resources: number;
  notifies: number;
  removedByNotifyFailure: number;
}

export class Notifier {
  private readonly limits: SubscriptionLimits;
  private readonly subs = new Map<string, Subscription>();
  private readonly resources = new Map<string, Resource>();
  private readonly perWatcher = new Map<string, number>();
  private readonly perPresentity = new Map<string, number>();
  private notifies = 0;
  private removedByFailure = 0;

  constructor(
    private readonly deps: NotifierDeps,
    limits: Partial<SubscriptionLimits> = {},
  ) {
    this.limits = { ...DEFAULT_SUBSCRIPTION_LIMITS, ...limits };
  }

  stats(): NotifierStats {
    return { subscriptions: this.subs.size, resources: this.resources.size, notifies: this.notifies, removedByNotifyFailure: this.removedByFailure };
  }

  /** The subscription an in-dialog SUBSCRIBE refers to (Call-ID, tags, Event type and id), if it exists. */
  has(request: SipRequest, event: EventHeader, fromTag: string, toTag: string): boolean {
    return this.subs.has(keyOf(request.headers.get('call-id') ?? '', fromTag, toTag, event));
  }

  /** An initial SUBSCRIBE (RFC 6665 §4.2.1.1): on 200 the first NOTIFY follows at once. */
  subscribe(s: SubscribeInput): SubscribeOutcome {
    const expires = this.granted(s.expires, s.pkg.defaultExpires);
    if (typeof expires !== 'number') return expires;
    const l = this.limits;
    const busy = (what: string): SubscribeOutcome => ({ status: 503, reason: `Service Unavailable - Too many subscriptions (${what})`, retryAfter: l.retryAfter });
    if (this.subs.size >= l.maxTotal) return busy('this peer');
    if ((this.perWatcher.get(s.watcher) ?? 0) >= l.maxPerWatcher) return busy('this watcher');
    if ((this.perPresentity.get(s.presentity) ?? 0) >= l.maxPerPresentity) return busy('this presentity');
    const made = notifierDialog(s.request, s.toTag, s.cseq);
    if (!made.ok) return { status: 400, reason: made.reason };
    const dialog = made.dialog;
    const key = keyOf(dialog.callId, dialog.remoteTag, dialog.localTag, s.event);
    if (this.subs.has(key)) return { status: 500, reason: 'Server Internal Error - Subscription exists' };
    const resourceKey = `${s.pkg.event}\n${s.presentity}`;
    const sub: Subscription = {
      key,
      resourceKey,
      pkg: s.pkg,
      event: s.event,
      presentity: s.presentity,
      watcher: s.watcher,
      dialog,
      arrivedOn: s.arrivedOn,
      expiresAt: 0,
      expiry: undefined,
      version: 0,
      lastKey: undefined,
      lastSentAt: -Infinity,
      busy: false,
      dirty: true,
      force: true,
      throttle: undefined,
      ending: undefined,
      ended: false,
      gone: [],
    };
    this.subs.set(key, sub);
    this.bump(this.perWatcher, s.watcher, 1);
    this.bump(this.perPresentity, s.presentity, 1);
    this.resourceOf(resourceKey, s.pkg, s.presentity).subs.add(sub);
    // §4.2.1.1: Expires 0 is a fetch: one NOTIFY with the state, terminated
    if (expires === 0) sub.ending = 'timeout';
    else this.arm(sub, expires);
    this.later(sub);
    return { status: 200, expires };
  }

  /** A SUBSCRIBE in an existing subscription (§4.2.1.2 refresh, §4.2.1.4 Expires 0: unsubscribe). */
  refresh(request: SipRequest, event: EventHeader, fromTag: string, toTag: string, expiresHeader: number | undefined, cseq: number, arrivedOn: OutboundTarget): SubscribeOutcome {
    const sub = this.subs.get(keyOf(request.headers.get('call-id') ?? '', fromTag, toTag, event));
    if (sub === undefined || sub.ended || sub.ending !== undefined) return { status: 481, reason: 'Call/Transaction Does Not Exist - No such subscription' };
    // RFC 3261 §12.2.2: requests of a dialog come in CSeq order
    if (cseq <= sub.dialog.remoteSeq) return { status: 500, reason: 'Server Internal Error - CSeq out of order' };
    const expires = this.granted(expiresHeader, sub.pkg.defaultExpires);
    if (typeof expires !== 'number') return expires;
    sub.dialog.remoteSeq = cseq;
    // SUBSCRIBE is a target refresh request (RFC 6665 §4.1.2)
    if (request.headers.has('contact')) {
      const target = remoteTargetOf(request);
      if (!target.ok) return { status: 400, reason: target.reason };
      sub.dialog.remoteTarget = target.uri;
    }
    sub.arrivedOn = arrivedOn;
    sub.force = true;
    sub.dirty = true;
    if (expires === 0) {
      sub.expiry?.cancel();
      sub.expiry = undefined;
      sub.ending = 'timeout';
    } else this.arm(sub, expires);
    this.later(sub);
    return { status: 200, expires };
  }

  /** The state of `presentity` in `event` may have changed: its subscriptions are notified (throttled). */
  changed(event: string, presentity: string): void {
    const r = this.resources.get(`${event}\n${presentity}`);
    if (r === undefined) return;
    r.epoch++;
    for (const sub of r.subs) {
      sub.dirty = true;
      this.pump(sub);
    }
  }

  /**
   * Ends every subscription with a terminated NOTIFY (shutdown). `reason` defaults to `deactivated`
   * (RFC 6665 §4.2.2: "the subscriber SHOULD retry immediately"): the presentity still exists, and a
   * phone re-subscribing through its outbound proxy reaches this peer back after a restart, or
   * another peer. `noresource` would tell it the presentity is gone and not to retry.
   * Resolves once every final NOTIFY has been answered (or has failed).
   */
  terminateAll(reason = 'deactivated'): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const sub of [...this.subs.values()]) {
      if (sub.ended) continue;
      waits.push(new Promise<void>((resolve) => sub.gone.push(resolve)));
      if (sub.ending === undefined) sub.ending = reason;
      sub.throttle?.cancel();
      sub.throttle = undefined;
      this.pump(sub);
    }
    return Promise.all(waits).then(() => undefined);
  }

  /** Expires 0 is fine; below the minimum: 423; above the maximum: clamped. */
  private granted(requested: number | undefined, packageDefault: number): number | SubscribeOutcome {
    const l = this.limits;
    if (requested !== undefined && requested > 0 && requested < l.minExpires) return { status: 423, minExpires: l.minExpires };
    return Math.min(requested ?? packageDefault, l.maxExpires);
  }

  private arm(sub: Subscription, expires: number): void {
    sub.expiry?.cancel();
    sub.expiresAt = this.deps.clock.now() + expires * 1000;
    sub.expiry = this.deps.clock.setTimer(expires * 1000, () => {
      sub.expiry = undefined;
      if (sub.ended || sub.ending !== undefined) return;
      // RFC 6665 §4.2.2: the subscription timed out
      sub.ending = 'timeout';
      sub.throttle?.cancel();
      sub.throttle = undefined;
      this.pump(sub);
    });
  }

  /** Pumps after the caller's answer went out (the 200 before its first NOTIFY). */
  private later(sub: Subscription): void {
    void Promise.resolve().then(() => this.pump(sub));
  }

  private pump(sub: Subscription): void {
    if (sub.ended || sub.busy || sub.throttle !== undefined) return;
    const ending = sub.ending;
    if (ending === undefined && !sub.dirty) return;
    const now = this.deps.clock.now();
    const wait = sub.lastSentAt + this.limits.throttleMs - now;
    if (ending === undefined && wait > 0) {
      sub.throttle = this.deps.clock.setTimer(wait, () => {
        sub.throttle = undefined;
        this.pump(sub);
      });
      return;
    }
    sub.busy = true;
    const force = sub.force;
    sub.dirty = false;
    sub.force = false;
    void this.stateOf(sub).then((state) => this.notify(sub, state, force, ending));
  }

  private notify(sub: Subscription, state: EventState | undefined, force: boolean, ending: string | undefined): void {
    if (sub.ended) return;
    // ended meanwhile (a refresh with Expires 0, the expiry, terminateAll): the final NOTIFY goes now.
    // A change whose state is unchanged, or could not be read, is not notified.
    const final = ending ?? sub.ending;
    if (final === undefined && !force && (state === undefined || state.key === sub.lastKey)) {
      sub.busy = false;
      this.pump(sub);
      return;
    }
    let request: SipRequest;
    try {
      const body = state === undefined ? undefined : new TextEncoder().encode(state.body(sub.version));
      const remaining = Math.max(0, Math.ceil((sub.expiresAt - this.deps.clock.now()) / 1000));
      request = buildNotify(sub.dialog, this.deps.localContact(), {
        event: sub.event,
        subscriptionState: final === undefined ? `active;expires=${remaining}` : `terminated;reason=${final}`,
        contentType: body === undefined ? undefined : sub.pkg.contentType,
        body: body ?? new Uint8Array(0),
      });
    } catch {
      // a state the package cannot render, or an unusable target: the subscription cannot go on
      this.finish(sub);
      this.settle(sub);
      return;
    }
    if (state !== undefined) sub.lastKey = state.key;
    sub.lastSentAt = this.deps.clock.now();
    sub.version++;
    this.notifies++;
    if (final !== undefined) this.finish(sub);
    let sent: Promise<number>;
    try {
      sent = this.deps.send(request, sub.arrivedOn);
    } catch {
      sent = Promise.resolve(503);
    }
    void sent.then(
      (status) => this.answered(sub, status, final !== undefined),
      () => this.answered(sub, 408, final !== undefined),
    );
  }

  private answered(sub: Subscription, status: number, final: boolean): void {
    if (final) return this.settle(sub);
    if (sub.ended) return;
    sub.busy = false;
    if (ENDS_SUBSCRIPTION.has(status)) {
      this.removedByFailure++;
      this.finish(sub);
      this.settle(sub);
      return;
    }
    this.pump(sub);
  }

  /** The state for a NOTIFY: shared by the subscriptions of a resource for `stateCacheMs`, undefined on failure or timeout. */
  private stateOf(sub: Subscription): Promise<EventState | undefined> {
    const r = this.resources.get(sub.resourceKey);
    const now = this.deps.clock.now();
    if (r !== undefined && r.cache !== undefined && r.cache.epoch === r.epoch && now - r.cache.at < this.limits.stateCacheMs) return r.cache.state;
    const state = this.readState(sub.pkg, sub.presentity);
    if (r !== undefined) r.cache = { epoch: r.epoch, at: now, state };
    return state;
  }

  private readState(pkg: EventPackage, presentity: string): Promise<EventState | undefined> {
    return new Promise<EventState | undefined>((resolve) => {
      const timer = this.deps.clock.setTimer(this.limits.stateTimeoutMs, () => resolve(undefined));
      let p: Promise<EventState>;
      try {
        p = pkg.state(presentity);
      } catch {
        p = Promise.reject(new Error('state failed'));
      }
      p.then(
        (s) => {
          timer.cancel();
          resolve(s);
        },
        () => {
          timer.cancel();
          resolve(undefined);
        },
      );
    });
  }

  /** Takes the subscription out of every table (its final NOTIFY, if any, is on its way). */
  private finish(sub: Subscription): void {
    if (sub.ended) return;
    sub.ended = true;
    sub.expiry?.cancel();
    sub.throttle?.cancel();
    sub.expiry = undefined;
    sub.throttle = undefined;
    this.subs.delete(sub.key);
    this.bump(this.perWatcher, sub.watcher, -1);
    this.bump(this.perPresentity, sub.presentity, -1);
    const r = this.resources.get(sub.resourceKey);
    if (r === undefined) return;
    r.subs.delete(sub);
    if (r.subs.size === 0) {
      this.resources.delete(sub.resourceKey);
      r.unwatch();
    }
  }

  private settle(sub: Subscription): void {
    const gone = sub.gone.splice(0);
    for (const g of gone) g();
  }

  private resourceOf(key: string, pkg: EventPackage, presentity: string): Resource {
    let r = this.resources.get(key);
    if (r !== undefined) return r;
    const made: Resource = { subs: new Set(), unwatch: () => {}, epoch: 0, cache: undefined };
    this.resources.set(key, made);
    try {
      made.unwatch = pkg.watch(presentity, () => this.changed(pkg.event, presentity));
    } catch {
      // a package that cannot watch: its subscribers get the state on SUBSCRIBE and refresh only
    }
    return made;
  }

  private bump(table: Map<string, number>, key: string, by: number): void {
    const n = (table.get(key) ?? 0) + by;
    if (n <= 0) table.delete(key);
    else table.set(key, n);
  }
}

function keyOf(callId: string, remoteTag: string, localTag: string, event: EventHeader): string {
  return `${callId}\n${remoteTag}\n${localTag}\n${event.event}\n${event.id ?? ''}`;
}
