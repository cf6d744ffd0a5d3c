/** Truncation and seeded mutation of every method body (see torture.ts). */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { decodeConfigUpdateReq, encodeConfigUpdateReq } from '../../../../src/reload/codec/config-update.js';
import { decodePingAns, decodePingReq, encodePingAns, encodePingReq } from '../../../../src/reload/codec/ping.js';
import { decodeProbeAns, decodeProbeReq, encodeProbeAns, encodeProbeReq } from '../../../../src/reload/codec/probe.js';
import { decodeFetchAns, decodeFetchReq, decodeStatReq, encodeFetchAns, encodeFetchReq, encodeStatReq } from '../../../../src/reload/codec/fetch.js';
import { decodeFindAns, decodeFindReq, encodeFindAns, encodeFindReq } from '../../../../src/reload/codec/find.js';
import { decodeStatAns, encodeStatAns } from '../../../../src/reload/codec/stat.js';
import { decodeStoreAns, decodeStoreReq, encodeStoreAns, encodeStoreReq } from '../../../../src/reload/codec/store.js';
import { decodeAppAttachReqAns, decodeAttachReqAns, encodeAppAttachReqAns, encodeAttachReqAns } from '../../../../src/reload/codec/attach.js';
import {
  decodeChordLeaveData,
  decodeChordRouteQueryAns,
  decodeChordUpdate,
  encodeChordLeaveData,
  encodeChordRouteQueryAns,
  encodeChordUpdate,
} from '../../../../src/reload/codec/chord-update.js';
import { decodeJoinAns, decodeJoinReq, decodeLeaveReq, encodeJoinAns, encodeJoinReq, encodeLeaveReq } from '../../../../src/reload/codec/join-leave.js';
import { decodeRouteQueryReq, encodeRouteQueryReq } from '../../../../src/reload/codec/route-query.js';
import {
  appAttachReqAns,
  attachReqAns,
  chordLeaveData,
  chordRouteQueryAns,
  chordUpdate,
  joinAns,
  joinReq,
  leaveReq,
  routeQueryReq,
  sipRegistration,
  configUpdateReq,
  dataModelOf,
  fetchAns,
  fetchReq,
  findAns,
  findReq,
  pingAns,
  pingReq,
  probeAns,
  probeReq,
  statAns,
  storeAns,
  storeReq,
} from './method-arbitraries.js';
import { decodeSipRegistration, encodeSipRegistration } from '../../../../src/reload/codec/sip-registration.js';
import { tortureBody } from './torture.js';

const OPTS = { dataModelOf, maxMessageSize: 1 << 16 };

describe('method bodies: truncation and mutation give a value or a CodecError result', () => {
  test('PingReq', () => {
    assert.ok(tortureBody(pingReq, (v) => encodePingReq(v), (b) => decodePingReq(b), 101) > 0);
  });
  test('PingAns', () => {
    assert.ok(tortureBody(pingAns, (v) => encodePingAns(v), (b) => decodePingAns(b), 102) > 0);
  });
  test('ProbeReq', () => {
    assert.ok(tortureBody(probeReq, (v) => encodeProbeReq(v), (b) => decodeProbeReq(b), 103) > 0);
  });
  test('ProbeAns', () => {
    assert.ok(tortureBody(probeAns, (v) => encodeProbeAns(v), (b) => decodeProbeAns(b), 104) > 0);
  });
  test('ConfigUpdateReq', () => {
    assert.ok(tortureBody(configUpdateReq, (v) => encodeConfigUpdateReq(v), (b) => decodeConfigUpdateReq(b), 105) > 0);
  });
  test('StoreReq', () => {
    assert.ok(tortureBody(storeReq, (v) => encodeStoreReq(v, OPTS), (b) => decodeStoreReq(b, OPTS), 106) > 0);
  });
  test('StoreAns', () => {
    assert.ok(tortureBody(storeAns, (v) => encodeStoreAns(v, OPTS), (b) => decodeStoreAns(b, OPTS), 107) > 0);
  });
  test('FetchReq', () => {
    assert.ok(tortureBody(fetchReq, (v) => encodeFetchReq(v, OPTS), (b) => decodeFetchReq(b, OPTS), 108) > 0);
  });
  test('StatReq', () => {
    assert.ok(tortureBody(fetchReq, (v) => encodeStatReq(v, OPTS), (b) => decodeStatReq(b, OPTS), 109) > 0);
  });
  test('FetchAns', () => {
    assert.ok(tortureBody(fetchAns, (v) => encodeFetchAns(v, OPTS), (b) => decodeFetchAns(b, OPTS), 110) > 0);
  });
  test('StatAns', () => {
    assert.ok(tortureBody(statAns, (v) => encodeStatAns(v, OPTS), (b) => decodeStatAns(b, OPTS), 111) > 0);
  });
  test('FindReq', () => {
    assert.ok(tortureBody(findReq, (v) => encodeFindReq(v), (b) => decodeFindReq(b), 112) > 0);
  });
  test('FindAns', () => {
    assert.ok(tortureBody(findAns, (v) => encodeFindAns(v), (b) => decodeFindAns(b), 113) > 0);
  });
  test('JoinReq', () => {
    assert.ok(tortureBody(joinReq, (v) => encodeJoinReq(v), (b) => decodeJoinReq(b), 114) > 0);
  });
  test('JoinAns', () => {
    assert.ok(tortureBody(joinAns, (v) => encodeJoinAns(v), (b) => decodeJoinAns(b), 115) > 0);
  });
  test('LeaveReq', () => {
    assert.ok(tortureBody(leaveReq, (v) => encodeLeaveReq(v), (b) => decodeLeaveReq(b), 116) > 0);
  });
  test('ChordLeaveData', () => {
    assert.ok(tortureBody(chordLeaveData, (v) => encodeChordLeaveData(v), (b) => decodeChordLeaveData(b), 117) > 0);
  });
  test('ChordUpdate (UpdateReq)', () => {
    assert.ok(tortureBody(chordUpdate, (v) => encodeChordUpdate(v), (b) => decodeChordUpdate(b), 118) > 0);
  });
  test('RouteQueryReq', () => {
    assert.ok(tortureBody(routeQueryReq, (v) => encodeRouteQueryReq(v), (b) => decodeRouteQueryReq(b), 119) > 0);
  });
  test('ChordRouteQueryAns', () => {
    assert.ok(tortureBody(chordRouteQueryAns, (v) => encodeChordRouteQueryAns(v), (b) => decodeChordRouteQueryAns(b), 120) > 0);
  });
  test('AttachReqAns', () => {
    assert.ok(tortureBody(attachReqAns, (v) => encodeAttachReqAns(v), (b) => decodeAttachReqAns(b), 121) > 0);
  });
  test('AppAttachReqAns', () => {
    assert.ok(tortureBody(appAttachReqAns, (v) => encodeAppAttachReqAns(v), (b) => decodeAppAttachReqAns(b), 122) > 0);
  });
  test('SipRegistration (RFC 7904)', () => {
    assert.ok(tortureBody(sipRegistration, (v) => encodeSipRegistration(v), (b) => decodeSipRegistration(b), 123) > 0);
  });
});
