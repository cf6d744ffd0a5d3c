/**
 * Plays PCM16 audio (8 kHz) to a phone as a paced RTP stream of G.711 (PCMU or PCMA), sans-I/O:
 * packets go out through the host's `send`, time comes from the injected Clock.
 *
 * One RtpPlayer is one outgoing RTP stream of a call (RFC 3550 §5.1): one SSRC, a sequence number
 * and a timestamp that start at random values (injected Random, §5.1) and go on from one playback
 * to the next — the timestamp advancing with the time between them, as a sampling clock does.
 * Each playback is `ptimeMs` packets (default 20 ms: 160 samples), the last one padded with
 * silence; its first packet carries the marker bit (RFC 3551 §4.1: start of a talkspurt).
 *
 * Pacing is drift-free: packet n of a playback is due at start + n·ptime, whatever the timer
 * delays; a timer that fires late sends what is due at once, at most `maxBurst` packets (default
 * 5), the older ones being skipped (their timestamps are not reused). A playback is finished one
 * ptime after its last packet (when the far end has played it); playing again, `stop()` or
 * `cancel()` ends the current one as cancelled (reported at once, from that call); 'finished' is
 * always reported from a timer, never from inside `play()`.
 */
import type { Clock, TimerHandle } from '../../lib/clock.js';
import type { Random } from '../../lib/random.js';
import { g711Encode, G711_RATE, type G711Law } from './g711.js';
import { buildRtp } from './rtp.js';
import { checkIntOption, VoicemailError } from './voicemail-error.js';

/** Where the player's packets go: the call's RTP socket, to the phone's (latched) address. */
export interface RtpSendHost {
  send(packet: Uint8Array): void;
}

export interface PlayerDeps {
  readonly clock: Clock;
  readonly random: Random;
  readonly host: RtpSendHost;
}

export interface PlayerOptions {
  /** The negotiated payload type (0 PCMU, 8 PCMA, or a dynamic one mapped to them). */
  payloadType: number;
  law: G711Law;
  /** Packet duration, ms (default 20; 10..60 in steps of 10). */
  ptimeMs?: number;
  /** Packets sent at once when the clock is late (default 5; 1..50). */
  maxBurst?: number;
}

export type PlaybackEnd = 'finished' | 'cancelled';

export interface Playback {
  /** Resolves when the playback ends (never rejects). */
  readonly done: Promise<PlaybackEnd>;
  /** Ends it now (done → 'cancelled'); a no-op once ended. */
  cancel(): void;
  /** Packets sent so far. */
  readonly packetsSent: number;
  /** Packets skipped because the clock was late. */
  readonly packetsSkipped: number;
}

export const DEFAULT_PTIME_MS = 20;
export const DEFAULT_MAX_BURST = 5;

class ActivePlayback implements Playback {
  readonly done: Promise<PlaybackEnd>;
  packetsSent = 0;
  packetsSkipped = 0;
  /** Next packet index to send. */
  next = 0;
  timer: TimerHandle | undefined;
  ended = false;
  private resolve!: (e: PlaybackEnd) => void;

  constructor(
    private readonly owner: RtpPlayer,
    readonly payload: Uint8Array,
    readonly packets: number,
    readonly startAt: number,
    readonly ts0: number,
    private readonly onDone: ((end: PlaybackEnd) => void) | undefined,
  ) {
    this.done = new Promise((r) => (this.resolve = r));
  }

  cancel(): void {
    this.owner.endPlayback(this, 'cancelled');
  }

  /** @internal */
  finish(end: PlaybackEnd): void {
    this.ended = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.resolve(end);
    this.onDone?.(end);
  }
}

export class RtpPlayer {
  readonly ssrc: number;
  readonly payloadType: number;
  readonly law: G711Law;
  readonly ptimeMs: number;
  readonly samplesPerPacket: number;
  private readonly maxBurst: number;
  private seq: number;
  /** Timestamp of the next packet if it were sent right after the last one. */
  private nextTs: number;
  /** When the last packet's audio ends (clock ms), undefined before the first. */
  private lastEndAt: number | undefined;
  private current: ActivePlayback | undefined;
  private closed = false;
  /** Packets sent over the life of the stream (RTCP SR counts, §6.4.1). */
  packetCount = 0;
  octetCount = 0;

