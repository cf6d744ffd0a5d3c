/**
 * The SIP usage's location service (RFC 7904): a decorator of the peer's own LocationService.
 * - update (REGISTER): for an overlay AoR the change is computed first; when it needs a Store of
 *   `sip_registration_route` (destination list = our Node-ID) under the AoR — a new AoR, a lifetime
 *   beyond the stored one — the Store is made, and only when it succeeds is the binding kept and the
 *   REGISTER answered 200 (issue 14). A failed or slow Store changes nothing and is answered 503
 *   (no answer / timeout, with Retry-After) or 500 (refused, storage full); an AoR that may not be
 *   stored, 400. Refreshes within refreshSlackSec and removals are kept at once, their overlay work
 *   (a shorter lifetime, a withdraw) done in the background (RegistrationPublisher).
 * - lookup (a request to route): the local bindings and the overlay's registrations at other
 *   peers (the overlay's wait is short when there are local ones, and its failure leaves them),
 *   each registered peer located by AppAttach, and one target per peer: its SIP front, with the
 *   Request-URI `sip:user@<peer address>;p2psip=peer`. A request carrying that mark came from a
 *   peer: it is delivered to local bindings only, never sent back into the overlay (no loops).
 * - static registrations (`statics`): their bindings are local bindings that no REGISTER changes
 *   (listed beside the phones' in a REGISTER's answer); their Store is kept by StaticRegistrations,
 *   so a phone's REGISTER or un-REGISTER of a static AoR neither stores nor withdraws it here.
 * - restore(): after a restart, the AoRs whose bindings the inner service restored are stored
 *   afresh and those we held an entry for without bindings now are withdrawn (in the background).
 */
import type { Clock } from '../../lib/clock.js';
import type { RecordStore } from '../../lib/record-store.js';
import { hasParam, isSipUri } from '../../sip/message/index.js';
import type { SipRequest } from '../../sip/message/sip-message.js';
import type { TransportAddress } from '../../sip/transport/sip-transport.js';
import { aorProblem } from '../../sip/core/aor-validation.js';
import type { Binding, BindingChange, BindingUpdateResult, ForkingLookup, StagedLocationService } from '../../sip/core/location-service.js';
import { LocationLookupError, LocationUpdateError } from '../../sip/core/location-service.js';
import { isOverlayAor } from './aor-resource-id.js';
import { RegistrationCache, type RegisteredNode } from './registration-cache.js';
import type { RegistrationDirectory, RegistrationEntry } from './registration-directory.js';
import { RegistrationPublisher, lastExpiry, type PublisherStats, type RingMergeSource } from './registration-publisher.js';
import { PEER_MARK, escapeUser, peerBinding } from './peer-binding.js';
import { registerStoreAnswer, registerTooSlow } from './register-store-answer.js';
import type { LocateResult } from './sip-peer-locator.js';
import { bytesEqual } from '../../lib/bytes.js';

export { PEER_MARK } from './peer-binding.js';

