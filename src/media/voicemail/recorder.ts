/**
 * Records one incoming RTP audio stream (G.711 PCMU/PCMA, RFC 3551) to PCM16 at 8 kHz, sans-I/O:
 * the caller hands it packets as they come and takes the audio (or a WAV file) at the end.
 *
 *  - order: packets wait in a reorder buffer of `reorderWindow` packets (default 8, 160 ms of
 *    20 ms packets) and leave it in sequence order (RFC 3550 Appendix A.1 arithmetic: sequence
 *    numbers wrap at 65,536); a packet older than one already written is late and dropped;
 *  - duplicates of a buffered or recently written packet are dropped;
 *  - time: a packet's samples go where its timestamp says, so a gap (lost packets, silence
 *    suppression, comfort noise — payload type 13 writes nothing) is silence. A jump of more than
 *    `maxGapMs` (default 10 s) is cut to `maxGapMs` of silence; a timestamp more than 1 s back is
 *    a restarted sender and continues at the end; overlapping samples keep the first ones written;
 *  - SSRC: a new SSRC (a re-INVITE, a transfer, a B2BUA switching legs) flushes the buffer and goes
 *    on at the end of the recording; packets of the SSRCs it replaced (the last 4) are dropped;
 *  - length: at most `maxDurationMs` (default 120 s, explicit): the recording stops there, `full`
 *    turns true and `onFull` is called once; later packets are ignored.
 * Telephone-events and other payload types are counted and dropped: the session routes them.
 */
import { g711Decode, PT_PCMA, PT_PCMU, type G711Law } from './g711.js';
import { parseRtp, seqDelta, tsDelta, type RtpPacket } from './rtp.js';
import { encodeWav } from './wav.js';
import { checkIntOption } from './voicemail-error.js';

export const RECORDER_RATE = 8000;
export const DEFAULT_MAX_RECORDING_MS = 120_000;
export const MAX_RECORDING_MS_LIMIT = 3_600_000;
export const DEFAULT_REORDER_WINDOW = 8;
export const DEFAULT_MAX_GAP_MS = 10_000;
/** RFC 3389 comfort noise (static payload type 13): silence here. */
export const PT_COMFORT_NOISE = 13;
/** SSRCs remembered as replaced. */
const RETIRED_SSRCS = 4;
/** Written sequence numbers remembered to tell a duplicate from a late packet. */
const WRITTEN_MEMORY = 64;
/** A timestamp further back than this (samples, 1 s) restarts the timeline. */
const RESTART_BACK = RECORDER_RATE;

export interface RecorderOptions {
  /** Payload types of the negotiated G.711 codecs (default 0 PCMU and 8 PCMA, RFC 3551). */
  payloadTypes?: ReadonlyMap<number, G711Law>;
  /** Longest recording, in ms (default 120,000; 1,000..3,600,000). */
  maxDurationMs?: number;
  /** Packets held to put reordered ones back in order (default 8; 0..64). */
  reorderWindow?: number;
  /** Longest silence a timestamp jump becomes, in ms (default 10,000; 20..60,000). */
  maxGapMs?: number;
  /** Called once when the recording reaches `maxDurationMs`. */
  onFull?: () => void;
}

export interface RecorderStats {
  packets: number;
  written: number;
  duplicates: number;
  late: number;
  malformed: number;
  /** Packets of payload types that are not the negotiated G.711 ones (events, CN counted apart). */
  otherPayload: number;
  comfortNoise: number;
  ssrcChanges: number;
  /** Packets of replaced SSRCs. */
  staleSsrc: number;
  /** Samples of silence put into gaps. */
  silenceSamples: number;
  /** Packets (or parts) past the maximum duration. */
  overflow: number;
}

interface Held {
  ext: number;
  packet: RtpPacket;
  law: G711Law | undefined;
}

export class Recorder {
  readonly maxSamples: number;
  private readonly laws: ReadonlyMap<number, G711Law>;
  private readonly window: number;
  private readonly maxGap: number;
  private readonly onFull: (() => void) | undefined;
  readonly stats: RecorderStats = {
    packets: 0, written: 0, duplicates: 0, late: 0, malformed: 0, otherPayload: 0,
    comfortNoise: 0, ssrcChanges: 0, staleSsrc: 0, silenceSamples: 0, overflow: 0,
  };

  private samples = new Int16Array(0);
  private cursor = 0;
  private isFull = false;
  private isStopped = false;

  // The current source (epoch) and its sequence/timestamp state.
  private ssrc: number | undefined;
  private readonly retired: number[] = [];
  private highestExt = 0;
  private lastWrittenExt: number | undefined;
  private readonly writtenRecent = new Set<number>();
  private readonly writtenOrder: number[] = [];
  private held: Held[] = [];
  private lastTs = 0;
  private lastTsExt = 0;
  /** Sample index = extended timestamp + offset; undefined until the epoch's first packet is written. */
  private offset: number | undefined;

  constructor(options: RecorderOptions = {}) {
    const ms = checkIntOption('maxDurationMs', options.maxDurationMs ?? DEFAULT_MAX_RECORDING_MS, 1000, MAX_RECORDING_MS_LIMIT);
    this.maxSamples = (ms * RECORDER_RATE) / 1000;
    this.window = checkIntOption('reorderWindow', options.reorderWindow ?? DEFAULT_REORDER_WINDOW, 0, 64);
    this.maxGap = (checkIntOption('maxGapMs', options.maxGapMs ?? DEFAULT_MAX_GAP_MS, 20, 60_000) * RECORDER_RATE) / 1000;
    const laws = options.payloadTypes ?? new Map<number, G711Law>([[PT_PCMU, 'pcmu'], [PT_PCMA, 'pcma']]);
    for (const pt of laws.keys()) checkIntOption('payload type', pt, 0, 127);
    this.laws = laws;
    this.onFull = options.onFull;
  }

