import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeFetchAns, decodeFetchReq, decodeStatReq, encodeFetchAns, encodeFetchReq, encodeStatReq } from '../../../../src/reload/codec/fetch.js';
import type { FetchAns, FetchReq } from '../../../../src/reload/codec/fetch.js';
import { hex, hexdoc, toHex } from './hex.js';
import { KA_MODELS, dataModelOf, fetchAns, fetchReq } from './method-arbitraries.js';
import { assertDecodeError, ok } from './torture.js';

const OPTS = { dataModelOf, maxMessageSize: 1 << 16 };
const KA = { dataModelOf: KA_MODELS };

describe('Fetch and Stat requests (RFC 6940 §7.4.2, §7.4.3.1)', () => {
  const req: FetchReq = {
    resource: hex('deadbeef'),
    specifiers: [
      { kind: 1, generation: 0n, model: 'single' },
      { kind: 2, generation: 5n, model: 'array', indices: [{ first: 0, last: 0xffffffff }] },
      { kind: 3, generation: 0n, model: 'dictionary', keys: [hex('6b')] },
    ],
  };
  const bytes = hexdoc(`
    04 deadbeef           resource
    0039                  specifiers length (57)
    00000001              [0] kind 1 (single value)
    0000000000000000      [0] generation
    0000                  [0] length: no model_specifier
    00000002              [1] kind 2 (array)
    0000000000000005      [1] generation
    000a                  [1] length (10)
    0008                  [1] indices length
    00000000 ffffffff     [1] indices[0]: first 0, last 0xffffffff (the end)
    00000003              [2] kind 3 (dictionary)
    0000000000000000      [2] generation
    0005                  [2] length (5)
    0003                  [2] keys length
    0001 6b               [2] keys[0] "k"
  `);

  test('FetchReq and StatReq known answer', () => {
    assert.equal(toHex(encodeFetchReq(req, KA)), toHex(bytes));
    assert.deepEqual(ok(decodeFetchReq(bytes, KA)), req);
    assert.equal(toHex(encodeStatReq(req, KA)), toHex(bytes));
    assert.deepEqual(ok(decodeStatReq(bytes, KA)), req);
  });

  test('a specifier of an unknown Kind is kept whole (so Error_Unknown_Kind can be answered)', () => {
    const v = ok(decodeFetchReq(bytes, { dataModelOf: (k) => (k === 1 ? 'single' : undefined) }));
    assert.deepEqual(v.specifiers[1], { kind: 2, generation: 5n, model: 'unknown', data: hex('0008 00000000 ffffffff') });
  });

  test('round trips', () => {
    fc.assert(fc.property(fetchReq, (v) => assert.deepEqual(ok(decodeFetchReq(encodeFetchReq(v, OPTS), OPTS)), v)));
    fc.assert(fc.property(fetchAns, (v) => assert.deepEqual(ok(decodeFetchAns(encodeFetchAns(v, OPTS), OPTS)), v)));
  });

  test('decode errors name the field', () => {
    const single = bytes.slice();
    single[20] = 1; // a single-value specifier with a 1-byte model_specifier
    assert.equal(decodeFetchReq(single, KA).ok, false);
    const badIndices = bytes.slice();
    badIndices[36] = 0x09;
    assertDecodeError(decodeFetchReq(badIndices, KA), 'FetchReq.specifiers[1].model_specifier.indices');
  });
});

describe('FetchAns (RFC 6940 §7.4.2.2)', () => {
  test('known answer', () => {
    const ans: FetchAns = {
      kindResponses: [
        {
          kind: 3,
          generation: 7n,
          values: [
            {
              storageTime: 1n,
              lifetime: 60,
              value: { model: 'dictionary', key: hex('6b'), value: { exists: true, value: hex('6869') } },
              signature: { algorithm: { hash: 0, signature: 0 }, identity: { type: 'none' }, signatureValue: hex('') },
            },
          ],
        },
      ],
    };
    const b = hexdoc(`
      00000031              kind_responses length (49)
      00000003              [0] kind 3 (dictionary)
      0000000000000007      [0] generation
      00000021              [0] values length (33)
      0000001d              values[0] StoredData.length (29)
      0000000000000001      storage_time
      0000003c              lifetime 60 s
      0001 6b               dictionary_entry.key "k"
      01 00000002 6869      dictionary_entry.value: exists, "hi"
      00 00 03 0000 0000    signature: no algorithm, identity none, empty value
    `);
    assert.equal(toHex(encodeFetchAns(ans, KA)), toHex(b));
    assert.deepEqual(ok(decodeFetchAns(b, KA)), ans);
    assertDecodeError(decodeFetchAns(b), 'FetchAns.kind_responses[0].kind');
  });
});
