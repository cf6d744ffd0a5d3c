/**
 * Bytes of storage traffic in the simulator by purpose, counted where a peer hands a message to
 * its links (each forwarding hop counts, as the overlay's own counters do; + 8 B of §6.6.2 data
 * framing per message; link ACKs not included):
 * - `workloadStore`: Store requests routed to a Resource-ID (the writers' original Stores and
 *   refreshes) and their answers;
 * - `replication`: Store requests sent to a Node-ID (replica Stores, RFC 6940 §10.4, and data
 *   migration/handover, §10.5, §10.7.3) and their answers;
 * - `audit`: Fetch requests and answers (the workload's audits).
 * Answers are matched to their request by transaction id (a bounded table shared by the peers).
 */
import { DestinationType, MessageCode } from '../reload/codec/index.js';
import type { LinkLayerUser } from '../reload/link/link-layer.js';
import type { OverlayLinks } from '../reload/overlay/overlay-types.js';
import type { LinkEndpoint } from '../reload/link/link-driver.js';

export type StorageTrafficClass = 'workloadStore' | 'replication' | 'audit';

export interface StorageTrafficCounters {
  workloadStore: number;
  replication: number;
  audit: number;
  /** Messages of each class sent (hops counted). */
  workloadStoreMessages: number;
  replicationMessages: number;
  auditMessages: number;
}

export function emptyStorageTraffic(): StorageTrafficCounters {
  return { workloadStore: 0, replication: 0, audit: 0, workloadStoreMessages: 0, replicationMessages: 0, auditMessages: 0 };
}

/** Most requests whose class is remembered for their answers; past it the table starts over. */
export const MAX_TRACKED_TRANSACTIONS = 200_000;

/** §6.6.2 data frame header counted per message, as OverlayCounters does. */
const FRAME = 8;

/** Fixed part of the forwarding header (RFC 6940 §6.3.2): relo_token … options_length. */
const FIXED_HEADER = 38;

/**
 * The message_code of an unfragmented (or first-fragment) RELOAD message without decoding it:
 * it follows the forwarding header, whose via list, destination list and options lengths sit at
 * octets 32, 34 and 36 (RFC 6940 §6.3.2, §6.3.3). 0 when the bytes are too short or not a first fragment.
 */
export function peekMessageCode(b: Uint8Array): number {
  if (b.length < FIXED_HEADER) return 0;
  // fragment offset: the low 24 bits of octets 12–15
  if (b[13] !== 0 || b[14] !== 0 || b[15] !== 0) return 0;
  const at = FIXED_HEADER + ((b[32]! << 8) | b[33]!) + ((b[34]! << 8) | b[35]!) + ((b[36]! << 8) | b[37]!);
  if (at + 2 > b.length) return 0;
  return (b[at]! << 8) | b[at + 1]!;
}

/**
 * What count() needs of a forwarding header (RFC 6940 §6.3.2), read in place: the transaction id
 * (octets 20–27), how many entries the destination list has and the type of the last (the
 * compressed 2-byte form counts as an entry of no type). Undefined when the list overruns the message.
 */
export function peekHeader(b: Uint8Array): { transactionId: bigint; destinations: number; lastDestinationType: number } | undefined {
  if (b.length < FIXED_HEADER) return undefined;
  const hi = ((b[20]! << 24) | (b[21]! << 16) | (b[22]! << 8) | b[23]!) >>> 0;
  const lo = ((b[24]! << 24) | (b[25]! << 16) | (b[26]! << 8) | b[27]!) >>> 0;
  let pos = FIXED_HEADER + ((b[32]! << 8) | b[33]!);
  const end = pos + ((b[34]! << 8) | b[35]!);
  if (end > b.length) return undefined;
  let destinations = 0;
  let last = 0;
  while (pos < end) {
    const first = b[pos]!;
    if ((first & 0x80) !== 0) {
      last = 0;
      pos += 2;
    } else {
      last = first;
      pos += 2 + (b[pos + 1] ?? 0);
    }
    destinations++;
  }
  if (pos !== end) return undefined;
  return { transactionId: (BigInt(hi) << 32n) | BigInt(lo), destinations, lastDestinationType: last };
}

export class StorageTrafficMeter {
  private readonly pendingClass = new Map<bigint, StorageTrafficClass>();
  /** Answers whose request was forgotten (table overflow): counted as replication, the larger class. */
  unmatchedAnswers = 0;

  // the Node-ID length is not needed to read the header in place; kept for the callers
  constructor(readonly nodeIdLength: number) {}

  /** Adds `bytes` (one RELOAD message sent on a link) to `into` when it is storage traffic. */
  count(bytes: Uint8Array, into: StorageTrafficCounters): void {
    const code = peekMessageCode(bytes);
    if (code !== MessageCode.store_req && code !== MessageCode.store_ans && code !== MessageCode.fetch_req && code !== MessageCode.fetch_ans) return;
    let cls: StorageTrafficClass | undefined;
    switch (code) {
      case MessageCode.store_req: {
        const h = peekHeader(bytes);
        if (h === undefined) return;
        cls = h.lastDestinationType === DestinationType.resource ? 'workloadStore' : 'replication';
        this.remember(h.transactionId, cls);
        break;
      }
      case MessageCode.store_ans: {
        const h = peekHeader(bytes);
        if (h === undefined) return;
        cls = this.pendingClass.get(h.transactionId);
        if (cls === undefined) {
          this.unmatchedAnswers++;
          cls = 'replication';
        }
        // the last hop of an answer goes to the requester (one destination left)
        if (h.destinations <= 1) this.pendingClass.delete(h.transactionId);
        break;
      }
      case MessageCode.fetch_req:
      case MessageCode.fetch_ans:
        cls = 'audit';
        break;
      default:
        return;
    }
    const n = bytes.length + FRAME;
    if (cls === 'workloadStore') {
      into.workloadStore += n;
      into.workloadStoreMessages++;
    } else if (cls === 'replication') {
      into.replication += n;
      into.replicationMessages++;
    } else {
      into.audit += n;
      into.auditMessages++;
    }
  }

  private remember(tid: bigint, cls: StorageTrafficClass): void {
    if (this.pendingClass.has(tid)) return;
    if (this.pendingClass.size >= MAX_TRACKED_TRANSACTIONS) this.pendingClass.clear();
    this.pendingClass.set(tid, cls);
  }

  /** Transactions remembered now (tests). */
  get tracked(): number {
    return this.pendingClass.size;
  }
}

/** {@link OverlayLinks} that count storage traffic on the way down to the real links. */
export class StorageCountingLinks implements OverlayLinks {
  readonly traffic: StorageTrafficCounters = emptyStorageTraffic();

  constructor(
    private readonly inner: OverlayLinks,
    private readonly meter: StorageTrafficMeter,
  ) {}

  setUser(user: LinkLayerUser): void {
    this.inner.setUser(user);
  }
  listen(host: string, port: number): Promise<LinkEndpoint> {
    return this.inner.listen(host, port);
  }
  connect(remote: LinkEndpoint): string {
    return this.inner.connect(remote);
  }
  send(linkId: string, message: Uint8Array): boolean {
    const sent = this.inner.send(linkId, message);
    if (sent) this.meter.count(message, this.traffic);
    return sent;
  }
  close(linkId: string): void {
    this.inner.close(linkId);
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}
