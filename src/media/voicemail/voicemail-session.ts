/**
 * The media of one voicemail call leg, sans-I/O: RTP in through `receive`, RTP out through the
 * host's `send`, time from the Clock. The SIP side (answering the INVITE, BYE, storing the WAV in
 * the overlay) is the caller's.
 *
 *   RecordingSession  a call to an absent user: the greeting, the beep, then the caller's audio
 *                     is recorded until BYE (`bye()`), the maximum duration, or the finish key
 *                     (default #). Audio that arrives before the beep ends is not recorded.
 *                     `onFinished` is called once with the result; for 'max-duration' and 'digit'
 *                     the SIP side sends the BYE. A recording under `minDurationMs` is `empty`.
 *   RetrievalSession  the mailbox owner calling in: the MailboxMenu driven by the caller's keys
 *                     (RFC 4733), its prompts and messages played, its wait timers on the Clock,
 *                     `onDelete` and `onHangup` for the SIP side; at most `maxCallMs` (default
 *                     15 min), then goodbye and hang up. With `onGreeting`, key 8 records the user's
 *                     greeting (the caller's audio after the beep, until #, `maxGreetingMs` or the
 *                     hang-up): at least `minGreetingMs` of it goes to `onGreeting`, whose answer
 *                     the menu tells the user ("greeting saved" or "invalid"); a hang-up while
 *                     recording hands it over too, nobody left to tell.
 */
import type { Clock, TimerHandle } from '../../lib/clock.js';
import { generatedPrompts, type Prompts } from './greeting.js';
import { MailboxMenu, type MailboxMenuOptions, type MailboxMessage, type MenuCommand, type MenuEvent } from './mailbox-menu.js';
import { RtpPlayer, type PlayerDeps } from './player.js';
import { Recorder, RECORDER_RATE } from './recorder.js';
import { DtmfDetector, type DtmfDigit } from './rfc4733.js';
import { parseRtp, type RtpPacket } from './rtp.js';
import type { NegotiatedAudio } from './sdp-audio.js';
import { checkIntOption, VoicemailError } from './voicemail-error.js';
import { encodeWav } from './wav.js';

export type VoicemailSessionDeps = PlayerDeps;

/** The negotiated audio a session needs (a {@link NegotiatedAudio} is one). */
export type SessionAudio = Pick<NegotiatedAudio, 'payloadType' | 'law' | 'telephoneEvent' | 'ptimeMs'>;

export type RecordingEnd = 'bye' | 'max-duration' | 'digit' | 'cancelled';

export interface RecordingResult {
  readonly reason: RecordingEnd;
  /** PCM16 mono 8 kHz WAV of the message. */
  readonly wav: Uint8Array;
  readonly durationMs: number;
  /** Shorter than `minDurationMs` (or nothing recorded): not worth storing. */
  readonly empty: boolean;
}

export interface RecordingSessionOptions {
  audio: SessionAudio;
  /** The user's recorded greeting (PCM16 8 kHz), else the generated chime. */
  greeting?: Int16Array;
  /** The "record after the tone" beep, else the generated one. */
  beep?: Int16Array;
  /** Longest message (default 120,000 ms). */
  maxDurationMs?: number;
  /** Shortest message worth storing (default 1,000 ms; 0..10,000). */
  minDurationMs?: number;
  /** The key that ends the recording (default '#'; null: none). */
  finishDigit?: DtmfDigit | null;
  onFinished: (result: RecordingResult) => void;
}

type RecordingState = 'idle' | 'greeting' | 'beep' | 'recording' | 'finished';

export class RecordingSession {
  private stateNow: RecordingState = 'idle';
  private readonly player: RtpPlayer;
  private readonly recorder: Recorder;
  private readonly dtmf: DtmfDetector | undefined;
  private readonly minMs: number;
  private readonly finishDigit: DtmfDigit | undefined;
  private result: RecordingResult | undefined;

  constructor(
    deps: VoicemailSessionDeps,
    private readonly options: RecordingSessionOptions,
  ) {
    const a = options.audio;
    this.player = new RtpPlayer(deps, { payloadType: a.payloadType, law: a.law, ptimeMs: a.ptimeMs });
    const recorderOptions = { payloadTypes: new Map([[a.payloadType, a.law]]), onFull: () => this.finish('max-duration') };
    this.recorder = new Recorder(options.maxDurationMs === undefined ? recorderOptions : { ...recorderOptions, maxDurationMs: options.maxDurationMs });
    this.dtmf = a.telephoneEvent === undefined ? undefined : new DtmfDetector({ payloadType: a.telephoneEvent });
    this.minMs = checkIntOption('minDurationMs', options.minDurationMs ?? 1000, 0, 10_000);
    this.finishDigit = options.finishDigit === null ? undefined : (options.finishDigit ?? '#');
  }

