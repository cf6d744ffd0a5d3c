import { ACK_FRAME_LENGTH, FramedStreamDecoder, encodeFramedMessage } from '../codec/index.js';
import type { CodecError } from '../codec/index.js';
import type { LinkEndpoint } from './link-driver.js';
import { AckWindow } from './ack-window.js';
import { RtoEstimator } from './rto-estimator.js';
import type { RtoOptions } from './rto-estimator.js';

/** connecting → open → closed, or connecting → closed. */
export type FramedLinkState = 'connecting' | 'open' | 'closed';

const ALLOWED: Record<FramedLinkState, readonly FramedLinkState[]> = {
  connecting: ['open', 'closed'],
  open: ['closed'],
  closed: [],
};

/** Counters and estimates of one link. */
export interface LinkStats {
  state: FramedLinkState;
  bytesIn: number;
  bytesOut: number;
  framesIn: number;
  framesOut: number;
  /** Data frames (RELOAD messages or fragments) each way. */
  messagesIn: number;
  messagesOut: number;
  acksIn: number;
  acksOut: number;
  /** Data frames sent and not yet ACKed, and their bytes (the send queue of `maxQueuedBytes`). */
  unacked: number;
  unackedBytes: number;
  /** RFC 6298 SRTT and the latest sample (undefined before the first ACK), and the current RTO. */
  srttMs: number | undefined;
  lastRttMs: number | undefined;
  rtoMs: number;
  suspect: boolean;
  /** ACKs for a sequence number never sent (ignored). */
  unknownAcks: number;
}

interface Sent {
  seq: number;
  at: number;
  size: number;
  timed: boolean;
}

/** What one chunk of received bytes produced. */
export interface ReceiveResult {
  messages: Uint8Array[];
  /** ACK frames to send back, concatenated (one per data frame, RFC 6940 §6.6.2). */
  acks: Uint8Array | undefined;
  /** True when an ACK acknowledged at least one outstanding frame. */
  progress: boolean;
  error: CodecError | undefined;
}

/**
 * The state of one TLS-TCP-FH-NO-ICE link (RFC 6940 §6.6.2, §6.6.5), without I/O or timers: sequence
 * numbers, the frames awaiting an ACK, the ACK bitmask, the RTO and the counters. ACKs are read
 * cumulatively: on a reliable, ordered stream an ACK for S means every frame up to S arrived.
 */
export class FramedLink {
  state: FramedLinkState;
  suspect = false;
  /** Time of the last data frame sent or received (keepalive idleness). */
  lastActivityAt: number;
  readonly rto: RtoEstimator;
  private nextSeq = 0;
  private sent: Sent[] = [];
  private head = 0;
  private unackedBytes = 0;
  private readonly window = new AckWindow();
  private readonly decoder: FramedStreamDecoder;
  private readonly counters = { bytesIn: 0, bytesOut: 0, framesIn: 0, framesOut: 0, messagesIn: 0, messagesOut: 0, acksIn: 0, acksOut: 0, unknownAcks: 0 };

  constructor(
    readonly id: string,
    readonly outbound: boolean,
    public remote: LinkEndpoint,
    public local: LinkEndpoint | undefined,
    now: number,
    private readonly maxMessageSize: number,
    private readonly maxTracked: number,
    rto: RtoOptions,
  ) {
    this.state = outbound ? 'connecting' : 'open';
    this.lastActivityAt = now;
    this.decoder = new FramedStreamDecoder({ maxMessageSize });
    this.rto = new RtoEstimator(rto);
  }

  /** The one transition function; false (and no change) for an illegal transition. */
  transition(to: FramedLinkState): boolean {
    if (!ALLOWED[this.state].includes(to)) return false;
    this.state = to;
    return true;
  }

  get outstanding(): number {
    return this.sent.length - this.head;
  }

  get queuedBytes(): number {
    return this.unackedBytes;
  }

  /** Send time of the oldest frame not yet ACKed. */
  get oldestUnackedAt(): number | undefined {
    return this.sent[this.head]?.at;
  }

  /** Frames `message` as the next data frame and records it as awaiting an ACK. */
  frame(message: Uint8Array, now: number): Uint8Array {
    const seq = this.nextSeq;
    this.nextSeq = (this.nextSeq + 1) >>> 0;
    const bytes = encodeFramedMessage({ type: 'data', sequence: seq, message }, { maxMessageSize: this.maxMessageSize });
    this.sent.push({ seq, at: now, size: bytes.length, timed: this.outstanding < this.maxTracked });
    this.unackedBytes += bytes.length;
    this.counters.bytesOut += bytes.length;
    this.counters.framesOut++;
    this.counters.messagesOut++;
    this.lastActivityAt = now;
    return bytes;
  }

  /** Decodes received bytes: data frames give messages and ACKs to send, ACK frames update the RTO. */
  receive(chunk: Uint8Array, now: number): ReceiveResult {
    this.counters.bytesIn += chunk.length;
    const out: ReceiveResult = { messages: [], acks: undefined, progress: false, error: undefined };
    const r = this.decoder.push(chunk);
    if (!r.ok) {
      out.error = r.error;
      return out;
    }
    const acks: Uint8Array[] = [];
    for (const f of r.value) {
      this.counters.framesIn++;
      if (f.type === 'data') {
        this.counters.messagesIn++;
        this.lastActivityAt = now;
        const received = this.window.receive(f.sequence);
        acks.push(encodeFramedMessage({ type: 'ack', ackSequence: f.sequence, received }));
        out.messages.push(f.message);
      } else {
        this.counters.acksIn++;
        if (this.ack(f.ackSequence, now)) out.progress = true;
      }
    }
    if (acks.length === 1) out.acks = acks[0];
    else if (acks.length > 1) {
      const all = new Uint8Array(acks.length * ACK_FRAME_LENGTH);
      acks.forEach((a, i) => all.set(a, i * ACK_FRAME_LENGTH));
      out.acks = all;
    }
    if (out.acks !== undefined) {
      this.counters.acksOut += acks.length;
      this.counters.framesOut += acks.length;
      this.counters.bytesOut += out.acks.length;
    }
    return out;
  }

  stats(): LinkStats {
    return {
      state: this.state,
      ...this.counters,
      unacked: this.outstanding,
      unackedBytes: this.unackedBytes,
      srttMs: this.rto.srttMs,
      lastRttMs: this.rto.lastRttMs,
      rtoMs: this.rto.rtoMs,
      suspect: this.suspect,
    };
  }

  // Removes every outstanding frame up to `seq` (mod 2^32); an RTT sample from the frame `seq` itself.
  private ack(seq: number, now: number): boolean {
    const last = (this.nextSeq - 1) >>> 0;
    if (this.counters.messagesOut === 0 || ((seq - last) >>> 0) !== 0 && ((seq - last) >>> 0) < 0x80000000) {
      this.counters.unknownAcks++;
      return false;
    }
    let progress = false;
    while (this.head < this.sent.length) {
      const e = this.sent[this.head]!;
      if (((seq - e.seq) >>> 0) >= 0x80000000) break;
      if (e.seq === seq && e.timed) this.rto.sample(now - e.at);
      this.unackedBytes -= e.size;
      this.head++;
      progress = true;
    }
    if (this.head > 1024 && this.head * 2 > this.sent.length) {
      this.sent = this.sent.slice(this.head);
      this.head = 0;
    } else if (this.head === this.sent.length) {
      this.sent = [];
      this.head = 0;
    }
    return progress;
  }
}
