import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { g711Encode } from '../../../../src/media/voicemail/g711.js';
import { decodeWav, encodeWav, WAV_HEADER_BYTES } from '../../../../src/media/voicemail/wav.js';
import { VoicemailError } from '../../../../src/media/voicemail/voicemail-error.js';

/** A RIFF WAVE file of the given chunks (odd sizes padded). */
function riff(chunks: [string, Uint8Array][], riffSizeDelta = 0): Uint8Array {
  const parts: number[] = [];
  for (const [id, body] of chunks) {
    for (const ch of id) parts.push(ch.charCodeAt(0));
    const n = body.length;
    parts.push(n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24, ...body);
    if (n & 1) parts.push(0);
  }
  const size = 4 + parts.length + riffSizeDelta;
  return Uint8Array.from([0x52, 0x49, 0x46, 0x46, size & 0xff, (size >> 8) & 0xff, (size >> 16) & 0xff, size >>> 24, 0x57, 0x41, 0x56, 0x45, ...parts]);
}

function fmt(tag: number, channels: number, rate: number, bits: number, extra: number[] = []): Uint8Array {
  const align = (channels * bits) / 8;
  const b = new Uint8Array(16 + extra.length);
  const v = new DataView(b.buffer);
  v.setUint16(0, tag, true);
  v.setUint16(2, channels, true);
  v.setUint32(4, rate, true);
  v.setUint32(8, rate * align, true);
  v.setUint16(12, align, true);
  v.setUint16(14, bits, true);
  b.set(extra, 16);
  return b;
}

function rejects(bytes: Uint8Array, code: string, msg: RegExp, options?: Parameters<typeof decodeWav>[1]): void {
  assert.throws(
    () => decodeWav(bytes, options),
    (err: unknown) => err instanceof VoicemailError && err.code === code && msg.test(err.message),
  );
}

const ramp = Int16Array.from({ length: 801 }, (_, i) => (i * 81 - 32768) | 0);

describe('WAV writing', () => {
  test('PCM16 mono 8 kHz with the canonical 44-byte header', () => {
    const w = encodeWav(Int16Array.of(1, -2, 32767, -32768));
    assert.equal(w.length, WAV_HEADER_BYTES + 8);
    const t = (a: number, b: number): string => Buffer.from(w.subarray(a, b)).toString('latin1');
    assert.equal(t(0, 4), 'RIFF');
    assert.equal(t(8, 16), 'WAVEfmt ');
    assert.equal(t(36, 40), 'data');
    const v = new DataView(w.buffer);
    assert.equal(v.getUint32(4, true), w.length - 8);
    assert.equal(v.getUint16(20, true), 1);
    assert.equal(v.getUint16(22, true), 1);
    assert.equal(v.getUint32(24, true), 8000);
    assert.equal(v.getUint32(28, true), 16000);
    assert.equal(v.getUint16(32, true), 2);
    assert.equal(v.getUint16(34, true), 16);
    assert.equal(v.getUint32(40, true), 8);
    assert.equal(v.getInt16(44 + 6, true), -32768);
  });

  test('round trip, every length (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -32768, max: 32767 }), { maxLength: 300 }), fc.constantFrom(8000, 16000, 44100), (xs, rate) => {
        const a = decodeWav(encodeWav(Int16Array.from(xs), rate));
        assert.equal(a.format, 'pcm16');
        assert.equal(a.sampleRate, rate);
        assert.deepEqual([...a.pcm], xs);
      }),
    );
  });
});

