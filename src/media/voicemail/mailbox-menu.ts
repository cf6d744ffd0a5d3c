/**
 * The mailbox retrieval IVR as a pure state machine: events in (`start`, a key, the end of a
 * playback, the host's wait timer), commands out (play audio, delete a message, wait for a key,
 * hang up). No audio, no clock: the session executes the commands and feeds back what happens.
 *
 * Flow: on `start`, "you have N messages" (count prompt; none: "no messages", goodbye, hang up),
 * then each message in turn: the "message follows" prompt, the message, then a wait of
 * `afterMessageWaitMs` (default 4 s) for a key about it — no key plays the next one. After the
 * last: "end of messages", then a wait of `endWaitMs` (default 10 s) — no key: goodbye, hang up.
 *
 * Keys (RFC 4733 events; they interrupt the audio playing):
 *   1       replay the current message
 *   2, #    next message (after the last: "end of messages")
 *   4       previous message (the first: replayed)
 *   7       delete the current message ("deleted"), then the one after it
 *   *       start over: the count, then the first message
 *   9       goodbye and hang up
 *   others  "invalid" when waiting for a key; ignored while audio plays
 * While the count plays only 2/# (skip to the first message), * and 9 act; 1 and 4 need a current
 * message, 7 one that is playing or was just heard (not while "message follows" plays). Once
 * hanging up, every event is ignored.
 *
 * The user's own greeting (option `greetings`: the host can store one; else 8 is an invalid key):
 *   8       record a new greeting, at any point of the menu: the beep, then the recording (command
 *           `record-greeting`) until
 *             #        stop and save it (command `save-greeting`; the host answers with the event
 *                      `greeting-stored`: ok → "greeting saved", else — shorter than the host's
 *                      minimum, or the overlay refused it — "invalid"),
 *             timeout  `maxGreetingMs` (default 20 s) passed: saved as for #,
 *             *        cancel: nothing saved,
 *             9        goodbye: nothing saved (the host saves what a hang-up leaves, if long enough);
 *           other keys are ignored while recording. Then the menu resumes where 8 was pressed:
 *           the count (8 during the count), the current message again (during a message or the wait
 *           after it), or the wait at the end (at the end). While "greeting saved" plays 8, * and 9 act.
 * With `greetings`, an empty mailbox does not hang up after "no messages": it waits `endWaitMs`
 * for a key (8 to record a greeting), then goodbye.
 *
 * Each play command has a `playId`; a `playback-finished` of another id (a playback that was
 * replaced) is ignored, as is a `timeout` when no wait is armed.
 */
import type { Prompts } from './greeting.js';
import type { DtmfDigit } from './rfc4733.js';
import { checkIntOption, VoicemailError } from './voicemail-error.js';

export interface MailboxMessage {
  readonly id: string;
  /** PCM16, 8 kHz. */
  readonly pcm: Int16Array;
  /** Who left it (the caller's AoR), for the host's display. */
  readonly from: string;
  /** When it was left (ms since the epoch). */
  readonly date: number;
}

export type MenuEvent =
  | { readonly type: 'start' }
  | { readonly type: 'digit'; readonly digit: DtmfDigit }
  | { readonly type: 'playback-finished'; readonly playId: number }
  | { readonly type: 'timeout' }
  /** The host's answer to `save-greeting`: the greeting is stored (ok) or not (too short, refused, failed). */
  | { readonly type: 'greeting-stored'; readonly ok: boolean };

export type PromptName = 'count' | 'noMessages' | 'messageStart' | 'deleted' | 'endOfMessages' | 'invalid' | 'goodbye' | 'beep' | 'greetingSaved';

export type MenuCommand =
  /** Play `audio` now, replacing what plays; report its natural end as playback-finished(playId). */
  | { readonly type: 'play'; readonly playId: number; readonly audio: Int16Array; readonly prompt: PromptName }
  | { readonly type: 'play'; readonly playId: number; readonly audio: Int16Array; readonly prompt: 'message'; readonly messageId: string }
  /** Arm the wait timer: `timeout` after `ms` unless a key comes first (a play command disarms it). */
  | { readonly type: 'await-digit'; readonly ms: number }
  | { readonly type: 'delete'; readonly id: string }
  /** Record the caller's audio as a new greeting; `timeout` after `ms` unless a key ends it first. */
  | { readonly type: 'record-greeting'; readonly ms: number }
  /** Stop recording and store the greeting; answer with `greeting-stored`. */
  | { readonly type: 'save-greeting' }
  /** Stop recording, nothing stored. */
  | { readonly type: 'discard-greeting' }
  | { readonly type: 'hangup' };

