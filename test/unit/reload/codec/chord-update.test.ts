import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decodeChordLeaveData,
  decodeChordRouteQueryAns,
  decodeChordUpdate,
  encodeChordLeaveData,
  encodeChordRouteQueryAns,
  encodeChordUpdate,
} from '../../../../src/reload/codec/chord-update.js';
import type { ChordUpdate } from '../../../../src/reload/codec/chord-update.js';
import { decodeJoinAns, decodeJoinReq, decodeLeaveReq, encodeJoinAns, encodeJoinReq, encodeLeaveReq } from '../../../../src/reload/codec/join-leave.js';
import { decodeRouteQueryReq, encodeRouteQueryReq } from '../../../../src/reload/codec/route-query.js';
import { hex, hexdoc, toHex } from './hex.js';
import { chordLeaveData, chordRouteQueryAns, chordUpdate, joinAns, joinReq, leaveReq, routeQueryReq } from './method-arbitraries.js';
import { assertDecodeError, isCodecError, ok } from './torture.js';

const A = new Uint8Array(16).fill(0xaa);
const B = new Uint8Array(16).fill(0xbb);
const C = new Uint8Array(16).fill(0xcc);
const ID = (b: string): string => b.repeat(16);

describe('CHORD-RELOAD bodies (RFC 6940 §6.4.2, §10.6–§10.9)', () => {
  test('JoinReq / JoinAns known answers', () => {
    const b = hexdoc(`
      ${ID('aa')}   joining_peer_id (16 bytes)
      0000          overlay_specific_data (none for CHORD-RELOAD)
    `);
    assert.equal(toHex(encodeJoinReq({ joiningPeerId: A, overlaySpecificData: hex('') })), toHex(b));
    assert.deepEqual(ok(decodeJoinReq(b)), { joiningPeerId: A, overlaySpecificData: hex('') });
    assert.equal(toHex(encodeJoinAns({ overlaySpecificData: hex('') })), '0000');
    assert.deepEqual(ok(decodeJoinAns(hex('0000'))), { overlaySpecificData: hex('') });
  });

  test('LeaveReq with ChordLeaveData known answer', () => {
    const data = encodeChordLeaveData({ type: 'from_pred', predecessors: [B] });
    const b = hexdoc(`
      ${ID('aa')}   leaving_peer_id
      0013          overlay_specific_data length (19)
      02            ChordLeaveData.type from_pred
      0010          predecessors length
      ${ID('bb')}   predecessors[0]
    `);
    assert.equal(toHex(encodeLeaveReq({ leavingPeerId: A, overlaySpecificData: data })), toHex(b));
    const v = ok(decodeLeaveReq(b));
    assert.deepEqual(ok(decodeChordLeaveData(v.overlaySpecificData)), { type: 'from_pred', predecessors: [B] });
  });

  test('UpdateReq (ChordUpdate) known answers', () => {
    const u: ChordUpdate = { uptime: 3600, type: 'full', predecessors: [A], successors: [B, C], fingers: [] };
    const b = hexdoc(`
      00000e10      uptime 3600 s
      03            type full
      0010          predecessors length
      ${ID('aa')}   predecessors[0]
      0020          successors length
      ${ID('bb')}   successors[0]
      ${ID('cc')}   successors[1]
      0000          fingers length
    `);
    assert.equal(toHex(encodeChordUpdate(u)), toHex(b));
    assert.deepEqual(ok(decodeChordUpdate(b)), u);
    assert.equal(toHex(encodeChordUpdate({ uptime: 1, type: 'peer_ready' })), '0000000101');
  });

  test('RouteQueryReq / ChordRouteQueryAns known answers', () => {
    const b = hexdoc(`
      01            send_update true
      02 05         destination: resource, length 5
      04 deadbeef   resource_id
      0000          overlay_specific_data
    `);
    const v = { sendUpdate: true, destination: { type: 'resource' as const, resourceId: hex('deadbeef') }, overlaySpecificData: hex('') };
    assert.equal(toHex(encodeRouteQueryReq(v)), toHex(b));
    assert.deepEqual(ok(decodeRouteQueryReq(b)), v);
    assert.equal(toHex(encodeChordRouteQueryAns({ nextPeer: C })), ID('cc'));
    assert.deepEqual(ok(decodeChordRouteQueryAns(C)), { nextPeer: C });
  });

  test('round trips', () => {
    const rt = <T>(arb: fc.Arbitrary<T>, enc: (v: T) => Uint8Array, dec: (b: Uint8Array) => { ok: true; value: T } | { ok: false }): void =>
      fc.assert(fc.property(arb, (v) => assert.deepEqual(dec(enc(v)), { ok: true, value: v })));
    rt(joinReq, (v) => encodeJoinReq(v), (b) => decodeJoinReq(b));
    rt(joinAns, (v) => encodeJoinAns(v), (b) => decodeJoinAns(b));
    rt(leaveReq, (v) => encodeLeaveReq(v), (b) => decodeLeaveReq(b));
    rt(routeQueryReq, (v) => encodeRouteQueryReq(v), (b) => decodeRouteQueryReq(b));
    rt(chordUpdate, (v) => encodeChordUpdate(v), (b) => decodeChordUpdate(b));
    rt(chordLeaveData, (v) => encodeChordLeaveData(v), (b) => decodeChordLeaveData(b));
    rt(chordRouteQueryAns, (v) => encodeChordRouteQueryAns(v), (b) => decodeChordRouteQueryAns(b));
  });

  test('a 20-byte NodeIdLength overlay', () => {
    const id = new Uint8Array(20).fill(7);
    const opts = { nodeIdLength: 20 };
    assert.deepEqual(ok(decodeJoinReq(encodeJoinReq({ joiningPeerId: id, overlaySpecificData: hex('') }, opts), opts)).joiningPeerId, id);
    assert.throws(() => encodeJoinReq({ joiningPeerId: A, overlaySpecificData: hex('') }, opts), isCodecError('RELOAD_ENCODE', 'JoinReq.joining_peer_id'));
    assert.equal(decodeJoinReq(new Uint8Array(18), { nodeIdLength: 15 }).ok, false);
  });

  test('decode errors name the field', () => {
    assertDecodeError(decodeChordUpdate(hex('00000001 00')), 'ChordUpdate.type');
    assertDecodeError(decodeChordUpdate(hex('00000001 04')), 'ChordUpdate.type');
    assertDecodeError(decodeChordUpdate(hex(`00000001 02 0011 ${ID('aa')}00 0000`)), 'ChordUpdate.predecessors[1]');
    assertDecodeError(decodeChordUpdate(hex(`00000001 02 0010 ${ID('aa')} 0008 0000000000000000`)), 'ChordUpdate.successors[0]');
    assertDecodeError(decodeChordLeaveData(hex('03 0000')), 'ChordLeaveData.type');
    assertDecodeError(decodeRouteQueryReq(hex('02 01 10 00')), 'RouteQueryReq.send_update');
    assertDecodeError(decodeChordRouteQueryAns(new Uint8Array(15)), 'ChordRouteQueryAns.next_peer');
  });
});
