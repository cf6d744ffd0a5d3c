/**
 * One DTLS-UDP-SR overlay link (RFC 6940 §6.6.3–6.6.4): Simple Reliability over a datagram channel
 * (the DTLS application-data channel), sans-I/O — time from the injected Clock, datagrams out through
 * {@link SrDatagramChannel}, datagrams in through `receive()`.
 *
 * Our reading of the RFC:
 * - Framing (§6.6.2): every RELOAD message or fragment goes in one data frame, one frame per
 *   datagram, with a fresh sequence number per transmission (0, 1, … mod 2^32): a retransmission
 *   gets a new one (§6.6.3.1), so every ACK names one transmission and every RTT sample is
 *   unambiguous. A message longer than `maxPayloadBytes` is split by the §6.7 fragmenter (into
 *   `maxPayloadBytes - fragmentHeadroom` pieces) before framing; no datagram exceeds
 *   `maxPayloadBytes + 8`. Reassembly is the final destination's (the overlay router).
 * - Receiver: every data frame is ACKed at once (ack_sequence = its sequence, `received` = bitmask of
 *   the 32 previous, AckWindow) and its message delivered — once per sequence number: the same
 *   sequence number again is a duplicated datagram (ACKed, not delivered). A message retransmitted
 *   because its ACKs were lost arrives under a new sequence number and is delivered again: inherent
 *   in SR; the RELOAD layer above absorbs it (transaction IDs, reply cache).
 * - Sender: not stop-and-wait (§6.6.3.1 is one possible algorithm; §6.6.4: "any compliant sender
 *   algorithm may be used") but a window of messages in flight (SrCongestionWindow, RFC 8085 §3.1).
 *   An ACK acknowledges its transmission and every one its bitmask marks. A transmission marked not
 *   received by the ACK of one `reorderThreshold`+ sequence numbers later is lost: retransmitted at once
 *   (it left the network, so the flight does not grow) and the window halved. A transmission unACKed
 *   after its timer — RTO (RFC 6298 from the ACKs, rounded up to the ms; the ICE check RTT as first
 *   sample), doubled per transmission (0, RTO, 3·RTO, 7·RTO, 15·RTO) — is retransmitted when the
 *   window allows, and the window collapses (RFC 8085 §3.1.1). After `maxTransmissions` (5) in all
 *   the message is dropped and the link fails (§6.6.3.1: the sender SHOULD close the connection).
 *   The §6.6.3.1 "wait 10 ms after an ACK" belongs to stop-and-wait and is not applied.
 * - Suspect (§6.6.3.1): once no ACK has come for a whole RTO while data was outstanding, the third
 *   retransmission beyond that point makes the link suspect (route around it); any ACK recovers it.
 * - Keepalive: no data frame sent or received for `keepaliveIdleMs` → the user's `keepalive(id)`
 *   (a Ping) is sent, as in LinkLayer.
 * - Never throws on network input; malformed datagrams are counted and dropped. The channel must not
 *   call `receive()` synchronously from inside `send()`.
 */
import type { Clock, TimerHandle } from '../../lib/clock.js';
import { ACK_FRAME_LENGTH, decodeFramedMessage, encodeFramedMessage, fragmentMessage } from '../codec/index.js';
import { AckWindow } from './ack-window.js';
import { LinkError } from './link-error.js';
import { RtoEstimator } from './rto-estimator.js';
import { SequenceHistory } from './sequence-history.js';
import { SrCongestionWindow } from './sr-congestion.js';
import { resolveSrLinkOptions } from './sr-link-options.js';
import type { ResolvedSrLinkOptions, SrLinkOptions } from './sr-link-options.js';
import { newSrLinkCounters } from './sr-link-types.js';
import type { SrDatagramChannel, SrLinkDeps, SrLinkState, SrLinkStats, SrLinkUser } from './sr-link-types.js';

const ALLOWED: Record<SrLinkState, readonly SrLinkState[]> = { open: ['closed', 'failed'], closed: [], failed: [] };

type EntryState = 'queued' | 'outstanding' | 'lost' | 'done';

/** One message or fragment until it is ACKed or dropped. */
interface Entry {
  readonly bytes: Uint8Array;
  state: EntryState;
  transmissions: number;
  /** Sequence numbers of its transmissions. */
  readonly seqs: number[];
  lastSeq: number;
  /** Number of its latest transmission on this link (1, 2, …; not wrapped like sequence numbers). */
  lastTx: number;
  /** Retransmission (or failure) deadline of the latest transmission. */
  deadline: number;
}

interface Transmission {
  entry: Entry;
  at: number;
}

