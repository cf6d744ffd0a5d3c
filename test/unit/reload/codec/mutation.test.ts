/**
 * Truncation and mutation: every prefix and 10,000 random mutations of valid encodings decode to
 * a value or a CodecError, never another exception; a value that decodes re-encodes and decodes
 * to the same value. Seeded, so a failure is reproducible.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SeededRandom } from '../../../../src/lib/random.js';
import { CodecError } from '../../../../src/reload/codec/codec-error.js';
import { decodeForwardingHeader, encodeForwardingHeader } from '../../../../src/reload/codec/forwarding-header.js';
import { decodeFramedMessage, encodeFramedMessage } from '../../../../src/reload/codec/framed-message.js';
import { decodeErrorResponse, decodeMessageContents, encodeErrorResponse, encodeMessageContents } from '../../../../src/reload/codec/message-contents.js';
import { decodeReloadMessage, decodeReloadPdu, encodeReloadMessage, encodeReloadPdu } from '../../../../src/reload/codec/reload-message.js';
import { decodeSecurityBlock, encodeSecurityBlock } from '../../../../src/reload/codec/security-block.js';
import { errorResponse, forwardingHeader, messageContents, reloadMessage, securityBlock } from './arbitraries.js';
import { mutate } from './torture.js';

const MUTATIONS = 10_000;
const OPTS = { maxMessageSize: 1 << 16 };

/** Runs `decode` over every prefix and MUTATIONS mutations of the samples; returns how many decoded. */
function torture<T>(samples: Uint8Array[], decode: (b: Uint8Array) => T, reencode: (v: T) => Uint8Array, seed: number): number {
  const rnd = new SeededRandom(seed);
  let decoded = 0;
  const tryOne = (b: Uint8Array): void => {
    let v: T;
    try {
      v = decode(b);
    } catch (e) {
      if (!(e instanceof CodecError)) {
        assert.fail(`not a CodecError: ${String(e)} for ${Buffer.from(b).toString('hex')}`);
      }
      assert.equal(e.code, 'RELOAD_DECODE');
      return;
    }
    decoded++;
    assert.deepEqual(decode(reencode(v)), v, `unstable for ${Buffer.from(b).toString('hex')}`);
  };
  for (const s of samples) for (let n = 0; n < s.length; n++) tryOne(s.subarray(0, n));
  for (let m = 0; m < MUTATIONS; m++) tryOne(mutate(rnd, samples[m % samples.length]!));
  return decoded;
}

function samplesOf<T>(arb: fc.Arbitrary<T>, encode: (v: T) => Uint8Array, seed: number): Uint8Array[] {
  return fc.sample(arb, { seed, numRuns: 40 }).map(encode);
}

/** The result API never throws; an error result is a CodecError the readers raised (no internal cause). */
function unwrap<T>(r: { ok: true; value: T } | { ok: false; error: CodecError }): T {
  if (r.ok) return r.value;
  assert.ok(r.error instanceof CodecError);
  assert.equal(r.error.cause, undefined, `internal error: ${r.error.message}`);
  throw r.error;
}

describe('truncation and mutation never raise anything but CodecError', () => {
  test('ForwardingHeader', () => {
    const samples = samplesOf(forwardingHeader(16), (h) => encodeForwardingHeader(h, OPTS), 1);
    const n = torture(samples, (b) => decodeForwardingHeader(b, OPTS), (h) => encodeForwardingHeader(h, OPTS), 11);
    assert.ok(n > 0);
  });

  test('MessageContents', () => {
    const samples = samplesOf(messageContents, (c) => encodeMessageContents(c, OPTS), 2);
    torture(samples, (b) => decodeMessageContents(b, OPTS), (c) => encodeMessageContents(c, OPTS), 12);
  });

  test('ErrorResponse', () => {
    const samples = samplesOf(errorResponse, encodeErrorResponse, 3);
    torture(samples, (b) => decodeErrorResponse(b, OPTS), encodeErrorResponse, 13);
  });

  test('SecurityBlock', () => {
    const samples = samplesOf(securityBlock, (s) => encodeSecurityBlock(s, OPTS), 4);
    torture(samples, (b) => decodeSecurityBlock(b, OPTS), (s) => encodeSecurityBlock(s, OPTS), 14);
  });

  test('ReloadMessage (whole message, result API)', () => {
    const samples = samplesOf(reloadMessage(16), (m) => encodeReloadMessage(m, OPTS), 5);
    const n = torture(samples, (b) => unwrap(decodeReloadMessage(b, OPTS)), (m) => encodeReloadMessage(m, OPTS), 15);
    assert.ok(n > 0);
  });

  test('ReloadMessage (PDU view, result API)', () => {
    const samples = samplesOf(reloadMessage(16), (m) => encodeReloadMessage(m, OPTS), 6);
    const n = torture(samples, (b) => unwrap(decodeReloadPdu(b, OPTS)), (p) => encodeReloadPdu(p.header, p.payload, OPTS), 16);
    assert.ok(n > 0);
  });

  test('FramedMessage (result API)', () => {
    const samples = samplesOf(reloadMessage(16), (m) => encodeFramedMessage({ type: 'data', sequence: 1, message: encodeReloadMessage(m, OPTS) }, OPTS), 7);
    samples.push(encodeFramedMessage({ type: 'ack', ackSequence: 5, received: 0xffff0000 }));
    const n = torture(samples, (b) => unwrap(decodeFramedMessage(b, OPTS)), (f) => encodeFramedMessage(f, OPTS), 17);
    assert.ok(n > 0);
  });

  test('random bytes after a valid token', () => {
    const rnd = new SeededRandom(7);
    for (let i = 0; i < 2000; i++) {
      const b = Uint8Array.from([0xd2, 0x45, 0x4c, 0x4f, ...rnd.bytes(rnd.u32() % 200)]);
      const r = decodeReloadMessage(b);
      if (!r.ok) assert.equal(r.error.cause, undefined);
    }
  });
});