export type MenuState =
  | 'idle'
  | 'count' // the count (or "no messages") prompt
  | 'announce' // "message follows" before message `current`
  | 'message' // message `current`
  | 'after-message' // waiting for a key about message `current`
  | 'feedback' // "deleted" or "invalid", then `resume`
  | 'end-prompt' // "end of messages"
  | 'end-wait' // waiting for a key at the end
  | 'greeting-beep' // the beep before a greeting is recorded
  | 'greeting-record' // recording a greeting
  | 'greeting-saving' // the host stores it
  | 'greeting-feedback' // "greeting saved" or "invalid", then where 8 was pressed
  | 'goodbye'
  | 'done';

/** Which state may follow which: anything else is a bug, refused. */
const NEXT: Readonly<Record<MenuState, readonly MenuState[]>> = {
  idle: ['count'],
  count: ['announce', 'goodbye', 'count', 'end-wait', 'greeting-beep'],
  announce: ['message', 'announce', 'count', 'goodbye', 'end-prompt', 'greeting-beep'],
  message: ['after-message', 'announce', 'feedback', 'count', 'goodbye', 'end-prompt', 'greeting-beep'],
  'after-message': ['announce', 'feedback', 'count', 'goodbye', 'end-prompt', 'greeting-beep'],
  feedback: ['announce', 'end-prompt', 'after-message', 'end-wait', 'count', 'goodbye', 'feedback', 'greeting-beep'],
  'end-prompt': ['end-wait', 'announce', 'feedback', 'count', 'goodbye', 'end-prompt', 'greeting-beep'],
  'end-wait': ['announce', 'feedback', 'count', 'goodbye', 'end-prompt', 'greeting-beep'],
  'greeting-beep': ['greeting-record', 'count', 'announce', 'end-prompt', 'end-wait', 'goodbye'],
  'greeting-record': ['greeting-saving', 'count', 'announce', 'end-prompt', 'end-wait', 'goodbye'],
  'greeting-saving': ['greeting-feedback', 'goodbye'],
  'greeting-feedback': ['count', 'announce', 'end-prompt', 'end-wait', 'goodbye', 'greeting-beep'],
  goodbye: ['done'],
  done: [],
};

/** Where the menu goes back to after a greeting is recorded (or not). */
type GreetingResume = 'count' | 'announce' | 'end-wait';

export interface MailboxMenuOptions {
  /** Wait for a key after a message before the next one (default 4,000 ms; 0..60,000). */
  afterMessageWaitMs?: number;
  /** Wait for a key after "end of messages" before hanging up (default 10,000 ms; 1,000..120,000). */
  endWaitMs?: number;
  /** Key 8 records the user's greeting (the host can store one); default false: 8 is invalid. */
  greetings?: boolean;
  /** Longest greeting recorded with key 8 (default 20,000 ms; 1,000..60,000). */
  maxGreetingMs?: number;
}

export class MailboxMenu {
  private readonly messages: MailboxMessage[];
  private stateNow: MenuState = 'idle';
  private currentIndex = 0;
  private playId = 0;
  /** Where a feedback prompt returns: a wait ('after-message', 'end-wait') or the current message ('announce'). */
  private resume: 'after-message' | 'end-wait' | 'announce' = 'announce';
  private readonly afterMessageWaitMs: number;
  private readonly endWaitMs: number;
  private readonly greetings: boolean;
  private readonly maxGreetingMs: number;
  private greetingResume: GreetingResume = 'count';

  constructor(
    messages: readonly MailboxMessage[],
    private readonly prompts: Prompts,
    options: MailboxMenuOptions = {},
  ) {
    this.messages = [...messages];
    this.afterMessageWaitMs = checkIntOption('afterMessageWaitMs', options.afterMessageWaitMs ?? 4000, 0, 60_000);
    this.endWaitMs = checkIntOption('endWaitMs', options.endWaitMs ?? 10_000, 1000, 120_000);
    this.greetings = options.greetings ?? false;
    this.maxGreetingMs = checkIntOption('maxGreetingMs', options.maxGreetingMs ?? 20_000, 1000, 60_000);
  }

