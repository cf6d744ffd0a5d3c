/** Truncation and seeded mutation of every method body (see torture.ts). */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { decodeConfigUpdateReq, encodeConfigUpdateReq } from '../../../../src/reload/codec/config-update.js';
import { decodePingAns, decodePingReq, encodePingAns, encodePingReq } from '../../../../src/reload/codec/ping.js';
import { decodeProbeAns, decodeProbeReq, encodeProbeAns, encodeProbeReq } from '../../../../src/reload/codec/probe.js';
import { configUpdateReq, pingAns, pingReq, probeAns, probeReq } from './method-arbitraries.js';
import { tortureBody } from './torture.js';

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
});
