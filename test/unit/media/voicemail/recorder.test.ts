import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { g711Decode, g711Encode, type G711Law } from '../../../../src/media/voicemail/g711.js';
import { Recorder } from '../../../../src/media/voicemail/recorder.js';
import { buildRtp } from '../../../../src/media/voicemail/rtp.js';
import { decodeWav } from '../../../../src/media/voicemail/wav.js';
import { VoicemailError } from '../../../../src/media/voicemail/voicemail-error.js';
import { testSignal } from './audio-helpers.js';

/** 20 ms packets of `pcm`: packet k has sequence seq0 + k, timestamp ts0 + 160k. */
function packetize(pcm: Int16Array, opts: { seq0?: number; ts0?: number; ssrc?: number; law?: G711Law; pt?: number } = {}): Uint8Array[] {
  const law = opts.law ?? 'pcmu';
  const codes = g711Encode(law, pcm);
  const out: Uint8Array[] = [];
  for (let k = 0; k * 160 < codes.length; k++) {
    out.push(
      buildRtp({
        marker: k === 0,
        payloadType: opts.pt ?? (law === 'pcmu' ? 0 : 8),
        sequence: ((opts.seq0 ?? 1000) + k) & 0xffff,
        timestamp: ((opts.ts0 ?? 50_000) + 160 * k) >>> 0,
        ssrc: opts.ssrc ?? 0x1111,
        payload: codes.subarray(160 * k, 160 * (k + 1)),
      }),
    );
  }
  return out;
}

const quantised = (law: G711Law, pcm: Int16Array): Int16Array => g711Decode(law, g711Encode(law, pcm));

function record(packets: Uint8Array[], options?: ConstructorParameters<typeof Recorder>[0]): Recorder {
  const r = new Recorder(options);
  for (const p of packets) r.push(p);
  r.stop();
  return r;
}

