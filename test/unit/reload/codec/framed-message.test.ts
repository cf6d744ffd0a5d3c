import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SeededRandom } from '../../../../src/lib/random.js';
import type { DecodeResult } from '../../../../src/reload/codec/codec-error.js';
import { CodecError } from '../../../../src/reload/codec/codec-error.js';
import { FramedStreamDecoder, decodeFramedMessage, encodeFramedMessage } from '../../../../src/reload/codec/framed-message.js';
import type { FramedMessage } from '../../../../src/reload/codec/framed-message.js';
import { bytes, rec, u32 } from './arbitraries.js';
import { hex, hexdoc, toHex } from './hex.js';

function value<T>(r: DecodeResult<T>): T {
  if (!r.ok) throw r.error;
  return r.value;
}

const framed: fc.Arbitrary<FramedMessage> = fc.oneof(
  rec({ sequence: u32, message: bytes(300) }).map((v): FramedMessage => ({ type: 'data', ...v })),
  rec({ ackSequence: u32, received: u32 }).map((v): FramedMessage => ({ type: 'ack', ...v })),
);

describe('FramedMessage known answers (RFC 6940 §6.6.2)', () => {
  test('data', () => {
    const b = hexdoc(`
      80          type: data
      00000007    sequence
      000003      message length (uint24)
      d2454c      message
    `);
    const f: FramedMessage = { type: 'data', sequence: 7, message: hex('d2454c') };
    assert.equal(toHex(encodeFramedMessage(f)), toHex(b));
    assert.deepEqual(value(decodeFramedMessage(b)), f);
  });

  test('ack', () => {
    const b = hexdoc(`
      81          type: ack
      00000007    ack_sequence
      80000001    received: bits N-M
    `);
    const f: FramedMessage = { type: 'ack', ackSequence: 7, received: 0x80000001 };
    assert.equal(toHex(encodeFramedMessage(f)), toHex(b));
    assert.deepEqual(value(decodeFramedMessage(b)), f);
  });

  test('errors', () => {
    const unknown = decodeFramedMessage(hex('82 00000001'));
    assert.ok(!unknown.ok && unknown.error.path === 'FramedMessage.type');
    const short = decodeFramedMessage(hex('80 00000001 000005 01'));
    assert.ok(!short.ok && short.error.path === 'FramedMessage.message');
    const big = decodeFramedMessage(hex('80 00000001 00000a 00112233445566778899'), { maxMessageSize: 9 });
    assert.ok(!big.ok && big.error.path === 'FramedMessage' && /exceeds the limit of 17/.test(big.error.message));
    const announced = decodeFramedMessage(hex('80 00000001 00000a 00'), { maxMessageSize: 9 });
    assert.ok(!announced.ok && announced.error.path === 'FramedMessage.message' && /exceeds the limit of 9/.test(announced.error.message));
    assert.throws(() => encodeFramedMessage({ type: 'data', sequence: 1, message: new Uint8Array(10) }, { maxMessageSize: 9 }), CodecError);
  });

  test('decode(encode(x)) deep-equals x', () => {
    fc.assert(fc.property(framed, (f) => assert.deepEqual(value(decodeFramedMessage(encodeFramedMessage(f))), f)));
  });
});

describe('FramedStreamDecoder', () => {
  test('frames split across and packed into chunks come out in order', () => {
    const rnd = new SeededRandom(3);
    fc.assert(
      fc.property(fc.array(framed, { maxLength: 8 }), fc.integer({ min: 1, max: 64 }), (frames, chunk) => {
        const stream = Uint8Array.from(frames.flatMap((f) => [...encodeFramedMessage(f)]));
        const d = new FramedStreamDecoder();
        const out: FramedMessage[] = [];
        for (let i = 0; i < stream.length; ) {
          const n = 1 + (rnd.u32() % chunk);
          out.push(...value(d.push(stream.subarray(i, i + n))));
          i += n;
        }
        assert.deepEqual(out, frames);
        assert.equal(d.buffered, 0);
      }),
      { numRuns: 200 },
    );
  });

  test('holds an incomplete frame', () => {
    const d = new FramedStreamDecoder();
    assert.deepEqual(value(d.push(hex('80 00000001 0000'))), []);
    assert.equal(d.buffered, 7);
    assert.deepEqual(value(d.push(hex('02 aa'))), []);
    assert.deepEqual(value(d.push(hex('bb 81'))), [{ type: 'data', sequence: 1, message: hex('aabb') }]);
    assert.equal(d.buffered, 1);
  });

  test('a frame announcing more than max-message-size fails at once and the stream stays failed', () => {
    const d = new FramedStreamDecoder({ maxMessageSize: 100 });
    const r = d.push(hex('80 00000001 000065'));
    assert.ok(!r.ok && r.error.path === 'FramedMessage.message');
    assert.equal(d.buffered, 0);
    assert.equal(d.push(hex('81 00000001 00000000')).ok, false);
  });

  test('an unknown frame type fails the stream', () => {
    const d = new FramedStreamDecoder();
    const r = d.push(hex('81 00000001 00000000 7f'));
    assert.ok(!r.ok && r.error.path === 'FramedMessage.type');
  });

  test('random streams never throw and never buffer more than one frame', () => {
    const rnd = new SeededRandom(9);
    for (let i = 0; i < 2000; i++) {
      const d = new FramedStreamDecoder({ maxMessageSize: 200 });
      for (let k = 0; k < 5; k++) {
        const chunk = rnd.bytes(rnd.u32() % 64);
        if (chunk.length > 0) chunk[0] = rnd.u32() % 4 === 0 ? 0x81 : 0x80;
        const r = d.push(chunk);
        if (!r.ok) {
          assert.equal(r.error.cause, undefined);
          break;
        }
        assert.ok(d.buffered <= 208);
      }
    }
  });
});
