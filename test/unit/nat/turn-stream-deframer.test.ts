import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_STREAM_MESSAGE_BYTES, TurnStreamDeframer } from '../../../src/nat/turn/turn-stream-deframer.js';
import { StunAttr, StunMethod, encodeStun } from '../../../src/nat/stun/stun-message.js';
import { encodeChannelData } from '../../../src/nat/turn/turn-channel-data.js';

const tid = (n: number): Uint8Array => Uint8Array.from({ length: 12 }, (_, i) => (n + i) & 0xff);
const stun = (n: number, dataBytes = 0): Uint8Array =>
  encodeStun({ method: StunMethod.Send, cls: 'indication', transactionId: tid(n), attributes: dataBytes > 0 ? [{ type: StunAttr.DATA, value: new Uint8Array(dataBytes).fill(n) }] : [] }, { fingerprint: true });
const chan = (n: number, len: number): Uint8Array => encodeChannelData(0x4000 + n, new Uint8Array(len).fill(n)); // padded

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Pushes `stream` cut at `cuts`; every message out, or the refusal. */
function run(d: TurnStreamDeframer, stream: Uint8Array, cuts: number[]): Uint8Array[] | string {
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const c of [...cuts.filter((x) => x > 0 && x < stream.length).sort((a, b) => a - b), stream.length]) {
    const r = d.push(stream.subarray(prev, c));
    if (!r.ok) return r.reason;
    out.push(...r.messages.map((m) => Uint8Array.from(m)));
    assert.ok(d.buffered < MAX_STREAM_MESSAGE_BYTES);
    prev = c;
  }
  return out;
}

describe('TURN stream deframer (RFC 8656 §3.1, §12.5)', () => {
  test('STUN messages and padded ChannelData back to back, in one push', () => {
    const msgs = [stun(1), chan(1, 5), stun(2, 3), chan(2, 0), chan(3, 8)];
    const d = new TurnStreamDeframer();
    const r = d.push(concat(msgs));
    assert.ok(r.ok);
    assert.deepEqual(r.messages.map((m) => Uint8Array.from(m)), msgs);
    assert.equal(chan(1, 5).length, 12, 'ChannelData of 5 bytes is padded to 4 + 8 over TCP');
    assert.equal(d.buffered, 0);
  });

  test('cut at every byte: the same messages come out, nothing held at the end', () => {
    const msgs = [stun(7, 10), chan(4, 3), stun(8)];
    const stream = concat(msgs);
    for (let cut = 1; cut < stream.length; cut++) {
      const d = new TurnStreamDeframer();
      assert.deepEqual(run(d, stream, [cut]), msgs, `cut at ${cut}`);
      assert.equal(d.buffered, 0);
    }
    const d = new TurnStreamDeframer();
    assert.deepEqual(run(d, stream, Array.from({ length: stream.length }, (_, i) => i)), msgs, 'one byte at a time');
  });

  test('property: any chunking of any sequence of messages gives the messages back', () => {
    const message = fc.oneof(
      fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 600 })).map(([n, len]) => stun(n, len)),
      fc.tuple(fc.integer({ min: 0, max: 0xfff }), fc.integer({ min: 0, max: 600 })).map(([n, len]) => encodeChannelData(0x4000 + n, new Uint8Array(len).fill(n & 0xff))),
    );
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 12 }), fc.array(fc.integer({ min: 0, max: 8000 }), { maxLength: 20 }), (msgs, cuts) => {
        const d = new TurnStreamDeframer();
        assert.deepEqual(run(d, concat(msgs), cuts), msgs);
        assert.equal(d.buffered, 0);
      }),
      { numRuns: 300 },
    );
  });

  test('a message over maxMessageBytes is refused from its header, before its body', () => {
    const d = new TurnStreamDeframer({ maxMessageBytes: 100 });
    const big = stun(1, 200);
    const r = d.push(big.subarray(0, 4));
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.reason : '', /limit 100/);
    assert.equal(d.push(stun(2)).ok, false, 'refused for good');
    const c = new TurnStreamDeframer({ maxMessageBytes: 100 });
    assert.equal(c.push(encodeChannelData(0x4001, new Uint8Array(97))).ok, false, '4 + 100 (padded) > 100');
    assert.equal(new TurnStreamDeframer({ maxMessageBytes: 100 }).push(encodeChannelData(0x4001, new Uint8Array(96))).ok, true, '4 + 96 fits');
  });

  test('bytes that are neither STUN nor ChannelData, a bad length or a missing cookie are refused', () => {
    for (const [bytes, why] of [
      [Uint8Array.of(0x16, 3, 1, 0, 5), /first byte 0x16/], // TLS
      [Uint8Array.of(0x80, 0, 0, 0), /first byte 0x80/], // RTP
      [Uint8Array.of(0x50, 0, 0, 0), /first byte 0x50/], // past RFC 8656's channel range
      [Uint8Array.of(0x00, 0x01, 0x00, 0x06), /multiple of 4/],
      [Uint8Array.of(0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x43), /magic cookie/],
    ] as const) {
      const r = new TurnStreamDeframer().push(bytes);
      assert.equal(r.ok, false);
      assert.match(!r.ok ? r.reason : '', why);
    }
    const r5766 = new TurnStreamDeframer({ rfc5766ChannelNumbers: true }).push(encodeChannelData(0x5000, Uint8Array.of(1)));
    assert.ok(r5766.ok && r5766.messages.length === 1, 'RFC 5766 range when asked');
  });

  test('holds at most one incomplete message; a large message in small pieces is joined once', () => {
    const big = stun(9, 60_000);
    const d = new TurnStreamDeframer();
    let got: Uint8Array[] = [];
    for (let o = 0; o < big.length; o += 1460) {
      const r = d.push(big.subarray(o, Math.min(big.length, o + 1460)));
      assert.ok(r.ok);
      got = got.concat(r.messages);
      assert.ok(d.buffered < big.length);
    }
    assert.equal(got.length, 1);
    assert.deepEqual(Uint8Array.from(got[0]!), big);
  });

  test('maxMessageBytes is checked', () => {
    assert.throws(() => new TurnStreamDeframer({ maxMessageBytes: 10 }), RangeError);
    assert.throws(() => new TurnStreamDeframer({ maxMessageBytes: MAX_STREAM_MESSAGE_BYTES + 1 }), RangeError);
  });
});
