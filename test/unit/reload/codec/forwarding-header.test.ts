import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CodecError } from '../../../../src/reload/codec/codec-error.js';
import type { Destination } from '../../../../src/reload/codec/destination.js';
import {
  DESTINATION_CRITICAL,
  FORWARDING_HEADER_FIXED_LENGTH,
  RELOAD_VERSION,
  RELO_TOKEN,
  UNFRAGMENTED,
  decodeForwardingHeader,
  encodeForwardingHeader,
} from '../../../../src/reload/codec/forwarding-header.js';
import type { ForwardingHeader } from '../../../../src/reload/codec/forwarding-header.js';
import { forwardingHeader } from './arbitraries.js';
import { hex, hexdoc, toHex } from './hex.js';


const NODE_A = hex('00112233445566778899aabbccddeeff');

const sample: ForwardingHeader = {
  overlay: 0x01020304,
  configurationSequence: 7,
  version: RELOAD_VERSION,
  ttl: 100,
  fragment: { ...UNFRAGMENTED },
  length: 0x7b,
  transactionId: 0x0102030405060708n,
  maxResponseLength: 0,
  viaList: [{ type: 'compressed', id: 0x8001 }],
  destinationList: [
    { type: 'node', nodeId: NODE_A },
    { type: 'resource', resourceId: hex('464f4f') },
  ],
  options: [{ type: 5, flags: DESTINATION_CRITICAL, value: hex('ab') }],
};

// RFC 6940 §6.3.2, §6.3.2.2, §6.3.2.3, byte group by byte group
const sampleBytes = hexdoc(`
  d2454c4f            relo_token "RELO" | 0x80
  01020304            overlay
  0007                configuration_sequence
  0a                  version 1.0
  64                  ttl 100
  c0000000            fragment: high bit, last fragment, offset 0
  0000007b            length
  0102030405060708    transaction_id
  00000000            max_response_length
  0002                via_list_length
  0018                destination_list_length: 18 + 6
  0005                options_length
  8001                via_list[0]: compressed uint16, top bit set
  01 10 00112233445566778899aabbccddeeff   destination_list[0]: node, length 16, Node-ID
  02 04 03 464f4f     destination_list[1]: resource, length 4, ResourceId<0..2^8-1> "FOO"
  05 02 0001 ab       options[0]: type 5, DESTINATION_CRITICAL, length 1, value
`);

describe('ForwardingHeader known answers (RFC 6940 §6.3.2)', () => {
  test('the constants', () => {
    assert.equal(RELO_TOKEN, 0xd2454c4f);
    assert.equal(FORWARDING_HEADER_FIXED_LENGTH, 38);
  });

  test('encodes byte for byte', () => {
    assert.equal(toHex(encodeForwardingHeader(sample)), toHex(sampleBytes));
  });

  test('decodes the same bytes', () => {
    assert.deepEqual(decodeForwardingHeader(sampleBytes), sample);
  });

  test('an empty header is 38 bytes', () => {
    const h: ForwardingHeader = { ...sample, viaList: [], destinationList: [], options: [] };
    assert.equal(encodeForwardingHeader(h).length, FORWARDING_HEADER_FIXED_LENGTH);
  });

  test('a 20-byte Node-ID overlay', () => {
    const node20: Destination = { type: 'node', nodeId: new Uint8Array(20).fill(0xee) };
    const h: ForwardingHeader = { ...sample, viaList: [node20], destinationList: [node20], options: [] };
    const bytes = encodeForwardingHeader(h, { nodeIdLength: 20 });
    assert.deepEqual(bytes.subarray(38, 40), hex('0114'));
    assert.deepEqual(decodeForwardingHeader(bytes, { nodeIdLength: 20 }), h);
    assert.throws(() => decodeForwardingHeader(bytes), (e: unknown) => e instanceof CodecError && e.path === 'ForwardingHeader.via_list[0].length');
    assert.throws(() => encodeForwardingHeader(h), (e: unknown) => e instanceof CodecError && e.code === 'RELOAD_ENCODE');
  });

  test('NodeIdLength must be 16..20', () => {
    assert.throws(() => encodeForwardingHeader(sample, { nodeIdLength: 15 }), /NodeIdLength 15/);
    assert.throws(() => decodeForwardingHeader(sampleBytes, { nodeIdLength: 21 }), /NodeIdLength 21/);
  });
});

