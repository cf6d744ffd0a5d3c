import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { iceChars } from '../../../../src/reload/overlay/ice-chars.js';

test('iceChars: RFC 5245 ice-chars only, 4 characters per 3 bytes, base64 without padding', () => {
  const text = (b: Uint8Array): string => new TextDecoder().decode(b);
  assert.equal(text(iceChars(Uint8Array.of(0, 0, 0))), 'AAAA');
  assert.equal(text(iceChars(Uint8Array.of(0xff, 0xff, 0xff, 1))), '////');
  assert.equal(text(iceChars(new Uint8Array(6).fill(0xfb))), Buffer.alloc(6, 0xfb).toString('base64'));
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 60 }), (bytes) => {
      const s = text(iceChars(bytes));
      assert.match(s, /^[A-Za-z0-9+/]*$/);
      assert.equal(s.length, Math.floor(bytes.length / 3) * 4);
    }),
    { seed: 3, numRuns: 500 },
  );
  // what the overlay sends: an 8-char ufrag (≥ 4) and a 24-char password (≥ 22)
  assert.equal(iceChars(new Uint8Array(6)).length, 8);
  assert.equal(iceChars(new Uint8Array(18)).length, 24);
});
