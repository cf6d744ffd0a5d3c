/**
 * The TURN Server Usage, client side (RFC 6940 §9): finds peers that offer TURN. A Find for Kind
 * TURN-SERVICE at a random Resource-ID goes to the peer responsible for it, which names the closest
 * TURN-SERVICE resource it holds (§7.4.4); a Fetch of that resource gives a signed TurnServer. An
 * empty answer means another random Resource-ID (§9: "the process gets repeated").
 *
 * - Each value is checked: signature and NODE-MULTIPLE policy by the storage client's Fetch (§7.1,
 *   §7.3.4), then here the TurnServer decodes, its address is IPv4/IPv6 with a port, and the signer
 *   has a Node-ID with H(Node-ID || iteration) = the Resource-ID (that Node-ID is the server's).
 *   Anything else is skipped (counted `malformed`). Our own entries are never fetched or returned.
 * - Bounded work per call: at most `maxFinds` Finds and `maxFetches` Fetches, one at a time, and
 *   none started after `deadlineMs`. Concurrent calls share one lookup.
 * - Results are cached `cacheMs` (never past the value's lifetime); a lookup that found fewer than
 *   `wanted` is not repeated within `minLookupIntervalMs` (the cache answers). `forget(nodeId)`
 *   drops a relay that failed, and keeps it out of lookups for a while.
 */
import type { Clock } from '../../lib/clock.js';
import type { Random } from '../../lib/random.js';
import type { IpAddressPort, StoredData } from '../../reload/codec/index.js';
import { fromIpAddressPort } from '../../reload/overlay/candidates.js';
import { MAX_NODE_MULTIPLE, bytesEqual, nodeMultipleResourceName, toHex } from '../../reload/storage/index.js';
import { TURN_SERVICE_KIND_ID, decodeTurnServer } from './turn-server-record.js';

type Failure = { ok: false; errorCode: number; info: string };

/** The part of the overlay storage client (OverlayStorage) the finder uses. */
export interface TurnServiceFetchStorage {
  /** The Resource-ID of a Resource Name (the overlay's hash). */
  resourceId(ref: { resourceName: Uint8Array }): Uint8Array;
  /** Fetch with signatures and the Kind's access policy checked (OverlayStorage.fetch). */
  fetch(kindId: number, ref: { resourceId: Uint8Array }): Promise<{ ok: true; values: ReadonlyArray<{ data: StoredData; signer: { nodeIds: readonly Uint8Array[] } }> } | Failure>;
}

/** A Find (RFC 6940 §7.4.4) towards the peer responsible for `resource`: reload/storage/request-find.ts. */
export type TurnFind = (resource: Uint8Array, kinds: readonly number[]) => Promise<{ ok: true; results: ReadonlyArray<{ kind: number; closest: Uint8Array }> } | Failure>;

export interface TurnServiceFinderDeps {
  clock: Clock;
  random: Random;
  storage: TurnServiceFetchStorage;
  find: TurnFind;
  /** Our Node-ID: our own TurnServer values are never returned. */
  selfNodeId: Uint8Array;
}

export interface TurnServiceFinderOptions {
  /** A lookup stops once this many distinct servers are known (default 3). */
  wanted: number;
  /** Finds per lookup at most (default 8). */
  maxFinds: number;
  /** Fetches per lookup at most (default 6). */
  maxFetches: number;
  /** No request is started this long after a lookup began, ms (default 15,000). */
  deadlineMs: number;
  /** How long a found server is kept, ms (default 60,000; never past its value's lifetime). */
  cacheMs: number;
  /** A lookup that found fewer than `wanted` is not repeated within this, ms (default 10,000). */
  minLookupIntervalMs: number;
}

export const DEFAULT_TURN_SERVICE_FINDER_OPTIONS: Readonly<TurnServiceFinderOptions> = Object.freeze({
  wanted: 3,
  maxFinds: 8,
  maxFetches: 6,
  deadlineMs: 15_000,
  cacheMs: 60_000,
  minLookupIntervalMs: 10_000,
});

/** A TURN server found in the overlay. */
export interface TurnServerFound {
  /** The peer that stored it (and runs the server): the signer's Node-ID matching H(Node-ID || iteration). */
  nodeId: Uint8Array;
  /** server_address as stored. */
  address: IpAddressPort;
  /** The same as an IP literal and port. */
  endpoint: { host: string; port: number };
  iteration: number;
  /** Where it was found. */
  resourceId: Uint8Array;
  /** The value's storage_time (ms since 1970). */
  storageTime: bigint;
  /** Kept in the cache until then (clock ms). */
  expiresAt: number;
}

export interface TurnServiceFinderStats {
  lookups: number;
  /** Calls answered from the cache alone. */
  cacheAnswers: number;
  finds: number;
  findFailures: number;
  /** Finds that named no TURN-SERVICE resource (or ours, or one already seen in the lookup). */
  emptyFinds: number;
  fetches: number;
  fetchFailures: number;
  /** Values skipped: not a TurnServer, unusable address, no matching signer Node-ID, a tombstone. */
  malformed: number;
}

export class TurnServiceFinder {
  readonly stats: TurnServiceFinderStats = { lookups: 0, cacheAnswers: 0, finds: 0, findFailures: 0, emptyFinds: 0, fetches: 0, fetchFailures: 0, malformed: 0 };
  private readonly options: TurnServiceFinderOptions;
  /** Node-ID hex → server. */
  private readonly cache = new Map<string, TurnServerFound>();
  /** Node-ID hex → clock ms until which it is left out (forgotten relays). */
  private readonly avoid = new Map<string, number>();
  private inFlight: Promise<void> | undefined;
  private lastLookupAt: number | undefined;
  private ownResources: Set<string> | undefined;
  private idLength = 0;

