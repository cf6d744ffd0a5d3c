/**
 * Node-ID → that peer's SIP front address, by AppAttach (RFC 6940 §6.5.2, application 5060) with
 * a cache: a call to a peer already located adds no AppAttach to its set-up (issue 6), only the
 * Fetch of the AoR. Concurrent lookups of one node share one AppAttach; failures are remembered
 * briefly so a dead peer does not cost a full retransmission cycle per call.
 *
 * Lifetime of a located peer: it stays while calls use it; a use of an entry older than
 * revalidateAfterMs re-checks it by an AppAttach in the background (never on the call's path; a
 * failed check drops it). An entry unused for idleMs is dropped (the "connection" AppAttach made
 * is closed: between peers SIP runs over UDP to the address learnt, so nothing else is held), and
 * a later call AppAttaches again. At most maxEntries nodes are kept, least recently used dropped.
 */
import type { Clock } from '../../lib/clock.js';
import type { Random } from '../../lib/random.js';
import { MessageCode, ReloadErrorCode, decodeAppAttachReqAns, encodeAppAttachReqAns } from '../../reload/codec/index.js';
import type { Destination } from '../../reload/codec/index.js';
import type { OverlayAnswer } from '../../reload/overlay/overlay-types.js';
import type { TransportAddress } from '../../sip/transport/sip-transport.js';
import { SIP_APPLICATION_ID, sipAddressOf, sipAddressesOf, sipCandidates } from './sip-app-attach.js';
import { iceCredentials } from '../../reload/overlay/ice-chars.js';
import type { Outgoing, SipChannels } from './sip-channels.js';

export type LocateResult = { ok: true; address: TransportAddress; cached: boolean } | { ok: false; info: string };

/** The overlay as the locator uses it (OverlayNode.request). */
export type OverlayRequest = (
  dest: Destination[],
  code: number,
  body: Uint8Array,
  opts?: { timerMs?: number; transmissions?: number },
) => Promise<OverlayAnswer>;

export interface SipPeerLocatorDeps {
  clock: Clock;
  random: Random;
  request: OverlayRequest;
  /** Our own SIP addresses, offered in the request (RFC 6940 §6.5.2: both sides give candidates). */
  sipAddresses: () => readonly TransportAddress[];
  /**
   * SIP channels (ICE + DTLS, issue 12): with them an AppAttach opens an authenticated channel to the
   * peer and the located address is the channel's; a peer that offers none is not used.
   */
  channels?: SipChannels;
}

export interface SipPeerLocatorOptions {
  /** A located peer not used for this long is dropped; the next call AppAttaches again, ms (default 600,000). */
  idleMs: number;
  /**
   * A cached address older than this is still used, and checked again by an AppAttach in the
   * background (a failed check drops it), ms (default 15,000): a crashed peer costs callers
   * that had located it at most one slow failure per this interval.
   */
  revalidateAfterMs: number;
  /** How long a failure is remembered, ms (default 5,000). */
  negativeTtlMs: number;
  /** Most nodes cached (default 10,000; the least recently used entry is dropped beyond it). */
  maxEntries: number;
  /** Per-transmission wait of the AppAttach, ms (default 1,000). */
  timerMs: number;
  /** Transmissions of the AppAttach (default 3). */
  transmissions: number;
}

export const DEFAULT_LOCATOR_OPTIONS: Readonly<SipPeerLocatorOptions> = Object.freeze({
  idleMs: 600_000,
  revalidateAfterMs: 15_000,
  negativeTtlMs: 5_000,
  maxEntries: 10_000,
  timerMs: 1_000,
  transmissions: 3,
});

interface CacheEntry {
  result: { ok: true; address: TransportAddress } | { ok: false; info: string };
  /** Located peers: last use + idleMs (moved by each use); failures: storedAt + negativeTtlMs. */
  expiresAt: number;
  storedAt: number;
}

/** Counters of the locator (tests, /api/status). */
export interface SipPeerLocatorStats {
  /** AppAttach requests sent, background re-checks included. */
  appAttaches: number;
  /** Of those, background re-checks of a cached peer. */
  revalidations: number;
  /** Locates answered from the cache (no AppAttach on the call's path). */
  hits: number;
  /** Located peers dropped after idleMs without use. */
  idleDrops: number;
  /** Entries dropped to keep maxEntries. */
  evictions: number;
}

