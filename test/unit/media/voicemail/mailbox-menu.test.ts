import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generatedPrompts } from '../../../../src/media/voicemail/greeting.js';
import { MailboxMenu, type MailboxMenuOptions, type MailboxMessage, type MenuCommand } from '../../../../src/media/voicemail/mailbox-menu.js';
import type { DtmfDigit } from '../../../../src/media/voicemail/rfc4733.js';
import { VoicemailError } from '../../../../src/media/voicemail/voicemail-error.js';

const prompts = generatedPrompts();
const msg = (id: string): MailboxMessage => ({ id, pcm: new Int16Array(800), from: `sip:${id}@example.org`, date: 0 });

/** Drives a menu and describes its commands in short: "count", "message:a", "wait:4000", "delete:a", "record:20000", "save", "discard", "hangup". */
class Driver {
  readonly menu: MailboxMenu;
  private lastPlay = 0;
  constructor(messages: MailboxMessage[], options: MailboxMenuOptions = {}) {
    this.menu = new MailboxMenu(messages, prompts, options);
  }
  private show(cs: MenuCommand[]): string[] {
    return cs.map((c) => {
      switch (c.type) {
        case 'play':
          this.lastPlay = c.playId;
          return c.prompt === 'message' ? `message:${c.messageId}` : c.prompt;
        case 'await-digit':
          return `wait:${c.ms}`;
        case 'delete':
          return `delete:${c.id}`;
        case 'record-greeting':
          return `record:${c.ms}`;
        case 'save-greeting':
          return 'save';
        case 'discard-greeting':
          return 'discard';
        case 'hangup':
          return 'hangup';
      }
    });
  }
  stored(ok: boolean): string[] {
    return this.show(this.menu.handle({ type: 'greeting-stored', ok }));
  }
  start(): string[] {
    return this.show(this.menu.handle({ type: 'start' }));
  }
  done(): string[] {
    return this.show(this.menu.handle({ type: 'playback-finished', playId: this.lastPlay }));
  }
  key(digit: DtmfDigit): string[] {
    return this.show(this.menu.handle({ type: 'digit', digit }));
  }
  timeout(): string[] {
    return this.show(this.menu.handle({ type: 'timeout' }));
  }
}

