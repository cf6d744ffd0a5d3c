/**
 * Truncation and mutation harness for the method-body codecs (the same mutations as
 * mutation.test.ts): every prefix and `mutations` seeded mutations of valid encodings decode to a
 * value or a CodecError result, never a throw; a decoded value re-encodes and decodes to itself.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SeededRandom } from '../../../../src/lib/random.js';
import { CodecError } from '../../../../src/reload/codec/codec-error.js';
import type { DecodeResult } from '../../../../src/reload/codec/codec-error.js';

/** One to four seeded byte mutations: bit flips, random and boundary bytes, inserts, deletes, duplication, truncation. */
export function mutate(rnd: SeededRandom, input: Uint8Array): Uint8Array {
  const b = Array.from(input);
  const rounds = 1 + (rnd.u32() % 4);
  for (let k = 0; k < rounds; k++) {
    const i = b.length === 0 ? 0 : rnd.u32() % b.length;
    switch (rnd.u32() % 7) {
      case 0:
        if (b.length > 0) b[i] = b[i]! ^ (1 << rnd.u32() % 8);
        break;
      case 1:
        if (b.length > 0) b[i] = rnd.u32() & 0xff;
        break;
      case 2:
        if (b.length > 0) b[i] = [0x00, 0x01, 0x7f, 0x80, 0xff][rnd.u32() % 5]!;
        break;
      case 3:
        b.splice(i, 0, rnd.u32() & 0xff);
        break;
      case 4:
        b.splice(i, 1 + (rnd.u32() % 4));
        break;
      case 5:
        b.splice(i, 0, ...b.slice(i, i + 1 + (rnd.u32() % 8)));
        break;
      default:
        b.length = i;
    }
  }
  return Uint8Array.from(b);
}

/** Decodes every prefix and mutation of 40 encoded samples of `arb`; returns how many decoded. */
export function tortureBody<T>(
  arb: fc.Arbitrary<T>,
  encode: (v: T) => Uint8Array,
  decode: (b: Uint8Array) => DecodeResult<T>,
  seed: number,
  mutations = 10_000,
): number {
  const samples = fc.sample(arb, { seed, numRuns: 40 }).map(encode);
  const rnd = new SeededRandom(seed + 1000);
  let decoded = 0;
  const tryOne = (b: Uint8Array): void => {
    let r: DecodeResult<T>;
    try {
      r = decode(b);
    } catch (e) {
      assert.fail(`threw ${String(e)} for ${Buffer.from(b).toString('hex')}`);
    }
    if (!r.ok) {
      assert.ok(r.error instanceof CodecError);
      assert.equal(r.error.code, 'RELOAD_DECODE');
      assert.equal(r.error.cause, undefined, `internal error: ${r.error.message}`);
      return;
    }
    decoded++;
    const again = decode(encode(r.value));
    assert.ok(again.ok, `re-encoding failed for ${Buffer.from(b).toString('hex')}`);
    assert.deepEqual(again.value, r.value, `unstable for ${Buffer.from(b).toString('hex')}`);
  };
  for (const s of samples) for (let n = 0; n < s.length; n++) tryOne(s.subarray(0, n));
  for (let m = 0; m < mutations; m++) tryOne(mutate(rnd, samples[m % samples.length]!));
  return decoded;
}

/** Unwraps a decode result in a test (fails with the error message). */
export function ok<T>(r: DecodeResult<T>): T {
  if (!r.ok) assert.fail(r.error.message);
  return r.value;
}

/** A predicate for assert.throws / failed results: a CodecError of `code` at `path`. */
export function isCodecError(code: 'RELOAD_DECODE' | 'RELOAD_ENCODE', path: string): (e: unknown) => boolean {
  return (e) => e instanceof CodecError && e.code === code && e.path === path;
}

/** Asserts `r` failed with a decode error at `path`. */
export function assertDecodeError<T>(r: DecodeResult<T>, path: string): void {
  assert.equal(r.ok, false, 'decoded unexpectedly');
  if (!r.ok) assert.equal(r.error.path, path, r.error.message);
}