  get state(): MenuState {
    return this.stateNow;
  }

  /** Index of the current message in {@link remaining}. */
  get current(): number {
    return this.currentIndex;
  }

  /** The messages not deleted, in order. */
  get remaining(): readonly MailboxMessage[] {
    return this.messages;
  }

  /** The one transition function: an event in, the commands for the host out. */
  handle(e: MenuEvent): MenuCommand[] {
    if (e.type === 'start') {
      if (this.stateNow !== 'idle') throw new VoicemailError('VM_ILLEGAL_STATE', `mailbox menu started twice (state ${this.stateNow})`);
      return this.startOver();
    }
    if (this.stateNow === 'idle' || this.stateNow === 'done' || this.stateNow === 'goodbye') {
      if (this.stateNow === 'goodbye' && e.type === 'playback-finished' && e.playId === this.playId) {
        this.go('done');
        return [{ type: 'hangup' }];
      }
      return [];
    }
    switch (e.type) {
      case 'playback-finished':
        return e.playId === this.playId ? this.finished() : [];
      case 'timeout':
        if (this.stateNow === 'after-message') return this.next();
        if (this.stateNow === 'end-wait') return this.goodbye();
        if (this.stateNow === 'greeting-record') return this.saveGreeting();
        return [];
      case 'digit':
        return this.digit(e.digit);
      case 'greeting-stored':
        if (this.stateNow !== 'greeting-saving') return [];
        this.go('greeting-feedback');
        return [e.ok ? this.play(this.prompts.greetingSaved, 'greetingSaved') : this.play(this.prompts.invalid, 'invalid')];
    }
  }

  private digit(d: DtmfDigit): MenuCommand[] {
    const s = this.stateNow;
    switch (s) {
      case 'greeting-beep':
      case 'greeting-record': {
        const stop: MenuCommand[] = s === 'greeting-record' ? [{ type: 'discard-greeting' }] : [];
        if (d === '#' && s === 'greeting-record') return this.saveGreeting();
        if (d === '*') return [...stop, ...this.resumeAfterGreeting()];
        if (d === '9') return [...stop, ...this.goodbye()];
        return [];
      }
      case 'greeting-saving':
        return d === '9' ? this.goodbye() : [];
      case 'greeting-feedback':
        if (d === '9') return this.goodbye();
        if (d === '*') return this.startOver();
        if (d === '8') return this.recordGreeting();
        return [];
      default:
        break;
    }
    if (d === '8' && this.greetings) return this.recordGreeting();
    const hasCurrent = s !== 'count' && this.currentIndex < this.messages.length;
    /** A message was heard or is playing: 7 may delete it. */
    const heard = s === 'message' || s === 'after-message' || s === 'end-prompt' || s === 'end-wait';
    switch (d) {
      case '9':
        return this.goodbye();
      case '*':
        return this.startOver();
      case '2':
      case '#':
        return s === 'count' ? this.announce(0) : this.next();
      case '1':
        return hasCurrent ? this.announce(this.currentIndex) : this.invalid();
      case '4':
        return hasCurrent ? this.announce(Math.max(0, this.currentIndex - 1)) : this.invalid();
      case '7':
        return hasCurrent && heard ? this.deleteCurrent() : this.invalid();
      default:
        return this.invalid();
    }
  }

