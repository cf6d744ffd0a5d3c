import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeStoreAns, decodeStoreReq, encodeStoreAns, encodeStoreReq } from '../../../../src/reload/codec/store.js';
import type { StoreAns, StoreReq } from '../../../../src/reload/codec/store.js';
import { hex, hexdoc, toHex } from './hex.js';
import { KA_MODELS, dataModelOf, storeAns, storeReq } from './method-arbitraries.js';
import { assertDecodeError, isCodecError, ok } from './torture.js';

const OPTS = { dataModelOf, maxMessageSize: 1 << 16 };
const noSignature = { algorithm: { hash: 0, signature: 0 }, identity: { type: 'none' as const }, signatureValue: hex('') };

describe('Store (RFC 6940 §7.4.1, StoredData §7.2)', () => {
  const req: StoreReq = {
    resource: hex('deadbeef'),
    replicaNumber: 0,
    kindData: [
      {
        kind: 1,
        generationCounter: 0n,
        values: [{ storageTime: 0x17f00000000n, lifetime: 86400, value: { model: 'single', value: { exists: true, value: hex('6869') } }, signature: noSignature }],
      },
    ],
  };
  const bytes = hexdoc(`
    04 deadbeef         resource (ResourceId<0..2^8-1>)
    00                  replica_number
    0000002e            kind_data length (46)
    00000001            [0] kind
    0000000000000000    [0] generation_counter
    0000001e            [0] values length (30)
    0000001a            [0].values[0] StoredData.length (26)
    0000017f00000000    storage_time
    00015180            lifetime = 86400 s
    01                  single_value_entry.exists = true
    00000002 6869       single_value_entry.value "hi"
    00 00               signature.algorithm: hash none, signature anonymous
    03 0000             signature.identity: none, length 0
    0000                signature.signature_value (empty)
  `);

  test('StoreReq known answer', () => {
    assert.equal(toHex(encodeStoreReq(req, { dataModelOf: KA_MODELS })), toHex(bytes));
    assert.deepEqual(ok(decodeStoreReq(bytes, { dataModelOf: KA_MODELS })), req);
  });

  test('StoreAns known answer', () => {
    const ans: StoreAns = { kindResponses: [{ kind: 1, generationCounter: 2n, replicas: [new Uint8Array(16).fill(0x11)] }] };
    const b = hexdoc(`
      001e                  kind_responses length (30)
      00000001              [0] kind
      0000000000000002      [0] generation_counter
      0010                  [0] replicas length
      11111111111111111111111111111111   [0] replicas[0] (16-byte Node-ID)
    `);
    assert.equal(toHex(encodeStoreAns(ans)), toHex(b));
    assert.deepEqual(ok(decodeStoreAns(b)), ans);
  });

  test('round trips', () => {
    fc.assert(fc.property(storeReq, (v) => assert.deepEqual(ok(decodeStoreReq(encodeStoreReq(v, OPTS), OPTS)), v)));
    fc.assert(fc.property(storeAns, (v) => assert.deepEqual(ok(decodeStoreAns(encodeStoreAns(v, OPTS), OPTS)), v)));
  });

  test('the data model comes from the lookup; an unknown Kind is an error at kind', () => {
    assertDecodeError(decodeStoreReq(bytes), 'StoreReq.kind_data[0].kind');
    assertDecodeError(decodeStoreReq(bytes, { dataModelOf: () => undefined }), 'StoreReq.kind_data[0].kind');
    // read as an array entry, the "single" bytes do not fit
    assert.equal(decodeStoreReq(bytes, { dataModelOf: () => 'array' }).ok, false);
    assert.throws(() => encodeStoreReq(req, { dataModelOf: () => 'array' }), isCodecError('RELOAD_ENCODE', 'StoreReq.kind_data[0].values[0].value.model'));
  });

  test('decode errors name the field', () => {
    const badLen = bytes.slice();
    badLen[29] = 0x1b; // StoredData.length one too many
    assertDecodeError(decodeStoreReq(badLen, { dataModelOf: KA_MODELS }), 'StoreReq.kind_data[0].values[0].length');
    const badBool = bytes.slice();
    badBool[42] = 2;
    assertDecodeError(decodeStoreReq(badBool, { dataModelOf: KA_MODELS }), 'StoreReq.kind_data[0].values[0].value.single_value_entry.exists');
    assertDecodeError(decodeStoreAns(hex('0010 00000001 0000000000000002 0002 1111')), 'StoreAns.kind_responses[0].replicas[0]');
  });
});
