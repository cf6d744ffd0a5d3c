/**
 * Sending of replica and handover Stores (RFC 6940 §7.4.1 Store requests carrying the copies of
 * §10.4, the handovers of §10.5 and the hand-off before a Leave of §10.9): a bounded queue with at
 * most maxInFlight in flight and maxQueued waiting, retries after retryMs while the target is still
 * our neighbour, up to maxAttempts sends; waits for a first replica (ReplicaAck) or for every send
 * of a batch (the hand-off before a Leave). What to send and to whom is decided by the ReplicaMaintainer.
 */
import type { Clock, TimerHandle } from '../../lib/clock.js';
import { DEFAULT_MAX_MESSAGE_SIZE, MessageCode, encodeStoreReq } from '../codec/index.js';
import type { BodyCodecOptions, StoreKindData, StoreReq } from '../codec/index.js';
import type { BagSharingSecurity } from './bag-sharing-security.js';
import type { StorageCredentials } from './storage-credentials.js';
import type { StorageEngine } from './storage-engine.js';
import type { StorageHost } from './storage-host.js';
import type { ReplicaMaintainerOptions } from './replica-maintainer-options.js';

/** One Store to send: replicaNumber 0 is a handover, 1 and 2 a replica. */
export interface ReplicaSend {
  target: bigint;
  resource: Uint8Array;
  replicaNumber: number;
  /** Sends already made (a send starting at maxAttempts − 1 is tried once). */
  attempts: number;
}

/** The counters the queue keeps (part of ReplicaCounters). */
export interface ReplicaSendCounters {
  replicaStoresSent: number;
  handoversSent: number;
  sendFailures: number;
  queueOverflows: number;
  /** The last refusal or failure of a replica or handover Store (status, debugging). */
  lastFailure?: string;
}

/** The limits of the queue (documented in ReplicaMaintainerOptions). */
export type ReplicaSendLimits = Pick<Required<ReplicaMaintainerOptions>, 'retryMs' | 'maxAttempts' | 'maxInFlight' | 'maxQueued'>;

export interface ReplicaSendQueueDeps {
  host: StorageHost;
  engine: Pick<StorageEngine, 'storeReqFor'>;
  clock: Clock;
  credentials: StorageCredentials;
  security: Pick<BagSharingSecurity, 'withCertificates'>;
  codec: BodyCodecOptions;
  /** Incremented in place (the maintainer's counters object). */
  counters: ReplicaSendCounters;
  /** A handover Store (replicaNumber 0) was answered, ok or not (`errorCode`: the RELOAD error, 0 for no answer). */
  onHandoverAnswered(s: ReplicaSend, ok: boolean, errorCode: number): void;
  /** A Store failed for the maxAttempts-th time and is not sent again. */
  onGivenUp(s: ReplicaSend): void;
}

interface Send extends ReplicaSend {
  /** The original Store waiting for its first replica (sendAcked). */
  ack?: ReplicaAck;
}

/**
 * Settles when the first of `targets` replica Stores succeeds, or all have failed once; with
 * `every`, once each of them was answered or given up (ok or not).
 */
class ReplicaAck {
  private reports = 0;
  private failures = 0;
  private settled = false;

  constructor(
    private readonly targets: number,
    private readonly done: () => void,
    private readonly every = false,
  ) {}

  report(ok: boolean): void {
    if (this.settled) return;
    this.reports++;
    if (this.every ? this.reports < this.targets : !ok && ++this.failures < this.targets) return;
    this.settle();
  }

  settle(): void {
    if (this.settled) return;
    this.settled = true;
    this.done();
  }
}

/** Largest number of certificates attached to one Store. */
const MAX_CERTIFICATES = 31;
/**
 * Bytes of a Store message besides its body and the certificates added here: forwarding header,
 * contents framing, our own certificate and the signature (an RSA-2048 or EC certificate and
 * signature fit with room to spare).
 */
const MESSAGE_RESERVE = 2048;
/** GenericCertificate framing per certificate (type, 16-bit length). */
const CERTIFICATE_OVERHEAD = 3;

export class ReplicaSendQueue {
  private readonly queue: Send[] = [];
  private inFlight = 0;
  /** Original Stores waiting for a replica (sendAcked). */
  private readonly acks = new Set<ReplicaAck>();
  private closed = false;
  /** Retry timers. */
  private readonly timers = new Set<TimerHandle>();

  constructor(
    private readonly deps: ReplicaSendQueueDeps,
    private readonly limits: Readonly<ReplicaSendLimits>,
  ) {}

  /**
   * Queues `sends` for one original Store; resolves when the first of them succeeds, all failed
   * once, or after `waitMs` (a timer on the injected clock).
   */
  sendAcked(sends: readonly ReplicaSend[], waitMs: number): Promise<void> {
    return this.sendTracked(sends, waitMs, false);
  }

  /**
   * Queues `sends`; resolves once every one of them was answered (ok or not) or dropped, or after
   * `waitMs`. Other sends in the queue (a retry to a dead peer) are not waited for.
   */
  sendAll(sends: readonly ReplicaSend[], waitMs: number): Promise<void> {
    if (sends.length === 0) return Promise.resolve();
    return this.sendTracked(sends, waitMs, true);
  }

  private sendTracked(sends: readonly ReplicaSend[], waitMs: number, every: boolean): Promise<void> {
    return new Promise<void>((resolve) => {
      const ack: ReplicaAck = new ReplicaAck(
        sends.length,
        () => {
          timer.cancel();
          this.acks.delete(ack);
          resolve();
        },
        every,
      );
      const timer = this.deps.clock.setTimer(waitMs, () => ack.settle());
      this.acks.add(ack);
      for (const s of sends) this.add({ ...s, ack });
    });
  }

