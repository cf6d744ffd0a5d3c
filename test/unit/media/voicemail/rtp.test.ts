import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildRtp, isRtcp, parseRtp, seqDelta, tsDelta, type RtpPacketInit } from '../../../../src/media/voicemail/rtp.js';
import { VoicemailError } from '../../../../src/media/voicemail/voicemail-error.js';

function rejects(b: Uint8Array, msg: RegExp): void {
  assert.throws(() => parseRtp(b), (e: unknown) => e instanceof VoicemailError && e.code === 'RTP_MALFORMED' && msg.test(e.message));
}

describe('RTP header (RFC 3550 §5.1)', () => {
  test('a PCMU packet byte for byte', () => {
    const b = buildRtp({ marker: true, payloadType: 0, sequence: 0x1234, timestamp: 0xdeadbeef, ssrc: 0x01020304, payload: Uint8Array.of(0xff, 0x7f) });
    assert.deepEqual([...b], [0x80, 0x80, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 0xff, 0x7f]);
    const p = parseRtp(b);
    assert.equal(p.marker, true);
    assert.equal(p.payloadType, 0);
    assert.equal(p.sequence, 0x1234);
    assert.equal(p.timestamp, 0xdeadbeef);
    assert.equal(p.ssrc, 0x01020304);
    assert.deepEqual([...p.payload], [0xff, 0x7f]);
    assert.equal(p.paddingBytes, 0);
    assert.equal(p.extension, undefined);
  });

  test('round trip with CSRCs, extension and padding (property)', () => {
    const init = fc.record({
      marker: fc.boolean(),
      payloadType: fc.integer({ min: 0, max: 127 }).filter((pt) => pt < 64 || pt > 95), // 64..95 with M set look like RTCP
      sequence: fc.integer({ min: 0, max: 0xffff }),
      timestamp: fc.integer({ min: 0, max: 0xffffffff }),
      ssrc: fc.integer({ min: 0, max: 0xffffffff }),
      csrcs: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 15 }),
      extension: fc.option(fc.record({ profile: fc.integer({ min: 0, max: 0xffff }), data: fc.integer({ min: 0, max: 5 }).chain((w) => fc.uint8Array({ minLength: 4 * w, maxLength: 4 * w })) }), { nil: undefined }),
      payload: fc.uint8Array({ maxLength: 200 }),
      paddingBytes: fc.integer({ min: 0, max: 255 }),
    });
    fc.assert(
      fc.property(init, (i: RtpPacketInit) => {
        const p = parseRtp(buildRtp(i));
        assert.equal(p.marker, i.marker);
        assert.equal(p.payloadType, i.payloadType);
        assert.equal(p.sequence, i.sequence);
        assert.equal(p.timestamp, i.timestamp);
        assert.equal(p.ssrc, i.ssrc);
        assert.deepEqual(p.csrcs, i.csrcs);
        assert.equal(p.paddingBytes, i.paddingBytes);
        assert.deepEqual(p.payload, i.payload);
        if (i.extension === undefined) assert.equal(p.extension, undefined);
        else assert.deepEqual({ profile: p.extension!.profile, data: [...p.extension!.data] }, { profile: i.extension.profile, data: [...i.extension.data] });
      }),
    );
  });

  test('bad packets are refused with the reason', () => {
    const ok = buildRtp({ payloadType: 0, sequence: 1, timestamp: 2, ssrc: 3, payload: new Uint8Array(4) });
    rejects(ok.subarray(0, 11), /shorter than the 12-byte header/);
    rejects(Uint8Array.from([0x40, ...ok.subarray(1)]), /version 1, 2 expected/);
    rejects(Uint8Array.from([0x80, 200, ...ok.subarray(2)]), /RTCP packet type 200/);
    rejects(Uint8Array.from([0x8f, ...ok.subarray(1)]), /CSRC count 15 needs 72 header bytes/);
    rejects(Uint8Array.from([0x90, ...ok.subarray(1, 12)]), /no room for the extension header/);
    rejects(Uint8Array.from([0x90, ...ok.subarray(1, 12), 0xbe, 0xde, 0, 2, 1, 2, 3, 4]), /extension of 2 words runs past the end/);
    rejects(Uint8Array.from([0xa0, ...ok.subarray(1, 15), 0]), /padding count of 0/);
    rejects(Uint8Array.from([0xa0, ...ok.subarray(1, 15), 5]), /padding of 5 bytes is longer than the 4 bytes/);
    rejects(new Uint8Array(70_000).fill(0x80, 0, 1), /over 65535/);
    assert.ok(isRtcp(Uint8Array.of(0x81, 201, 0, 1)));
    assert.ok(!isRtcp(ok));
  });

  test('random bytes: a packet or an RTP_MALFORMED, never a crash', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (b) => {
        try {
          const p = parseRtp(b);
          assert.ok(p.payload.length <= b.length - 12);
        } catch (err) {
          assert.ok(err instanceof VoicemailError && err.code === 'RTP_MALFORMED');
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('fields out of range are refused when building', () => {
    const base = { payloadType: 0, sequence: 0, timestamp: 0, ssrc: 0, payload: new Uint8Array(0) };
    for (const bad of [{ payloadType: 128 }, { sequence: 65536 }, { timestamp: -1 }, { ssrc: 2 ** 32 }, { paddingBytes: 256 }, { csrcs: new Array<number>(16).fill(0) }, { extension: { profile: 1, data: new Uint8Array(3) } }, { sequence: 1.5 }]) {
      assert.throws(() => buildRtp({ ...base, ...bad }), (e: unknown) => e instanceof VoicemailError && e.code === 'RTP_INVALID_FIELD');
    }
  });

  test('sequence and timestamp arithmetic wraps', () => {
    assert.equal(seqDelta(0, 65535), 1);
    assert.equal(seqDelta(65535, 0), -1);
    assert.equal(seqDelta(100, 100), 0);
    assert.equal(seqDelta(32767 + 100, 100), 32767);
    assert.equal(tsDelta(10, 0xfffffff6), 20);
    assert.equal(tsDelta(0xfffffff6, 10), -20);
  });
});