const ACTIVE = new TextEncoder().encode('active');

export class SipPeerLocator {
  private readonly options: SipPeerLocatorOptions;
  private readonly cache = new Map<string, CacheEntry>();
  private readonly inFlight = new Map<string, Promise<LocateResult>>();
  readonly stats: SipPeerLocatorStats = { appAttaches: 0, revalidations: 0, hits: 0, idleDrops: 0, evictions: 0 };

  constructor(
    private readonly deps: SipPeerLocatorDeps,
    options: Partial<SipPeerLocatorOptions> = {},
  ) {
    this.options = { ...DEFAULT_LOCATOR_OPTIONS, ...options };
  }

  locate(nodeId: Uint8Array): Promise<LocateResult> {
    const key = Buffer.from(nodeId).toString('hex');
    const hit = this.cache.get(key);
    const now = this.deps.clock.now();
    if (hit !== undefined) {
      if (hit.expiresAt > now) {
        this.stats.hits++;
        // LRU: a use moves the entry to the young end, and a located peer's idle timer restarts.
        this.cache.delete(key);
        this.cache.set(key, hit);
        if (hit.result.ok) {
          hit.expiresAt = now + this.options.idleMs;
          // an open channel is its own liveness check (consent freshness, DTLS); a plain address is re-checked
          const channelled = this.deps.channels?.serves(hit.result.address) === true;
          if (!channelled && now - hit.storedAt >= this.options.revalidateAfterMs && !this.inFlight.has(key)) {
            this.stats.revalidations++;
            void this.fresh(key, nodeId);
          }
        }
        return Promise.resolve(hit.result.ok ? { ...hit.result, cached: true } : hit.result);
      }
      this.cache.delete(key);
      if (hit.result.ok) this.stats.idleDrops++;
    }
    return this.fresh(key, nodeId);
  }

  /** AppAttach requests sent (background re-checks included). */
  get appAttaches(): number {
    return this.stats.appAttaches;
  }

  /** Drops entries past their time (located peers idle for idleMs, old failures); returns how many. */
  sweep(): number {
    const now = this.deps.clock.now();
    let n = 0;
    for (const [key, e] of this.cache) {
      if (e.expiresAt > now) continue;
      this.cache.delete(key);
      if (e.result.ok) this.stats.idleDrops++;
      n++;
    }
    return n;
  }

  /** The located peers, least recently used first (for /api/status). */
  entries(): Array<{ nodeId: string; sip: string; idleExpiresInMs: number }> {
    const now = this.deps.clock.now();
    const out: Array<{ nodeId: string; sip: string; idleExpiresInMs: number }> = [];
    for (const [key, e] of this.cache) {
      if (!e.result.ok || e.expiresAt <= now) continue;
      const a = e.result.address;
      out.push({ nodeId: key, sip: `${a.protocol}:${a.host}:${a.port}`, idleExpiresInMs: e.expiresAt - now });
    }
    return out;
  }

  /** One AppAttach per node at a time; its result replaces what the cache held. */
  private fresh(key: string, nodeId: Uint8Array): Promise<LocateResult> {
    const pending = this.inFlight.get(key);
    if (pending !== undefined) return pending;
    const p = this.appAttach(nodeId).then((r) => {
      this.inFlight.delete(key);
      this.remember(key, r);
      return r;
    });
    this.inFlight.set(key, p);
    return p;
  }

  /** Drops what is known of a node (e.g. its SIP front stopped answering). */
  forget(nodeId: Uint8Array): void {
    this.cache.delete(Buffer.from(nodeId).toString('hex'));
  }

  get size(): number {
    return this.cache.size;
  }

  private remember(key: string, r: LocateResult): void {
    const ttl = r.ok ? this.options.idleMs : this.options.negativeTtlMs;
    this.cache.delete(key);
    if (ttl <= 0) return;
    while (this.cache.size >= Math.max(1, this.options.maxEntries)) {
      const oldest = this.cache.keys().next();
      if (oldest.done) break;
      this.cache.delete(oldest.value);
      this.stats.evictions++;
    }
    const now = this.deps.clock.now();
    this.cache.set(key, { result: r.ok ? { ok: true, address: r.address } : r, expiresAt: now + ttl, storedAt: now });
  }