describe('ForwardingHeader decode errors', () => {
  function expectDecodeError(bytes: Uint8Array, path: string): void {
    assert.throws(
      () => decodeForwardingHeader(bytes),
      (e: unknown) => e instanceof CodecError && e.code === 'RELOAD_DECODE' && e.path === path,
    );
  }

  test('wrong token', () => {
    const b = sampleBytes.slice();
    b[0] = 0x52;
    expectDecodeError(b, 'ForwardingHeader.relo_token');
  });

  test('fragment without the high bit (RFC 6940 §6.7)', () => {
    const b = sampleBytes.slice();
    b[12] = 0x40;
    expectDecodeError(b, 'ForwardingHeader.fragment');
  });

  test('a destination longer than its list', () => {
    const b = sampleBytes.slice();
    b[38 + 2 + 18 + 1] = 0x09; // destination_list[1].length 9 > 6 bytes left
    expectDecodeError(b, 'ForwardingHeader.destination_list[1].length');
  });

  test('a list length beyond the input', () => {
    const b = sampleBytes.slice();
    b[35] = 0xff; // destination_list_length 0x00ff
    expectDecodeError(b, 'ForwardingHeader.destination_list_length');
  });

  test('invalidDestinationType (0)', () => {
    const b = sampleBytes.slice();
    b[40] = 0;
    expectDecodeError(b, 'ForwardingHeader.destination_list[0].type');
  });

  test('a Resource-ID in the Via List or not last in the Destination List', () => {
    const via: ForwardingHeader = { ...sample, viaList: [{ type: 'resource', resourceId: hex('01') }] };
    assert.throws(() => encodeForwardingHeader(via), (e: unknown) => e instanceof CodecError && e.path === 'ForwardingHeader.via_list[0]');
    const notLast: ForwardingHeader = { ...sample, destinationList: [...sample.destinationList].reverse() };
    assert.throws(() => encodeForwardingHeader(notLast), (e: unknown) => e instanceof CodecError && e.path === 'ForwardingHeader.destination_list[0]');
    // the same on the wire: swap via_list and destination_list[1] into a Via List holding a Resource-ID
    const wire = hex('d2454c4f 01020304 0007 0a 64 c0000000 0000007b 0102030405060708 00000000 0006 0000 0000 0204 03464f4f');
    expectDecodeError(wire, 'ForwardingHeader.via_list[0]');
  });

  test('trailing bytes', () => {
    expectDecodeError(Uint8Array.from([...sampleBytes, 0]), 'ForwardingHeader');
  });

  test('invalid forwarding option type 0', () => {
    const b = sampleBytes.slice();
    b[b.length - 5] = 0;
    expectDecodeError(b, 'ForwardingHeader.options[0].type');
  });
});

describe('ForwardingHeader properties', () => {
  test('decode(encode(x)) deep-equals x (16-byte Node-IDs)', () => {
    fc.assert(
      fc.property(forwardingHeader(16), (h) => {
        assert.deepEqual(decodeForwardingHeader(encodeForwardingHeader(h)), h);
      }),
      { numRuns: 500 },
    );
  });

  test('decode(encode(x)) deep-equals x (20-byte Node-IDs)', () => {
    fc.assert(
      fc.property(forwardingHeader(20), (h) => {
        assert.deepEqual(decodeForwardingHeader(encodeForwardingHeader(h, { nodeIdLength: 20 }), { nodeIdLength: 20 }), h);
      }),
      { numRuns: 200 },
    );
  });
});
