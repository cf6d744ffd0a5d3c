/**
 * Storage quotas per writer (RFC 6940 §13.5.2 "pending quota checks"; issues 14, 18): on one peer,
 * the values signed by one Node-ID, and those signed by one user name, that the peer accepted in
 * ORIGINAL Stores (as the responsible peer: records of replica_number 0) may occupy at most so many
 * Resource-IDs and so many bytes — so one writer cannot take more than its share of a peer and lock
 * everybody else out of it. A writer holds a resource while it has at least one value there in a
 * record stored as responsible peer (a tombstone of exists=false counts); bytes are charged as the
 * engine charges them.
 *
 * Replicas (and hand-overs stored as replicas) do not count: their responsible peer checked its own
 * quota, and the replica set is the overlay's business. So a writer holds at most its quota here as
 * responsible, plus what two neighbours accepted as theirs (issue 18: in a 3-peer overlay every peer
 * holds every value; counting replicas refused a registrar's own phones past half the quota).
 */
import { ReloadErrorCode } from '../codec/index.js';
import type { KindRecord, StoredEntry, ValueWriter } from './kind-record.js';
import type { StorageFailure } from './storage-failure.js';
import { failure } from './storage-failure.js';

/** Limits per writer; Infinity turns one off. */
export interface WriterQuotaOptions {
  /** Most Resource-IDs holding a value signed by one Node-ID, stored here as responsible peer. */
  maxResourcesPerNodeId: number;
  /** Most bytes of values signed by one Node-ID, stored here as responsible peer. */
  maxBytesPerNodeId: number;
  /** Most Resource-IDs holding a value signed by one user name, stored here as responsible peer. */
  maxResourcesPerUser: number;
  /** Most bytes of values signed by one user name, stored here as responsible peer. */
  maxBytesPerUser: number;
}

/** The share of the peer's limits (maxResources, maxBytes) one writer's quota is by default. */
export const WRITER_QUOTA_SHARE = 0.5;

/**
 * Half of the engine's default 2,000,000 resources and 1 GiB (issue 18): a peer serving many phones
 * with one certificate (the LAN overlay's proxyPeerWrites) stores each phone's registration under its
 * own Node-ID, so one Node-ID may hold a million AoRs on a peer that is responsible for all of them
 * (a lone peer), and the other half stays for everybody else. The engine derives these from its own
 * maxResources / maxBytes when they are not given ({@link writerQuotasFor}).
 */
export const DEFAULT_WRITER_QUOTAS: Readonly<WriterQuotaOptions> = Object.freeze({
  maxResourcesPerNodeId: 1_000_000,
  maxBytesPerNodeId: 512 * 1024 * 1024,
  maxResourcesPerUser: 1_000_000,
  maxBytesPerUser: 512 * 1024 * 1024,
});

/** Quotas of {@link WRITER_QUOTA_SHARE} of a peer's limits, for those not given in `given`. */
export function writerQuotasFor(maxResources: number, maxBytes: number, given: Partial<WriterQuotaOptions> = {}): WriterQuotaOptions {
  const res = Math.max(1, Math.ceil(maxResources * WRITER_QUOTA_SHARE));
  const bytes = Math.max(1, Math.ceil(maxBytes * WRITER_QUOTA_SHARE));
  return {
    maxResourcesPerNodeId: given.maxResourcesPerNodeId ?? res,
    maxBytesPerNodeId: given.maxBytesPerNodeId ?? bytes,
    maxResourcesPerUser: given.maxResourcesPerUser ?? res,
    maxBytesPerUser: given.maxBytesPerUser ?? bytes,
  };
}

/**
 * What one writer holds. Compact for the common case of a writer at one resource (a phone's own
 * registration): `one` / `oneCount`; a Map only from the second resource on (issue 18: a million
 * writers must not cost a Map each).
 */
interface Holding {
  bytes: number;
  one: string | undefined;
  oneCount: number;
  /** Resource (hex) → values of this writer there, once it holds values at two or more. */
  many: Map<string, number> | undefined;
}

function heldAt(h: Holding | undefined, res: string): number {
  if (h === undefined) return 0;
  if (h.many !== undefined) return h.many.get(res) ?? 0;
  return h.one === res ? h.oneCount : 0;
}

function resourceCount(h: Holding | undefined): number {
  if (h === undefined) return 0;
  if (h.many !== undefined) return h.many.size;
  return h.one === undefined ? 0 : 1;
}

type Delta = Map<string, { values: number; bytes: number }>;

/** True for records whose values count: stored here as the responsible peer. */
function counted(r: KindRecord): boolean {
  return r.replicaNumber === 0;
}

export class WriterQuotas {
  /** 'n:<node hex>' and 'u:<user name>' → what that writer holds. */
  private readonly holdings = new Map<string, Holding>();

  constructor(private readonly limits: Readonly<WriterQuotaOptions>) {}

  /** Counts the values of `record` at resource `res` (hex), if it was stored as responsible peer. */
  add(res: string, record: KindRecord): void {
    if (!counted(record)) return;
    for (const e of record.entries.values()) this.apply(res, e, 1);
  }

  /** Stops counting the values of `record` at `res`. */
  remove(res: string, record: KindRecord): void {
    if (!counted(record)) return;
    for (const e of record.entries.values()) this.apply(res, e, -1);
  }

