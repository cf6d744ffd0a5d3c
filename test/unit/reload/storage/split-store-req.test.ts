/** Issue 16 finding: a resource whose values do not fit one RELOAD message is replicated in several Stores. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeStoreReq, type StoredData, type StoreReq } from '../../../../src/reload/codec/index.js';
import { splitStoreReq } from '../../../../src/reload/storage/replica-send-queue.js';

const codec = { nodeIdLength: 16, maxMessageSize: 5000 };
function value(i: number, bytes: number): StoredData {
  return {
    storageTime: BigInt(i + 1),
    lifetime: 600,
    value: { model: 'dictionary', key: new Uint8Array([i]), value: { exists: true, value: new Uint8Array(bytes).fill(i) } },
    signature: { algorithm: { hash: 4, signature: 3 }, identity: { type: 'none' }, signatureValue: new Uint8Array(0) },
  } as unknown as StoredData;
}

describe('splitStoreReq', () => {
  const req = (counts: number[], bytes: number): StoreReq => ({
    resource: new Uint8Array(16),
    replicaNumber: 1,
    kindData: counts.map((n, k) => ({ kind: 100 + k, generationCounter: BigInt(7 + k), values: Array.from({ length: n }, (_, i) => value(i, bytes)) })),
  });

  test('a small request is one part, as it was', () => {
    const r = req([3], 100);
    assert.deepEqual(splitStoreReq(r, 2952, codec), [r]);
  });

  test('20 values of 600 bytes in two Kinds: parts each within the limit, every value once, in order, generations kept', () => {
    const r = req([20, 5], 600);
    const parts = splitStoreReq(r, 2952, codec);
    assert.ok(parts.length > 1);
    for (const p of parts) assert.ok(encodeStoreReq(p, codec).length <= 2952, 'each part fits');
    const flat = parts.flatMap((p) => p.kindData.flatMap((kd) => kd.values.map((v) => `${kd.kind}/${kd.generationCounter}/${v.storageTime}`)));
    const want = r.kindData.flatMap((kd) => kd.values.map((v) => `${kd.kind}/${kd.generationCounter}/${v.storageTime}`));
    assert.deepEqual(flat, want);
    assert.ok(parts.every((p) => p.replicaNumber === 1 && p.kindData.every((kd) => kd.values.length > 0)));
  });

  test('a value that cannot fit any message is an error, not an endless retry', () => {
    assert.throws(() => splitStoreReq(req([1], 4000), 2952, codec), /does not fit one message/);
  });
});
