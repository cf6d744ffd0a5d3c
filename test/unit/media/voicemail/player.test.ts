import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { SeededRandom } from '../../../../src/lib/random.js';
import { RtpPlayer, type PlaybackEnd } from '../../../../src/media/voicemail/player.js';
import { Recorder } from '../../../../src/media/voicemail/recorder.js';
import { parseRtp, seqDelta, type RtpPacket } from '../../../../src/media/voicemail/rtp.js';
import { VoicemailError } from '../../../../src/media/voicemail/voicemail-error.js';
import { correlation, testSignal } from './audio-helpers.js';

function setup(law: 'pcmu' | 'pcma' = 'pcmu', extra: { ptimeMs?: number; maxBurst?: number } = {}) {
  const clock = new ManualClock(1000);
  const sent: { at: number; p: RtpPacket; raw: Uint8Array }[] = [];
  const player = new RtpPlayer({ clock, random: new SeededRandom(42), host: { send: (raw) => sent.push({ at: clock.now(), p: parseRtp(raw), raw }) } }, { payloadType: law === 'pcmu' ? 0 : 8, law, ...extra });
  return { clock, sent, player };
}

describe('RtpPlayer', () => {
  test('paced 20 ms packets: timestamps +160, sequence +1, marker on the first, random start', async () => {
    const { clock, sent, player } = setup();
    const ends: PlaybackEnd[] = [];
    const pb = player.play(testSignal(1000), (e) => ends.push(e));
    assert.equal(sent.length, 1, 'the first packet goes at once');
    clock.advance(1000);
    assert.equal(sent.length, 50);
    for (let i = 0; i < sent.length; i++) {
      const { at, p } = sent[i]!;
      assert.equal(at, 1000 + 20 * i);
      assert.equal(p.payload.length, 160);
      assert.equal(p.marker, i === 0);
      assert.equal(p.payloadType, 0);
      assert.equal(p.ssrc, player.ssrc);
      if (i > 0) {
        assert.equal(seqDelta(p.sequence, sent[i - 1]!.p.sequence), 1);
        assert.equal((p.timestamp - sent[i - 1]!.p.timestamp) >>> 0, 160);
      }
    }
    assert.deepEqual(ends, ['finished'], 'finished one ptime after the last packet');
    assert.equal(await pb.done, 'finished');
    assert.equal(player.playing, false);
    const other = setup('pcmu');
    void other.player.play(new Int16Array(160));
    assert.equal(other.sent[0]!.p.sequence, sent[0]!.p.sequence, 'same seed, same start');
    const b = new RtpPlayer({ clock, random: new SeededRandom(7), host: { send: () => undefined } }, { payloadType: 0, law: 'pcmu' });
    assert.notEqual(b.ssrc, player.ssrc);
  });

  test('packet n goes at start + 20n ms, whatever the steps the clock takes', () => {
    const { clock, sent, player } = setup('pcma', { maxBurst: 3 });
    const pb = player.play(testSignal(400));
    clock.advanceTo(1000 + 95);
    assert.equal(sent.length, 5);
    for (let i = 0; i < 30; i++) clock.advance(7);
    clock.advance(1000);
    assert.equal(sent.length, 20);
    assert.deepEqual(sent.map((s) => s.at), Array.from({ length: 20 }, (_, i) => 1000 + 20 * i));
    assert.equal(pb.packetsSkipped, 0);
  });

  test('a clock whose timers fire late: the schedule catches up without drift', () => {
    // A Clock whose timers fire 50 ms late (a busy event loop).
    const inner = new ManualClock(0);
    const lateClock = { now: () => inner.now(), setTimer: (ms: number, fn: () => void) => inner.setTimer(ms + 50, fn) };
    const sent: RtpPacket[] = [];
    const player = new RtpPlayer({ clock: lateClock, random: new SeededRandom(1), host: { send: (raw) => sent.push(parseRtp(raw)) } }, { payloadType: 0, law: 'pcmu', maxBurst: 2 });
    const pb = player.play(testSignal(1000));
    inner.advance(5000);
    assert.ok(pb.packetsSkipped > 0, 'older packets skipped');
    assert.equal(pb.packetsSent + pb.packetsSkipped, 50);
    for (let i = 1; i < sent.length; i++) {
      assert.equal(seqDelta(sent[i]!.sequence, sent[i - 1]!.sequence), 1, 'sequence has no holes');
      assert.equal((sent[i]!.timestamp - sent[i - 1]!.timestamp) % 160, 0, 'timestamps stay on the 160 grid');
    }
  });

  test('the last packet is padded with silence; an empty buffer finishes from a timer', async () => {
    const { clock, sent, player } = setup('pcmu');
    player.play(new Int16Array(200).fill(1000));
    clock.advance(100);
    assert.equal(sent.length, 2);
    assert.deepEqual([...sent[1]!.p.payload.subarray(40)], new Array<number>(120).fill(0xff));
    const ends: PlaybackEnd[] = [];
    const pb = player.play(new Int16Array(0), (e) => ends.push(e));
    assert.deepEqual(ends, []);
    clock.advance(0);
    assert.deepEqual(ends, ['finished']);
    assert.equal(await pb.done, 'finished');
  });

  test('cancel, stop and a new play end the current playback as cancelled', async () => {
    const { clock, sent, player } = setup();
    const a = player.play(testSignal(1000));
    clock.advance(100);
    const b = player.play(testSignal(1000));
    assert.equal(await a.done, 'cancelled');
    const n = sent.length;
    assert.equal(sent[n - 1]!.p.marker, true, 'a new playback starts with the marker');
    assert.equal(seqDelta(sent[n - 1]!.p.sequence, sent[n - 2]!.p.sequence), 1, 'the sequence goes on');
    assert.equal((sent[n - 1]!.p.timestamp - sent[n - 2]!.p.timestamp) >>> 0, 160);
    clock.advance(60);
    b.cancel();
    assert.equal(await b.done, 'cancelled');
    const m = sent.length;
    clock.advance(1000);
    assert.equal(sent.length, m, 'nothing more after cancel');
    assert.equal(clock.pendingTimers, 0);
    // 1 s after the last packet was sent, the timestamp has moved on by 1 s of samples.
    assert.equal(clock.now() - sent[m - 1]!.at, 1000);
    player.play(testSignal(100));
    assert.equal((sent[m]!.p.timestamp - sent[m - 1]!.p.timestamp) >>> 0, 8 * 1000);
    player.close();
    assert.equal(clock.pendingTimers, 0);
    assert.throws(() => player.play(testSignal(20)), (e: unknown) => e instanceof VoicemailError && e.code === 'VM_ILLEGAL_STATE');
  });

  test('player → recorder loop gives back the same audio (correlation > 0.99)', () => {
    for (const law of ['pcmu', 'pcma'] as const) {
      const { clock, sent, player } = setup(law);
      const sig = testSignal(2000);
      player.play(sig);
      clock.advance(3000);
      const r = new Recorder();
      // The network reorders a little and duplicates some.
      const raws = sent.map((s) => s.raw);
      for (let i = 0; i + 1 < raws.length; i += 7) [raws[i], raws[i + 1]] = [raws[i + 1]!, raws[i]!];
      for (const [i, raw] of raws.entries()) {
        r.push(raw);
        if (i % 11 === 0) r.push(raw);
      }
      r.stop();
      const got = r.pcm();
      assert.equal(got.length, sig.length);
      assert.ok(correlation(sig, got) > 0.99, `${law}: ${correlation(sig, got)}`);
    }
  });

  test('options are checked', () => {
    const deps = { clock: new ManualClock(), random: new SeededRandom(1), host: { send: () => undefined } };
    assert.throws(() => new RtpPlayer(deps, { payloadType: 0, law: 'pcmu', ptimeMs: 25 }), VoicemailError);
    assert.throws(() => new RtpPlayer(deps, { payloadType: 200, law: 'pcmu' }), VoicemailError);
    assert.equal(new RtpPlayer(deps, { payloadType: 0, law: 'pcmu', ptimeMs: 30 }).samplesPerPacket, 240);
  });
});
