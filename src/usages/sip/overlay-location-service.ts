/**
 * The SIP usage's location service (RFC 7904): a decorator of the peer's own LocationService.
 * - update (REGISTER): the binding is kept locally as before, and for an overlay AoR the peer
 *   stores `sip_registration_route` (destination list = our Node-ID) under the AoR, lifetime
 *   following the registration; a refresh extends it, the last binding gone withdraws it.
 * - lookup (a request to route): the local bindings and the overlay's registrations at other
 *   peers (the overlay's wait is short when there are local ones, and its failure leaves them),
 *   each registered peer located by AppAttach, and one target per peer: its SIP front, with the
 *   Request-URI `sip:user@<peer address>;p2psip=peer`. A request carrying that mark came from a
 *   peer: it is delivered to local bindings only, never sent back into the overlay (no loops).
 * - static registrations (`statics`): their bindings are local bindings that no REGISTER changes
 *   (listed beside the phones' in a REGISTER's answer); their Store is kept by StaticRegistrations,
 *   so a phone's REGISTER or un-REGISTER of a static AoR neither stores nor withdraws it here.
 */
import type { Clock, TimerHandle } from '../../lib/clock.js';
import type { SipRegistration } from '../../reload/codec/index.js';
import { hasParam, isSipUri } from '../../sip/message/index.js';
import type { SipRequest, SipUri } from '../../sip/message/sip-message.js';
import type { Binding, BindingChange, BindingUpdateResult, LocationService } from '../../sip/core/location-service.js';
import { LocationLookupError } from '../../sip/core/location-service.js';
import { isOverlayAor } from './aor-resource-id.js';
import { RegistrationCache } from './registration-cache.js';
import type { RegistrationDirectory, RegistrationEntry } from './registration-directory.js';
import type { LocateResult } from './sip-peer-locator.js';

/** URI parameter marking a request forwarded by a peer to the peer its callee registered at. */
export const PEER_MARK = 'p2psip';

export interface OverlayLocationDeps {
  clock: Clock;
  /** The peer's own bindings (MemoryLocationService). */
  inner: LocationService;
  directory: RegistrationDirectory;
  locate: (nodeId: Uint8Array) => Promise<LocateResult>;
  /** The overlay name: AoRs `sip:user@<overlayName>` live in the overlay. */
  overlayName: string;
  selfNodeId: Uint8Array;
  /** Static registrations (permanent local bindings, stored in the overlay by their owner). */
  statics?: { has(aor: string): boolean; bindings(aor: string): Binding[] };
  logger?: { warn(obj: object, msg: string): void };
}

export interface OverlayLocationOptions {
  /** Longest wait for the overlay (Fetch + AppAttach) when the AoR has no binding here, ms (default 5,000; then 408). */
  lookupTimeoutMs: number;
  /**
   * With bindings here, how long the overlay is also asked for the AoR's phones at other peers, ms
   * (default 1,000; 0 = local bindings only). A slower or failing overlay leaves the local ones.
   */
  localForkWaitMs: number;
  /** Most registered peers tried for one request (default 8). */
  maxPeers: number;
  /** sip_registration_uri indirections followed (default 2). */
  maxUriHops: number;
  /** Most Fetches one lookup makes, indirections included (default 4). */
  maxFetches: number;
  /** A refresh that moves the stored expiry by less than this is not re-stored, s (default 30). */
  refreshSlackSec: number;
  /** First wait before a failed Store is tried again, ms (default 2,000; doubled each time, at most 60,000). */
  publishRetryMs: number;
  /**
   * How long a REGISTER's answer waits for its overlay Store, ms (default 3,000; 0 = answer at once).
   * A phone told 200 is then reachable from other peers; a slower or failed Store still answers 200
   * (the local binding holds) and is retried in the background.
   */
  registerWaitMs: number;
  /**
   * How long a Fetch's answer about an AoR is reused, ms (default 0 = every lookup Fetches). Only
   * found registrations are kept; see RegistrationCache for what may be stale for this long.
   */
  fetchCacheMs: number;
}

export const DEFAULT_OVERLAY_LOCATION_OPTIONS: Readonly<OverlayLocationOptions> = Object.freeze({
  lookupTimeoutMs: 5_000,
  localForkWaitMs: 1_000,
  maxPeers: 8,
  maxUriHops: 2,
  maxFetches: 4,
  refreshSlackSec: 30,
  publishRetryMs: 2_000,
  registerWaitMs: 3_000,
  fetchCacheMs: 0,
});