export interface OverlayLocationDeps {
  clock: Clock;
  /** The peer's own bindings (MemoryLocationService). */
  inner: StagedLocationService;
  directory: RegistrationDirectory;
  locate: (nodeId: Uint8Array) => Promise<LocateResult>;
  /** The overlay name: AoRs `sip:user@<overlayName>` live in the overlay. */
  overlayName: string;
  selfNodeId: Uint8Array;
  /** Static registrations (permanent local bindings, stored in the overlay by their owner). */
  statics?: { has(aor: string): boolean; bindings(aor: string): Binding[] };
  /** The AoRs we hold an entry for in the overlay, kept across restarts (AoR → wall-clock expiry). */
  marks?: RecordStore;
  /** Wall-clock ms for `marks` (default: the clock's own scale). */
  wallClock?: () => number;
  logger?: { warn(obj: object, msg: string): void };
  /**
   * With SIP channels (issue 12): the Node-ID (hex) of the peer whose authenticated channel `source` is,
   * if any. A request marked as forwarded by another peer (`;p2psip=peer`) is then taken only from a
   * channel; from anywhere else it is refused (403), so nobody who merely reaches our SIP port can pass
   * for a peer.
   */
  channelPeerAt?: (source: TransportAddress) => string | undefined;
  /** Rings merged or a lone peer joined (issue 15): our phones' registrations are stored again. */
  ringMerges?: RingMergeSource;
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
  /** First wait before a failed background Store is tried again, ms (default 2,000; doubled each time, at most 60,000). */
  publishRetryMs: number;
  /**
   * Longest wait of a REGISTER for its overlay Store (and for overlay work on its AoR already under
   * way), ms (default 8,000: room for two end-to-end retransmissions of the Store, whose timer is
   * 3 s, RFC 6940 §6.2.1; a UDP phone waits 32 s, Timer F; 0 = no limit). Past it the REGISTER is
   * answered 503 with Retry-After and changes nothing; a Store that lands later is brought back in
   * line with the kept bindings in the background (withdrawn when the AoR has none).
   */
  registerWaitMs: number;
  /** Retry-After of a 503 to a REGISTER (overlay busy or unreachable), s (default 5). */
  registerRetryAfterSec: number;
  /** Background Stores and withdraws in flight at once (restore after a restart, withdraws…; default 32). */
  maxConcurrentStores: number;
  /**
   * How long a Fetch's answer about an AoR is reused, ms (default 0 = every lookup Fetches). Only
   * found registrations are kept; see RegistrationCache for what may be stale for this long.
   */
  fetchCacheMs: number;
  /**
   * A request to an AoR with no phone here, that a Fetch within this long found at other peers
   * (default 600,000 ms; 0: off), goes at once to the peers that Fetch named while a new Fetch runs;
   * peers the new Fetch names that the last did not join the fork when it answers, and the request's
   * final answer waits for them. So a call to a peer already located costs no overlay round trip
   * before its INVITE leaves, and a phone that moved to another peer is still found by the same call
   * (its old peer answers 404, the new one rings). Unlike fetchCacheMs nothing stale is ever final.
   */
  lastFetchMs: number;
  /** AoRs whose last Fetch is kept for lastFetchMs (default 4,096; least recently used dropped). */
  lastFetchEntries: number;
}

export const DEFAULT_OVERLAY_LOCATION_OPTIONS: Readonly<OverlayLocationOptions> = Object.freeze({
  lookupTimeoutMs: 5_000,
  localForkWaitMs: 1_000,
  maxPeers: 8,
  maxUriHops: 2,
  maxFetches: 4,
  refreshSlackSec: 30,
  publishRetryMs: 2_000,
  registerWaitMs: 8_000,
  registerRetryAfterSec: 5,
  maxConcurrentStores: 32,
  fetchCacheMs: 0,
  lastFetchMs: 600_000,
  lastFetchEntries: 4_096,
});

export interface OverlayLocationStats extends PublisherStats {
  overlayLookups: number;
  /** Fetches sent (sip_registration_uri indirections included). */
  fetches: number;
  /** Lookups answered by the Fetch cache (fetchCacheMs). */
  fetchCacheHits: number;
  /** Requests sent at once to the peers of the AoR's last Fetch, a new Fetch running (lastFetchMs). */
  earlyStarts: number;
  /** … of which the new Fetch named peers the last did not (they joined the fork late). */
  earlyMissed: number;
  /** REGISTERs answered with an error because their Store failed or took too long. */
  registerStoreFailures: number;
  /** Requests marked as from a peer (`;p2psip=peer`) that did not come over a SIP channel: 403. */
  peerMarkRefused: number;
}

const utf8d = new TextDecoder();

export class OverlayLocationService implements StagedLocationService {
  private readonly options: OverlayLocationOptions;
  readonly stats: OverlayLocationStats = {
    published: 0,
    withdrawn: 0,
    publishFailures: 0,
    publishRefused: 0,
    restored: 0,
    overlayLookups: 0,
    fetches: 0,
    fetchCacheHits: 0,
    earlyStarts: 0,
    earlyMissed: 0,
    registerStoreFailures: 0,
    peerMarkRefused: 0,
  };
  private readonly fetched: RegistrationCache;
  /** The peers each AoR's last Fetch named (lastFetchMs): where a request may start while the next Fetch runs. */
  private readonly lastFetched: RegistrationCache;
  private readonly publisher: RegistrationPublisher;
  /** REGISTERs waiting for overlay work, by AoR, Call-ID and CSeq: a retransmission gets the same answer. */
  private readonly updating = new Map<string, Promise<BindingUpdateResult>>();

