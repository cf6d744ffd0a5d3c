import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { SeededRandom } from '../../../../src/lib/random.js';
import { generatedPrompts } from '../../../../src/media/voicemail/greeting.js';
import { parseRtp } from '../../../../src/media/voicemail/rtp.js';
import { RecordingSession, RetrievalSession, type RecordingResult } from '../../../../src/media/voicemail/voicemail-session.js';
import { decodeWav } from '../../../../src/media/voicemail/wav.js';
import { correlation, testSignal } from './audio-helpers.js';
import { Phone } from '../../usages/voicemail/voicemail-fixtures.js';

const AUDIO = { payloadType: 0, law: 'pcmu' as const, telephoneEvent: 101, ptimeMs: 20 };

function rig() {
  const clock = new ManualClock(0);
  const sent: Uint8Array[] = [];
  const deps = { clock, random: new SeededRandom(3), host: { send: (b: Uint8Array) => sent.push(b) } };
  return { clock, sent, deps };
}

describe('RecordingSession', () => {
  test('greeting, beep, then the caller is recorded until BYE', () => {
    const { clock, sent, deps } = rig();
    const results: RecordingResult[] = [];
    const s = new RecordingSession(deps, { audio: AUDIO, onFinished: (r) => results.push(r) });
    const phone = new Phone(clock, (d) => s.receive(d));
    s.start();
    assert.equal(s.state, 'greeting');
    const p = generatedPrompts();
    phone.talk(testSignal(500, 2000)); // talking over the greeting: not recorded
    clock.advance(((p.greeting.length + p.beep.length) / 8) - 500 + 40);
    assert.equal(s.state, 'recording');
    const greetingPackets = Math.ceil(p.greeting.length / 160);
    assert.equal(sent.length, greetingPackets + Math.ceil(p.beep.length / 160));
    assert.ok(parseRtp(sent[0]!).marker && parseRtp(sent[greetingPackets]!).marker, 'greeting and beep each start a talkspurt');
    assert.equal(parseRtp(sent[1]!).marker, false);
    const message = testSignal(3000);
    phone.talk(message);
    const r = s.bye();
    assert.equal(r.reason, 'bye');
    assert.equal(r.empty, false);
    assert.equal(r.durationMs, 3000);
    assert.deepEqual(results, [r]);
    assert.ok(correlation(message, decodeWav(r.wav).pcm) > 0.99);
    assert.equal(clock.pendingTimers, 0);
    assert.equal(s.bye(), r, 'idempotent');
  });

  test('# ends the recording; the maximum duration ends it too', () => {
    const { clock, deps } = rig();
    const results: RecordingResult[] = [];
    const s = new RecordingSession(deps, { audio: AUDIO, greeting: new Int16Array(160), beep: new Int16Array(160), onFinished: (r) => results.push(r) });
    const phone = new Phone(clock, (d) => s.receive(d));
    s.start();
    clock.advance(100);
    phone.talk(testSignal(1500));
    phone.key('#');
    assert.equal(results[0]?.reason, 'digit');
    assert.equal(results[0]?.durationMs, 1500);

    const b = rig();
    const ends: RecordingResult[] = [];
    const t = new RecordingSession(b.deps, { audio: AUDIO, greeting: new Int16Array(160), beep: new Int16Array(160), maxDurationMs: 2000, onFinished: (r) => ends.push(r) });
    const caller = new Phone(b.clock, (d) => t.receive(d));
    t.start();
    b.clock.advance(100);
    caller.talk(testSignal(5000));
    assert.equal(ends.length, 1);
    assert.equal(ends[0]!.reason, 'max-duration');
    assert.equal(ends[0]!.durationMs, 2000);
  });

  test('a hang-up before speaking is an empty message', () => {
    const { clock, deps } = rig();
    const s = new RecordingSession(deps, { audio: AUDIO, onFinished: () => undefined });
    s.start();
    clock.advance(300);
    const r = s.bye();
    assert.equal(r.empty, true);
    assert.equal(r.durationMs, 0);
    assert.equal(decodeWav(r.wav).pcm.length, 0);
  });
});