export class SrLink {
  readonly rto: RtoEstimator;
  private readonly opts: ResolvedSrLinkOptions;
  private readonly clock: Clock;
  private readonly channel: SrDatagramChannel;
  private readonly user: SrLinkUser;
  private readonly cc: SrCongestionWindow;
  private st: SrLinkState = 'open';
  private suspectFlag = false;
  private nextSeq = 0;
  private txCount = 0;
  private queue: Entry[] = [];
  private head = 0;
  private lostQueue: Entry[] = [];
  private readonly outstanding = new Set<Entry>();
  private readonly bySeq = new Map<number, Transmission>();
  private unackedBytes = 0;
  private readonly ackWindow = new AckWindow();
  private readonly history: SequenceHistory;
  private lastActivityAt: number;
  /** Start of the current ACK silence: the last ACK, or the first transmission after an idle spell. */
  private silenceSince: number;
  private silentRetransmissions = 0;
  private timer: TimerHandle | undefined;
  private timerAt = Infinity;
  private readonly counters = newSrLinkCounters();

  constructor(
    readonly id: string,
    deps: SrLinkDeps,
    options: SrLinkOptions = {},
  ) {
    this.opts = resolveSrLinkOptions(options);
    this.clock = deps.clock;
    this.channel = deps.channel;
    this.user = deps.user;
    this.rto = new RtoEstimator(this.opts.rto);
    // RFC 6940 §6.6.3.1: the RTT of the ICE check is the first measurement (RFC 6298 (2.2))
    if (this.opts.initialRttMs !== undefined) this.rto.sample(this.opts.initialRttMs);
    this.cc = new SrCongestionWindow(this.opts.initialWindow, this.opts.maxWindow);
    this.history = new SequenceHistory(this.opts.duplicateWindow);
    const now = this.clock.now();
    this.lastActivityAt = now;
    this.silenceSince = now;
    this.schedule();
  }

  get state(): SrLinkState {
    return this.st;
  }

  get suspect(): boolean {
    return this.suspectFlag;
  }

  /** Bytes of messages accepted and not yet ACKed (the `maxQueuedBytes` budget). */
  get queuedBytes(): number {
    return this.unackedBytes;
  }

  /**
   * Queues one RELOAD message (fragmented when longer than `maxPayloadBytes`). False — nothing queued —
   * when the link is not open, the queue is full, the message is longer than `maxMessageSize`, or it
   * must be fragmented and cannot be (not a RELOAD message, or a header too long for 256-byte slices).
   */
  send(message: Uint8Array): boolean {
    if (this.st !== 'open') return false;
    const o = this.opts;
    if (message.length > o.maxMessageSize) {
      this.counters.refusedTooBig++;
      return false;
    }
    let pieces: Uint8Array[] = [message];
    if (message.length > o.maxPayloadBytes) {
      try {
        pieces = fragmentMessage(message, o.maxPayloadBytes - o.fragmentHeadroom, { maxMessageSize: o.maxMessageSize, nodeIdLength: o.nodeIdLength });
      } catch {
        pieces = [];
      }
      if (pieces.length === 0 || pieces.some((p) => p.length > o.maxPayloadBytes)) {
        this.counters.refusedTooBig++;
        return false;
      }
    }
    let total = 0;
    for (const p of pieces) total += p.length;
    if (this.unackedBytes + total > o.maxQueuedBytes) {
      this.counters.refusedQueueFull++;
      return false;
    }
    for (const bytes of pieces) this.queue.push({ bytes, state: 'queued', transmissions: 0, seqs: [], lastSeq: 0, lastTx: 0, deadline: Infinity });
    this.unackedBytes += total;
    this.counters.messagesSent++;
    if (pieces.length > 1) this.counters.fragmentsSent += pieces.length;
    this.pump(this.clock.now());
    if (this.st === 'open') this.schedule();
    return true;
  }

  /** One datagram from the channel (a data or ACK frame). Ignored once the link is closed or failed. */
  receive(datagram: Uint8Array): void {
    if (this.st !== 'open') return;
    const now = this.clock.now();
    this.counters.bytesIn += datagram.length;
    this.counters.framesIn++;
    const r = decodeFramedMessage(datagram, { maxMessageSize: this.opts.maxMessageSize });
    if (!r.ok) {
      this.counters.malformedIn++;
      return;
    }
    const f = r.value;
    if (f.type === 'ack') {
      this.counters.acksIn++;
      this.onAck(f.ackSequence, f.received, now);
      return;
    }
    this.counters.dataFramesIn++;
    this.lastActivityAt = now;
    // RFC 6940 §6.6.2: the receiver SHOULD immediately send an ACK
    const received = this.ackWindow.receive(f.sequence);
    this.counters.acksOut++;
    this.counters.framesOut++;
    this.counters.bytesOut += ACK_FRAME_LENGTH;
    this.channel.send(encodeFramedMessage({ type: 'ack', ackSequence: f.sequence, received }));
    if (this.st !== 'open') return;
    if (!this.history.add(f.sequence)) {
      this.counters.duplicatesIn++;
      return;
    }
    this.counters.messagesDelivered++;
    this.user.onLinkMessage(this.id, f.message);
  }

