import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { alawToLinear, g711Decode, g711Encode, lawOfPayloadType, linearToAlaw, linearToMulaw, mulawToLinear } from '../../../../src/media/voicemail/g711.js';

describe('G.711 µ-law', () => {
  test('known values of the standard', () => {
    assert.equal(mulawToLinear(0xff), 0);
    assert.equal(mulawToLinear(0x7f), 0); // "negative zero"
    assert.equal(linearToMulaw(0), 0xff);
    assert.equal(mulawToLinear(0x80), 32124); // largest positive
    assert.equal(mulawToLinear(0x00), -32124);
    assert.equal(mulawToLinear(0xfe), 8); // the first step above zero
    assert.equal(linearToMulaw(32767), 0x80); // clipped
    assert.equal(linearToMulaw(-32768), 0x00);
    assert.equal(linearToMulaw(8), 0xfe);
    assert.equal(linearToMulaw(-8), 0x7e);
  });

  test('every code but 0x7F survives decode → encode; 0x7F (−0) becomes 0xFF', () => {
    for (let c = 0; c < 256; c++) {
      const back = linearToMulaw(mulawToLinear(c));
      assert.equal(back, c === 0x7f ? 0xff : c, `code 0x${c.toString(16)}`);
    }
  });

  test('decoding is monotonic and odd-symmetric', () => {
    for (let c = 0x80; c < 0xff; c++) assert.ok(mulawToLinear(c) > mulawToLinear(c + 1));
    for (let c = 0; c < 0x80; c++) assert.equal(mulawToLinear(c) + mulawToLinear(c | 0x80), 0);
  });
});

describe('G.711 A-law', () => {
  test('known values of the standard: 0xD5 ↔ +8, 0x55 ↔ −8', () => {
    assert.equal(alawToLinear(0xd5), 8);
    assert.equal(alawToLinear(0x55), -8);
    assert.equal(linearToAlaw(0), 0xd5);
    assert.equal(linearToAlaw(8), 0xd5);
    assert.equal(linearToAlaw(-1), 0x55);
    assert.equal(alawToLinear(0xaa), 32256); // largest positive
    assert.equal(alawToLinear(0x2a), -32256);
    assert.equal(linearToAlaw(32767), 0xaa);
    assert.equal(linearToAlaw(-32768), 0x2a);
  });

  test('every code survives decode → encode', () => {
    for (let c = 0; c < 256; c++) assert.equal(linearToAlaw(alawToLinear(c)), c, `code 0x${c.toString(16)}`);
  });
});

describe('G.711 buffers', () => {
  test('quantisation error is within half a step (relative error < 1/16 above the first segments)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -32000, max: 32000 }), fc.constantFrom('pcmu' as const, 'pcma' as const), (s, law) => {
        const back = g711Decode(law, g711Encode(law, Int16Array.of(s)))[0]!;
        const err = Math.abs(back - s);
        assert.ok(err <= Math.max(16, Math.abs(s) / 16), `${law} ${s} → ${back}`);
      }),
    );
  });

  test('decode into a buffer at an offset stays within it', () => {
    const out = new Int16Array(4);
    g711Decode('pcmu', Uint8Array.of(0x80, 0x80, 0x80), out, 2);
    assert.deepEqual([...out], [0, 0, 32124, 32124]);
  });

  test('payload types', () => {
    assert.equal(lawOfPayloadType(0), 'pcmu');
    assert.equal(lawOfPayloadType(8), 'pcma');
    assert.equal(lawOfPayloadType(101), undefined);
  });

  test('out-of-range and non-integer samples are clamped, never garbage', () => {
    assert.equal(linearToMulaw(1e9), 0x80);
    assert.equal(linearToMulaw(Number.NaN), 0x00);
    assert.equal(linearToAlaw(-1e9), 0x2a);
  });
});
