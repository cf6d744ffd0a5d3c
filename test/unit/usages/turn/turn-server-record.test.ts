import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TURN_SERVICE_KIND_ID, decodeTurnServer, encodeTurnServer } from '../../../../src/usages/turn/turn-server-record.js';
import type { TurnServer } from '../../../../src/usages/turn/turn-server-record.js';
import { REGISTERED_KINDS } from '../../../../src/reload/config/registered-kinds.js';
import { rec } from '../../reload/codec/arbitraries.js';
import { hex, hexdoc, toHex } from '../../reload/codec/hex.js';
import { ipAddressPort } from '../../reload/codec/method-arbitraries.js';
import { assertDecodeError, isCodecError, ok, tortureBody } from '../../reload/codec/torture.js';

const turnServer: fc.Arbitrary<TurnServer> = rec({ iteration: fc.integer({ min: 0, max: 255 }), serverAddress: ipAddressPort });

describe('TurnServer value (RFC 6940 §9)', () => {
  test('is the value of the registered TURN-SERVICE Kind', () => {
    const k = REGISTERED_KINDS.find((x) => x.id === TURN_SERVICE_KIND_ID);
    assert.equal(k?.name, 'TURN-SERVICE');
    assert.equal(k?.dataModel, 'single');
    assert.equal(k?.accessControl, 'NODE-MULTIPLE');
  });

  test('IPv4 known answer', () => {
    const v: TurnServer = { iteration: 3, serverAddress: { type: 'ipv4', addr: hex('c0000201'), port: 3478 } };
    const b = hexdoc(`
      03        iteration
      01        type ipv4_address
      06        length
      c0000201  192.0.2.1
      0d96      port 3478
    `);
    assert.equal(toHex(encodeTurnServer(v)), toHex(b));
    assert.deepEqual(ok(decodeTurnServer(b)), v);
  });

  test('IPv6 known answer', () => {
    const addr = hex('20010db8000000000000000000000001');
    const v: TurnServer = { iteration: 20, serverAddress: { type: 'ipv6', addr, port: 6084 } };
    const b = hexdoc(`
      14        iteration 20
      02        type ipv6_address
      12        length 18
      20010db8000000000000000000000001
      17c4      port 6084
    `);
    assert.equal(toHex(encodeTurnServer(v)), toHex(b));
    assert.deepEqual(ok(decodeTurnServer(b)), v);
  });

  test('round trips', () => {
    fc.assert(fc.property(turnServer, (v) => assert.deepEqual(ok(decodeTurnServer(encodeTurnServer(v))), v)));
  });

  test('malformed values are refused with the field named, never thrown', () => {
    assertDecodeError(decodeTurnServer(hex('')), 'TurnServer.iteration');
    assertDecodeError(decodeTurnServer(hex('01')), 'TurnServer.server_address.type');
    assertDecodeError(decodeTurnServer(hex('01 00 00')), 'TurnServer.server_address.type');
    assertDecodeError(decodeTurnServer(hex('01 01 05 c0000201 0d')), 'TurnServer.server_address.length');
    assertDecodeError(decodeTurnServer(hex('01 01 06 c0000201')), 'TurnServer.server_address.length');
    assertDecodeError(decodeTurnServer(hex('01 02 06 c0000201 0d96')), 'TurnServer.server_address.length');
    // trailing bytes after the structure
    assert.equal(decodeTurnServer(hex('01 01 06 c0000201 0d96 00')).ok, false);
    assert.throws(() => encodeTurnServer({ iteration: 256, serverAddress: { type: 'ipv4', addr: hex('c0000201'), port: 1 } }), isCodecError('RELOAD_ENCODE', 'TurnServer.iteration'));
    assert.throws(() => encodeTurnServer({ iteration: 1, serverAddress: { type: 'ipv4', addr: hex('c00002'), port: 1 } }), isCodecError('RELOAD_ENCODE', 'TurnServer.server_address.addr'));
  });

  test('truncations and mutations decode or fail cleanly', () => {
    const decoded = tortureBody(turnServer, (v) => encodeTurnServer(v), (b) => decodeTurnServer(b), 61, 3000);
    assert.ok(decoded > 0);
  });
});
