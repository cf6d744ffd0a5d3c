import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeProbeAns, decodeProbeReq, encodeProbeAns, encodeProbeReq } from '../../../../src/reload/codec/probe.js';
import type { ProbeAns } from '../../../../src/reload/codec/probe.js';
import { hex, hexdoc, toHex } from './hex.js';
import { probeAns, probeReq } from './method-arbitraries.js';
import { assertDecodeError, isCodecError, ok } from './torture.js';

describe('Probe (RFC 6940 §6.4.2.5)', () => {
  test('ProbeReq known answer', () => {
    const bytes = hexdoc(`
      02      requested_info length
      01      responsible_set
      03      uptime
    `);
    assert.equal(toHex(encodeProbeReq({ requestedInfo: [1, 3] })), toHex(bytes));
    assert.deepEqual(ok(decodeProbeReq(bytes)), { requestedInfo: [1, 3] });
  });

  test('ProbeAns known answer', () => {
    const v: ProbeAns = {
      probeInfo: [
        { type: 'responsible_set', responsiblePpb: 10_000_000 },
        { type: 'uptime', uptime: 3600 },
        { type: 'unknown', code: 9, value: hex('beef') },
      ],
    };
    const bytes = hexdoc(`
      0010        probe_info length (16)
      01 04       [0] type responsible_set, length 4
      00989680    [0] responsible_ppb = 10,000,000 (1%)
      03 04       [1] type uptime, length 4
      00000e10    [1] uptime = 3600 s
      09 02       [2] unknown type 9, length 2
      beef        [2] value
    `);
    assert.equal(toHex(encodeProbeAns(v)), toHex(bytes));
    assert.deepEqual(ok(decodeProbeAns(bytes)), v);
  });

  test('round trips', () => {
    fc.assert(fc.property(probeReq, (v) => assert.deepEqual(ok(decodeProbeReq(encodeProbeReq(v))), v)));
    fc.assert(fc.property(probeAns, (v) => assert.deepEqual(ok(decodeProbeAns(encodeProbeAns(v))), v)));
  });

  test('errors name the field', () => {
    assertDecodeError(decodeProbeReq(hex('02 01 00')), 'ProbeReq.requested_info[1]');
    assertDecodeError(decodeProbeAns(hex('0006 02 03 000001 00')), 'ProbeAns.probe_info[0].value.num_resources');
    assertDecodeError(decodeProbeAns(hex('0007 02 05 0000000100')), 'ProbeAns.probe_info[0].value');
    assertDecodeError(decodeProbeAns(hex('0002 00 00')), 'ProbeAns.probe_info[0].type');
    assertDecodeError(decodeProbeAns(hex('0003 01 04 00')), 'ProbeAns.probe_info[0].length');
    assert.throws(() => encodeProbeReq({ requestedInfo: [0] }), isCodecError('RELOAD_ENCODE', 'ProbeReq.requested_info[0]'));
    assert.throws(
      () => encodeProbeAns({ probeInfo: [{ type: 'unknown', code: 2, value: hex('') }] }),
      isCodecError('RELOAD_ENCODE', 'ProbeAns.probe_info[0].type'),
    );
  });
});