  /** The recording reached its maximum duration. */
  get full(): boolean {
    return this.isFull;
  }

  get stopped(): boolean {
    return this.isStopped;
  }

  /** Length of the recording so far (packets still in the reorder buffer not counted). */
  get durationMs(): number {
    return (this.cursor * 1000) / RECORDER_RATE;
  }

  /** Feeds one datagram; a packet that is not RTP is counted and dropped. */
  push(datagram: Uint8Array): void {
    let p: RtpPacket;
    try {
      p = parseRtp(datagram);
    } catch {
      this.stats.packets++;
      this.stats.malformed++;
      return;
    }
    this.pushPacket(p);
  }

  /** Feeds one parsed RTP packet. */
  pushPacket(p: RtpPacket): void {
    this.stats.packets++;
    if (this.isStopped || this.isFull) {
      this.stats.overflow++;
      return;
    }
    const law = this.laws.get(p.payloadType);
    if (law === undefined) {
      if (p.payloadType === PT_COMFORT_NOISE) this.stats.comfortNoise++;
      else {
        this.stats.otherPayload++;
        return;
      }
    }
    if (p.ssrc !== this.ssrc) {
      if (this.retired.includes(p.ssrc)) {
        this.stats.staleSsrc++;
        return;
      }
      if (this.ssrc !== undefined) this.newSource();
      this.ssrc = p.ssrc;
      this.highestExt = p.sequence;
    }
    const ext = this.highestExt + seqDelta(p.sequence, this.highestExt & 0xffff);
    if (this.writtenRecent.has(ext) || this.held.some((h) => h.ext === ext)) {
      this.stats.duplicates++;
      return;
    }
    if (this.lastWrittenExt !== undefined && ext <= this.lastWrittenExt) {
      this.stats.late++;
      return;
    }
    if (ext > this.highestExt) this.highestExt = ext;
    // Insert in order (the buffer is short: a linear walk from the end).
    let i = this.held.length;
    while (i > 0 && this.held[i - 1]!.ext > ext) i--;
    this.held.splice(i, 0, { ext, packet: p, law });
    while (this.held.length > this.window && !this.isFull) this.write(this.held.shift()!);
    if (this.isFull) this.held = [];
  }

  /** Ends the recording: what the reorder buffer holds is written. Idempotent. */
  stop(): void {
    if (this.isStopped) return;
    this.flush();
    this.isStopped = true;
  }

  /** The recording so far, PCM16 8 kHz (a copy). */
  pcm(): Int16Array {
    return this.samples.slice(0, this.cursor);
  }

  /** The recording so far as a PCM16 mono 8 kHz WAV file. */
  wav(): Uint8Array {
    return encodeWav(this.pcm(), RECORDER_RATE);
  }

  private flush(): void {
    for (const h of this.held) {
      if (this.isFull) break;
      this.write(h);
    }
    this.held = [];
  }

  /** A new SSRC: the old one's packets are written and it is replaced. */
  private newSource(): void {
    this.flush();
    this.stats.ssrcChanges++;
    this.retired.push(this.ssrc!);
    if (this.retired.length > RETIRED_SSRCS) this.retired.shift();
    this.lastWrittenExt = undefined;
    this.writtenRecent.clear();
    this.writtenOrder.length = 0;
    this.offset = undefined;
  }

  private write(h: Held): void {
    const p = h.packet;
    this.lastWrittenExt = h.ext;
    this.writtenRecent.add(h.ext);
    this.writtenOrder.push(h.ext);
    if (this.writtenOrder.length > WRITTEN_MEMORY) this.writtenRecent.delete(this.writtenOrder.shift()!);

    let extTs: number;
    if (this.offset === undefined) {
      extTs = p.timestamp;
      this.offset = this.cursor - extTs;
    } else {
      extTs = this.lastTsExt + tsDelta(p.timestamp, this.lastTs);
    }
    this.lastTs = p.timestamp;
    this.lastTsExt = extTs;
    let pos = extTs + this.offset;
    if (pos - this.cursor > this.maxGap) {
      this.offset -= pos - this.cursor - this.maxGap;
      pos = this.cursor + this.maxGap;
    } else if (this.cursor - pos > RESTART_BACK) {
      this.offset += this.cursor - pos;
      pos = this.cursor;
    }
    if (h.law === undefined) return; // comfort noise: its time is silence
    this.stats.written++;
    let from = 0; // samples of the payload already covered are skipped
    if (pos < this.cursor) from = Math.min(this.cursor - pos, p.payload.length);
    const start = pos + from;
    let n = p.payload.length - from;
    if (n <= 0) return;
    if (start > this.cursor) this.stats.silenceSamples += Math.min(start, this.maxSamples) - this.cursor;
    if (start >= this.maxSamples) {
      this.stats.overflow++;
      this.reachFull();
      return;
    }
    if (start + n > this.maxSamples) {
      n = this.maxSamples - start;
      this.stats.overflow++;
    }
    this.ensure(start + n);
    g711Decode(h.law, p.payload.subarray(from, from + n), this.samples, start);
    this.cursor = start + n;
    if (this.cursor >= this.maxSamples) this.reachFull();
  }

  private reachFull(): void {
    if (this.isFull) return;
    this.cursor = this.maxSamples;
    this.ensure(this.cursor);
    this.isFull = true;
    this.onFull?.();
  }

  private ensure(n: number): void {
    if (n <= this.samples.length) return;
    let cap = Math.max(this.samples.length * 2, 8000);
    while (cap < n) cap *= 2;
    const next = new Int16Array(Math.min(cap, this.maxSamples));
    next.set(this.samples.subarray(0, this.cursor));
    this.samples = next;
  }
}
