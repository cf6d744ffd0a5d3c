import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeConfigUpdateReq, encodeConfigUpdateReq } from '../../../../src/reload/codec/config-update.js';
import type { ConfigUpdateReq } from '../../../../src/reload/codec/config-update.js';
import { decodeEmptyBody, encodeEmptyBody } from '../../../../src/reload/codec/method-body.js';
import { hex, hexdoc, toHex } from './hex.js';
import { configUpdateReq } from './method-arbitraries.js';
import { assertDecodeError, ok } from './torture.js';

describe('ConfigUpdate (RFC 6940 §6.5.4)', () => {
  test('config known answer', () => {
    const v: ConfigUpdateReq = { type: 'config', configData: hex('abcd') };
    const bytes = hexdoc(`
      01          type config
      00000005    length of the rest
      000002      config_data length
      abcd        config_data
    `);
    assert.equal(toHex(encodeConfigUpdateReq(v)), toHex(bytes));
    assert.deepEqual(ok(decodeConfigUpdateReq(bytes)), v);
  });

  test('kind known answer', () => {
    const v: ConfigUpdateReq = { type: 'kind', kinds: [new TextEncoder().encode('<a/>'), hex('')] };
    const bytes = hexdoc(`
      02          type kind
      0000000b    length of the rest (11)
      000008      kinds length
      0004        kinds[0] length
      3c612f3e    kinds[0] "<a/>"
      0000        kinds[1] length (empty)
    `);
    assert.equal(toHex(encodeConfigUpdateReq(v)), toHex(bytes));
    assert.deepEqual(ok(decodeConfigUpdateReq(bytes)), v);
  });

  test('round trips', () => {
    fc.assert(fc.property(configUpdateReq, (v) => assert.deepEqual(ok(decodeConfigUpdateReq(encodeConfigUpdateReq(v))), v)));
  });

  test('errors name the field', () => {
    assertDecodeError(decodeConfigUpdateReq(hex('00 00000000')), 'ConfigUpdateReq.type');
    assertDecodeError(decodeConfigUpdateReq(hex('01 00000006 000002 abcd')), 'ConfigUpdateReq.length');
    assertDecodeError(decodeConfigUpdateReq(hex('01 00000006 000002 abcd ff')), 'ConfigUpdateReq.value');
    assertDecodeError(decodeConfigUpdateReq(hex('02 00000004 000001 00')), 'ConfigUpdateReq.value.kinds[0]');
  });

  test('ConfigUpdateAns is empty', () => {
    assert.equal(encodeEmptyBody().length, 0);
    assert.deepEqual(ok(decodeEmptyBody('ConfigUpdateAns', new Uint8Array(0))), {});
    assertDecodeError(decodeEmptyBody('ConfigUpdateAns', hex('00')), 'ConfigUpdateAns');
  });
});