  constructor(
    private readonly deps: PlayerDeps,
    options: PlayerOptions,
  ) {
    this.payloadType = checkIntOption('payloadType', options.payloadType, 0, 127);
    this.law = options.law;
    this.ptimeMs = checkIntOption('ptimeMs', options.ptimeMs ?? DEFAULT_PTIME_MS, 10, 60);
    if (this.ptimeMs % 10 !== 0) throw new VoicemailError('VM_INVALID_OPTION', `ptimeMs must be a multiple of 10, got ${this.ptimeMs}`);
    this.maxBurst = checkIntOption('maxBurst', options.maxBurst ?? DEFAULT_MAX_BURST, 1, 50);
    this.samplesPerPacket = (this.ptimeMs * G711_RATE) / 1000;
    this.ssrc = deps.random.u32();
    this.seq = deps.random.u32() & 0xffff;
    this.nextTs = deps.random.u32();
  }

  /** A playback is under way. */
  get playing(): boolean {
    return this.current !== undefined;
  }

  /** Plays `pcm` (8 kHz), ending the current playback first. The first packet goes out now. */
  play(pcm: Int16Array, onDone?: (end: PlaybackEnd) => void): Playback {
    if (this.closed) throw new VoicemailError('VM_ILLEGAL_STATE', 'the RTP player is closed');
    if (this.current !== undefined) this.endPlayback(this.current, 'cancelled');
    const now = this.deps.clock.now();
    if (this.lastEndAt !== undefined && now > this.lastEndAt) {
      // The sampling clock ran on while nothing was sent (RFC 3550 §5.1 timestamp).
      this.nextTs = (this.nextTs + Math.round(((now - this.lastEndAt) * G711_RATE) / 1000)) >>> 0;
    }
    const spp = this.samplesPerPacket;
    const packets = Math.ceil(pcm.length / spp);
    const padded = new Int16Array(packets * spp);
    padded.set(pcm);
    const pb = new ActivePlayback(this, g711Encode(this.law, padded), packets, now, this.nextTs, onDone);
    this.current = pb;
    if (packets === 0) pb.timer = this.deps.clock.setTimer(0, () => this.tick(pb));
    else this.tick(pb);
    return pb;
  }

  /** Ends the current playback (cancelled), if any. */
  stop(): void {
    if (this.current !== undefined) this.endPlayback(this.current, 'cancelled');
  }

  /** Stops and refuses further playbacks. */
  close(): void {
    this.stop();
    this.closed = true;
  }

  /** @internal */
  endPlayback(pb: ActivePlayback, end: PlaybackEnd): void {
    if (pb.ended) return;
    if (this.current === pb) this.current = undefined;
    pb.finish(end);
  }

  private tick(pb: ActivePlayback): void {
    pb.timer = undefined;
    if (pb.ended) return;
    const now = this.deps.clock.now();
    const spp = this.samplesPerPacket;
    if (pb.next < pb.packets) {
      const due = Math.min(pb.packets - 1, Math.floor((now - pb.startAt) / this.ptimeMs));
      if (due - pb.next + 1 > this.maxBurst) {
        const skip = due - this.maxBurst + 1 - pb.next;
        pb.packetsSkipped += skip;
        pb.next += skip;
      }
      for (; pb.next <= due; pb.next++) this.sendPacket(pb, pb.next);
      this.nextTs = (pb.ts0 + pb.next * spp) >>> 0;
      this.lastEndAt = pb.startAt + pb.next * this.ptimeMs;
    }
    // The next packet is due at start + next·ptime; after the last, the end of its audio.
    const at = pb.startAt + pb.next * this.ptimeMs;
    if (pb.next >= pb.packets && now >= at) {
      this.endPlayback(pb, 'finished');
      return;
    }
    pb.timer = this.deps.clock.setTimer(at - now, () => this.tick(pb));
  }

  private sendPacket(pb: ActivePlayback, n: number): void {
    const spp = this.samplesPerPacket;
    const packet = buildRtp({
      marker: pb.packetsSent === 0,
      payloadType: this.payloadType,
      sequence: this.seq,
      timestamp: (pb.ts0 + n * spp) >>> 0,
      ssrc: this.ssrc,
      payload: pb.payload.subarray(n * spp, (n + 1) * spp),
    });
    this.seq = (this.seq + 1) & 0xffff;
    pb.packetsSent++;
    this.packetCount++;
    this.octetCount += spp;
    this.deps.host.send(packet);
  }
}
