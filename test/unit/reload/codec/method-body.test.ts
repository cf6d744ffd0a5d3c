import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as codec from '../../../../src/reload/codec/index.js';
import { CodecError } from '../../../../src/reload/codec/codec-error.js';
import { decodeEmptyBody } from '../../../../src/reload/codec/method-body.js';
import { decodePingReq, encodePingReq } from '../../../../src/reload/codec/ping.js';
import { decodeStoreReq, encodeStoreReq } from '../../../../src/reload/codec/store.js';
import { hex } from './hex.js';
import { assertDecodeError, isCodecError } from './torture.js';

describe('method-body helpers and limits', () => {
  test('bodies above max-message-size are refused both ways (RFC 6940 §11.1, default 5000)', () => {
    const padding = new Uint8Array(4999);
    assert.throws(() => encodePingReq({ padding }), isCodecError('RELOAD_ENCODE', 'PingReq.padding'));
    assert.equal(encodePingReq({ padding }, { maxMessageSize: 5001 }).length, 5001);
    const big = encodePingReq({ padding }, { maxMessageSize: 5001 });
    assertDecodeError(decodePingReq(big), 'PingReq');
    assert.equal(decodePingReq(big, { maxMessageSize: 5001 }).ok, true);
  });

  test('a declared length is checked against the bytes present before anything is allocated', () => {
    assertDecodeError(decodeStoreReq(hex('00 00 ffffffff'), { dataModelOf: () => 'single' }), 'StoreReq.kind_data');
    assertDecodeError(decodePingReq(hex('ffff')), 'PingReq.padding');
  });

  test('a throwing Kind lookup is a result, never a throw', () => {
    const bytes = encodeStoreReq({ resource: hex(''), replicaNumber: 0, kindData: [{ kind: 1, generationCounter: 0n, values: [] }] });
    const r = decodeStoreReq(bytes, {
      dataModelOf: () => {
        throw new Error('boom');
      },
    });
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.ok(r.error instanceof CodecError);
      assert.match(r.error.message, /internal error: Error: boom/);
    }
  });

  test('a NodeIdLength outside 16..20 is an error, not a throw', () => {
    assertDecodeError(codec.decodeJoinReq(new Uint8Array(23), { nodeIdLength: 21 }), 'JoinReq');
    assert.throws(() => codec.encodeChordRouteQueryAns({ nextPeer: new Uint8Array(16) }, { nodeIdLength: 8 }), isCodecError('RELOAD_ENCODE', 'ChordRouteQueryAns'));
  });

  test('non-object values are encode errors', () => {
    assert.throws(() => encodePingReq(null as unknown as { padding: Uint8Array }), isCodecError('RELOAD_ENCODE', 'PingReq'));
    assert.throws(() => codec.encodeProbeReq({ requestedInfo: 'x' as unknown as number[] }), isCodecError('RELOAD_ENCODE', 'ProbeReq.requested_info'));
  });

  test('empty bodies (ConfigUpdateAns, LeaveAns, CHORD UpdateAns)', () => {
    assert.deepEqual(decodeEmptyBody('LeaveAns', new Uint8Array(0)), { ok: true, value: {} });
    assertDecodeError(decodeEmptyBody('UpdateAns', hex('0000')), 'UpdateAns');
  });

  test('the barrel exposes the method-body entry points', () => {
    const names = [
      'encodePingReq', 'decodePingAns', 'encodeProbeReq', 'decodeProbeAns', 'encodeConfigUpdateReq', 'decodeEmptyBody',
      'encodeStoreReq', 'decodeStoreAns', 'encodeFetchReq', 'decodeFetchAns', 'encodeStatReq', 'decodeStatAns',
      'encodeFindReq', 'decodeFindAns', 'encodeJoinReq', 'decodeJoinAns', 'encodeLeaveReq', 'encodeChordLeaveData',
      'encodeChordUpdate', 'decodeRouteQueryReq', 'encodeChordRouteQueryAns', 'encodeAttachReqAns',
      'decodeAppAttachReqAns', 'encodeSipRegistration', 'decodeSipRegistration',
    ] as const;
    for (const n of names) assert.equal(typeof codec[n], 'function', n);
    assert.equal(codec.SipRegistrationType.sip_registration_route, 2);
    assert.equal(codec.CandType.relay, 4);
  });
});
