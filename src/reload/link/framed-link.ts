import { ACK_FRAME_LENGTH, DATA_FRAME_OVERHEAD, FramedMessageType, FramedStreamDecoder, encodeFramedMessage } from '../codec/index.js';
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
  /** The decoder refused the stream (it refuses all input after). */
  private decodeFailed = false;
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
    // within the limit the frame is written directly (the bytes encodeFramedMessage gives); beyond it the codec throws its error
    const bytes = message.length <= this.maxMessageSize && message.length <= 0xffffff ? dataFrame(seq, message) : encodeFramedMessage({ type: 'data', sequence: seq, message }, { maxMessageSize: this.maxMessageSize });
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
    // A chunk of whole, well-formed frames with nothing buffered before it (nearly every chunk) is
    // read in place; anything else goes through the stream decoder, which then sees exactly the
    // bytes it would have seen (nothing of the chunk is consumed before the fallback).
    const dataFrames = this.decodeFailed || this.decoder.buffered !== 0 ? -1 : this.wholeDataFrames(chunk);
    if (dataFrames < 0) return this.receiveDecoded(chunk, now);
    const out: ReceiveResult = { messages: [], acks: undefined, progress: false, error: undefined };
    const acks = dataFrames === 0 ? undefined : new Uint8Array(dataFrames * ACK_FRAME_LENGTH);
    let at = 0;
    let pos = 0;
    while (pos < chunk.length) {
      this.counters.framesIn++;
      const seq = ((chunk[pos + 1]! << 24) | (chunk[pos + 2]! << 16) | (chunk[pos + 3]! << 8) | chunk[pos + 4]!) >>> 0;
      if (chunk[pos] === FramedMessageType.ack) {
        this.counters.acksIn++;
        if (this.ack(seq, now)) out.progress = true;
        pos += ACK_FRAME_LENGTH;
        continue;
      }
      const end = pos + DATA_FRAME_OVERHEAD + ((chunk[pos + 5]! << 16) | (chunk[pos + 6]! << 8) | chunk[pos + 7]!);
      this.counters.messagesIn++;
      this.lastActivityAt = now;
      putAck(acks!, at, seq, this.window.receive(seq));
      at += ACK_FRAME_LENGTH;
      out.messages.push(chunk.slice(pos + DATA_FRAME_OVERHEAD, end));
      pos = end;
    }
    if (acks !== undefined) this.countAcksOut(out, acks, dataFrames);
    return out;
  }

  // Data frames in `chunk` when it is whole ack and data frames within the size limit, else -1.
  private wholeDataFrames(chunk: Uint8Array): number {
    let pos = 0;
    let n = 0;
    while (pos < chunk.length) {
      const type = chunk[pos];
      if (type === FramedMessageType.ack) pos += ACK_FRAME_LENGTH;
      else if (type === FramedMessageType.data && pos + DATA_FRAME_OVERHEAD <= chunk.length) {
        const len = (chunk[pos + 5]! << 16) | (chunk[pos + 6]! << 8) | chunk[pos + 7]!;
        if (len > this.maxMessageSize) return -1;
        pos += DATA_FRAME_OVERHEAD + len;
        n++;
      } else return -1;
    }
    return pos === chunk.length ? n : -1;
  }

  private receiveDecoded(chunk: Uint8Array, now: number): ReceiveResult {
    const out: ReceiveResult = { messages: [], acks: undefined, progress: false, error: undefined };
    const r = this.decoder.push(chunk);
    if (!r.ok) {
      this.decodeFailed = true;
      out.error = r.error;
      return out;
    }
    let dataFrames = 0;
    for (const f of r.value) if (f.type === 'data') dataFrames++;
    // one ACK frame per data frame, written straight into one buffer (the bytes encodeFramedMessage gives)
    const acks = dataFrames === 0 ? undefined : new Uint8Array(dataFrames * ACK_FRAME_LENGTH);
    let at = 0;
    for (const f of r.value) {
      this.counters.framesIn++;
      if (f.type === 'data') {
        this.counters.messagesIn++;
        this.lastActivityAt = now;
        putAck(acks!, at, f.sequence, this.window.receive(f.sequence));
        at += ACK_FRAME_LENGTH;
        out.messages.push(f.message);
      } else {
        this.counters.acksIn++;
        if (this.ack(f.ackSequence, now)) out.progress = true;
      }
    }
    if (acks !== undefined) this.countAcksOut(out, acks, dataFrames);
    return out;
  }

  private countAcksOut(out: ReceiveResult, acks: Uint8Array, n: number): void {
    out.acks = acks;
    this.counters.acksOut += n;
    this.counters.framesOut += n;
    this.counters.bytesOut += acks.length;
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

/** RFC 6940 §6.6.2 ack frame at `at`: type, ack_sequence, received (network byte order). */
function putAck(buf: Uint8Array, at: number, sequence: number, received: number): void {
  buf[at] = FramedMessageType.ack;
  buf[at + 1] = sequence >>> 24;
  buf[at + 2] = (sequence >>> 16) & 0xff;
  buf[at + 3] = (sequence >>> 8) & 0xff;
  buf[at + 4] = sequence & 0xff;
  buf[at + 5] = received >>> 24;
  buf[at + 6] = (received >>> 16) & 0xff;
  buf[at + 7] = (received >>> 8) & 0xff;
  buf[at + 8] = received & 0xff;
}

/** RFC 6940 §6.6.2 data frame: type, sequence, the message with its 24-bit length. */
function dataFrame(sequence: number, message: Uint8Array): Uint8Array {
  const n = message.length;
  const buf = new Uint8Array(DATA_FRAME_OVERHEAD + n);
  buf[0] = FramedMessageType.data;
  buf[1] = sequence >>> 24;
  buf[2] = (sequence >>> 16) & 0xff;
  buf[3] = (sequence >>> 8) & 0xff;
  buf[4] = sequence & 0xff;
  buf[5] = n >>> 16;
  buf[6] = (n >>> 8) & 0xff;
  buf[7] = n & 0xff;
  buf.set(message, DATA_FRAME_OVERHEAD);
  return buf;
}
