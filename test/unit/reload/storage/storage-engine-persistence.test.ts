import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RECORD_PREFIX } from '../../../../src/reload/storage/index.js';
import { ALICE, KIND, aliceRes, dict, entry, harness, sd, single, storeReq } from './storage-fixtures.js';

const specifiers = [
  { kind: KIND.PROFILE, generation: 0n, model: 'single' as const },
  { kind: KIND.CERT_USER, generation: 0n, model: 'array' as const, indices: [{ first: 0, last: 0xffffffff }] },
  { kind: KIND.SIP, generation: 0n, model: 'dictionary' as const, keys: [] },
];

describe('StorageEngine over a backend: the index is rebuilt on open', () => {
  test('values, generations, replica numbers and the summary survive a restart', async () => {
    const h = harness();
    assert.ok(h.engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 1n, single('p'))]), { requester: ALICE }).ok);
    assert.ok(h.engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 2n, single('p2'))]), { requester: ALICE }).ok);
    assert.ok(h.engine.store(storeReq(aliceRes, KIND.CERT_USER, [sd(ALICE, 1n, entry(3, 'c'))]), { requester: ALICE }).ok);
    assert.ok(h.engine.store(storeReq(aliceRes, KIND.SIP, [sd(ALICE, 1n, dict(ALICE.nodeIds[0]!, 'sip:a'))], 0n, 0), { requester: ALICE }).ok);
    const before = h.engine.fetch({ resource: aliceRes, specifiers });
    const summary = h.engine.summary();
    await h.engine.close();
    h.clock.advance(10_000);
    const engine = h.reopen();
    assert.deepEqual(engine.summary(), summary);
    assert.equal(engine.replicaNumber(aliceRes), 0);
    const after = engine.fetch({ resource: aliceRes, specifiers });
    assert.ok(before.ok && after.ok);
    // Same answer but lifetimes 10 s shorter.
    const strip = (a: typeof before) => (a.ok ? a.answer.kindResponses.map((k) => ({ ...k, values: k.values.map((v) => ({ ...v, lifetime: 0 })) })) : []);
    assert.deepEqual(strip(after), strip(before));
    assert.equal(after.answer.kindResponses[0]!.values[0]!.lifetime, 3590);
    assert.equal(after.answer.kindResponses[0]!.generation, 2n);
    // Replays are still refused after the restart.
    const replay = engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 2n, single('p2'))]), { requester: ALICE });
    assert.equal(replay.ok, false);
  });

  test('damaged records and foreign keys under the prefix are dropped on open, never thrown', () => {
    const h = harness();
    assert.ok(h.engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 1n, single('p'))]), { requester: ALICE }).ok);
    h.backend.batch([
      { type: 'put', key: Uint8Array.of(RECORD_PREFIX, 1, 7, 0, 0, 0, 1), value: Uint8Array.of(1, 2, 3) },
      { type: 'put', key: Uint8Array.of(RECORD_PREFIX, 9), value: Uint8Array.of(0) },
      { type: 'put', key: Uint8Array.of(0x69, 1), value: Uint8Array.of(42) }, // another user's prefix: untouched
    ]);
    const engine = h.reopen();
    assert.equal(engine.summary().values, 1);
    assert.equal(h.backend.size, 2);
    assert.deepEqual(h.backend.get(Uint8Array.of(0x69, 1)), Uint8Array.of(42));
  });

  test('every store is one backend batch; a refused store writes nothing', () => {
    const h = harness();
    const n = h.backend.batches;
    assert.ok(h.engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 1n, single('p'))]), { requester: ALICE }).ok);
    assert.equal(h.backend.batches, n + 1);
    assert.equal(h.engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 1n, single('p'))]), { requester: ALICE }).ok, false);
    assert.equal(h.backend.batches, n + 1);
  });
});