  /** Stops counting one value of `record` at `res` (expired). */
  removeEntry(res: string, record: KindRecord, e: StoredEntry): void {
    if (counted(record)) this.apply(res, e, -1);
  }

  /**
   * Whether replacing `before` by `after` (records of one resource `res`) keeps every writer whose
   * holding grows within its quota; the refusal names the first one past it. Shrinking is always
   * allowed (a writer over a lowered quota can still update and delete).
   */
  check(res: string, before: readonly KindRecord[], after: readonly KindRecord[]): { failure: StorageFailure; writer: string } | undefined {
    const delta: Delta = new Map();
    for (const r of before) if (counted(r)) for (const e of r.entries.values()) addDelta(delta, e, -1);
    for (const r of after) if (counted(r)) for (const e of r.entries.values()) addDelta(delta, e, 1);
    for (const [key, d] of delta) {
      if (d.values <= 0 && d.bytes <= 0) continue;
      const node = key.startsWith('n:');
      const maxResources = node ? this.limits.maxResourcesPerNodeId : this.limits.maxResourcesPerUser;
      const maxBytes = node ? this.limits.maxBytesPerNodeId : this.limits.maxBytesPerUser;
      const h = this.holdings.get(key);
      const heldHere = heldAt(h, res);
      const resources = resourceCount(h);
      const who = node ? `Node-ID ${key.slice(2)}` : `user ${key.slice(2)}`;
      if (heldHere === 0 && d.values > 0 && resources + 1 > maxResources) {
        return { writer: key, failure: failure(ReloadErrorCode.Forbidden, `storage quota: ${who} already holds values at ${resources} Resource-IDs on this peer (max ${maxResources})`) };
      }
      const bytes = (h?.bytes ?? 0) + d.bytes;
      if (d.bytes > 0 && bytes > maxBytes) {
        return { writer: key, failure: failure(ReloadErrorCode.Forbidden, `storage quota: ${who} would hold ${bytes} bytes on this peer (max ${maxBytes})`) };
      }
    }
    return undefined;
  }

  /** The resources (hex) where a writer (a key of {@link check}'s answer) holds counted values. */
  resourcesOf(writer: string): string[] {
    const h = this.holdings.get(writer);
    if (h === undefined) return [];
    if (h.many !== undefined) return [...h.many.keys()];
    return h.one === undefined ? [] : [h.one];
  }

  /** Resources and bytes one Node-ID (hex) holds here as responsible peer (tests, status). */
  ofNodeId(nodeIdHex: string): { resources: number; bytes: number } {
    return this.usage(`n:${nodeIdHex}`);
  }

  /** Resources and bytes one user name holds here as responsible peer (tests, status). */
  ofUser(userName: string): { resources: number; bytes: number } {
    return this.usage(`u:${userName}`);
  }

  /** Resources and bytes held by a writer (a key of {@link check}'s answer). */
  usage(key: string): { resources: number; bytes: number } {
    const h = this.holdings.get(key);
    return { resources: resourceCount(h), bytes: h?.bytes ?? 0 };
  }

  /** Writers with a holding (status, memory tests). */
  get writers(): number {
    return this.holdings.size;
  }

  private apply(res: string, e: StoredEntry, sign: 1 | -1): void {
    const w: ValueWriter | undefined = e.writer;
    if (w === undefined) return; // written before writers were recorded: not charged
    this.applyKey(`n:${w.nodeId}`, res, e.size, sign);
    this.applyKey(`u:${w.userName}`, res, e.size, sign);
  }

  private applyKey(key: string, res: string, size: number, sign: 1 | -1): void {
    let h = this.holdings.get(key);
    if (h === undefined) {
      if (sign < 0) return;
      this.holdings.set(key, (h = { bytes: 0, one: undefined, oneCount: 0, many: undefined }));
    }
    if (sign < 0 && heldAt(h, res) === 0) return; // never counted here
    h.bytes += sign * size;
    if (h.many !== undefined) {
      const n = (h.many.get(res) ?? 0) + sign;
      if (n > 0) h.many.set(res, n);
      else h.many.delete(res);
      if (h.many.size === 1) {
        // back to the compact form
        const [only, count] = h.many.entries().next().value as [string, number];
        h.many = undefined;
        h.one = only;
        h.oneCount = count;
      }
    } else if (h.one === undefined || h.one === res) {
      const n = h.oneCount + sign;
      h.one = n > 0 ? res : undefined;
      h.oneCount = Math.max(0, n);
    } else {
      h.many = new Map([
        [h.one, h.oneCount],
        [res, 1],
      ]);
      h.one = undefined;
      h.oneCount = 0;
    }
    if (resourceCount(h) === 0) this.holdings.delete(key);
  }
}

function addDelta(delta: Delta, e: StoredEntry, sign: 1 | -1): void {
  const w = e.writer;
  if (w === undefined) return;
  for (const key of [`n:${w.nodeId}`, `u:${w.userName}`]) {
    const d = delta.get(key) ?? { values: 0, bytes: 0 };
    d.values += sign;
    d.bytes += sign * e.size;
    delta.set(key, d);
  }
}
