/**
 * DTMF as RTP telephone-events (RFC 4733): the 4-octet event payload (§2.3) and a detector that
 * turns a stream of event packets into key presses, once each.
 *
 * A sender sends several packets per key press (§2.5.1): all with the RTP timestamp of the event's
 * start, growing durations, the last ones with the E (end) bit, retransmitted three times
 * (§2.5.1.4); a press longer than 0xFFFF timestamp units continues in a new segment whose
 * timestamp is the previous one plus its duration (§2.5.1.5). So the detector keys an event by
 * (SSRC, timestamp): the first packet of a new key is a press — reported at once, so a lost end
 * packet loses nothing — and later packets of it, end retransmissions included, are not; a packet
 * of the same, unfinished event 0xFFFF (± 1600) units after it is its next segment, not a press.
 * Events that start before the last reported one (late, reordered) are dropped so digits come in
 * order.
 *
 * Limits: the detector remembers the last `memory` events (default 16).
 */
import { tsDelta, type RtpPacket } from './rtp.js';
import { checkIntOption, VoicemailError } from './voicemail-error.js';

export type DtmfDigit = '0' | '1' | '2' | '3' | '4' | '5' | '6' | '7' | '8' | '9' | '*' | '#' | 'A' | 'B' | 'C' | 'D';

/** RFC 4733 §3.2 event codes 0–15, in order. */
const DIGITS: readonly DtmfDigit[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#', 'A', 'B', 'C', 'D'];

export interface TelephoneEvent {
  /** Event code (0–9 digits, 10 `*`, 11 `#`, 12–15 A–D, 16 flash, …). */
  readonly event: number;
  /** E bit: the event has ended. */
  readonly end: boolean;
  /** Power level in −dBm0, 0..63 (§2.3.4). */
  readonly volume: number;
  /** Duration so far, in timestamp units (§2.3.5). */
  readonly duration: number;
}

export const TELEPHONE_EVENT_BYTES = 4;
/** How far (timestamp units, 200 ms at 8 kHz) a long event's next segment may start from 0xFFFF after its last. */
const SEGMENT_SLACK = 1600;
/** The RFC 4733 §2.5.1.4 number of end-packet transmissions. */
export const END_RETRANSMISSIONS = 3;

/** Parses a telephone-event payload (§2.3); throws VoicemailError DTMF_MALFORMED when shorter than 4 octets. */
export function parseTelephoneEvent(payload: Uint8Array): TelephoneEvent {
  if (payload.length < TELEPHONE_EVENT_BYTES) {
    throw new VoicemailError('DTMF_MALFORMED', `telephone-event payload of ${payload.length} bytes, 4 expected`);
  }
  return {
    event: payload[0]!,
    end: (payload[1]! & 0x80) !== 0,
    volume: payload[1]! & 0x3f,
    duration: (payload[2]! << 8) | payload[3]!,
  };
}

/** Builds a telephone-event payload (the R bit is sent as 0). */
export function buildTelephoneEvent(e: TelephoneEvent): Uint8Array {
  checkIntOption('event', e.event, 0, 255);
  checkIntOption('volume', e.volume, 0, 63);
  checkIntOption('duration', e.duration, 0, 0xffff);
  return Uint8Array.of(e.event, (e.end ? 0x80 : 0) | e.volume, e.duration >> 8, e.duration & 0xff);
}

/** The key of a DTMF event code (0–15), else undefined (flash, tones, …). */
export function eventToDigit(event: number): DtmfDigit | undefined {
  return DIGITS[event];
}

/** The event code of a key. */
export function digitToEvent(d: DtmfDigit): number {
  return DIGITS.indexOf(d);
}

export interface DtmfDetectorOptions {
  /** The telephone-event payload type the SDP negotiated (dynamic, 96..127 usually). */
  payloadType: number;
  /** Events remembered to recognise repeats (default 16). */
  memory?: number;
}

export interface DtmfDetectorStats {
  presses: number;
  /** Packets of events already reported (updates, end retransmissions, continuations). */
  repeats: number;
  /** Events older than the last reported one. */
  late: number;
  malformed: number;
  /** Events that are not keys (flash, …). */
  ignored: number;
}

interface OpenEvent {
  ssrc: number;
  timestamp: number;
  event: number;
  ended: boolean;
  duration: number;
}

export class DtmfDetector {
  readonly payloadType: number;
  private readonly memory: number;
  /** Keys `ssrc:timestamp` of recent events, oldest first. */
  private readonly seen: string[] = [];
  private last: OpenEvent | undefined;
  readonly stats: DtmfDetectorStats = { presses: 0, repeats: 0, late: 0, malformed: 0, ignored: 0 };

  constructor(options: DtmfDetectorOptions) {
    this.payloadType = checkIntOption('payloadType', options.payloadType, 0, 127);
    this.memory = checkIntOption('memory', options.memory ?? 16, 1, 1024);
  }

  /** Feeds one RTP packet; returns the key when it starts a new press. Other payload types are ignored. */
  push(p: RtpPacket): DtmfDigit | undefined {
    if (p.payloadType !== this.payloadType) return undefined;
    let e: TelephoneEvent;
    try {
      e = parseTelephoneEvent(p.payload);
    } catch {
      this.stats.malformed++;
      return undefined;
    }
    const key = `${p.ssrc}:${p.timestamp}`;
    const last = this.last;
    if (this.seen.includes(key)) {
      this.stats.repeats++;
      if (last !== undefined && last.ssrc === p.ssrc && last.timestamp === p.timestamp) {
        last.ended ||= e.end;
        last.duration = Math.max(last.duration, e.duration);
      }
      return undefined;
    }
    if (last !== undefined && last.ssrc === p.ssrc) {
      const after = tsDelta(p.timestamp, last.timestamp);
      if (after < 0) {
        this.stats.late++;
        return undefined;
      }
      // §2.5.1.5: a long event goes on in a new segment starting where the last one ended.
      if (!last.ended && e.event === last.event && Math.abs(after - 0xffff) <= SEGMENT_SLACK) {
        this.remember(key);
        this.last = { ssrc: p.ssrc, timestamp: p.timestamp, event: e.event, ended: e.end, duration: e.duration };
        this.stats.repeats++;
        return undefined;
      }
    }
    const digit = eventToDigit(e.event);
    this.remember(key);
    this.last = { ssrc: p.ssrc, timestamp: p.timestamp, event: e.event, ended: e.end, duration: e.duration };
    if (digit === undefined) {
      this.stats.ignored++;
      return undefined;
    }
    this.stats.presses++;
    return digit;
  }

  private remember(key: string): void {
    this.seen.push(key);
    if (this.seen.length > this.memory) this.seen.shift();
  }
}