  private finished(): MenuCommand[] {
    switch (this.stateNow) {
      case 'count':
        if (this.messages.length > 0) return this.announce(0);
        if (!this.greetings) return this.goodbye();
        // an empty mailbox: a moment for key 8 (record a greeting) before goodbye
        this.go('end-wait');
        return [{ type: 'await-digit', ms: this.endWaitMs }];
      case 'announce': {
        const m = this.messages[this.currentIndex]!;
        this.go('message');
        return [{ type: 'play', playId: ++this.playId, audio: m.pcm, prompt: 'message', messageId: m.id }];
      }
      case 'message':
        if (this.afterMessageWaitMs === 0) return this.next();
        this.go('after-message');
        return [{ type: 'await-digit', ms: this.afterMessageWaitMs }];
      case 'feedback':
        if (this.resume === 'announce') return this.currentIndex < this.messages.length ? this.announce(this.currentIndex) : this.endOfMessages();
        this.go(this.resume);
        return [{ type: 'await-digit', ms: this.resume === 'end-wait' ? this.endWaitMs : this.afterMessageWaitMs }];
      case 'end-prompt':
        this.go('end-wait');
        return [{ type: 'await-digit', ms: this.endWaitMs }];
      case 'greeting-beep':
        this.go('greeting-record');
        return [{ type: 'record-greeting', ms: this.maxGreetingMs }];
      case 'greeting-feedback':
        return this.resumeAfterGreeting();
      default:
        return [];
    }
  }

  /** Key 8: the beep, then the recording; the menu comes back to where it was. */
  private recordGreeting(): MenuCommand[] {
    const s = this.stateNow;
    if (s === 'count') this.greetingResume = 'count';
    else if (s === 'end-prompt' || s === 'end-wait') this.greetingResume = 'end-wait';
    else if (s === 'feedback') this.greetingResume = this.resume === 'end-wait' ? 'end-wait' : 'announce';
    else if (s !== 'greeting-feedback') this.greetingResume = 'announce';
    this.go('greeting-beep');
    return [this.play(this.prompts.beep, 'beep')];
  }

  private saveGreeting(): MenuCommand[] {
    this.go('greeting-saving');
    return [{ type: 'save-greeting' }];
  }

  private resumeAfterGreeting(): MenuCommand[] {
    switch (this.greetingResume) {
      case 'count':
        return this.startOver();
      case 'announce':
        return this.currentIndex < this.messages.length ? this.announce(this.currentIndex) : this.endOfMessages();
      case 'end-wait':
        this.go('end-wait');
        return [{ type: 'await-digit', ms: this.endWaitMs }];
    }
  }

  private startOver(): MenuCommand[] {
    this.currentIndex = 0;
    this.go('count');
    const n = this.messages.length;
    return [this.play(n === 0 ? this.prompts.noMessages : this.prompts.count(n), n === 0 ? 'noMessages' : 'count')];
  }

  private announce(i: number): MenuCommand[] {
    this.currentIndex = i;
    this.go('announce');
    return [this.play(this.prompts.messageStart, 'messageStart')];
  }

  private next(): MenuCommand[] {
    const i = this.currentIndex + 1;
    if (i < this.messages.length) return this.announce(i);
    this.currentIndex = this.messages.length - 1;
    return this.endOfMessages();
  }

  private endOfMessages(): MenuCommand[] {
    this.currentIndex = Math.max(0, this.messages.length - 1);
    this.go('end-prompt');
    return [this.play(this.prompts.endOfMessages, 'endOfMessages')];
  }

  private deleteCurrent(): MenuCommand[] {
    const [m] = this.messages.splice(this.currentIndex, 1);
    this.resume = 'announce'; // the message after it now has the same index
    this.go('feedback');
    return [{ type: 'delete', id: m!.id }, this.play(this.prompts.deleted, 'deleted')];
  }

  private invalid(): MenuCommand[] {
    const s = this.stateNow;
    if (s === 'after-message' || s === 'end-wait') this.resume = s;
    else if (s !== 'feedback' && s !== 'end-prompt') return []; // audio plays: ignored
    else if (s === 'end-prompt') this.resume = 'end-wait';
    this.go('feedback');
    return [this.play(this.prompts.invalid, 'invalid')];
  }

  private goodbye(): MenuCommand[] {
    this.go('goodbye');
    return [this.play(this.prompts.goodbye, 'goodbye')];
  }

  private play(audio: Int16Array, prompt: PromptName): MenuCommand {
    return { type: 'play', playId: ++this.playId, audio, prompt };
  }

  private go(to: MenuState): void {
    if (!NEXT[this.stateNow].includes(to)) throw new VoicemailError('VM_ILLEGAL_STATE', `mailbox menu: ${this.stateNow} → ${to} is not a transition`);
    this.stateNow = to;
  }
}