  constructor(
    private readonly deps: TurnServiceFinderDeps,
    options: Partial<TurnServiceFinderOptions> = {},
  ) {
    this.options = { ...DEFAULT_TURN_SERVICE_FINDER_OPTIONS, ...options };
    const o = this.options;
    for (const k of ['wanted', 'maxFinds', 'maxFetches'] as const) {
      if (!Number.isInteger(o[k]) || o[k] < 1 || o[k] > 64) throw new RangeError(`TurnServiceFinder: ${k} must be 1..64`);
    }
  }

  /**
   * TURN servers other than us: from the cache when it holds `wanted` (or a lookup ran less than
   * `minLookupIntervalMs` ago), else after one bounded lookup. `refresh`: look up now regardless.
   */
  async find(opts: { refresh?: boolean } = {}): Promise<TurnServerFound[]> {
    this.prune();
    const now = this.deps.clock.now();
    const recent = this.lastLookupAt !== undefined && now - this.lastLookupAt < this.options.minLookupIntervalMs;
    if (opts.refresh !== true && this.inFlight === undefined && (this.cache.size >= this.options.wanted || recent)) {
      this.stats.cacheAnswers++;
      return this.cached();
    }
    this.inFlight ??= this.lookup().finally(() => {
      this.inFlight = undefined;
    });
    await this.inFlight;
    return this.cached();
  }

  /** The servers known now, no lookup. */
  cached(): TurnServerFound[] {
    this.prune();
    return [...this.cache.values()];
  }

  /** Drops a server (its relay failed, say) and leaves it out of lookups for `forMs` (default cacheMs). */
  forget(nodeId: Uint8Array, forMs = this.options.cacheMs): void {
    const key = toHex(nodeId);
    this.cache.delete(key);
    this.avoid.set(key, this.deps.clock.now() + forMs);
  }

  private prune(): void {
    const now = this.deps.clock.now();
    for (const [k, v] of this.cache) if (v.expiresAt <= now) this.cache.delete(k);
    for (const [k, until] of this.avoid) if (until <= now) this.avoid.delete(k);
  }

  /** H(self || d), d = 0..MAX_NODE_MULTIPLE: never worth a Fetch. Also learns the Resource-ID length. */
  private own(): Set<string> {
    if (this.ownResources === undefined) {
      const set = new Set<string>();
      for (let d = 0; d <= MAX_NODE_MULTIPLE; d++) {
        const id = this.deps.storage.resourceId({ resourceName: nodeMultipleResourceName(this.deps.selfNodeId, d) });
        this.idLength = id.length;
        set.add(toHex(id));
      }
      this.ownResources = set;
    }
    return this.ownResources;
  }

  private async lookup(): Promise<void> {
    this.stats.lookups++;
    const { clock, random } = this.deps;
    const o = this.options;
    const started = clock.now();
    this.lastLookupAt = started;
    const own = this.own();
    const seen = new Set<string>();
    let finds = 0;
    let fetches = 0;
    while (this.cache.size < o.wanted && finds < o.maxFinds && fetches < o.maxFetches && clock.now() - started < o.deadlineMs) {
      finds++;
      this.stats.finds++;
      const f = await this.deps.find(random.bytes(this.idLength), [TURN_SERVICE_KIND_ID]).catch((e: unknown): Failure => ({ ok: false, errorCode: 0, info: String(e) }));
      if (!f.ok) {
        this.stats.findFailures++;
        continue;
      }
      const closest = f.results.find((r) => r.kind === TURN_SERVICE_KIND_ID)?.closest;
      const key = closest === undefined ? '' : toHex(closest);
      if (closest === undefined || closest.length !== this.idLength || own.has(key) || seen.has(key)) {
        this.stats.emptyFinds++;
        continue;
      }
      seen.add(key);
      if (clock.now() - started >= o.deadlineMs) break;
      fetches++;
      this.stats.fetches++;
      const r = await this.deps.storage.fetch(TURN_SERVICE_KIND_ID, { resourceId: closest }).catch((e: unknown): Failure => ({ ok: false, errorCode: 0, info: String(e) }));
      if (!r.ok) {
        this.stats.fetchFailures++;
        continue;
      }
      for (const v of r.values) this.accept(closest, v.data, v.signer.nodeIds);
    }
  }

  /** Keeps a fetched value when it is a usable TurnServer of another peer (see the file comment). */
  private accept(resourceId: Uint8Array, data: StoredData, signerIds: readonly Uint8Array[]): void {
    const v = data.value;
    if (v.model !== 'single' || !v.value.exists) {
      this.stats.malformed++;
      return;
    }
    const d = decodeTurnServer(v.value.value);
    if (!d.ok) {
      this.stats.malformed++;
      return;
    }
    const { iteration, serverAddress } = d.value;
    const endpoint = fromIpAddressPort(serverAddress);
    const nodeId = signerIds.find((n) => bytesEqual(this.deps.storage.resourceId({ resourceName: nodeMultipleResourceName(n, iteration) }), resourceId));
    if (endpoint === undefined || endpoint.port === 0 || nodeId === undefined) {
      this.stats.malformed++;
      return;
    }
    if (bytesEqual(nodeId, this.deps.selfNodeId)) return;
    const key = toHex(nodeId);
    const now = this.deps.clock.now();
    if ((this.avoid.get(key) ?? 0) > now) return;
    const old = this.cache.get(key);
    if (old !== undefined && old.storageTime >= data.storageTime) return;
    const expiresAt = now + Math.min(this.options.cacheMs, data.lifetime * 1000);
    this.cache.set(key, { nodeId: nodeId.slice(), address: serverAddress, endpoint, iteration, resourceId: resourceId.slice(), storageTime: data.storageTime, expiresAt });
  }
}
