import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodePingAns, decodePingReq, encodePingAns, encodePingReq } from '../../../../src/reload/codec/ping.js';
import { hexdoc, toHex } from './hex.js';
import { pingAns, pingReq } from './method-arbitraries.js';
import { assertDecodeError, isCodecError, ok } from './torture.js';

describe('Ping (RFC 6940 §6.5.3)', () => {
  test('PingReq known answer', () => {
    const bytes = hexdoc(`
      0003      padding length
      aabbcc    padding
    `);
    assert.equal(toHex(encodePingReq({ padding: Uint8Array.of(0xaa, 0xbb, 0xcc) })), toHex(bytes));
    assert.deepEqual(ok(decodePingReq(bytes)), { padding: Uint8Array.of(0xaa, 0xbb, 0xcc) });
  });

  test('PingAns known answer', () => {
    const v = { responseId: 0x0102030405060708n, time: 0x0000017f12345678n };
    const bytes = hexdoc(`
      0102030405060708   response_id
      0000017f12345678   time (ms since 1970)
    `);
    assert.equal(toHex(encodePingAns(v)), toHex(bytes));
    assert.deepEqual(ok(decodePingAns(bytes)), v);
  });

  test('round trips', () => {
    fc.assert(fc.property(pingReq, (v) => assert.deepEqual(ok(decodePingReq(encodePingReq(v))), v)));
    fc.assert(fc.property(pingAns, (v) => assert.deepEqual(ok(decodePingAns(encodePingAns(v))), v)));
  });

  test('errors name the field', () => {
    assertDecodeError(decodePingAns(new Uint8Array(15)), 'PingAns.time');
    assertDecodeError(decodePingAns(new Uint8Array(17)), 'PingAns');
    assertDecodeError(decodePingReq(Uint8Array.of(0, 2, 1)), 'PingReq.padding');
    assert.throws(() => encodePingAns({ responseId: -1n, time: 0n }), isCodecError('RELOAD_ENCODE', 'PingAns.response_id'));
    assert.throws(() => encodePingReq({ padding: new Uint8Array(0x10000) }, { maxMessageSize: 1 << 20 }), isCodecError('RELOAD_ENCODE', 'PingReq.padding'));
  });

  test('a padding above max-message-size is refused before it is read', () => {
    const r = decodePingReq(new Uint8Array(6000));
    assert.equal(r.ok, false);
  });
});