  get state(): RecordingState {
    return this.stateNow;
  }

  /** Plays the greeting (call once the INVITE is answered). */
  start(): void {
    if (this.stateNow !== 'idle') throw new VoicemailError('VM_ILLEGAL_STATE', `recording session started twice (state ${this.stateNow})`);
    this.stateNow = 'greeting';
    const prompts = this.options.greeting === undefined || this.options.beep === undefined ? generatedPrompts() : undefined;
    const beep = this.options.beep ?? prompts!.beep;
    this.player.play(this.options.greeting ?? prompts!.greeting, (end) => {
      if (end !== 'finished' || this.stateNow !== 'greeting') return;
      this.stateNow = 'beep';
      this.player.play(beep, (e) => {
        if (e === 'finished' && this.stateNow === 'beep') this.stateNow = 'recording';
      });
    });
  }

  /** One datagram from the caller's RTP port. */
  receive(datagram: Uint8Array): void {
    if (this.stateNow === 'finished' || this.stateNow === 'idle') return;
    const p = tryParse(datagram);
    if (p === undefined) return;
    if (this.dtmf !== undefined && p.payloadType === this.dtmf.payloadType) {
      const d = this.dtmf.push(p);
      if (d !== undefined && d === this.finishDigit && this.stateNow === 'recording') this.finish('digit');
      return;
    }
    if (this.stateNow === 'recording') this.recorder.pushPacket(p);
  }

  /** The caller hung up: the result (also given to onFinished, unless finished before). */
  bye(): RecordingResult {
    this.finish('bye');
    return this.result!;
  }

  /** Ends everything without a message worth storing (the call failed). */
  cancel(): void {
    this.finish('cancelled');
  }

  private finish(reason: RecordingEnd): void {
    if (this.stateNow === 'finished') return;
    this.stateNow = 'finished';
    this.player.close();
    this.recorder.stop();
    const pcm = this.recorder.pcm();
    const durationMs = (pcm.length * 1000) / RECORDER_RATE;
    this.result = { reason, wav: encodeWav(pcm, RECORDER_RATE), durationMs, empty: reason === 'cancelled' || durationMs < this.minMs || pcm.length === 0 };
    this.options.onFinished(this.result);
  }
}

export interface RetrievalSessionOptions {
  audio: SessionAudio;
  messages: readonly MailboxMessage[];
  prompts?: Prompts;
  menu?: MailboxMenuOptions;
  /** Longest call (default 900,000 ms = 15 min; 10,000..7,200,000). */
  maxCallMs?: number;
  onDelete: (id: string) => void;
  onHangup: () => void;
  /** Stores a greeting recorded with key 8 (PCM16 8 kHz); true when stored. Absent: key 8 is invalid. */
  onGreeting?: (pcm: Int16Array) => Promise<boolean>;
  /** Shortest greeting stored (default 1,000 ms; 0..10,000): shorter is "invalid", nothing stored. */
  minGreetingMs?: number;
}

/** Longest silence sent in one wait for a key (the menu's waits are 4 and 10 s). */
const MAX_SILENCE_MS = 60_000;

export class RetrievalSession {
  private readonly clock: Clock;
  private readonly player: RtpPlayer;
  private readonly dtmf: DtmfDetector | undefined;
  private readonly menu: MailboxMenu;
  private waitTimer: TimerHandle | undefined;
  private callTimer: TimerHandle | undefined;
  private readonly maxCallMs: number;
  private readonly minGreetingMs: number;
  /** The greeting being recorded (key 8). */
  private greeting: Recorder | undefined;
  private closed = false;

  constructor(
    deps: VoicemailSessionDeps,
    private readonly options: RetrievalSessionOptions,
  ) {
    const a = options.audio;
    this.clock = deps.clock;
    this.player = new RtpPlayer(deps, { payloadType: a.payloadType, law: a.law, ptimeMs: a.ptimeMs });
    this.dtmf = a.telephoneEvent === undefined ? undefined : new DtmfDetector({ payloadType: a.telephoneEvent });
    this.menu = new MailboxMenu(options.messages, options.prompts ?? generatedPrompts(), { greetings: options.onGreeting !== undefined, ...options.menu });
    this.maxCallMs = checkIntOption('maxCallMs', options.maxCallMs ?? 900_000, 10_000, 7_200_000);
    this.minGreetingMs = checkIntOption('minGreetingMs', options.minGreetingMs ?? 1000, 0, 10_000);
  }