export interface OverlayLocationStats {
  published: number;
  withdrawn: number;
  publishFailures: number;
  overlayLookups: number;
  /** Fetches sent (sip_registration_uri indirections included). */
  fetches: number;
  /** Lookups answered by the Fetch cache (fetchCacheMs). */
  fetchCacheHits: number;
}

const utf8d = new TextDecoder();

export class OverlayLocationService implements LocationService {
  private readonly options: OverlayLocationOptions;
  /** AoR → absolute expiry (ms) of what we stored. */
  private readonly published = new Map<string, number>();
  private readonly work = new Set<Promise<void>>();
  /** AoR → the Store or withdraw in flight for it (a REGISTER's answer waits for it, bounded). */
  private readonly inFlight = new Map<string, Promise<void>>();
  /** AoRs whose Store failed: the pending retry and the wait after it. */
  private readonly retries = new Map<string, TimerHandle>();
  readonly stats: OverlayLocationStats = { published: 0, withdrawn: 0, publishFailures: 0, overlayLookups: 0, fetches: 0, fetchCacheHits: 0 };
  private readonly fetched: RegistrationCache;

  constructor(
    private readonly deps: OverlayLocationDeps,
    options: Partial<OverlayLocationOptions> = {},
  ) {
    this.options = { ...DEFAULT_OVERLAY_LOCATION_OPTIONS, ...options };
    this.fetched = new RegistrationCache(deps.clock, { maxAgeMs: this.options.fetchCacheMs });
  }

  async update(aor: string, change: BindingChange): Promise<BindingUpdateResult> {
    const r = await this.deps.inner.update(aor, change);
    if (r.ok && this.deps.statics?.has(aor) === true) return { ok: true, bindings: [...r.bindings, ...this.deps.statics.bindings(aor)] };
    if (r.ok && isOverlayAor(aor, this.deps.overlayName)) {
      this.sync(aor, r.bindings);
      // A retransmitted REGISTER finds the same Store in flight and waits for it as well.
      const pending = this.inFlight.get(aor);
      if (pending !== undefined && this.options.registerWaitMs > 0) await this.bounded(pending, this.options.registerWaitMs);
    }
    return r;
  }

  /** Waits for `p` (which never rejects) at most `limitMs`. */
  private bounded(p: Promise<void>, limitMs: number): Promise<void> {
    let timer: { cancel(): void } | undefined;
    const limit = new Promise<void>((resolve) => {
      timer = this.deps.clock.setTimer(limitMs, resolve);
    });
    return Promise.race([p, limit]).finally(() => timer?.cancel());
  }

  size(): number {
    return this.deps.inner.size();
  }

  async lookup(aor: string, request?: SipRequest): Promise<Binding[]> {
    const phones = await this.deps.inner.lookup(aor);
    const local = this.deps.statics?.has(aor) === true ? [...phones, ...this.deps.statics.bindings(aor)] : phones;
    if (!isOverlayAor(aor, this.deps.overlayName)) return local;
    if (request !== undefined && isSipUri(request.uri) && hasParam(request.uri.params, PEER_MARK)) return local;
    if (local.length === 0) return this.remote(aor, request, this.options.lookupTimeoutMs);
    if (this.options.localForkWaitMs <= 0) return local;
    // Phones of this AoR registered at other peers ring too (forking, issue 6); the overlay gets a
    // short wait, and its failure never costs the local delivery.
    const remote = await this.remote(aor, request, this.options.localForkWaitMs).catch(() => []);
    return [...local, ...remote];
  }

