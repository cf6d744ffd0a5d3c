/**
 * Generated audio for voicemail when no recording is available: the default greeting, the
 * "record after the tone" beep and the mailbox menu's prompts. They are tones, not speech — each
 * is a distinct, documented pattern (PCM16, 8 kHz, mono; every tone has a 5 ms raised-cosine
 * ramp at both ends so it starts and stops without a click; every prompt ends in silence so that
 * prompts played one after another stay apart):
 *
 *   greeting        two-tone chime "ding-dong": E5 659.25 Hz 250 ms, 50 ms pause, C5 523.25 Hz
 *                   450 ms, 300 ms silence                                              (1.05 s)
 *   beep            record after the tone: 440 Hz, 500 ms, then 100 ms silence          (0.6 s)
 *   count(n)        "you have n messages": n pips of 880 Hz 120 ms, 120 ms apart; more than 9
 *                   messages: 9 pips then one long 880 Hz tone of 600 ms ("many")
 *   noMessages      falling pair: G4 392 Hz 300 ms, 100 ms pause, D4 293.66 Hz 500 ms
 *   messageStart    "message follows": rising pair C5 523.25 Hz then G5 783.99 Hz, 120 ms each
 *   deleted         three fast falling pips 880, 660, 440 Hz, 80 ms each
 *   endOfMessages   one low tone G4 392 Hz, 600 ms
 *   invalid         two short low buzzes 300 Hz, 150 ms, 100 ms apart
 *   goodbye         falling triad C5 523.25, G4 392, C4 261.63 Hz, 150 ms each
 *   greetingSaved   "your greeting is saved": rising triad C5 523.25, E5 659.25, G5 783.99 Hz,
 *                   100 ms each, then G5 and C6 1046.5 Hz together 300 ms              (0.9 s)
 *
 * A user's own greeting (recorded from the phone, key 8 of the mailbox, or put through the API) replaces
 * `greeting`; the beep still follows it.
 */
import { G711_RATE } from './g711.js';
import { checkIntOption, VoicemailError } from './voicemail-error.js';

/** One piece of a tone pattern: the sum of `freqs` (none: silence) for `ms` milliseconds. */
export interface ToneSegment {
  readonly freqs: readonly number[];
  readonly ms: number;
}

/** Peak of a generated tone (a sum of tones shares it): about −12 dBFS. */
export const TONE_PEAK = 8000;
/** Length of the fade at both ends of each tone. */
export const TONE_RAMP_MS = 5;
/** Most pips `count(n)` plays before its "many" tone. */
export const MAX_COUNT_PIPS = 9;

/** Renders a tone pattern at `sampleRate` (default 8 kHz). */
export function renderTones(segments: readonly ToneSegment[], sampleRate = G711_RATE): Int16Array {
  checkIntOption('sampleRate', sampleRate, 1000, 192_000);
  let total = 0;
  for (const s of segments) total += samplesOf(s.ms, sampleRate);
  const out = new Int16Array(total);
  let at = 0;
  for (const s of segments) {
    const n = samplesOf(s.ms, sampleRate);
    if (s.freqs.length > 0) {
      const ramp = Math.min(Math.round((TONE_RAMP_MS * sampleRate) / 1000), n >> 1);
      const amp = TONE_PEAK / s.freqs.length;
      for (let i = 0; i < n; i++) {
        let v = 0;
        for (const f of s.freqs) v += Math.sin((2 * Math.PI * f * i) / sampleRate);
        let g = 1;
        const edge = Math.min(i, n - 1 - i);
        if (edge < ramp) g = 0.5 - 0.5 * Math.cos((Math.PI * edge) / ramp);
        out[at + i] = Math.round(v * amp * g);
      }
    }
    at += n;
  }
  return out;
}

function samplesOf(ms: number, rate: number): number {
  if (!(ms >= 0) || ms > 60_000) throw new VoicemailError('VM_INVALID_OPTION', `a tone segment lasts [0, 60000] ms, got ${ms}`);
  return Math.round((ms * rate) / 1000);
}

