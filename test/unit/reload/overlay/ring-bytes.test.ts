import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Ring, idFromBytes } from '../../../../src/reload/overlay/ring.js';

/** The plain byte-by-byte reading the ring's conversions must agree with. */
function reference(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

describe('Ring identifiers ↔ big-endian bytes', () => {
  test('fromBytes/toBytes round-trip and agree with a byte-by-byte reading (16..20 bytes)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 16, max: 20 }).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })), (bytes) => {
        const ring = new Ring(bytes.length);
        const id = ring.fromBytes(bytes);
        assert.equal(id, reference(bytes));
        assert.deepEqual(ring.toBytes(id), bytes);
      }),
      { seed: 6940, numRuns: 500 },
    );
  });

  test('idFromBytes reads any length; the extremes convert exactly', () => {
    for (let n = 0; n <= 9; n++) {
      const b = Uint8Array.from({ length: n }, (_, i) => 0xf0 + i);
      assert.equal(idFromBytes(b), reference(b));
    }
    for (const n of [16, 17, 18, 19, 20]) {
      const ring = new Ring(n);
      assert.deepEqual(ring.toBytes(0n), new Uint8Array(n));
      assert.deepEqual(ring.toBytes(ring.wildcard), new Uint8Array(n).fill(0xff));
      assert.equal(ring.fromBytes(new Uint8Array(n).fill(0xff)), ring.wildcard);
    }
  });

  test('tryFromBytes: the identifier, or undefined for a wrong length where fromBytes throws', () => {
    const ring = new Ring(16);
    const b = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
    assert.equal(ring.tryFromBytes(b), ring.fromBytes(b));
    for (const n of [0, 1, 15, 17, 20]) {
      assert.equal(ring.tryFromBytes(new Uint8Array(n)), undefined);
      assert.throws(() => ring.fromBytes(new Uint8Array(n)), RangeError);
    }
  });
});
