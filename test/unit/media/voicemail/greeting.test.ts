import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { countPattern, defaultGreeting, generatedPrompts, MAX_COUNT_PIPS, renderTones, TONE_PEAK } from '../../../../src/media/voicemail/greeting.js';
import { VoicemailError } from '../../../../src/media/voicemail/voicemail-error.js';
import { dominant, rms, slice } from './audio-helpers.js';

const NOTES = [261.63, 293.66, 300, 392, 440, 523.25, 659.25, 660, 783.99, 880];

/** Starts (ms) of the tone bursts of `x`: 10 ms frames above a third of the peak RMS. */
function bursts(x: Int16Array): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  let open: number | undefined;
  for (let ms = 0; ms + 10 <= x.length / 8; ms += 10) {
    const on = rms(slice(x, ms, ms + 10)) > TONE_PEAK / 3 / Math.SQRT2;
    if (on && open === undefined) open = ms;
    if (!on && open !== undefined) {
      out.push({ start: open, end: ms });
      open = undefined;
    }
  }
  if (open !== undefined) out.push({ start: open, end: x.length / 8 });
  return out;
}

describe('generated greeting and prompts', () => {
  test('default greeting: 1.05 s, E5 then C5, silent tail, no click at the ends', () => {
    const g = defaultGreeting();
    assert.equal(g.length, 8400);
    assert.equal(dominant(slice(g, 20, 230), NOTES), 659.25);
    assert.equal(dominant(slice(g, 320, 780), NOTES), 523.25);
    assert.equal(rms(slice(g, 760, 1050)), 0);
    assert.ok(Math.abs(g[0]!) < 100 && Math.abs(g[2000 - 1]!) < 200, 'ramped ends');
    const peak = g.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    assert.ok(peak <= TONE_PEAK && peak > TONE_PEAK * 0.95);
  });

  test('beep: 440 Hz for 500 ms (zero crossings agree with Goertzel)', () => {
    const b = generatedPrompts().beep;
    assert.equal(b.length, 4800);
    const tone = slice(b, 0, 500);
    let crossings = 0;
    for (let i = 1; i < tone.length; i++) if ((tone[i - 1]! < 0) !== (tone[i]! < 0)) crossings++;
    assert.ok(Math.abs(crossings / 2 / 0.5 - 440) < 4, `${crossings} crossings`);
    assert.equal(dominant(tone, NOTES), 440);
  });

  test('count(n): n pips of 880 Hz, capped with a long "many" tone', () => {
    const p = generatedPrompts();
    for (const n of [1, 3, MAX_COUNT_PIPS]) {
      const b = bursts(p.count(n));
      assert.equal(b.length, n, `count(${n})`);
      for (const x of b) assert.equal(dominant(slice(p.count(n), x.start, x.end), NOTES), 880);
    }
    const many = bursts(p.count(25));
    assert.equal(many.length, MAX_COUNT_PIPS + 1);
    assert.ok(many[MAX_COUNT_PIPS]!.end - many[MAX_COUNT_PIPS]!.start >= 550);
    assert.equal(p.count(25), p.count(12), 'rendered once per distinct pattern');
    assert.deepEqual(countPattern(0), countPattern(-1));
  });

  test('the menu prompts are distinct patterns', () => {
    const p = generatedPrompts();
    const shape = (x: Int16Array): string => bursts(x).map((b) => `${b.end - b.start}@${dominant(slice(x, b.start, Math.min(b.end, b.start + 60)), NOTES)}`).join(',');
    const shapes = [p.greeting, p.beep, p.noMessages, p.count(1), p.count(2), p.messageStart, p.deleted, p.endOfMessages, p.invalid, p.goodbye, p.greetingSaved].map(shape);
    assert.equal(new Set(shapes).size, shapes.length, shapes.join(' | '));
    assert.equal(dominant(slice(p.noMessages, 20, 280), NOTES), 392);
    assert.equal(dominant(slice(p.noMessages, 420, 880), NOTES), 293.66);
    assert.equal(dominant(slice(p.deleted, 10, 70), NOTES), 880);
    assert.equal(dominant(slice(p.deleted, 170, 230), NOTES), 440);
    for (const x of [p.noMessages, p.messageStart, p.deleted, p.endOfMessages, p.invalid, p.goodbye, p.greetingSaved]) {
      assert.equal(rms(x.subarray(x.length - 8 * 150)), 0, 'each prompt ends in silence');
    }
  });

  test('a bad segment is a VoicemailError', () => {
    assert.throws(() => renderTones([{ freqs: [440], ms: -1 }]), VoicemailError);
    assert.throws(() => renderTones([{ freqs: [440], ms: 1e9 }]), VoicemailError);
    assert.throws(() => renderTones([], 10), VoicemailError);
  });
});
