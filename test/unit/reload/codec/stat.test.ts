import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeStatAns, encodeStatAns } from '../../../../src/reload/codec/stat.js';
import type { StatAns } from '../../../../src/reload/codec/stat.js';
import { hex, hexdoc, toHex } from './hex.js';
import { KA_MODELS, dataModelOf, statAns } from './method-arbitraries.js';
import { assertDecodeError, isCodecError, ok } from './torture.js';

const OPTS = { dataModelOf, maxMessageSize: 1 << 16 };

describe('StatAns (RFC 6940 §7.4.3.2)', () => {
  const ans: StatAns = {
    kindResponses: [
      {
        kind: 2,
        generation: 1n,
        values: [
          {
            storageTime: 0x10n,
            lifetime: 60,
            metadata: { model: 'array', index: 5, value: { exists: true, valueLength: 2, hashAlgorithm: 4, hashValue: hex('abcd') } },
          },
        ],
      },
    ],
  };
  const bytes = hexdoc(`
    0000002d            kind_responses length (45)
    00000002            [0] kind 2 (array)
    0000000000000001    [0] generation
    0000001d            [0] values length (29)
    00000019            values[0].value_length: the rest of StoredMetaData (25)
    0000000000000010    values[0].storage_time
    0000003c            values[0].lifetime
    00000005            metadata.array_entry.index
    01                  metadata.array_entry.value.exists
    00000002            metadata.array_entry.value.value_length
    04                  metadata.array_entry.value.hash_algorithm sha256
    02 abcd             metadata.array_entry.value.hash_value
  `);

  test('known answer', () => {
    assert.equal(toHex(encodeStatAns(ans, { dataModelOf: KA_MODELS })), toHex(bytes));
    assert.deepEqual(ok(decodeStatAns(bytes, { dataModelOf: KA_MODELS })), ans);
  });

  test('round trips', () => {
    fc.assert(fc.property(statAns, (v) => assert.deepEqual(ok(decodeStatAns(encodeStatAns(v, OPTS), OPTS)), v)));
  });

  test('errors name the field', () => {
    assertDecodeError(decodeStatAns(bytes, { dataModelOf: () => undefined }), 'StatAns.kind_responses[0].kind');
    const badBool = bytes.slice();
    badBool[40] = 7;
    assertDecodeError(decodeStatAns(badBool, { dataModelOf: KA_MODELS }), 'StatAns.kind_responses[0].values[0].metadata.array_entry.value.exists');
    assert.throws(() => encodeStatAns(ans, { dataModelOf: () => 'single' }), isCodecError('RELOAD_ENCODE', 'StatAns.kind_responses[0].values[0].metadata.model'));
  });
});
