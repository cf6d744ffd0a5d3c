import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CodecError } from '../../../../src/reload/codec/codec-error.js';
import { decodeReloadPdu, encodeReloadMessage, encodeReloadPdu } from '../../../../src/reload/codec/reload-message.js';
import type { ReloadPdu } from '../../../../src/reload/codec/reload-message.js';
import { bigMessage } from './fragment-fixtures.js';
import { MIN_FRAGMENT_PAYLOAD, fragmentMessage } from '../../../../src/reload/codec/fragmenter.js';

function pdu(bytes: Uint8Array, maxMessageSize = 70000): ReloadPdu {
  const r = decodeReloadPdu(bytes, { maxMessageSize });
  if (!r.ok) throw r.error;
  return r.value;
}

/** Concatenates the payload slices by offset and checks the headers. */
function reassembleByHand(whole: Uint8Array, frags: Uint8Array[]): Uint8Array {
  const first = pdu(whole);
  const payload = new Uint8Array(first.payload.length);
  frags.forEach((f, i) => {
    const p = pdu(f);
    assert.equal(p.header.fragment.last, i === frags.length - 1);
    assert.equal(p.header.length, f.length);
    assert.equal(p.headerLength, first.headerLength);
    assert.deepEqual({ ...p.header, fragment: first.header.fragment, length: first.header.length }, first.header);
    payload.set(p.payload, p.header.fragment.offset);
  });
  return encodeReloadPdu(first.header, payload, { maxMessageSize: 70000 });
}

describe('fragmentMessage (RFC 6940 §6.7)', () => {
  test('a message that fits is returned unchanged', () => {
    const whole = encodeReloadMessage(bigMessage(100));
    const out = fragmentMessage(whole, whole.length);
    assert.equal(out.length, 1);
    assert.equal(out[0], whole);
  });

  test('splits into equal fragments no larger than the limit, header copied, offsets after the header', () => {
    const whole = encodeReloadMessage(bigMessage(3000));
    const frags = fragmentMessage(whole, 1200);
    const hl = pdu(whole).headerLength;
    const payloadLength = whole.length - hl;
    assert.equal(frags.length, Math.ceil(payloadLength / (1200 - hl)));
    let offset = 0;
    for (const [i, f] of frags.entries()) {
      assert.ok(f.length <= 1200);
      assert.deepEqual(f.subarray(0, 12), whole.subarray(0, 12));
      assert.deepEqual(f.subarray(20, hl), whole.subarray(20, hl));
      const field = new DataView(f.buffer, f.byteOffset).getUint32(12);
      assert.equal(field, (0x80000000 | (i === frags.length - 1 ? 0x40000000 : 0) | offset) >>> 0);
      assert.ok(f.length - hl >= MIN_FRAGMENT_PAYLOAD);
      offset += f.length - hl;
    }
    const sizes = frags.map((f) => f.length);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, 'equal-sized');
    assert.equal(offset, payloadLength);
    assert.deepEqual(reassembleByHand(whole, frags), whole);
  });

  test('property: any body and limit round-trips through the fragments', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20000 }), fc.integer({ min: 150, max: 3000 }), (bodyLength, max) => {
        const whole = encodeReloadMessage(bigMessage(bodyLength), { maxMessageSize: 70000 });
        const frags = fragmentMessage(whole, max, { maxMessageSize: 70000 });
        if (frags.length === 1) {
          assert.equal(frags[0], whole);
          return;
        }
        for (const f of frags) assert.ok(f.length <= max);
        assert.deepEqual(reassembleByHand(whole, frags), whole);
      }),
      { numRuns: 200 },
    );
  });

  test('refragmenting a fragment keeps its offsets and the last bit only at the very end', () => {
    const whole = encodeReloadMessage(bigMessage(4000));
    const frags = fragmentMessage(whole, 2200);
    assert.equal(frags.length, 2);
    const again = frags.flatMap((f) => fragmentMessage(f, 800));
    assert.ok(again.length > 2);
    const lasts = again.map((f) => pdu(f).header.fragment.last);
    assert.deepEqual(lasts, again.map((_, i) => i === again.length - 1));
    assert.deepEqual(reassembleByHand(whole, again), whole);
  });

  test('no fragmentation when the header leaves less than 256 body bytes per fragment (§6.7)', () => {
    const whole = encodeReloadMessage(bigMessage(3000));
    const hl = pdu(whole).headerLength;
    assert.equal(fragmentMessage(whole, hl + 255)[0], whole);
    assert.equal(fragmentMessage(whole, hl + 255).length, 1);
    assert.ok(fragmentMessage(whole, hl + 600).length > 1);
    // 300 body bytes over the limit: two fragments would hold < 256 each
    const small = encodeReloadMessage(bigMessage(400));
    assert.deepEqual(fragmentMessage(small, small.length - 10), [small]);
    assert.equal(fragmentMessage(small, small.length - 10, { minFragmentPayload: 10 }).length, 2);
  });

  test('bad input and arguments throw CodecError RELOAD_ENCODE', () => {
    const whole = encodeReloadMessage(bigMessage(100));
    for (const [bytes, max] of [
      [new Uint8Array([1, 2, 3]), 100],
      [whole, 0],
      [whole, 1.5],
      [whole.subarray(0, 50), 100],
    ] as const) {
      assert.throws(() => fragmentMessage(bytes, max), (e: unknown) => e instanceof CodecError && e.code === 'RELOAD_ENCODE');
    }
    assert.throws(() => fragmentMessage(whole, 100, { minFragmentPayload: 0 }), CodecError);
  });
});