describe('MailboxMenu', () => {
  test('listening through: count, each message with its intro, a wait after each, end, hang up', () => {
    const d = new Driver([msg('a'), msg('b')]);
    assert.deepEqual(d.start(), ['count']);
    assert.deepEqual(d.done(), ['messageStart']);
    assert.deepEqual(d.done(), ['message:a']);
    assert.deepEqual(d.done(), ['wait:4000']);
    assert.equal(d.menu.state, 'after-message');
    assert.deepEqual(d.timeout(), ['messageStart']);
    assert.deepEqual(d.done(), ['message:b']);
    assert.deepEqual(d.done(), ['wait:4000']);
    assert.deepEqual(d.timeout(), ['endOfMessages']);
    assert.deepEqual(d.done(), ['wait:10000']);
    assert.deepEqual(d.timeout(), ['goodbye']);
    assert.deepEqual(d.done(), ['hangup']);
    assert.equal(d.menu.state, 'done');
    assert.deepEqual(d.key('1'), [], 'ignored once done');
  });

  test('no messages: "no messages", goodbye, hang up', () => {
    const d = new Driver([]);
    assert.deepEqual(d.start(), ['noMessages']);
    assert.deepEqual(d.done(), ['goodbye']);
    assert.deepEqual(d.done(), ['hangup']);
  });

  test('1 replays, 2 and # skip, 4 goes back, keys interrupt the audio', () => {
    const d = new Driver([msg('a'), msg('b'), msg('c')]);
    d.start();
    assert.deepEqual(d.key('#'), ['messageStart'], '# skips the count');
    d.done();
    assert.equal(d.menu.current, 0);
    assert.deepEqual(d.key('2'), ['messageStart'], 'next while a plays');
    assert.deepEqual(d.done(), ['message:b']);
    assert.deepEqual(d.key('1'), ['messageStart'], 'replay b');
    assert.deepEqual(d.done(), ['message:b']);
    assert.deepEqual(d.key('4'), ['messageStart']);
    assert.deepEqual(d.done(), ['message:a']);
    assert.deepEqual(d.key('4'), ['messageStart'], 'before the first: the first again');
    assert.deepEqual(d.done(), ['message:a']);
    d.key('#');
    d.done();
    d.key('#'); // c
    assert.deepEqual(d.done(), ['message:c']);
    assert.deepEqual(d.key('#'), ['endOfMessages'], 'past the last');
    assert.deepEqual(d.done(), ['wait:10000']);
    assert.deepEqual(d.key('1'), ['messageStart'], 'at the end, 1 replays the last');
    assert.deepEqual(d.done(), ['message:c']);
  });

  test('7 deletes the current message and goes on with the next', () => {
    const d = new Driver([msg('a'), msg('b')]);
    d.start();
    d.done();
    d.done(); // a plays
    assert.deepEqual(d.key('7'), ['delete:a', 'deleted']);
    assert.deepEqual(d.menu.remaining.map((m) => m.id), ['b']);
    assert.deepEqual(d.done(), ['messageStart']);
    assert.deepEqual(d.done(), ['message:b']);
    assert.deepEqual(d.done(), ['wait:4000']);
    assert.deepEqual(d.key('7'), ['delete:b', 'deleted'], 'in the wait after it');
    assert.deepEqual(d.done(), ['endOfMessages']);
    assert.deepEqual(d.done(), ['wait:10000']);
    assert.deepEqual(d.key('7'), ['invalid'], 'nothing left to delete');
    assert.deepEqual(d.done(), ['wait:10000']);
    assert.deepEqual(d.key('*'), ['noMessages'], 'start over: now empty');
    assert.deepEqual(d.done(), ['goodbye']);
  });

  test('7 is not taken while the count or a "message follows" plays', () => {
    const d = new Driver([msg('a')]);
    d.start();
    assert.deepEqual(d.key('7'), []);
    d.done(); // messageStart
    assert.deepEqual(d.key('7'), []);
    assert.deepEqual(d.menu.remaining.length, 1);
  });

  test('* starts over, 9 hangs up at any time, invalid keys answered only when waiting', () => {
    const d = new Driver([msg('a'), msg('b')]);
    d.start();
    d.done();
    d.done(); // a plays
    assert.deepEqual(d.key('5'), [], 'ignored while a message plays');
    assert.deepEqual(d.done(), ['wait:4000']);
    assert.deepEqual(d.key('5'), ['invalid']);
    assert.deepEqual(d.done(), ['wait:4000'], 'back to the same wait');
    assert.deepEqual(d.key('*'), ['count']);
    assert.equal(d.menu.current, 0);
    assert.deepEqual(d.key('9'), ['goodbye']);
    assert.deepEqual(d.key('1'), [], 'keys ignored while saying goodbye');
    assert.deepEqual(d.done(), ['hangup']);
  });

  test('stale playback-finished and timeouts are ignored; start twice is refused', () => {
    const d = new Driver([msg('a')]);
    d.start();
    assert.deepEqual(d.menu.handle({ type: 'playback-finished', playId: 999 }), []);
    assert.deepEqual(d.timeout(), [], 'no wait armed');
    assert.equal(d.menu.state, 'count');
    assert.throws(() => d.menu.handle({ type: 'start' }), (e: unknown) => e instanceof VoicemailError && e.code === 'VM_ILLEGAL_STATE');
    assert.deepEqual(new Driver([msg('a')]).key('1'), [], 'events before start are ignored');
  });

  test('afterMessageWaitMs 0 goes straight on; options are checked', () => {
    const m = new MailboxMenu([msg('a'), msg('b')], prompts, { afterMessageWaitMs: 0 });
    let cs = m.handle({ type: 'start' });
    const finish = (): MenuCommand[] => {
      const c = cs[cs.length - 1]!;
      assert.equal(c.type, 'play');
      return (cs = m.handle({ type: 'playback-finished', playId: c.type === 'play' ? c.playId : -1 }));
    };
    finish();
    finish();
    const [after] = finish();
    assert.equal(after?.type === 'play' && after.prompt, 'messageStart');
    assert.throws(() => new MailboxMenu([], prompts, { endWaitMs: 10 }), VoicemailError);
  });

  describe('key 8: the user records its greeting', () => {
    const g = { greetings: true } as const;

    test('from the wait after a message: beep, record, # saves, "greeting saved", the message again', () => {
      const d = new Driver([msg('a'), msg('b')], g);
      d.start();
      d.done();
      d.done(); // a plays
      assert.deepEqual(d.done(), ['wait:4000']);
      assert.deepEqual(d.key('8'), ['beep']);
      assert.equal(d.menu.state, 'greeting-beep');
      assert.deepEqual(d.done(), ['record:20000']);
      assert.equal(d.menu.state, 'greeting-record');
      assert.deepEqual(d.key('5'), [], 'other keys are ignored while recording');
      assert.deepEqual(d.key('#'), ['save']);
      assert.equal(d.menu.state, 'greeting-saving');
      assert.deepEqual(d.key('1'), [], 'keys wait while it is stored');
      assert.deepEqual(d.stored(true), ['greetingSaved']);
      assert.deepEqual(d.stored(true), [], 'a second answer is ignored');
      assert.deepEqual(d.done(), ['messageStart']);
      assert.deepEqual(d.done(), ['message:a'], 'the message it was at');
    });

    test('the recording time running out saves; a refused save says "invalid"; back to the count', () => {
      const d = new Driver([msg('a')], { ...g, maxGreetingMs: 5000 });
      d.start();
      assert.deepEqual(d.key('8'), ['beep'], '8 acts during the count');
      assert.deepEqual(d.done(), ['record:5000']);
      assert.deepEqual(d.timeout(), ['save']);
      assert.deepEqual(d.stored(false), ['invalid']);
      assert.deepEqual(d.done(), ['count']);
    });

    test('* cancels (nothing saved), 9 says goodbye; at the end it comes back to the end wait', () => {
      const d = new Driver([msg('a')], g);
      d.start();
      d.done();
      d.done();
      d.done();
      assert.deepEqual(d.timeout(), ['endOfMessages']);
      assert.deepEqual(d.key('8'), ['beep']);
      assert.deepEqual(d.key('*'), ['wait:10000'], '* during the beep: back, nothing recorded');
      assert.deepEqual(d.key('8'), ['beep']);
      assert.deepEqual(d.done(), ['record:20000']);
      assert.deepEqual(d.key('*'), ['discard', 'wait:10000']);
      assert.equal(d.menu.state, 'end-wait');
      assert.deepEqual(d.key('8'), ['beep']);
      assert.deepEqual(d.done(), ['record:20000']);
      assert.deepEqual(d.key('9'), ['discard', 'goodbye']);
      assert.deepEqual(d.done(), ['hangup']);
    });

    test('an empty mailbox waits for 8 after "no messages"; 8 again while "greeting saved" plays', () => {
      const d = new Driver([], g);
      assert.deepEqual(d.start(), ['noMessages']);
      assert.deepEqual(d.done(), ['wait:10000']);
      assert.deepEqual(d.key('8'), ['beep']);
      assert.deepEqual(d.done(), ['record:20000']);
      assert.deepEqual(d.key('#'), ['save']);
      assert.deepEqual(d.stored(true), ['greetingSaved']);
      assert.deepEqual(d.key('8'), ['beep'], 'record it again');
      assert.deepEqual(d.done(), ['record:20000']);
      assert.deepEqual(d.key('#'), ['save']);
      assert.deepEqual(d.stored(true), ['greetingSaved']);
      assert.deepEqual(d.done(), ['wait:10000'], 'back to the wait');
      assert.deepEqual(d.timeout(), ['goodbye']);
      assert.deepEqual(d.done(), ['hangup']);
    });

    test('without `greetings` 8 is an invalid key and an empty mailbox hangs up as before', () => {
      const d = new Driver([msg('a')]);
      d.start();
      d.done();
      d.done();
      d.done();
      assert.deepEqual(d.key('8'), ['invalid']);
      const e = new Driver([]);
      e.start();
      assert.deepEqual(e.done(), ['goodbye']);
      assert.throws(() => new MailboxMenu([], prompts, { maxGreetingMs: 500 }), VoicemailError);
    });

    test('from the "deleted" feedback and the end prompt, the resume points are kept', () => {
      const d = new Driver([msg('a'), msg('b')], g);
      d.start();
      d.done();
      d.done(); // a plays
      assert.deepEqual(d.key('7'), ['delete:a', 'deleted']);
      assert.deepEqual(d.key('8'), ['beep']);
      d.done();
      d.key('#');
      d.stored(true);
      assert.deepEqual(d.done(), ['messageStart']);
      assert.deepEqual(d.done(), ['message:b']);
    });
  });
});