  /** Stops the link: nothing more is sent or reported, the clock timer is cancelled. */
  close(): void {
    if (!this.transition('closed')) return;
    this.stop();
  }

  stats(): SrLinkStats {
    let lost = 0;
    for (const e of this.lostQueue) if (e.state === 'lost') lost++;
    return {
      state: this.st,
      ...this.counters,
      queued: this.queue.length - this.head + lost,
      inFlight: this.outstanding.size,
      unackedBytes: this.unackedBytes,
      cwnd: this.cc.cwndExact,
      ssthresh: this.cc.ssthresh,
      lossReductions: this.cc.lossReductions,
      timeoutReductions: this.cc.timeoutReductions,
      srttMs: this.rto.srttMs,
      lastRttMs: this.rto.lastRttMs,
      rtoMs: this.rto.rtoMs,
      suspect: this.suspectFlag,
    };
  }

  /** The one transition function; false (and no change) for an illegal transition. */
  private transition(to: SrLinkState): boolean {
    if (!ALLOWED[this.st].includes(to)) return false;
    this.st = to;
    return true;
  }

  private onAck(ackSeq: number, mask: number, now: number): void {
    const sent = this.counters.dataFramesOut;
    const back = (this.nextSeq - 1 - ackSeq) >>> 0;
    if (sent === 0 || back >= Math.min(sent, 0x80000000)) {
      this.counters.unknownAcks++;
      return;
    }
    // any ACK of ours ends the silence (RFC 6940 §6.6.3.1)
    this.silenceSince = now;
    this.silentRetransmissions = 0;
    const limited = this.outstanding.size * 2 >= this.cc.window; // RFC 7661: the window is in use
    let acked = 0;
    const t = this.bySeq.get(ackSeq);
    if (t !== undefined) {
      this.rto.sample(now - t.at); // one transmission per sequence number: never ambiguous
      acked += this.ackEntry(t.entry);
    }
    for (let k = 0; k < 32; k++) {
      if ((mask & (1 << k)) === 0) continue;
      const u = this.bySeq.get((ackSeq - k - 1) >>> 0);
      if (u !== undefined) acked += this.ackEntry(u.entry);
    }
    if (acked > 0) {
      this.counters.messagesAcked += acked;
      this.cc.onAck(acked, limited);
    }
    this.detectLoss(ackSeq, mask, now);
    if (this.st !== 'open') return;
    if (this.suspectFlag) {
      this.suspectFlag = false;
      this.user.onLinkRecovered?.(this.id);
      if (this.st !== 'open') return;
    }
    this.pump(now);
    if (this.st === 'open') this.schedule();
  }

  private ackEntry(e: Entry): number {
    if (e.state !== 'outstanding' && e.state !== 'lost') return 0;
    this.outstanding.delete(e);
    e.state = 'done';
    for (const s of e.seqs) this.bySeq.delete(s);
    this.unackedBytes -= e.bytes.length;
    return 1;
  }

  // Transmissions the ACK of `ackSeq` shows as not received, `reorderThreshold`+ sequence numbers back.
  private detectLoss(ackSeq: number, mask: number, now: number): void {
    let lost: Entry[] | undefined;
    for (const e of this.outstanding) {
      const d = (ackSeq - e.lastSeq) >>> 0;
      if (d > this.opts.reorderThreshold && d <= 32 && (mask & (1 << (d - 1))) === 0) (lost ??= []).push(e);
    }
    if (lost === undefined) return;
    for (const e of lost) {
      if (this.st !== 'open' || e.state !== 'outstanding') continue;
      this.cc.onLoss(e.lastTx, this.txCount);
      // the last transmission's timer decides its fate (failure)
      if (e.transmissions >= this.opts.maxTransmissions) continue;
      this.counters.fastRetransmissions++;
      this.transmit(e, now);
    }
  }

  // Sends what the window allows: retransmissions first, then new messages.
  private pump(now: number): void {
    while (this.st === 'open' && this.outstanding.size < this.cc.window) {
      const e = this.nextToSend();
      if (e === undefined) return;
      this.transmit(e, now);
    }
  }