  private async appAttach(nodeId: Uint8Array): Promise<LocateResult> {
    const channels = this.deps.channels;
    const nodeHex = Buffer.from(nodeId).toString('hex');
    if (channels !== undefined) {
      // a channel the peer opened to us (its AppAttach) serves our SIP to it too
      const open = await channels.existing(nodeHex);
      if (open !== undefined) return { ok: true, address: open, cached: false };
    }
    const outgoing = channels?.beginOutgoing(nodeHex);
    try {
      return await this.appAttachWith(nodeId, nodeHex, outgoing);
    } finally {
      channels?.endOutgoing(nodeHex, outgoing);
    }
  }

  private async appAttachWith(nodeId: Uint8Array, nodeHex: string, outgoing: Outgoing | undefined): Promise<LocateResult> {
    const channels = this.deps.channels;
    this.stats.appAttaches++;
    const ice = channels?.prepare();
    const sipCands = sipCandidates(this.deps.sipAddresses());
    const body = encodeAppAttachReqAns(
      ice === undefined
        ? { ...iceCredentials(this.deps.random), application: SIP_APPLICATION_ID, role: ACTIVE, candidates: sipCands }
        : { ufrag: utf8.encode(ice.ufrag), password: utf8.encode(ice.password), application: SIP_APPLICATION_ID, role: ACTIVE, candidates: [...ice.candidates, ...sipCands] },
    );
    const release = (): void => {
      if (ice !== undefined) channels?.release(ice);
    };
    let answer: OverlayAnswer;
    try {
      answer = await this.deps.request([{ type: 'node', nodeId }], MessageCode.app_attach_req, body, {
        timerMs: this.options.timerMs,
        transmissions: this.options.transmissions,
      });
    } catch (e) {
      release();
      return { ok: false, info: `AppAttach failed: ${e instanceof Error ? e.message : String(e)}` };
    }
    if (!answer.ok && answer.errorCode === ReloadErrorCode.InProgress && ice !== undefined && channels !== undefined) {
      // §6.5.1.2: the peer's AppAttach to us goes on (we answer it): its channel serves our SIP too
      release();
      const address = await channels.awaitPeerChannel(nodeHex);
      return address === undefined ? { ok: false, info: 'AppAttach: the peer\'s own AppAttach was in progress and opened no channel' } : { ok: true, address, cached: false };
    }
    if (!answer.ok) {
      release();
      return { ok: false, info: `AppAttach: ${answer.info || `error ${answer.errorCode}`}` };
    }
    if (outgoing?.cancelled === true && channels !== undefined) {
      // we lost the tie-break and answered the peer's AppAttach: that channel serves both ways
      release();
      const address = await channels.awaitPeerChannel(nodeHex);
      return address === undefined ? { ok: false, info: 'no ICE/DTLS channel to the peer (its AppAttach opened none)' } : { ok: true, address, cached: false };
    }
    if (answer.code !== MessageCode.app_attach_ans) {
      release();
      return { ok: false, info: `AppAttach: unexpected answer code ${answer.code}` };
    }
    const d = decodeAppAttachReqAns(answer.body);
    if (!d.ok) {
      release();
      return { ok: false, info: `AppAttach answer: ${d.error.message}` };
    }
    if (d.value.application !== SIP_APPLICATION_ID) {
      release();
      return { ok: false, info: `AppAttach answer for application ${d.value.application}` };
    }
    if (ice !== undefined && channels !== undefined) {
      if (!channels.accepts(d.value.candidates)) {
        release();
        return { ok: false, info: 'AppAttach answer offers no ICE candidate: SIP to peers goes only over authenticated channels' };
      }
      const address = await channels.connect(ice, d.value, nodeId, sipAddressesOf(d.value));
      if (address === undefined) return { ok: false, info: 'no ICE/DTLS channel to the peer (no path found)' };
      return { ok: true, address, cached: false };
    }
    const address = sipAddressOf(d.value);
    if (address === undefined) return { ok: false, info: 'AppAttach answer has no usable SIP candidate' };
    return { ok: true, address, cached: false };
  }
}

const utf8 = new TextEncoder();
