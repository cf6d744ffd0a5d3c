/**
 * Node-ID → that peer's SIP front address, by AppAttach (RFC 6940 §6.5.2, application 5060) with
 * a cache: a call to a peer already located adds no overlay round-trip (issue 6). Concurrent
 * lookups of one node share one AppAttach; failures are remembered briefly so a dead peer does
 * not cost a full retransmission cycle per call.
 */
import type { Clock } from '../../lib/clock.js';
import type { Random } from '../../lib/random.js';
import { MessageCode, decodeAppAttachReqAns, encodeAppAttachReqAns } from '../../reload/codec/index.js';
import type { Destination } from '../../reload/codec/index.js';
import type { OverlayAnswer } from '../../reload/overlay/overlay-types.js';
import type { TransportAddress } from '../../sip/transport/types.js';
import { SIP_APPLICATION_ID, sipAddressOf, sipCandidates } from './sip-app-attach.js';

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
}

export interface SipPeerLocatorOptions {
  /** How long a located address is reused, ms (default 60,000). */
  ttlMs: number;
  /**
   * A cached address older than this is still used, and checked again by an AppAttach in the
   * background (a failed check drops it), ms (default 15,000): a crashed peer costs callers
   * that had located it at most one slow failure per this interval.
   */
  revalidateAfterMs: number;
  /** How long a failure is remembered, ms (default 5,000). */
  negativeTtlMs: number;
  /** Most nodes cached (default 10,000; the oldest entry is dropped beyond it). */
  maxEntries: number;
  /** Per-transmission wait of the AppAttach, ms (default 1,000). */
  timerMs: number;
  /** Transmissions of the AppAttach (default 3). */
  transmissions: number;
}

export const DEFAULT_LOCATOR_OPTIONS: Readonly<SipPeerLocatorOptions> = Object.freeze({
  ttlMs: 60_000,
  revalidateAfterMs: 15_000,
  negativeTtlMs: 5_000,
  maxEntries: 10_000,
  timerMs: 1_000,
  transmissions: 3,
});

interface CacheEntry {
  result: { ok: true; address: TransportAddress } | { ok: false; info: string };
  expiresAt: number;
  storedAt: number;
}

const ACTIVE = new TextEncoder().encode('active');

export class SipPeerLocator {
  private readonly options: SipPeerLocatorOptions;
  private readonly cache = new Map<string, CacheEntry>();
  private readonly inFlight = new Map<string, Promise<LocateResult>>();
  /** AppAttach requests sent (for tests and /api/status). */
  appAttaches = 0;

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
        if (hit.result.ok && now - hit.storedAt >= this.options.revalidateAfterMs) void this.fresh(key, nodeId);
        return Promise.resolve(hit.result.ok ? { ...hit.result, cached: true } : hit.result);
      }
      this.cache.delete(key);
    }
    return this.fresh(key, nodeId);
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
    const ttl = r.ok ? this.options.ttlMs : this.options.negativeTtlMs;
    this.cache.delete(key);
    if (ttl <= 0) return;
    if (this.cache.size >= this.options.maxEntries) {
      const oldest = this.cache.keys().next();
      if (!oldest.done) this.cache.delete(oldest.value);
    }
    const now = this.deps.clock.now();
    this.cache.set(key, { result: r.ok ? { ok: true, address: r.address } : r, expiresAt: now + ttl, storedAt: now });
  }

  private async appAttach(nodeId: Uint8Array): Promise<LocateResult> {
    this.appAttaches++;
    const body = encodeAppAttachReqAns({
      ufrag: this.deps.random.bytes(8),
      password: this.deps.random.bytes(16),
      application: SIP_APPLICATION_ID,
      role: ACTIVE,
      candidates: sipCandidates(this.deps.sipAddresses()),
    });
    let answer: OverlayAnswer;
    try {
      answer = await this.deps.request([{ type: 'node', nodeId }], MessageCode.app_attach_req, body, {
        timerMs: this.options.timerMs,
        transmissions: this.options.transmissions,
      });
    } catch (e) {
      return { ok: false, info: `AppAttach failed: ${e instanceof Error ? e.message : String(e)}` };
    }
    if (!answer.ok) return { ok: false, info: `AppAttach: ${answer.info || `error ${answer.errorCode}`}` };
    if (answer.code !== MessageCode.app_attach_ans) return { ok: false, info: `AppAttach: unexpected answer code ${answer.code}` };
    const d = decodeAppAttachReqAns(answer.body);
    if (!d.ok) return { ok: false, info: `AppAttach answer: ${d.error.message}` };
    if (d.value.application !== SIP_APPLICATION_ID) return { ok: false, info: `AppAttach answer for application ${d.value.application}` };
    const address = sipAddressOf(d.value);
    if (address === undefined) return { ok: false, info: 'AppAttach answer has no usable SIP candidate' };
    return { ok: true, address, cached: false };
  }
}