describe('WAV reading', () => {
  test('µ-law (7) and A-law (6) files, with fact and LIST chunks of odd size around', () => {
    for (const [tag, law] of [[7, 'pcmu'], [6, 'pcma']] as const) {
      const codes = g711Encode(law, ramp);
      const f = riff([
        ['fmt ', fmt(tag, 1, 8000, 8, [0, 0])], // cbSize 0, the 18-byte form
        ['fact', Uint8Array.of(codes.length & 0xff, codes.length >> 8, 0, 0)],
        ['LIST', Uint8Array.of(1, 2, 3)], // odd: padded
        ['data', codes], // 801 bytes: odd, padded
      ]);
      const a = decodeWav(f, { sampleRate: 8000 });
      assert.equal(a.format, law);
      assert.equal(a.pcm.length, 801);
      for (let i = 0; i < ramp.length; i++) assert.ok(Math.abs(a.pcm[i]! - ramp[i]!) <= Math.max(16, Math.abs(ramp[i]!) / 16));
    }
  });

  test('WAVE_FORMAT_EXTENSIBLE with a PCM sub-format', () => {
    const ext = [22, 0, 16, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71];
    const f = riff([['fmt ', fmt(0xfffe, 1, 8000, 16, ext)], ['data', Uint8Array.of(1, 0, 0xff, 0xff)]]);
    assert.deepEqual([...decodeWav(f).pcm], [1, -1]);
  });

  test('trailing bytes past the RIFF size are ignored; chunk after data still read (fmt last)', () => {
    const f = riff([['data', Uint8Array.of(5, 0)], ['fmt ', fmt(1, 1, 8000, 16)]]);
    const withTail = Uint8Array.from([...f, 9, 9, 9]);
    assert.deepEqual([...decodeWav(withTail).pcm], [5]);
  });

  test('rejections name the problem', () => {
    const good = encodeWav(ramp);
    rejects(good.subarray(0, 8), 'WAV_MALFORMED', /shorter than a RIFF header/);
    rejects(Uint8Array.from([...Buffer.from('RIFX'), ...good.subarray(4)]), 'WAV_UNSUPPORTED', /RIFX/);
    rejects(Uint8Array.from([...Buffer.from('JUNK'), ...good.subarray(4)]), 'WAV_MALFORMED', /not a RIFF file/);
    rejects(Uint8Array.from([...good.subarray(0, 8), ...Buffer.from('AVI '), ...good.subarray(12)]), 'WAV_MALFORMED', /not WAVE/);
    rejects(good.subarray(0, good.length - 1), 'WAV_TRUNCATED', /RIFF size/);
    rejects(good, 'WAV_TOO_LARGE', /over the limit of 100/, { maxBytes: 100 });
    rejects(good, 'WAV_UNSUPPORTED', /8000 Hz.*16000 Hz is required/, { sampleRate: 16000 });
    rejects(riff([['data', Uint8Array.of(1, 2)]]), 'WAV_MALFORMED', /no "fmt " chunk/);
    rejects(riff([['fmt ', fmt(1, 1, 8000, 16)]]), 'WAV_MALFORMED', /no "data" chunk/);
    rejects(riff([['fmt ', fmt(1, 1, 8000, 16)], ['fmt ', fmt(1, 1, 8000, 16)], ['data', new Uint8Array(2)]]), 'WAV_MALFORMED', /two "fmt "/);
    rejects(riff([['fmt ', fmt(1, 2, 8000, 16)], ['data', new Uint8Array(4)]]), 'WAV_UNSUPPORTED', /2 channels, only mono/);
    rejects(riff([['fmt ', fmt(1, 1, 8000, 8)], ['data', new Uint8Array(4)]]), 'WAV_UNSUPPORTED', /8 bits per sample, only 16/);
    rejects(riff([['fmt ', fmt(7, 1, 8000, 16)], ['data', new Uint8Array(4)]]), 'WAV_MALFORMED', /G\.711 WAV with 16 bits/);
    rejects(riff([['fmt ', fmt(85, 1, 8000, 0)], ['data', new Uint8Array(4)]]), 'WAV_UNSUPPORTED', /format code 85/);
    rejects(riff([['fmt ', fmt(1, 1, 0, 16)], ['data', new Uint8Array(4)]]), 'WAV_MALFORMED', /sample rate 0/);
    rejects(riff([['fmt ', fmt(1, 1, 8000, 16).subarray(0, 14)], ['data', new Uint8Array(4)]]), 'WAV_MALFORMED', /shorter than 16/);
    rejects(riff([['fmt ', fmt(1, 1, 8000, 16)], ['data', new Uint8Array(3)]]), 'WAV_MALFORMED', /not a whole number of 2-byte samples/);
    rejects(riff([['fmt ', fmt(0xfffe, 1, 8000, 16, [0, 0])], ['data', new Uint8Array(2)]]), 'WAV_MALFORMED', /EXTENSIBLE.*shorter than 40/);
    const lying = riff([['fmt ', fmt(1, 1, 8000, 16)], ['data', new Uint8Array(4)]]);
    new DataView(lying.buffer).setUint32(40, 1000, true); // data says 1000 bytes
    rejects(lying, 'WAV_TRUNCATED', /chunk "data" at offset 36 declares 1000 bytes, only 4 are left/);
    const bad = riff([['fmt ', fmt(1, 1, 8000, 16)], ['data', new Uint8Array(4)]]);
    bad.set([0xff, 0x00, 0x01, 0x7f, 0xff, 0xff, 0xff, 0xff], 36);
    rejects(bad, 'WAV_TRUNCATED', /chunk "\\xff\\x00\\x01\\x7f"/);
    const many = riff([['fmt ', fmt(1, 1, 8000, 16)], ...Array.from({ length: 70 }, (): [string, Uint8Array] => ['junk', new Uint8Array(0)]), ['data', new Uint8Array(2)]]);
    rejects(many, 'WAV_MALFORMED', /more than 64 chunks/);
  });

  test('random bytes and mutated files never crash: a WAV or a VoicemailError', () => {
    const seed = riff([['fmt ', fmt(7, 1, 8000, 8)], ['LIST', Uint8Array.of(1)], ['data', new Uint8Array(40)]]);
    const check = (b: Uint8Array): void => {
      try {
        const a = decodeWav(b);
        assert.ok(a.pcm instanceof Int16Array);
      } catch (err) {
        assert.ok(err instanceof VoicemailError, String(err));
      }
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => check(b)), { numRuns: 500 });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(seed.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), fc.nat(seed.length), (muts, cut) => {
        const b = seed.slice(0, Math.max(cut, 12));
        for (const [at, v] of muts) if (at < b.length) b[at] = v;
        check(b);
      }),
      { numRuns: 1000 },
    );
  });
});