  /** The AoR's registrations at other peers as targets; bounded by `limitMs` (then 408). */
  private remote(aor: string, request: SipRequest | undefined, limitMs: number): Promise<Binding[]> {
    this.stats.overlayLookups++;
    let timer: { cancel(): void } | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = this.deps.clock.setTimer(limitMs, () =>
        reject(new LocationLookupError('overlay-timeout', `the overlay did not answer within ${limitMs} ms`, 408, 'Request Timeout')),
      );
    });
    return Promise.race([this.remoteUnbounded(aor, request), timeout]).finally(() => timer?.cancel());
  }

  private async remoteUnbounded(aor: string, request: SipRequest | undefined): Promise<Binding[]> {
    let nodes = this.fetched.get(aor);
    if (nodes !== undefined) this.stats.fetchCacheHits++;
    else this.fetched.set(aor, (nodes = await this.registeredNodes(aor)));
    if (nodes.length === 0) return [];
    const located = await Promise.all(nodes.map((n) => this.deps.locate(n.nodeId)));
    const asked = request !== undefined && isSipUri(request.uri) && request.uri.user !== undefined ? request.uri.user : escapeUser(aor);
    const now = this.deps.clock.now();
    const bindings: Binding[] = [];
    const seen = new Set<string>();
    located.forEach((r, i) => {
      const via = nodes[i]!.aor;
      if (!r.ok) return;
      // The peer knows the user under the AoR it registered (a sip_registration_uri target may differ).
      const user = via === aor ? asked : escapeUser(via);
      const key = `${r.address.protocol}:${r.address.host}:${r.address.port}:${user}`;
      if (seen.has(key)) return;
      seen.add(key);
      bindings.push(peerBinding(aor, user, r.address, now));
    });
    // a registered peer that cannot be located: the next lookup Fetches again
    if (located.some((r) => !r.ok)) this.fetched.delete(aor);
    if (bindings.length === 0) {
      const why = located.map((r) => (r.ok ? '' : r.info)).filter((s) => s !== '')[0] ?? 'no address';
      throw new LocationLookupError('peer-unreachable', `registered peer unreachable (${why})`, 480, 'Temporarily Unavailable');
    }
    return bindings;
  }

  /** Withdraws every registration we stored (clean shutdown); waits for pending stores first. */
  async withdrawAll(): Promise<void> {
    for (const r of this.retries.values()) r.cancel();
    this.retries.clear();
    await Promise.allSettled([...this.work]);
    const stored = [...this.published.entries()];
    this.published.clear();
    const now = this.deps.clock.now();
    await Promise.allSettled(
      stored.map(([aor, expiresAt]) => this.deps.directory.withdraw(aor, (expiresAt - now) / 1000).then(() => void this.stats.withdrawn++)),
    );
  }

  /** Forgets stored registrations whose lifetime ended (the overlay drops them itself); returns how many. */
  sweep(): number {
    const now = this.deps.clock.now();
    let n = 0;
    for (const [aor, expiresAt] of this.published) {
      if (expiresAt <= now) {
        this.published.delete(aor);
        n++;
      }
    }
    return n;
  }

  /** Resolves when every background store/withdraw started so far has finished (tests). */
  async idle(): Promise<void> {
    while (this.work.size > 0) await Promise.allSettled([...this.work]);
  }

  /** AoRs we have stored, with their stored expiry (for /api/status). */
  publishedAors(): Array<[string, number]> {
    return [...this.published.entries()];
  }

  private sync(aor: string, bindings: readonly Binding[], retryDelayMs?: number): void {
    const now = this.deps.clock.now();
    const expiresAt = Math.max(0, ...bindings.map((b) => b.expiresAt));
    const stored = this.published.get(aor);
    const retry = this.retries.get(aor);
    if (retry !== undefined && retryDelayMs === undefined) {
      retry.cancel();
      this.retries.delete(aor);
    }
    if (bindings.length === 0 || expiresAt <= now) {
      if (stored === undefined) return;
      this.published.delete(aor);
      this.track(this.deps.directory.withdraw(aor, (stored - now) / 1000).then(() => void this.stats.withdrawn++), aor, 'withdraw');
      return;
    }
    if (stored !== undefined && stored > now && Math.abs(stored - expiresAt) < this.options.refreshSlackSec * 1000) return;
    this.published.set(aor, expiresAt);
    const lifetimeSec = Math.ceil((expiresAt - now) / 1000);
    const value: SipRegistration = { type: 'route', contactPrefs: new Uint8Array(0), destinationList: [{ type: 'node', nodeId: this.deps.selfNodeId }] };
    this.track(
      this.deps.directory.publish(aor, value, lifetimeSec).then(() => void this.stats.published++),
      aor,
      'publish',
      () => {
        if (this.published.get(aor) !== expiresAt) return;
        // Not stored: forget it, and try again later (the phone's next refresh may be an hour away).
        this.published.delete(aor);
        this.scheduleRetry(aor, retryDelayMs ?? this.options.publishRetryMs);
      },
    );
  }

  private scheduleRetry(aor: string, delayMs: number): void {
    if (this.retries.has(aor)) return;
    const timer = this.deps.clock.setTimer(delayMs, () => {
      this.retries.delete(aor);
      void this.deps.inner.lookup(aor).then((bindings) => this.sync(aor, bindings, Math.min(delayMs * 2, 60_000)));
    });
    this.retries.set(aor, timer);
  }

  private track(p: Promise<void>, aor: string, what: string, onFail?: () => void): void {
    const tracked = p.catch((e: unknown) => {
      this.stats.publishFailures++;
      onFail?.();
      this.deps.logger?.warn({ aor, err: e instanceof Error ? e.message : String(e) }, `SIP usage: ${what} failed`);
    });
    this.work.add(tracked);
    this.inFlight.set(aor, tracked);
    void tracked.finally(() => {
      this.work.delete(tracked);
      if (this.inFlight.get(aor) === tracked) this.inFlight.delete(aor);
    });
  }

  /** Node-IDs the AoR is registered at (ours excluded), following sip_registration_uri (RFC 7904 §3.2). */
  private async registeredNodes(aor: string): Promise<Array<{ nodeId: Uint8Array; aor: string }>> {
    const out: Array<{ nodeId: Uint8Array; aor: string }> = [];
    const seen = new Set<string>();
    let aors = [aor];
    const visited = new Set<string>(aors);
    let fetches = 0;
    for (let hop = 0; hop <= this.options.maxUriHops && aors.length > 0; hop++) {
      const next: string[] = [];
      for (const a of aors) {
        if (fetches++ >= this.options.maxFetches) break;
        // Only the AoR itself must be fetched; an indirection that fails is skipped.
        const entries = hop === 0 ? await this.fetch(a) : await this.fetch(a).catch(() => []);
        for (const e of entries) {
          if (e.value.type === 'route') {
            const last = [...e.value.destinationList].reverse().find((d) => d.type === 'node');
            const id = last?.type === 'node' ? last.nodeId : e.nodeId;
            const key = `${Buffer.from(id).toString('hex')} ${a}`;
            if (seen.has(key) || sameBytes(id, this.deps.selfNodeId)) continue;
            seen.add(key);
            if (out.length < this.options.maxPeers) out.push({ nodeId: id, aor: a });
          } else if (e.value.type === 'uri') {
            const target = utf8d.decode(e.value.uri).trim();
            if (isOverlayAor(target, this.deps.overlayName) && !visited.has(target)) {
              visited.add(target);
              next.push(target);
            }
          }
        }
      }
      aors = next;
    }
    return out;
  }

  private fetch(aor: string): Promise<RegistrationEntry[]> {
    this.stats.fetches++;
    return this.deps.directory.lookup(aor).catch((e: unknown) => {
      if (e instanceof LocationLookupError) throw e;
      throw new LocationLookupError('overlay-error', `overlay lookup failed: ${e instanceof Error ? e.message : String(e)}`, 503, 'Service Unavailable');
    });
  }
}

function peerBinding(aor: string, user: string, address: { protocol: 'udp' | 'tcp' | string; host: string; port: number }, now: number): Binding {
  const params = [{ name: PEER_MARK, value: 'peer' }];
  if (address.protocol === 'tcp') params.unshift({ name: 'transport', value: 'tcp' });
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  const uri: SipUri = { scheme: 'sip', user, password: undefined, host, port: address.port, params, headers: undefined };
  return {
    aor,
    contact: { displayName: undefined, uri, params: [] },
    expiresAt: now + 60_000,
    q: 1,
    callId: '',
    cseq: 0,
    source: { protocol: address.protocol === 'tcp' ? 'tcp' : 'udp', host: address.host, port: address.port },
    flowId: undefined,
  };
}

/** The user part of a canonical AoR, %-escaped for a URI (RFC 3261 §25.1 user). */
function escapeUser(aor: string): string {
  const at = aor.lastIndexOf('@');
  const user = aor.slice(aor.indexOf(':') + 1, at);
  return user.replace(/[^A-Za-z0-9\-_.!~*'()&=+$,;?/]/g, (c) =>
    [...new TextEncoder().encode(c)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
