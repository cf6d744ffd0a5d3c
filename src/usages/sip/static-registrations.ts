/**
 * Static registrations kept in the overlay (issue 6): each configured AoR gets a permanent local
 * binding (no expiry; a phone's REGISTER or un-REGISTER of the same AoR adds or removes its own
 * bindings beside it, never this one) and our sip_registration_route entry under the AoR
 * (RFC 7904 §3, the same value a phone's REGISTER stores). The Store is refreshed when half of its
 * lifetime has passed, tried again after a failure (backoff, doubling up to maxRetryMs, while the
 * earlier Store may still live), and withdrawn on clean shutdown.
 */
import type { Clock, TimerHandle } from '../../lib/clock.js';
import type { SipRegistration } from '../../reload/codec/index.js';
import type { Binding } from '../../sip/core/location-service.js';
import { formatUri, paramValue } from '../../sip/message/index.js';
import type { RegistrationDirectory } from './registration-directory.js';
import type { StaticRegistration } from './parse-static-registration.js';

export interface StaticRegistrationsDeps {
  clock: Clock;
  directory: RegistrationDirectory;
  selfNodeId: Uint8Array;
  logger?: { warn(obj: object, msg: string): void };
  /**
   * Issue 15, closed overlays: obtains the right to write the AoR's registration before each Store
   * (the owner's claim of its user record, OverlayCredentialVerifier.claimAsOwner); a rejection
   * fails that Store (retried like any failure). Absent: open overlays.
   */
  authorize?: (aor: string) => Promise<void>;
}

export interface StaticRegistrationsOptions {
  /** Lifetime of each Store, s (default 3,600); refreshed after half of it. */
  lifetimeSec: number;
  /** First wait before a failed Store is tried again, ms (default 2,000; doubled each time). */
  retryMs: number;
  /** Longest wait between tries, ms (default 60,000). */
  maxRetryMs: number;
}

export const DEFAULT_STATIC_REGISTRATIONS_OPTIONS: Readonly<StaticRegistrationsOptions> = Object.freeze({
  lifetimeSec: 3_600,
  retryMs: 2_000,
  maxRetryMs: 60_000,
});

/** Most static registrations one peer keeps. */
export const MAX_STATIC_REGISTRATIONS = 256;

/** Call-ID of a static binding: marks it (e.g. in /api/status) and keeps it apart from phones'. */
export const STATIC_CALL_ID = 'p2psip-static';

export type StaticStoreState = 'idle' | 'storing' | 'stored' | 'retrying' | 'withdrawing' | 'withdrawn';

/** What /api/status shows of one static AoR. */
export interface StaticRegistrationStatus {
  aor: string;
  contacts: string[];
  state: StaticStoreState;
  /** Seconds until the stored entry ends (0 when none is known to be stored). */
  storedForSec: number;
  stores: number;
  failures: number;
  lastError: string | undefined;
}

interface Entry {
  aor: string;
  contacts: StaticRegistration[];
  state: StaticStoreState;
  storedUntil: number;
  stores: number;
  failures: number;
  lastError: string | undefined;
  timer: TimerHandle | undefined;
  nextRetryMs: number;
}

export class StaticRegistrations {
  private readonly options: StaticRegistrationsOptions;
  private readonly entries = new Map<string, Entry>();
  private readonly work = new Set<Promise<void>>();
  private stopped = false;

  constructor(
    private readonly deps: StaticRegistrationsDeps,
    registrations: readonly StaticRegistration[],
    options: Partial<StaticRegistrationsOptions> = {},
  ) {
    this.options = { ...DEFAULT_STATIC_REGISTRATIONS_OPTIONS, ...options };
    if (registrations.length > MAX_STATIC_REGISTRATIONS) throw new RangeError(`at most ${MAX_STATIC_REGISTRATIONS} static registrations`);
    for (const r of registrations) {
      let e = this.entries.get(r.aor);
      if (e === undefined) {
        e = { aor: r.aor, contacts: [], state: 'idle', storedUntil: 0, stores: 0, failures: 0, lastError: undefined, timer: undefined, nextRetryMs: this.options.retryMs };
        this.entries.set(r.aor, e);
      }
      if (!e.contacts.some((c) => formatUri(c.contact) === formatUri(r.contact))) e.contacts.push(r);
    }
  }

  /** Stores every static AoR in the overlay (once the overlay is joined). */
  start(): void {
    if (this.stopped) return;
    for (const e of this.entries.values()) if (e.state === 'idle') this.store(e);
  }