  constructor(
    private readonly deps: OverlayLocationDeps,
    options: Partial<OverlayLocationOptions> = {},
  ) {
    this.options = { ...DEFAULT_OVERLAY_LOCATION_OPTIONS, ...options };
    this.fetched = new RegistrationCache(deps.clock, { maxAgeMs: this.options.fetchCacheMs });
    this.lastFetched = new RegistrationCache(deps.clock, { maxAgeMs: this.options.lastFetchMs, maxEntries: this.options.lastFetchEntries });
    this.publisher = new RegistrationPublisher(
      {
        clock: deps.clock,
        directory: deps.directory,
        selfNodeId: deps.selfNodeId,
        bindings: (aor) => deps.inner.lookupNow(aor),
        stats: this.stats,
        ...(deps.marks === undefined ? {} : { marks: deps.marks }),
        ...(deps.wallClock === undefined ? {} : { wallClock: deps.wallClock }),
        ...(deps.logger === undefined ? {} : { logger: deps.logger }),
        ...(deps.ringMerges === undefined ? {} : { ringMerges: deps.ringMerges }),
      },
      {
        refreshSlackSec: this.options.refreshSlackSec,
        publishRetryMs: this.options.publishRetryMs,
        maxConcurrentStores: this.options.maxConcurrentStores,
      },
    );
  }

  async update(aor: string, change: BindingChange): Promise<BindingUpdateResult> {
    if (this.deps.statics?.has(aor) === true) {
      const r = await this.deps.inner.update(aor, change);
      return r.ok ? { ok: true, bindings: [...r.bindings, ...this.deps.statics.bindings(aor)] } : r;
    }
    // the AoR was checked (aorProblem) by the registrar, which answers 400 before calling us
    if (!isOverlayAor(aor, this.deps.overlayName)) return this.deps.inner.update(aor, change);
    // the same REGISTER again (a retransmission) while its Store is under way: the same answer
    const key = `${aor}\n${change.callId}\n${change.cseq}`;
    const same = this.updating.get(key);
    if (same !== undefined) return same;
    // the common case: nothing under way for this AoR and nothing to store (a refresh, a removal)
    if (!this.publisher.busy(aor)) {
      const r = this.deps.inner.stage(aor, change);
      if (!r.ok) return r;
      const plan = this.publisher.plan(aor, r.bindings);
      if (plan !== 'store') {
        this.deps.inner.commit(aor, r.bindings);
        if (plan === 'background') this.publisher.schedule(aor);
        return r;
      }
    }
    const { answer, done } = this.updateWithStore(aor, change);
    this.updating.set(key, answer);
    void done.then(() => {
      if (this.updating.get(key) === answer) this.updating.delete(key);
    });
    return answer;
  }