  private nextToSend(): Entry | undefined {
    while (this.lostQueue.length > 0) {
      const e = this.lostQueue.shift()!;
      if (e.state === 'lost') return e;
    }
    if (this.head >= this.queue.length) return undefined;
    const e = this.queue[this.head++]!;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return e;
  }

  private transmit(e: Entry, now: number): void {
    const seq = this.nextSeq;
    this.nextSeq = (seq + 1) >>> 0;
    const retransmission = e.transmissions > 0;
    if (this.outstanding.size === 0 && !retransmission) {
      // data outstanding again after an idle spell: silence is measured from here
      this.silenceSince = now;
      this.silentRetransmissions = 0;
    }
    e.transmissions++;
    e.seqs.push(seq);
    e.lastSeq = seq;
    e.lastTx = ++this.txCount;
    // RFC 6940 §6.6.3.1: the time to wait doubles after each retransmission
    e.deadline = now + Math.min(this.opts.rto.maxRtoMs, this.rto.rtoMs * 2 ** (e.transmissions - 1));
    e.state = 'outstanding';
    this.outstanding.add(e);
    this.bySeq.set(seq, { entry: e, at: now });
    const frame = encodeFramedMessage({ type: 'data', sequence: seq, message: e.bytes }, { maxMessageSize: Math.max(this.opts.maxMessageSize, e.bytes.length) });
    this.counters.dataFramesOut++;
    this.counters.framesOut++;
    this.counters.bytesOut += frame.length;
    if (retransmission) this.counters.retransmissions++;
    this.lastActivityAt = now;
    this.channel.send(frame);
  }

  // Next deadline: a retransmission timer or the keepalive.
  private schedule(): void {
    if (this.st !== 'open') return;
    let at = this.lastActivityAt + this.opts.keepaliveIdleMs;
    for (const e of this.outstanding) if (e.deadline < at) at = e.deadline;
    if (at === Infinity) return;
    if (this.timer !== undefined && this.timerAt <= at) return; // fires early, re-arms then
    this.timer?.cancel();
    this.timerAt = at;
    this.timer = this.clock.setTimer(Math.max(0, at - this.clock.now()), () => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.tick();
    });
  }

  private tick(): void {
    if (this.st !== 'open') return;
    const now = this.clock.now();
    let due: Entry[] | undefined;
    for (const e of this.outstanding) if (e.deadline <= now) (due ??= []).push(e);
    for (const e of due ?? []) {
      if (this.st !== 'open') return;
      if (e.state !== 'outstanding') continue;
      if (e.transmissions >= this.opts.maxTransmissions) {
        this.fail(e);
        return;
      }
      this.counters.timeouts++;
      this.cc.onTimeout(e.lastTx, this.txCount);
      // lost: retransmitted when the (collapsed) window allows, oldest first
      this.outstanding.delete(e);
      e.state = 'lost';
      this.lostQueue.push(e);
    }
    const before = this.counters.retransmissions;
    this.pump(now);
    if (this.st !== 'open') return;
    for (let i = before; i < this.counters.retransmissions; i++) this.noteSilentRetransmission(now);
    if (this.st !== 'open') return;
    if (now >= this.lastActivityAt + this.opts.keepaliveIdleMs) {
      this.lastActivityAt = now; // one keepalive per idle period, even when the user has none to give
      const ping = this.user.keepalive?.(this.id);
      if (ping !== undefined && this.send(ping)) this.counters.keepalives++;
      if (this.st !== 'open') return;
    }
    this.schedule();
  }

  // RFC 6940 §6.6.3.1: no ACK for an entire RTO, then three retransmissions beyond that point → suspect.
  private noteSilentRetransmission(now: number): void {
    if (now - this.silenceSince < this.rto.rtoMs) return;
    this.silentRetransmissions++;
    if (this.silentRetransmissions >= 3 && !this.suspectFlag) {
      this.suspectFlag = true;
      this.user.onLinkSuspect?.(this.id);
    }
  }

  private fail(e: Entry): void {
    if (!this.transition('failed')) return;
    this.counters.messagesDropped++;
    const n = e.transmissions;
    this.stop();
    this.user.onLinkFailed(this.id, new LinkError('RELOAD_LINK_TIMEOUT', `a message was not ACKed after ${n} transmissions (RFC 6940 §6.6.3.1)`));
  }

  private stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.timerAt = Infinity;
    for (const e of this.outstanding) e.state = 'done';
    this.outstanding.clear();
    this.bySeq.clear();
    this.queue = [];
    this.head = 0;
    this.lostQueue = [];
    this.unackedBytes = 0;
  }
}