  /** The menu (its state, the messages left). */
  get mailbox(): MailboxMenu {
    return this.menu;
  }

  start(): void {
    this.callTimer = this.clock.setTimer(this.maxCallMs, () => {
      this.callTimer = undefined;
      if (this.menu.state !== 'goodbye' && this.menu.state !== 'done') this.feed({ type: 'digit', digit: '9' });
    });
    this.feed({ type: 'start' });
  }

  receive(datagram: Uint8Array): void {
    if (this.closed) return;
    const p = tryParse(datagram);
    if (p === undefined) return;
    if (this.dtmf !== undefined && p.payloadType === this.dtmf.payloadType) {
      const d = this.dtmf.push(p);
      if (d !== undefined) this.feed({ type: 'digit', digit: d });
      return;
    }
    this.greeting?.pushPacket(p);
  }

  /** The phone hung up (BYE): a greeting being recorded is handed to `onGreeting` when long enough; then {@link close}. */
  bye(): void {
    if (this.closed) return;
    const pcm = this.takeGreeting();
    if (pcm !== undefined && pcm.length * 1000 >= this.minGreetingMs * RECORDER_RATE && pcm.length > 0) {
      void this.options.onGreeting?.(pcm).catch(() => false);
    }
    this.close();
  }

  /** The phone hung up (BYE), or the SIP side ends the call. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.waitTimer?.cancel();
    this.callTimer?.cancel();
    this.waitTimer = this.callTimer = undefined;
    this.greeting = undefined;
    this.player.close();
  }

  private feed(e: MenuEvent): void {
    if (this.closed) return;
    const commands = this.menu.handle(e);
    // a key the menu ignores (while a greeting is recorded) leaves its timer running
    if (e.type === 'timeout' || (e.type === 'digit' && commands.length > 0)) {
      this.waitTimer?.cancel();
      this.waitTimer = undefined;
    }
    for (const c of commands) this.run(c);
  }

  private takeGreeting(): Int16Array | undefined {
    const r = this.greeting;
    if (r === undefined) return undefined;
    this.greeting = undefined;
    r.stop();
    return r.pcm();
  }

  private silence(ms: number): void {
    this.player.play(new Int16Array(Math.max(0, Math.round((Math.min(ms, MAX_SILENCE_MS) * 8000) / 1000))));
  }

  private run(c: MenuCommand): void {
    if (this.closed) return;
    switch (c.type) {
      case 'play':
        this.waitTimer?.cancel();
        this.waitTimer = undefined;
        this.player.play(c.audio, (end) => {
          if (end === 'finished') this.feed({ type: 'playback-finished', playId: c.playId });
        });
        break;
      case 'await-digit':
        // silence while the phone thinks (RTP keeps flowing: phones and border controllers that end a
        // call without media, and NAT bindings, would not wait)
        this.silence(c.ms);
        this.waitTimer = this.clock.setTimer(c.ms, () => {
          this.waitTimer = undefined;
          this.feed({ type: 'timeout' });
        });
        break;
      case 'record-greeting': {
        const a = this.options.audio;
        this.greeting = new Recorder({ payloadTypes: new Map([[a.payloadType, a.law]]), maxDurationMs: c.ms });
        this.silence(c.ms); // RTP keeps flowing while the user speaks
        this.waitTimer = this.clock.setTimer(c.ms, () => {
          this.waitTimer = undefined;
          this.feed({ type: 'timeout' });
        });
        break;
      }
      case 'save-greeting': {
        this.waitTimer?.cancel();
        this.waitTimer = undefined;
        const pcm = this.takeGreeting() ?? new Int16Array(0);
        const store = this.options.onGreeting;
        if (store === undefined || pcm.length === 0 || pcm.length * 1000 < this.minGreetingMs * RECORDER_RATE) {
          this.feed({ type: 'greeting-stored', ok: false });
          break;
        }
        this.silence(MAX_SILENCE_MS); // while it is stored
        store(pcm).then(
          (ok) => this.feed({ type: 'greeting-stored', ok }),
          () => this.feed({ type: 'greeting-stored', ok: false }),
        );
        break;
      }
      case 'discard-greeting':
        this.takeGreeting();
        break;
      case 'delete':
        this.options.onDelete(c.id);
        break;
      case 'hangup':
        this.close();
        this.options.onHangup();
        break;
    }
  }
}

function tryParse(datagram: Uint8Array): RtpPacket | undefined {
  try {
    return parseRtp(datagram);
  } catch {
    return undefined;
  }
}
