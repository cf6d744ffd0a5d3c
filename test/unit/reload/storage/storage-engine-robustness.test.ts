// Bad input never throws out of the engine: random requests (unknown Kinds, wrong models, odd
// ids, anonymous and forged signatures, huge indices and lifetimes) get an answer or a RELOAD error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isReloadErrorCode } from '../../../../src/reload/codec/index.js';
import type { StoredData, StoredDataSpecifier, StoredDataValue } from '../../../../src/reload/codec/index.js';
import { StorageError } from '../../../../src/reload/storage/index.js';
import type { StoreResult } from '../../../../src/reload/storage/index.js';
import { ALICE, BOB, KIND, aliceRes, harness, sd, single, storeReq } from './storage-fixtures.js';

const bytes = (max: number) => fc.uint8Array({ maxLength: max });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const kindArb = fc.oneof(fc.constantFrom(KIND.SIP, KIND.TURN, KIND.CERT_NODE, KIND.CERT_USER, KIND.PROFILE), u32);
const dataValue = fc.record({ exists: fc.boolean(), value: bytes(120) });
const valueArb: fc.Arbitrary<StoredDataValue> = fc.oneof(
  fc.record({ model: fc.constant('single' as const), value: dataValue }),
  fc.record({ model: fc.constant('array' as const), index: fc.oneof(u32, fc.integer({ min: 0, max: 6 })), value: dataValue }),
  fc.record({ model: fc.constant('dictionary' as const), key: bytes(20), value: dataValue }),
);
const storedArb: fc.Arbitrary<StoredData> = fc.record({
  storageTime: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  lifetime: u32,
  value: valueArb,
  signature: fc.record({
    algorithm: fc.record({ hash: fc.integer({ min: 0, max: 6 }), signature: fc.integer({ min: 0, max: 3 }) }),
    identity: fc.constantFrom({ type: 'none' as const }, { type: 'cert_hash' as const, hashAlg: 4, certificateHash: new Uint8Array(2) }),
    signatureValue: fc.constantFrom(...['sig:alice@example.com', 'sig:bob@example.com', 'junk'].map((s) => new TextEncoder().encode(s))),
  }),
});
const specArb: fc.Arbitrary<StoredDataSpecifier> = fc.oneof(
  fc.record({ kind: kindArb, generation: fc.bigInt({ min: 0n, max: 5n }), model: fc.constant('single' as const) }),
  fc.record({ kind: kindArb, generation: fc.bigInt({ min: 0n, max: 5n }), model: fc.constant('array' as const), indices: fc.array(fc.record({ first: u32, last: u32 }), { maxLength: 4 }) }),
  fc.record({ kind: kindArb, generation: fc.bigInt({ min: 0n, max: 5n }), model: fc.constant('dictionary' as const), keys: fc.array(bytes(20), { maxLength: 4 }) }),
  fc.record({ kind: kindArb, generation: fc.bigInt({ min: 0n, max: 5n }), model: fc.constant('unknown' as const), data: bytes(8) }),
);
const resourceArb = fc.oneof(fc.constant(aliceRes), bytes(20));

function answered(r: StoreResult | { ok: boolean; code?: number }): void {
  if (!r.ok) assert.ok(isReloadErrorCode((r as { code: number }).code));
}

test('random Store, Fetch, Stat and Find requests are answered, never thrown', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.record({
            t: fc.constant('store' as const),
            resource: resourceArb,
            replicaNumber: fc.integer({ min: 0, max: 3 }),
            kindData: fc.array(fc.record({ kind: kindArb, generationCounter: fc.bigInt({ min: 0n, max: 3n }), values: fc.array(storedArb, { maxLength: 4 }) }), { maxLength: 3 }),
            who: fc.constantFrom(ALICE, BOB, undefined),
          }),
          fc.record({ t: fc.constantFrom('fetch' as const, 'stat' as const), resource: resourceArb, specifiers: fc.array(specArb, { maxLength: 4 }) }),
          fc.record({ t: fc.constant('find' as const), resource: resourceArb, kinds: fc.uniqueArray(kindArb, { maxLength: 4 }) }),
          fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 10_000_000 }) }),
        ),
        { maxLength: 12 },
      ),
      (ops) => {
        const h = harness({ maxBytes: 4096 });
        for (const op of ops) {
          if (op.t === 'store') answered(h.engine.store({ resource: op.resource, replicaNumber: op.replicaNumber, kindData: op.kindData }, op.who ? { requester: op.who } : {}));
          else if (op.t === 'find') assert.equal(h.engine.find({ resource: op.resource, kinds: op.kinds }).results.length, op.kinds.length);
          else if (op.t === 'advance') h.clock.advance(op.ms);
          else if (op.t === 'fetch') answered(h.engine.fetch({ resource: op.resource, specifiers: op.specifiers }));
          else answered(h.engine.stat({ resource: op.resource, specifiers: op.specifiers }));
          h.engine.sweep();
          assert.ok(h.engine.summary().bytes <= 4096);
        }
        const before = h.engine.summary();
        assert.deepEqual(h.reopen().summary(), before, 'whatever was stored loads back');
      },
    ),
    { numRuns: 300, seed: 5 },
  );
});

test('a verifier or backend that throws is a refusal, not an exception', () => {
  const h = harness();
  h.verifier.verify = () => {
    throw new Error('boom');
  };
  const r = h.engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 1n, single('x'))]), { requester: ALICE });
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.info : '', /verifier failed: boom/);

  const g = harness();
  g.backend.batch = () => {
    throw new StorageError('STORAGE_BACKEND_FAILED', 'disk full');
  };
  const s = g.engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 1n, single('x'))]), { requester: ALICE });
  assert.equal(s.ok, false);
  assert.match(!s.ok ? s.info : '', /disk full/);
  assert.equal(g.engine.summary().values, 0, 'nothing visible that is not durable');
});