const tone = (ms: number, ...freqs: number[]): ToneSegment => ({ freqs, ms });
const pause = (ms: number): ToneSegment => ({ freqs: [], ms });

export const GREETING_PATTERN: readonly ToneSegment[] = [tone(250, 659.25), pause(50), tone(450, 523.25), pause(300)];
export const BEEP_PATTERN: readonly ToneSegment[] = [tone(500, 440), pause(100)];
export const NO_MESSAGES_PATTERN: readonly ToneSegment[] = [tone(300, 392), pause(100), tone(500, 293.66), pause(300)];
export const MESSAGE_START_PATTERN: readonly ToneSegment[] = [tone(120, 523.25), tone(120, 783.99), pause(300)];
export const DELETED_PATTERN: readonly ToneSegment[] = [tone(80, 880), tone(80, 660), tone(80, 440), pause(300)];
export const END_OF_MESSAGES_PATTERN: readonly ToneSegment[] = [tone(600, 392), pause(300)];
export const INVALID_PATTERN: readonly ToneSegment[] = [tone(150, 300), pause(100), tone(150, 300), pause(300)];
export const GOODBYE_PATTERN: readonly ToneSegment[] = [tone(150, 523.25), tone(150, 392), tone(150, 261.63), pause(200)];
export const GREETING_SAVED_PATTERN: readonly ToneSegment[] = [tone(100, 523.25), tone(100, 659.25), tone(100, 783.99), tone(300, 783.99, 1046.5), pause(300)];

/** The pattern of "you have n messages" (n ≥ 1; 0 is {@link NO_MESSAGES_PATTERN}). */
export function countPattern(n: number): ToneSegment[] {
  if (n <= 0) return [...NO_MESSAGES_PATTERN];
  const out: ToneSegment[] = [];
  const pips = Math.min(n, MAX_COUNT_PIPS);
  for (let i = 0; i < pips; i++) out.push(tone(120, 880), pause(120));
  if (n > MAX_COUNT_PIPS) out.push(tone(600, 880), pause(120));
  out.push(pause(180));
  return out;
}

/** The audio the voicemail plays; a mailbox with recorded prompts supplies its own. */
export interface Prompts {
  readonly greeting: Int16Array;
  readonly beep: Int16Array;
  readonly noMessages: Int16Array;
  count(n: number): Int16Array;
  readonly messageStart: Int16Array;
  readonly deleted: Int16Array;
  readonly endOfMessages: Int16Array;
  readonly invalid: Int16Array;
  readonly goodbye: Int16Array;
  /** The mailbox's confirmation that a greeting recorded with key 8 is stored. */
  readonly greetingSaved: Int16Array;
}

/** The default greeting (no recording available): the chime. */
export function defaultGreeting(): Int16Array {
  return renderTones(GREETING_PATTERN);
}

/** The generated prompts (8 kHz), rendered once per call of this function. */
export function generatedPrompts(): Prompts {
  const counts = new Map<number, Int16Array>();
  return {
    greeting: defaultGreeting(),
    beep: renderTones(BEEP_PATTERN),
    noMessages: renderTones(NO_MESSAGES_PATTERN),
    count(n: number): Int16Array {
      const k = n <= 0 ? 0 : Math.min(n, MAX_COUNT_PIPS + 1);
      let a = counts.get(k);
      if (a === undefined) {
        a = renderTones(countPattern(k));
        counts.set(k, a);
      }
      return a;
    },
    messageStart: renderTones(MESSAGE_START_PATTERN),
    deleted: renderTones(DELETED_PATTERN),
    endOfMessages: renderTones(END_OF_MESSAGES_PATTERN),
    invalid: renderTones(INVALID_PATTERN),
    goodbye: renderTones(GOODBYE_PATTERN),
    greetingSaved: renderTones(GREETING_SAVED_PATTERN),
  };
}
