import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTelephoneEvent, digitToEvent, DtmfDetector, END_RETRANSMISSIONS, eventToDigit, parseTelephoneEvent, type DtmfDigit } from '../../../../src/media/voicemail/rfc4733.js';
import { buildRtp, parseRtp, type RtpPacket } from '../../../../src/media/voicemail/rtp.js';
import { VoicemailError } from '../../../../src/media/voicemail/voicemail-error.js';

const PT = 101;

/** The packets a phone sends for one key press (RFC 4733 §2.5.1): updates every 50 ms, then the end three times. */
function press(digit: DtmfDigit, timestamp: number, seq: number, ssrc = 7, updates = 3): RtpPacket[] {
  const out: RtpPacket[] = [];
  const ev = digitToEvent(digit);
  for (let i = 0; i < updates; i++) {
    out.push(pkt(seq++, timestamp, ssrc, buildTelephoneEvent({ event: ev, end: false, volume: 10, duration: 400 * (i + 1) }), i === 0));
  }
  for (let i = 0; i < END_RETRANSMISSIONS; i++) out.push(pkt(seq++, timestamp, ssrc, buildTelephoneEvent({ event: ev, end: true, volume: 10, duration: 400 * (updates + 1) })));
  return out;
}

function pkt(sequence: number, timestamp: number, ssrc: number, payload: Uint8Array, marker = false, payloadType = PT): RtpPacket {
  return parseRtp(buildRtp({ marker, payloadType, sequence: sequence & 0xffff, timestamp: timestamp >>> 0, ssrc, payload }));
}

function run(d: DtmfDetector, packets: RtpPacket[]): string {
  return packets.map((p) => d.push(p) ?? '').join('');
}

describe('RFC 4733 telephone-event payload', () => {
  test('parse and build (§2.3)', () => {
    const b = buildTelephoneEvent({ event: 11, end: true, volume: 63, duration: 0x1234 });
    assert.deepEqual([...b], [11, 0xbf, 0x12, 0x34]);
    assert.deepEqual(parseTelephoneEvent(Uint8Array.of(5, 0x4a, 0, 160)), { event: 5, end: false, volume: 10, duration: 160 }); // R bit ignored
    assert.throws(() => parseTelephoneEvent(Uint8Array.of(1, 2, 3)), (e: unknown) => e instanceof VoicemailError && e.code === 'DTMF_MALFORMED');
  });

  test('event codes ↔ keys (§3.2)', () => {
    assert.equal(eventToDigit(0), '0');
    assert.equal(eventToDigit(10), '*');
    assert.equal(eventToDigit(11), '#');
    assert.equal(eventToDigit(15), 'D');
    assert.equal(eventToDigit(16), undefined); // flash
    assert.equal(digitToEvent('#'), 11);
  });
});

describe('DtmfDetector', () => {
  test('one press, end packet sent three times: one digit, at the first packet', () => {
    const d = new DtmfDetector({ payloadType: PT });
    const ps = press('5', 1000, 1);
    assert.equal(d.push(ps[0]!), '5');
    assert.equal(run(d, ps.slice(1)), '');
    assert.equal(d.stats.presses, 1);
    assert.equal(d.stats.repeats, ps.length - 1);
  });

  test('a sequence of presses, the same key twice', () => {
    const d = new DtmfDetector({ payloadType: PT });
    const ps = [...press('1', 1000, 1), ...press('1', 3000, 10), ...press('#', 5000, 20), ...press('7', 7000, 30)];
    assert.equal(run(d, ps), '11#7');
  });

  test('only the end packets arrive (all updates lost): still one digit', () => {
    const d = new DtmfDetector({ payloadType: PT });
    assert.equal(run(d, press('9', 100, 1).slice(3)), '9');
  });

  test('a retransmitted end packet arriving after the next press starts is not a new press', () => {
    const d = new DtmfDetector({ payloadType: PT });
    const a = press('2', 1000, 1);
    const b = press('3', 2600, 10);
    assert.equal(run(d, [...a.slice(0, 4), b[0]!, a[4]!, a[5]!, ...b.slice(1)]), '23');
  });

  test('a press that starts before the last one reported is late and dropped', () => {
    const d = new DtmfDetector({ payloadType: PT });
    assert.equal(run(d, [...press('4', 5000, 10), ...press('6', 1000, 1)]), '4');
    assert.ok(d.stats.late > 0);
  });

  test('timestamps wrapping past 2^32 keep order', () => {
    const d = new DtmfDetector({ payloadType: PT });
    assert.equal(run(d, [...press('1', 0xffffff00, 1), ...press('2', 0x100, 10)]), '12');
  });

  test('a long press continues in a new segment 0xFFFF later (§2.5.1.5): one digit', () => {
    const d = new DtmfDetector({ payloadType: PT });
    const ev = digitToEvent('0');
    const seg1 = [pkt(1, 1000, 7, buildTelephoneEvent({ event: ev, end: false, volume: 10, duration: 0xff00 })), pkt(2, 1000, 7, buildTelephoneEvent({ event: ev, end: false, volume: 10, duration: 0xffff }))];
    const seg2 = press('0', 1000 + 0xffff, 3);
    assert.equal(run(d, [...seg1, ...seg2]), '0');
  });

  test('another SSRC, payload type, non-key events and short payloads', () => {
    const d = new DtmfDetector({ payloadType: PT });
    assert.equal(run(d, [...press('1', 1000, 1, 7), ...press('2', 1000, 1, 8)]), '12', 'same timestamp, other source');
    assert.equal(d.push(pkt(50, 9000, 7, Uint8Array.of(1, 0x80, 0, 160), false, 0)), undefined, 'audio payload type');
    assert.equal(d.push(pkt(51, 9000, 7, buildTelephoneEvent({ event: 16, end: true, volume: 0, duration: 800 }))), undefined, 'flash');
    assert.equal(d.push(pkt(52, 9800, 7, Uint8Array.of(1))), undefined);
    assert.equal(d.stats.ignored, 1);
    assert.equal(d.stats.malformed, 1);
    assert.throws(() => new DtmfDetector({ payloadType: 128 }), VoicemailError);
  });
});
