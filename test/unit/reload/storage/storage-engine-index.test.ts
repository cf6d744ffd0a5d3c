/**
 * Issue 18: the engine keeps only an index in memory (per Resource-ID and Kind: counts, bytes, expiry
 * times) and reads the values back from its StorageBackend by key on each request.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { MemoryStorageBackend, StorageEngine } from '../../../../src/reload/storage/index.js';
import { recordKey } from '../../../../src/reload/storage/kind-record-codec.js';
import { ALICE, BOB, FakeVerifier, KIND, aliceRes, bobRes, dict, hash, kinds, sd, single, storeReq } from './storage-fixtures.js';

function world() {
  const clock = new ManualClock(1_000_000);
  const backend = new MemoryStorageBackend();
  const engine = new StorageEngine({ clock, backend, kinds, hashResourceName: hash, verifyStoredData: new FakeVerifier() });
  return { clock, backend, engine };
}

const fetchProfile = (engine: StorageEngine, resource: Uint8Array) => engine.fetch({ resource, specifiers: [{ kind: KIND.PROFILE, generation: 0n, model: 'single' }] });

describe('StorageEngine index over its backend (issue 18)', () => {
  test('a Fetch answers what the backend holds now: the values are not kept in memory', () => {
    const { backend, engine } = world();
    assert.ok(engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 1n, single('first'))]), { requester: ALICE }).ok);
    const first = backend.get(recordKey(aliceRes, KIND.PROFILE))!;
    assert.ok(engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 2n, single('second'))]), { requester: ALICE }).ok);
    // put the first record back behind the engine's back: the next Fetch reads it
    backend.batch([{ type: 'put', key: recordKey(aliceRes, KIND.PROFILE), value: first }]);
    const r = fetchProfile(engine, aliceRes);
    assert.ok(r.ok);
    assert.equal(new TextDecoder().decode(r.answer.kindResponses[0]!.values[0]!.value.value.value), 'first');
  });

  test('a record the backend lost (or damaged) is forgotten from the index, never thrown', () => {
    const { backend, engine } = world();
    assert.ok(engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 1n, single('a'))]), { requester: ALICE }).ok);
    assert.ok(engine.store(storeReq(bobRes, KIND.PROFILE, [sd(BOB, 1n, single('b'))]), { requester: BOB }).ok);
    backend.batch([{ type: 'delete', key: recordKey(aliceRes, KIND.PROFILE) }]);
    backend.batch([{ type: 'put', key: recordKey(bobRes, KIND.PROFILE), value: Uint8Array.of(9, 9, 9) }]);
    const a = fetchProfile(engine, aliceRes);
    assert.ok(a.ok);
    assert.equal(a.answer.kindResponses[0]!.values[0]!.value.value.exists, false);
    assert.equal(engine.storeReqFor(bobRes, 1), undefined);
    assert.deepEqual(engine.summary(), { resources: 0, values: 0, bytes: 0 });
    // and the resource takes Stores again
    assert.ok(engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 2n, single('a2'))]), { requester: ALICE }).ok);
    assert.equal(engine.summary().resources, 1);
  });

  test('Find, Stat, replicas, ranges and counts come from the index with several Kinds per resource', () => {
    const { clock, engine } = world();
    assert.ok(engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 1n, single('p'), 60)]), { requester: ALICE }).ok);
    assert.ok(engine.store(storeReq(aliceRes, KIND.SIP, [sd(ALICE, 1n, dict(ALICE.nodeIds[0]!, 'sip:alice@h'), 3600)]), { requester: ALICE }).ok);
    assert.deepEqual(engine.summary().resources, 1);
    assert.deepEqual(engine.summary().values, 2);
    assert.deepEqual([...engine.summaryByKind().keys()].sort(), [KIND.SIP, KIND.PROFILE].sort());
    assert.equal(engine.find({ resource: aliceRes, kinds: [KIND.PROFILE] }).results[0]!.closest.length, 16);
    clock.advance(61_000);
    assert.equal(engine.find({ resource: aliceRes, kinds: [KIND.PROFILE] }).results[0]!.closest.length, 0, 'the expired Kind is not found');
    assert.equal(engine.find({ resource: aliceRes, kinds: [KIND.SIP] }).results[0]!.closest.length, 16);
    assert.equal(engine.sweep(), 1);
    assert.deepEqual([...engine.summaryByKind().keys()], [KIND.SIP]);
    const req = engine.storeReqFor(aliceRes, 2);
    assert.equal(req?.kindData.length, 1);
    assert.equal(engine.replicaNumber(aliceRes), 0);
    assert.deepEqual(engine.resourceIdsInRange(aliceRes, aliceRes), [aliceRes]);
    assert.equal(engine.dropRange(aliceRes, aliceRes), 1);
    assert.deepEqual(engine.summary(), { resources: 0, values: 0, bytes: 0 });
  });
});