describe('RetrievalSession', () => {
  test('keys drive the menu over RTP; delete and hang-up reach the SIP side', () => {
    const { clock, sent, deps } = rig();
    const deleted: string[] = [];
    let hungUp = 0;
    const msgs = [{ id: 'm1', pcm: testSignal(1000), from: 'sip:a@x', date: 1 }, { id: 'm2', pcm: testSignal(1000), from: 'sip:b@x', date: 2 }];
    const s = new RetrievalSession(deps, { audio: AUDIO, messages: msgs, onDelete: (id) => deleted.push(id), onHangup: () => hungUp++ });
    const phone = new Phone(clock, (d) => s.receive(d));
    s.start();
    assert.equal(s.mailbox.state, 'count');
    clock.advance(2000); // count (2 pips) and "message follows"
    assert.equal(s.mailbox.state, 'message');
    phone.key('7');
    assert.deepEqual(deleted, ['m1']);
    clock.advance(600 + 540 + 1000 + 40); // "deleted", "message follows", m2
    assert.equal(s.mailbox.state, 'after-message');
    clock.advance(4000); // no key: next → end of messages
    assert.equal(s.mailbox.state, 'end-prompt');
    phone.key('9');
    assert.equal(s.mailbox.state, 'goodbye');
    clock.advance(1000);
    assert.equal(hungUp, 1);
    assert.equal(clock.pendingTimers, 0);
    assert.ok(sent.length > 100);
    const n = sent.length;
    phone.key('1');
    clock.advance(1000);
    assert.equal(sent.length, n, 'silent once closed');
  });

  test('the call is bounded by maxCallMs: goodbye, then hang up', () => {
    const { clock, deps } = rig();
    let hungUp = 0;
    const s = new RetrievalSession(deps, { audio: AUDIO, messages: [], maxCallMs: 10_000, menu: { endWaitMs: 120_000 }, onDelete: () => undefined, onHangup: () => hungUp++ });
    s.start();
    clock.advance(60_000);
    assert.equal(hungUp, 1);
    s.close();
    assert.equal(clock.pendingTimers, 0);
  });

  describe('key 8: the greeting', () => {
    const msgs = [{ id: 'm1', pcm: testSignal(1000), from: 'sip:a@x', date: 1 }];

    test('8, the beep, the user speaks, #: onGreeting gets the audio, "greeting saved", the menu resumes', async () => {
      const { clock, deps } = rig();
      const got: Int16Array[] = [];
      let answer!: (ok: boolean) => void;
      const s = new RetrievalSession(deps, { audio: AUDIO, messages: msgs, onDelete: () => undefined, onHangup: () => undefined, onGreeting: (pcm) => { got.push(pcm); return new Promise<boolean>((r) => (answer = r)); } });
      const phone = new Phone(clock, (d) => s.receive(d));
      s.start();
      phone.key('8');
      assert.equal(s.mailbox.state, 'greeting-beep');
      clock.advance(700);
      assert.equal(s.mailbox.state, 'greeting-record');
      const spoken = testSignal(3000);
      phone.talk(spoken);
      phone.key('5'); // ignored: the recording goes on
      assert.equal(s.mailbox.state, 'greeting-record');
      phone.key('#');
      assert.equal(s.mailbox.state, 'greeting-saving');
      assert.equal(got.length, 1);
      assert.ok(Math.abs(got[0]!.length - spoken.length) <= 160 * 2, `${got[0]!.length} samples`);
      assert.ok(correlation(got[0]!.subarray(0, spoken.length - 160), spoken.subarray(0, spoken.length - 160)) > 0.95);
      answer(true);
      await Promise.resolve();
      await Promise.resolve();
      assert.equal(s.mailbox.state, 'greeting-feedback');
      clock.advance(1500); // "greeting saved" (0.9 s), the count again (0.42 s)
      assert.equal(s.mailbox.state, 'announce', 'back to the count, then the first message');
      s.close();
      assert.equal(clock.pendingTimers, 0);
    });

    test('the 20 s limit ends it; too short is "invalid" without storing; a hang-up hands over what is long enough', () => {
      const { clock, deps } = rig();
      const got: Int16Array[] = [];
      const s = new RetrievalSession(deps, { audio: AUDIO, messages: [], menu: { maxGreetingMs: 2000 }, onDelete: () => undefined, onHangup: () => undefined, onGreeting: async (pcm) => (got.push(pcm), true) });
      const phone = new Phone(clock, (d) => s.receive(d));
      s.start();
      clock.advance(1300); // "no messages", then the wait
      assert.equal(s.mailbox.state, 'end-wait');
      phone.key('8');
      clock.advance(700);
      phone.talk(testSignal(500));
      phone.key('#');
      assert.equal(got.length, 0, 'half a second: not stored');
      assert.equal(s.mailbox.state, 'greeting-feedback');
      clock.advance(1000); // "invalid", back to the wait
      assert.equal(s.mailbox.state, 'end-wait');
      phone.key('8');
      clock.advance(700);
      phone.talk(testSignal(2500)); // past the 2 s limit: the timer saves it
      assert.equal(got.length, 1);
      assert.ok(got[0]!.length <= 2000 * 8);
      const t = new RetrievalSession(deps, { audio: AUDIO, messages: [], onDelete: () => undefined, onHangup: () => undefined, onGreeting: async (pcm) => (got.push(pcm), true) });
      const phone2 = new Phone(clock, (d) => t.receive(d));
      t.start();
      phone2.key('8');
      clock.advance(700);
      phone2.talk(testSignal(1500));
      t.bye();
      assert.equal(got.length, 2, 'hung up after 1.5 s: stored');
      s.close();
    });

    test('no onGreeting: 8 is "invalid"', () => {
      const { clock, deps } = rig();
      const s = new RetrievalSession(deps, { audio: AUDIO, messages: msgs, onDelete: () => undefined, onHangup: () => undefined });
      const phone = new Phone(clock, (d) => s.receive(d));
      s.start();
      clock.advance(2000 + 1000);
      phone.key('8');
      assert.equal(s.mailbox.state, 'feedback');
      s.close();
    });
  });
});

