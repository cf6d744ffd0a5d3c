import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeFindAns, decodeFindReq, encodeFindAns, encodeFindReq } from '../../../../src/reload/codec/find.js';
import { hex, hexdoc, toHex } from './hex.js';
import { findAns, findReq } from './method-arbitraries.js';
import { assertDecodeError, isCodecError, ok } from './torture.js';

describe('Find (RFC 6940 §7.4.4)', () => {
  test('FindReq known answer', () => {
    const v = { resource: hex('deadbeef'), kinds: [1, 2] };
    const b = hexdoc(`
      04 deadbeef     resource
      08              kinds length
      00000001        kinds[0]
      00000002        kinds[1]
    `);
    assert.equal(toHex(encodeFindReq(v)), toHex(b));
    assert.deepEqual(ok(decodeFindReq(b)), v);
  });

  test('FindAns known answer', () => {
    const v = { results: [{ kind: 1, closest: hex('deadbef0') }] };
    const b = hexdoc(`
      0009            results length
      00000001        [0] kind
      04 deadbef0     [0] closest
    `);
    assert.equal(toHex(encodeFindAns(v)), toHex(b));
    assert.deepEqual(ok(decodeFindAns(b)), v);
  });

  test('round trips', () => {
    fc.assert(fc.property(findReq, (v) => assert.deepEqual(ok(decodeFindReq(encodeFindReq(v))), v)));
    fc.assert(fc.property(findAns, (v) => assert.deepEqual(ok(decodeFindAns(encodeFindAns(v))), v)));
  });

  test('errors: repeated Kind-IDs, partial Kind-IDs', () => {
    assertDecodeError(decodeFindReq(hex('00 08 00000001 00000001')), 'FindReq.kinds');
    assertDecodeError(decodeFindReq(hex('00 05 00000001 00')), 'FindReq.kinds[1]');
    assert.throws(() => encodeFindReq({ resource: hex(''), kinds: [3, 3] }), isCodecError('RELOAD_ENCODE', 'FindReq.kinds'));
  });
});