  /**
   * A REGISTER whose AoR has overlay work under way or that needs a Store: in the AoR's turn, staged
   * again, stored, kept only once stored. `answer` is bounded by registerWaitMs; `done` is the end.
   */
  private updateWithStore(aor: string, change: BindingChange): { answer: Promise<BindingUpdateResult>; done: Promise<void> } {
    let answered = false;
    const run = this.publisher.lock(aor, async (): Promise<BindingUpdateResult> => {
      if (answered) throw this.tooSlow();
      const r = this.deps.inner.stage(aor, change);
      if (!r.ok) return r;
      const plan = this.publisher.plan(aor, r.bindings);
      if (plan === 'store') {
        try {
          await this.publisher.store(aor, lastExpiry(r.bindings));
        } catch (err) {
          // answered 503 already (and counted): the overlay has nothing new, the peer neither
          throw answered ? this.tooSlow() : this.storeFailed(aor, err);
        }
        // told 503 already: the phone's bindings stay as they were, the overlay is brought back in line
        if (answered) {
          this.publisher.schedule(aor);
          throw this.tooSlow();
        }
      }
      this.deps.inner.commit(aor, r.bindings);
      if (plan === 'background') this.publisher.schedule(aor);
      return r;
    });
    const done = run.then(
      () => undefined,
      () => undefined,
    );
    const limit = this.options.registerWaitMs;
    if (limit <= 0) return { answer: run, done };
    let timer: { cancel(): void } | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = this.deps.clock.setTimer(limit, () => {
        answered = true;
        this.stats.registerStoreFailures++;
        reject(this.tooSlow());
      });
    });
    const answer = Promise.race([run, late]).finally(() => {
      answered = true;
      timer?.cancel();
    });
    return { answer, done };
  }

  private tooSlow(): LocationUpdateError {
    return registerTooSlow(this.options.registerWaitMs, this.options.registerRetryAfterSec);
  }

  /** A failed Store as the REGISTER's answer (issue 14: never 200). */
  private storeFailed(aor: string, err: unknown): LocationUpdateError {
    this.stats.registerStoreFailures++;
    const answer = registerStoreAnswer(err, this.options.registerRetryAfterSec);
    this.deps.logger?.warn({ aor, err: answer.message }, 'SIP usage: REGISTER refused, its Store failed');
    return answer;
  }

  stage(aor: string, change: BindingChange): BindingUpdateResult {
    return this.deps.inner.stage(aor, change);
  }

  commit(aor: string, bindings: readonly Binding[]): void {
    this.deps.inner.commit(aor, bindings);
  }

  lookupNow(aor: string): Binding[] {
    return this.deps.inner.lookupNow(aor);
  }

  entries(): Array<[string, Binding[]]> {
    return this.deps.inner.entries();
  }

  /**
   * After a restart (the inner service restored its bindings): the phones' AoRs are stored afresh
   * and the entries we held without bindings now withdrawn, in the background. Returns how many AoRs.
   */
  restore(): number {
    const aors = this.deps.inner
      .entries()
      .map(([aor]) => aor)
      .filter((aor) => isOverlayAor(aor, this.deps.overlayName) && this.deps.statics?.has(aor) !== true);
    return this.publisher.restore(aors);
  }

  size(): number {
    return this.deps.inner.size();
  }

  async lookup(aor: string, request?: SipRequest, source?: TransportAddress): Promise<Binding[]> {
    const marked = request !== undefined && isSipUri(request.uri) && hasParam(request.uri.params, PEER_MARK);
    if (marked && this.deps.channelPeerAt !== undefined && (source === undefined || this.deps.channelPeerAt(source) === undefined)) {
      this.stats.peerMarkRefused++;
      throw new LocationLookupError('SIP_PEER_NOT_AUTHENTICATED', 'peer-to-peer SIP is taken only over an authenticated channel (AppAttach, DTLS)', 403, 'Forbidden');
    }
    const phones = await this.deps.inner.lookup(aor);
    const local = this.deps.statics?.has(aor) === true ? [...phones, ...this.deps.statics.bindings(aor)] : phones;
    if (!isOverlayAor(aor, this.deps.overlayName)) return local;
    if (marked) return local;
    // an AoR no REGISTER can have stored (control characters, '@', too long): not asked of the overlay
    if (aorProblem(aor) !== undefined) return local;
    if (local.length === 0) return this.remote(aor, request, this.options.lookupTimeoutMs);
    if (this.options.localForkWaitMs <= 0) return local;
    // Phones of this AoR registered at other peers ring too (forking, issue 6); the overlay gets a
    // short wait, and its failure never costs the local delivery.
    const remote = await this.remote(aor, request, this.options.localForkWaitMs).catch(() => []);
    return [...local, ...remote];
  }

  /**
   * Issue 18: the phones registered here ring at once; the AoR's phones at other peers (a Fetch, an
   * AppAttach) join the fork when the overlay answers (within localForkWaitMs, else none). Before, the
   * local phones waited for the overlay: an overlay round trip (or up to localForkWaitMs) on every call
   * between two phones of one peer.
   */
  async lookupForking(aor: string, request?: SipRequest, source?: TransportAddress): Promise<ForkingLookup> {
    const marked = request !== undefined && isSipUri(request.uri) && hasParam(request.uri.params, PEER_MARK);
    if (marked || !isOverlayAor(aor, this.deps.overlayName) || aorProblem(aor) !== undefined || this.options.localForkWaitMs <= 0) {
      return { bindings: await this.lookup(aor, request, source) };
    }
    const phones = await this.deps.inner.lookup(aor);
    const local = this.deps.statics?.has(aor) === true ? [...phones, ...this.deps.statics.bindings(aor)] : phones;
    if (local.length === 0) return (await this.early(aor, request)) ?? { bindings: await this.remote(aor, request, this.options.lookupTimeoutMs) };
    return { bindings: local, more: this.nextTurn(() => this.remote(aor, request, this.options.localForkWaitMs)).catch((): Binding[] => []) };
  }

  /**
   * `fn` in the next turn: the request goes to the targets known now first (building, signing and
   * sending a Fetch, and checking its answer, take CPU that request would otherwise wait for: 1.5 ms
   * of the 2.7 a local call spent in the peer before its INVITE left).
   */
  private nextTurn<T>(fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.deps.clock.setTimer(0, () => fn().then(resolve, reject));
    });
  }

  /**
   * The peers of the AoR's last Fetch as targets now, and what a new Fetch finds beyond them later
   * (lastFetchMs); undefined when there is no such Fetch or the Fetch cache answers anyway. When none of
   * those peers can be reached, the new Fetch's answer is all there is.
   */
  private async early(aor: string, request: SipRequest | undefined): Promise<ForkingLookup | undefined> {
    if (this.fetched.peek(aor) !== undefined) return undefined;
    const nodes = this.lastFetched.get(aor);
    if (nodes === undefined) return undefined;
    const bindings = await this.locateAll(aor, request, nodes).then(
      (r) => r.bindings,
      (): Binding[] => [],
    );
    if (bindings.length === 0) return { bindings: await this.remote(aor, request, this.options.lookupTimeoutMs) };
    // the new Fetch goes in the next turn, after the request
    const fresh = this.nextTurn(() => this.remote(aor, request, this.options.lookupTimeoutMs));
    this.stats.earlyStarts++;
    // What the new Fetch found beyond the peers started (late), and the peers it no longer names (gone:
    // the AoR left them; their branches end as 404 at once rather than waiting for a peer that may be
    // gone). A Fetch that failed adds none and drops none, but one whose every peer is unreachable (480)
    // drops them all.
    const started = new Set(bindings.map(bindingKey));
    const outcome = fresh.then(
      (found) => {
        const named = new Set(found.map(bindingKey));
        const late = found.filter((b) => !started.has(bindingKey(b)));
        if (late.length > 0) this.stats.earlyMissed++;
        return { late, gone: bindings.filter((b) => !named.has(bindingKey(b))) };
      },
      (err: unknown) => ({ late: [] as Binding[], gone: err instanceof LocationLookupError && err.status === 480 ? bindings : [] }),
    );
    return { bindings, more: outcome.then((o) => o.late), stale: outcome.then((o) => o.gone) };
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
    else {
      nodes = await this.registeredNodes(aor);
      this.fetched.set(aor, nodes);
      this.lastFetched.set(aor, nodes);
    }
    if (nodes.length === 0) return [];
    const { bindings, located } = await this.locateAll(aor, request, nodes);
    // a registered peer that cannot be located: the next lookup Fetches again
    if (located.some((r) => !r.ok)) this.fetched.delete(aor);
    if (bindings.length === 0) {
      const why = located.map((r) => (r.ok ? '' : r.info)).filter((s) => s !== '')[0] ?? 'no address';
      throw new LocationLookupError('peer-unreachable', `registered peer unreachable (${why})`, 480, 'Temporarily Unavailable');
    }
    return bindings;
  }

  /** Bindings of the peers `nodes` that can be located, and what locating each of them gave. */
  private async locateAll(aor: string, request: SipRequest | undefined, nodes: readonly RegisteredNode[]): Promise<{ bindings: Binding[]; located: LocateResult[] }> {
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
    return { bindings, located };
  }

  /** Withdraws every registration we stored (clean shutdown), none started at or after `until` (clock ms); waits for overlay work under way first. */
  withdrawAll(until?: number): Promise<void> {
    return this.publisher.withdrawAll(until);
  }

  /** Forgets stored registrations whose lifetime ended (the overlay drops them itself); returns how many. */
  sweep(): number {
    return this.publisher.sweep();
  }

  /** Resolves when no overlay work (Stores, withdraws) runs or waits (tests). */
  idle(): Promise<void> {
    return this.publisher.idle();
  }

  /** AoRs we have stored, with their stored expiry (for /api/status). */
  publishedAors(): Array<[string, number]> {
    return this.publisher.publishedAors();
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
            if (seen.has(key) || bytesEqual(id, this.deps.selfNodeId)) continue;
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

/** A binding's target as the fork sees it: transport, address and user. */
function bindingKey(b: Binding): string {
  const u = b.contact.uri;
  return `${b.source.protocol}:${b.source.host}:${b.source.port}:${isSipUri(u) ? (u.user ?? '') : ''}`;
}