describe('Recorder', () => {
  test('in-order PCMU and PCMA give back the decoded audio exactly', () => {
    const sig = testSignal(1000);
    for (const law of ['pcmu', 'pcma'] as const) {
      const r = record(packetize(sig, { law }));
      assert.deepEqual(r.pcm(), quantised(law, sig));
      assert.equal(r.durationMs, 1000);
      assert.equal(r.stats.written, 50);
    }
  });

  test('reordering within the window and duplicates are undone', () => {
    const sig = testSignal(600);
    const ps = packetize(sig);
    const shuffled = [ps[1]!, ps[0]!, ps[2]!, ps[5]!, ps[3]!, ps[4]!, ps[4]!, ps[6]!, ...ps.slice(7, 20), ps[10]!, ...ps.slice(20)];
    const r = record(shuffled);
    assert.deepEqual(r.pcm(), quantised('pcmu', sig));
    assert.equal(r.stats.duplicates, 2);
    assert.equal(r.stats.late, 0);
  });

  test('a packet later than the window is dropped; its place is silence', () => {
    const sig = testSignal(600);
    const ps = packetize(sig);
    const late = [ps[0]!, ...ps.slice(2, 12), ps[1]!, ...ps.slice(12)];
    const r = record(late, { reorderWindow: 4 });
    assert.equal(r.stats.late, 1);
    const want = quantised('pcmu', sig);
    want.fill(0, 160, 320);
    assert.deepEqual(r.pcm(), want);
  });

  test('sequence numbers and timestamps wrapping', () => {
    const sig = testSignal(400);
    const ps = packetize(sig, { seq0: 65530, ts0: 0xffffff00 });
    const r = record([ps[0]!, ps[1]!, ps[3]!, ps[2]!, ...ps.slice(4, 8), ps[9]!, ps[8]!, ...ps.slice(10)]);
    assert.deepEqual(r.pcm(), quantised('pcmu', sig));
  });

  test('lost packets and silence suppression become silence by timestamp', () => {
    const sig = testSignal(1000);
    const ps = packetize(sig);
    const r = record([...ps.slice(0, 10), ...ps.slice(15, 20), ...ps.slice(40)]);
    const want = quantised('pcmu', sig);
    want.fill(0, 10 * 160, 15 * 160);
    want.fill(0, 20 * 160, 40 * 160);
    assert.deepEqual(r.pcm(), want);
    assert.equal(r.stats.silenceSamples, 25 * 160);
  });

  test('a huge timestamp jump is cut to maxGapMs of silence', () => {
    const a = packetize(testSignal(100), { seq0: 1, ts0: 1000 });
    const b = packetize(testSignal(100), { seq0: 6, ts0: 1000 + 8000 * 3600 });
    const r = record([...a, ...b], { maxGapMs: 500 });
    assert.equal(r.durationMs, 100 + 500 + 100);
  });

  test('a timestamp far back (restarted sender) goes on at the end', () => {
    const a = packetize(testSignal(200), { seq0: 1, ts0: 900_000 });
    const b = packetize(testSignal(200), { seq0: 11, ts0: 5 });
    const r = record([...a, ...b]);
    assert.equal(r.durationMs, 400);
  });

  test('an SSRC change continues at the end; stale packets of the old SSRC are dropped', () => {
    const s1 = testSignal(200);
    const s2 = testSignal(300, 3000);
    const a = packetize(s1, { ssrc: 1, seq0: 100, ts0: 10 });
    const b = packetize(s2, { ssrc: 2, seq0: 40_000, ts0: 7_777_777 });
    const r = record([...a, ...b.slice(0, 3), a[9]!, ...b.slice(3)]);
    const want = new Int16Array(s1.length + s2.length);
    want.set(quantised('pcmu', s1));
    want.set(quantised('pcmu', s2), s1.length);
    assert.deepEqual(r.pcm(), want);
    assert.equal(r.stats.ssrcChanges, 1);
    assert.equal(r.stats.staleSsrc, 1);
  });

  test('stops at the maximum duration, calls onFull once, ignores the rest', () => {
    let fulls = 0;
    const r = new Recorder({ maxDurationMs: 1000, reorderWindow: 2, onFull: () => fulls++ });
    for (const p of packetize(testSignal(3000))) r.push(p);
    assert.equal(r.full, true);
    assert.equal(fulls, 1);
    assert.equal(r.durationMs, 1000);
    assert.equal(r.pcm().length, 8000);
    assert.ok(r.stats.overflow > 0);
    r.stop();
    assert.equal(r.pcm().length, 8000);
  });

  test('a silence gap past the maximum fills to it exactly', () => {
    const a = packetize(testSignal(100), { seq0: 1, ts0: 0 });
    const b = packetize(testSignal(100), { seq0: 6, ts0: 8000 * 5 });
    const r = record([...a, ...b], { maxDurationMs: 2000, maxGapMs: 10_000 });
    assert.equal(r.full, true);
    assert.equal(r.pcm().length, 16_000);
  });

  test('garbage, RTCP, telephone-events and comfort noise are not audio', () => {
    const ps = packetize(testSignal(200));
    const cn = buildRtp({ payloadType: 13, sequence: 1010, timestamp: 50_000 + 1600, ssrc: 0x1111, payload: Uint8Array.of(40) });
    const ev = buildRtp({ payloadType: 101, sequence: 1011, timestamp: 50_000, ssrc: 0x1111, payload: Uint8Array.of(1, 0x80, 0, 160) });
    const r = record([...ps, Uint8Array.of(1, 2, 3), Uint8Array.of(0x81, 200, 0, 6, 0, 0, 0, 1), ev, cn, ...packetize(testSignal(100), { seq0: 1012, ts0: 50_000 + 3200 })]);
    assert.equal(r.stats.malformed, 2);
    assert.equal(r.stats.otherPayload, 1);
    assert.equal(r.stats.comfortNoise, 1);
    assert.equal(r.durationMs, 500); // 200 ms, 200 ms of silence (CN), 100 ms
  });

  test('a dynamic payload type mapped to PCMA', () => {
    const sig = testSignal(100);
    const r = record(packetize(sig, { law: 'pcma', pt: 97 }), { payloadTypes: new Map([[97, 'pcma']]) });
    assert.deepEqual(r.pcm(), quantised('pcma', sig));
  });

  test('the WAV it exposes reads back', () => {
    const sig = testSignal(300);
    const r = record(packetize(sig));
    const w = decodeWav(r.wav(), { sampleRate: 8000 });
    assert.deepEqual(w.pcm, quantised('pcmu', sig));
  });

  test('limits are checked', () => {
    assert.throws(() => new Recorder({ maxDurationMs: 10 }), VoicemailError);
    assert.throws(() => new Recorder({ reorderWindow: 1000 }), VoicemailError);
    assert.throws(() => new Recorder({ maxGapMs: 0 }), VoicemailError);
  });
});
