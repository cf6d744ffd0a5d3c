/**
 * Storage quotas per writer (RFC 6940 §13.5.2 "pending quota checks"; issue 14): on one peer, the
 * values signed by one Node-ID, and those signed by one user name, may occupy at most so many
 * Resource-IDs and so many bytes, on top of the engine's limits for the whole peer — so one writer
 * cannot fill a peer and lock everybody else out. A writer holds a resource while it has at least
 * one value there (a tombstone of exists=false counts); bytes are charged as the engine charges them.
 */
import { ReloadErrorCode } from '../codec/index.js';
import type { KindRecord, StoredEntry, ValueWriter } from './kind-record.js';
import type { StorageFailure } from './storage-failure.js';
import { failure } from './storage-failure.js';

/** Limits per writer; Infinity turns one off. */
export interface WriterQuotaOptions {
  /** Most Resource-IDs holding a value signed by one Node-ID (default 5,000). */
  maxResourcesPerNodeId: number;
  /** Most bytes of values signed by one Node-ID (default 16 MiB). */
  maxBytesPerNodeId: number;
  /** Most Resource-IDs holding a value signed by one user name (default 5,000). */
  maxResourcesPerUser: number;
  /** Most bytes of values signed by one user name (default 16 MiB). */
  maxBytesPerUser: number;
}

/**
 * Half of the engine's 10,000 resources and a quarter of its 64 MiB per writer: a peer serving many
 * phones with one certificate (the LAN overlay's proxyPeerWrites) stores each phone's registration
 * under its own Node-ID, so its quota must hold thousands of AoRs — in a small overlay every peer
 * holds every resource (owner + 2 replicas), so a proxy peer with up to ~5,000 registered AoRs fits.
 * More phones per peer: raise maxResourcesPerNodeId together with the engine's maxResources.
 */
export const DEFAULT_WRITER_QUOTAS: Readonly<WriterQuotaOptions> = Object.freeze({
  maxResourcesPerNodeId: 5_000,
  maxBytesPerNodeId: 16 * 1024 * 1024,
  maxResourcesPerUser: 5_000,
  maxBytesPerUser: 16 * 1024 * 1024,
});

interface Holding {
  /** Resource (hex) → values of this writer there. */
  values: Map<string, number>;
  bytes: number;
}

type Delta = Map<string, { values: number; bytes: number }>;

export class WriterQuotas {
  /** 'n:<node hex>' and 'u:<user name>' → what that writer holds. */
  private readonly holdings = new Map<string, Holding>();

  constructor(private readonly limits: Readonly<WriterQuotaOptions>) {}

  /** Counts the values of `record` at resource `res` (hex). */
  add(res: string, record: KindRecord): void {
    for (const e of record.entries.values()) this.apply(res, e, 1);
  }

  /** Stops counting the values of `record` at `res`. */
  remove(res: string, record: KindRecord): void {
    for (const e of record.entries.values()) this.apply(res, e, -1);
  }

  /** Stops counting one value at `res` (expired). */
  removeEntry(res: string, e: StoredEntry): void {
    this.apply(res, e, -1);
  }

  /**
   * Whether replacing `before` by `after` (records of one resource `res`) keeps every writer whose
   * holding grows within its quota; the refusal names the first one past it. Shrinking is always
   * allowed (a writer over a lowered quota can still update and delete).
   */
  check(res: string, before: readonly KindRecord[], after: readonly KindRecord[]): { failure: StorageFailure; writer: string } | undefined {
    const delta: Delta = new Map();
    for (const r of before) for (const e of r.entries.values()) addDelta(delta, e, -1);
    for (const r of after) for (const e of r.entries.values()) addDelta(delta, e, 1);
    for (const [key, d] of delta) {
      if (d.values <= 0 && d.bytes <= 0) continue;
      const node = key.startsWith('n:');
      const maxResources = node ? this.limits.maxResourcesPerNodeId : this.limits.maxResourcesPerUser;
      const maxBytes = node ? this.limits.maxBytesPerNodeId : this.limits.maxBytesPerUser;
      const h = this.holdings.get(key);
      const heldHere = h?.values.get(res) ?? 0;
      const resources = h?.values.size ?? 0;
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

  /** The resources (hex) where a writer (a key of {@link check}'s answer) holds values. */
  resourcesOf(writer: string): string[] {
    return [...(this.holdings.get(writer)?.values.keys() ?? [])];
  }

  /** Resources and bytes one Node-ID (hex) holds here (tests, status). */
  ofNodeId(nodeIdHex: string): { resources: number; bytes: number } {
    return this.usage(`n:${nodeIdHex}`);
  }

  /** Resources and bytes one user name holds here (tests, status). */
  ofUser(userName: string): { resources: number; bytes: number } {
    return this.usage(`u:${userName}`);
  }

  /** Resources and bytes held by a writer (a key of {@link check}'s answer). */
  usage(key: string): { resources: number; bytes: number } {
    const h = this.holdings.get(key);
    return { resources: h?.values.size ?? 0, bytes: h?.bytes ?? 0 };
  }

  private apply(res: string, e: StoredEntry, sign: 1 | -1): void {
    const w: ValueWriter | undefined = e.writer;
    if (w === undefined) return; // written before writers were recorded: not charged
    for (const key of writerKeys(w)) this.applyKey(key, res, e.size, sign);
  }

  private applyKey(key: string, res: string, size: number, sign: 1 | -1): void {
    let h = this.holdings.get(key);
    if (h === undefined) {
      if (sign < 0) return;
      this.holdings.set(key, (h = { values: new Map(), bytes: 0 }));
    }
    const n = (h.values.get(res) ?? 0) + sign;
    if (n > 0) h.values.set(res, n);
    else h.values.delete(res);
    h.bytes += sign * size;
    if (h.values.size === 0) this.holdings.delete(key);
  }
}

/** The quota keys of a writer: its Node-ID and its user name. */
function writerKeys(w: ValueWriter): [string, string] {
  return [`n:${w.nodeId}`, `u:${w.userName}`];
}

function addDelta(delta: Delta, e: StoredEntry, sign: 1 | -1): void {
  const w = e.writer;
  if (w === undefined) return;
  for (const key of writerKeys(w)) {
    const d = delta.get(key) ?? { values: 0, bytes: 0 };
    d.values += sign;
    d.bytes += sign * e.size;
    delta.set(key, d);
  }
}