  /** Queues one Store; past maxQueued it is dropped and counted. */
  enqueue(s: ReplicaSend): void {
    this.add(s);
  }

  private add(s: Send): void {
    if (this.closed) return;
    if (this.queue.length >= this.limits.maxQueued) {
      this.deps.counters.queueOverflows++;
      s.ack?.report(false);
      return;
    }
    this.queue.push(s);
    this.pump();
  }

  /** Sends waiting or in flight. */
  pending(): number {
    return this.queue.length + this.inFlight;
  }

  /** Cancels the retries, empties the queue and releases every waiter. */
  close(): void {
    this.closed = true;
    for (const t of this.timers) t.cancel();
    this.timers.clear();
    this.queue.length = 0;
    for (const a of [...this.acks]) a.settle();
  }

  private pump(): void {
    while (!this.closed && this.inFlight < this.limits.maxInFlight && this.queue.length > 0) {
      const s = this.queue.shift()!;
      const req = this.deps.engine.storeReqFor(s.resource, s.replicaNumber);
      if (req === undefined) {
        s.ack?.report(false); // expired or dropped meanwhile
        continue;
      }
      this.inFlight++;
      void this.send(s, req).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async send(s: Send, whole: StoreReq): Promise<void> {
    const { host, credentials, security, codec, counters } = this.deps;
    const limit = (codec.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE) - MESSAGE_RESERVE;
    // issue 16: a resource whose values do not fit one message goes in several Stores (a replica
    // merges them value by value); it used to fail to encode, and never reached its replicas
    let parts: StoreReq[];
    try {
      parts = splitStoreReq(whole, limit, codec);
    } catch {
      counters.sendFailures++;
      s.ack?.report(false);
      return;
    }
    let ans: Awaited<ReturnType<typeof host.request>> | undefined;
    for (const req of parts) {
      const body = encodeStoreReq(req, codec);
      // The signers' certificates ride along only as far as the message stays within max-message-size:
      // a Store past it was dropped at its origin unanswered, and its sender waited out every
      // retransmission (a replica of a few certificates, seen in a ring of 3). A receiver missing one
      // looks it up (RFC 6940 §8).
      let room = (codec.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE) - body.length - MESSAGE_RESERVE;
      const certs: Uint8Array[] = [];
      for (const kd of req.kindData) {
        for (const v of kd.values) {
          const der = credentials.certificateOf(v);
          if (der === undefined || certs.includes(der) || certs.length >= MAX_CERTIFICATES || der.length + CERTIFICATE_OVERHEAD > room) continue;
          certs.push(der);
          room -= der.length + CERTIFICATE_OVERHEAD;
        }
      }
      if (s.replicaNumber === 0) counters.handoversSent++;
      else counters.replicaStoresSent++;
      ans = await security.withCertificates(certs, () => host.request([{ type: 'node', nodeId: host.ring.toBytes(s.target) }], MessageCode.store_req, body));
      if (!ans.ok) break;
    }
    if (ans === undefined) {
      s.ack?.report(true); // nothing to send
      return;
    }
    if (s.replicaNumber === 0) this.deps.onHandoverAnswered(s, ans.ok, ans.ok ? 0 : ans.errorCode);
    s.ack?.report(ans.ok);
    if (ans.ok) return;
    counters.sendFailures++;
    counters.lastFailure = `${s.replicaNumber === 0 ? 'handover' : `replica ${s.replicaNumber}`} to ${host.ring.hex(s.target)}: ${ans.errorCode} ${ans.info}`;
    if (this.closed) return;
    if (s.attempts + 1 >= this.limits.maxAttempts) {
      this.deps.onGivenUp(s);
      return;
    }
    const t = this.deps.clock.setTimer(this.limits.retryMs, () => {
      this.timers.delete(t);
      const nb = host.neighbours();
      // only while the target still is where the data belongs
      if (nb.successors.includes(s.target) || nb.predecessors.includes(s.target)) this.add({ ...s, attempts: s.attempts + 1 });
    });
    this.timers.add(t);
  }
}

/**
 * A StoreReq cut into StoreReqs whose bodies each fit `limit` bytes, values in their order, each part
 * with the Kinds' generation counters (a replica takes them as they come, RFC 6940 §7.4.1.1). One
 * part when it fits; throws when one value alone does not (it could never be replicated).
 */
export function splitStoreReq(req: StoreReq, limit: number, codec: BodyCodecOptions): StoreReq[] {
  const whole = encodeStoreReq(req, { ...codec, maxMessageSize: Number.MAX_SAFE_INTEGER });
  if (whole.length <= limit) return [req];
  const base = encodeStoreReq({ ...req, kindData: [] }, codec).length;
  const parts: StoreReq[] = [];
  let kindData: StoreKindData[] = [];
  let size = base;
  for (const kd of req.kindData) {
    const header = encodeStoreReq({ ...req, kindData: [{ ...kd, values: [] }] }, codec).length - base;
    let current: StoreKindData | undefined;
    for (const v of kd.values) {
      const one = encodeStoreReq({ ...req, kindData: [{ ...kd, values: [v] }] }, { ...codec, maxMessageSize: Number.MAX_SAFE_INTEGER }).length - base - header;
      if (base + header + one > limit) throw new Error(`a value of Kind-ID 0x${kd.kind.toString(16)} does not fit one message`);
      if (size + (current === undefined ? header : 0) + one > limit) {
        parts.push({ ...req, kindData });
        kindData = [];
        size = base;
        current = undefined;
      }
      if (current === undefined) {
        current = { ...kd, values: [] };
        kindData.push(current);
        size += header;
      }
      current.values.push(v);
      size += one;
    }
  }
  if (kindData.length > 0) parts.push({ ...req, kindData });
  return parts;
}