  has(aor: string): boolean {
    return this.entries.has(aor);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The AoR's static bindings (never expiring: each read says "one lifetime from now"). */
  bindings(aor: string): Binding[] {
    const e = this.entries.get(aor);
    if (e === undefined) return [];
    const expiresAt = this.deps.clock.now() + this.options.lifetimeSec * 1000;
    return e.contacts.map((r) => {
      const u = r.contact;
      const tcp = u.scheme === 'sips' || paramValue(u.params, 'transport')?.toLowerCase() === 'tcp';
      const port = u.port ?? (u.scheme === 'sips' ? 5061 : 5060);
      return {
        aor,
        contact: { displayName: undefined, uri: u, params: [] },
        expiresAt,
        q: 1,
        callId: STATIC_CALL_ID,
        cseq: 0,
        source: { protocol: tcp ? 'tcp' : 'udp', host: u.host.replace(/^\[|\]$/g, ''), port },
        flowId: undefined,
      };
    });
  }

  status(): StaticRegistrationStatus[] {
    const now = this.deps.clock.now();
    return [...this.entries.values()].map((e) => ({
      aor: e.aor,
      contacts: e.contacts.map((c) => formatUri(c.contact)),
      state: e.state,
      storedForSec: Math.max(0, Math.round((e.storedUntil - now) / 1000)),
      stores: e.stores,
      failures: e.failures,
      lastError: e.lastError,
    }));
  }

  /** Clean shutdown: stops refreshing and withdraws every stored entry (waits for Stores in flight). */
  async withdrawAll(): Promise<void> {
    this.stopped = true;
    for (const e of this.entries.values()) {
      e.timer?.cancel();
      e.timer = undefined;
    }
    await Promise.allSettled([...this.work]);
    await Promise.allSettled(
      [...this.entries.values()].map(async (e) => {
        // never tried: nothing to take back (a failed Store may still have landed: withdraw it)
        if (e.state === 'idle') {
          e.state = 'withdrawn';
          return;
        }
        e.state = 'withdrawing';
        try {
          await this.deps.directory.withdraw(e.aor, Math.max(e.storedUntil - this.deps.clock.now(), this.options.lifetimeSec * 1000) / 1000);
          e.storedUntil = 0;
          e.state = 'withdrawn';
        } catch (err) {
          e.lastError = err instanceof Error ? err.message : String(err);
          e.state = 'withdrawn';
        }
      }),
    );
  }

  /** Resolves when the Stores started so far are done (tests). */
  async idle(): Promise<void> {
    while (this.work.size > 0) await Promise.allSettled([...this.work]);
  }

  private store(e: Entry): void {
    e.timer = undefined;
    if (this.stopped) return;
    e.state = e.state === 'retrying' ? 'retrying' : 'storing';
    const lifetimeSec = this.options.lifetimeSec;
    const value: SipRegistration = { type: 'route', contactPrefs: new Uint8Array(0), destinationList: [{ type: 'node', nodeId: this.deps.selfNodeId }] };
    const authorize = this.deps.authorize;
    const publish = authorize === undefined ? this.deps.directory.publish(e.aor, value, lifetimeSec) : authorize(e.aor).then(() => this.deps.directory.publish(e.aor, value, lifetimeSec));
    const p = publish.then(
      () => {
        if (this.stopped) return;
        const now = this.deps.clock.now();
        e.stores++;
        e.state = 'stored';
        e.storedUntil = now + lifetimeSec * 1000;
        e.nextRetryMs = this.options.retryMs;
        e.lastError = undefined;
        // RFC 6940 §7.4.1: a value lives only for its lifetime; store again well before it ends.
        e.timer = this.deps.clock.setTimer(Math.max(1_000, (lifetimeSec * 1000) / 2), () => this.store(e));
      },
      (err: unknown) => {
        if (this.stopped) return;
        e.failures++;
        const why = err instanceof Error ? err.message : String(err);
        const changed = why !== e.lastError;
        e.lastError = why;
        e.state = 'retrying';
        const wait = e.nextRetryMs;
        e.nextRetryMs = Math.min(wait * 2, this.options.maxRetryMs);
        // one warning per distinct failure, not one a minute for a Store the overlay keeps refusing
        if (changed) this.deps.logger?.warn({ aor: e.aor, err: why, retryInMs: wait }, 'SIP usage: Store of a static registration failed (retrying)');
        e.timer = this.deps.clock.setTimer(wait, () => this.store(e));
      },
    );
    this.work.add(p);
    void p.finally(() => this.work.delete(p));
  }
}
