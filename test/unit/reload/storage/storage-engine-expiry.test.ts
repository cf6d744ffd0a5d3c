import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { ReloadErrorCode } from '../../../../src/reload/codec/index.js';
import { MemoryStorageBackend, StorageEngine, StorageError } from '../../../../src/reload/storage/index.js';
import { ALICE, BOB, KIND, aliceRes, bobRes, entry, harness, hash, kinds, sd, single, storeReq } from './storage-fixtures.js';

const profile = { kind: KIND.PROFILE, generation: 0n, model: 'single' } as const;

describe('lifetime and expiry (RFC 6940 §7, §7.4.1.3)', () => {
  test('a value is there until storage + lifetime, then gone on access (lazy)', () => {
    const { engine, clock, backend } = harness();
    assert.ok(engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 1n, single('x'), 60)]), { requester: ALICE }).ok);
    clock.advance(59_999);
    const before = engine.fetch({ resource: aliceRes, specifiers: [profile] });
    assert.equal(before.ok && before.answer.kindResponses[0]!.values[0]!.value.value.exists, true);
    clock.advance(1);
    const after = engine.fetch({ resource: aliceRes, specifiers: [profile] });
    assert.equal(after.ok && after.answer.kindResponses[0]!.values[0]!.value.value.exists, false);
    assert.equal(after.ok && after.answer.kindResponses[0]!.generation, 0n, 'the Kind is gone with its last value');
    assert.deepEqual(engine.summary(), { resources: 0, values: 0, bytes: 0 });
    assert.equal(backend.size, 0, 'the backend forgot it too');
  });

  test('after expiry an old value may be stored again (the window §7.4.1.3 describes)', () => {
    const { engine, clock } = harness();
    const req = storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 1n, single('x'), 1)]);
    assert.ok(engine.store(req, { requester: ALICE }).ok);
    clock.advance(1000);
    assert.ok(engine.store(req, { requester: ALICE }).ok);
  });

  test('the periodic sweep removes expired values without any access, a bounded number of resources per tick', () => {
    const { engine, clock, backend } = harness({ sweepIntervalMs: 1000, sweepBatch: 1 });
    assert.ok(engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 1n, single('a'), 5)]), { requester: ALICE }).ok);
    assert.ok(engine.store(storeReq(bobRes, KIND.PROFILE, [sd(BOB, 1n, single('b'), 5)]), { requester: BOB }).ok);
    engine.start();
    clock.advance(5000); // sweeps at 1..5 s; at 5 s the first resource is due
    assert.equal(engine.summary().values, 1, 'one resource per sweep');
    clock.advance(1000);
    assert.deepEqual(engine.summary(), { resources: 0, values: 0, bytes: 0 });
    assert.equal(backend.size, 0);
  });

  test('close() stops the sweep timer', async () => {
    const { engine, clock } = harness({ sweepIntervalMs: 1000 });
    engine.start();
    assert.equal(clock.pendingTimers, 1);
    await engine.close();
    assert.equal(clock.pendingTimers, 0);
    const r = engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 1n, single('a'))]), { requester: ALICE });
    assert.equal(!r.ok && r.code, ReloadErrorCode.Forbidden);
  });

  test('a tombstone (exists=false) ages out like any value (§7.4.1.3)', () => {
    const { engine, clock } = harness();
    assert.ok(engine.store(storeReq(aliceRes, KIND.CERT_USER, [sd(ALICE, 1n, entry(0, 'a'), 10)]), { requester: ALICE }).ok);
    assert.ok(engine.store(storeReq(aliceRes, KIND.CERT_USER, [sd(ALICE, 2n, entry(0, '', false), 20)]), { requester: ALICE }).ok);
    clock.advance(15_000);
    assert.equal(engine.summary().values, 1);
    clock.advance(5000);
    engine.sweep();
    assert.equal(engine.summary().values, 0);
  });

  test('with a wall clock the expiry survives a restart across different monotonic clocks', () => {
    const backend = new MemoryStorageBackend();
    let wall = 1_700_000_000_000;
    const make = (start: number) =>
      new StorageEngine({ clock: new ManualClock(start), backend, kinds, hashResourceName: hash, wallClock: () => wall });
    assert.ok(make(0).store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 1n, single('a'), 100)]), { requester: ALICE }).ok);
    wall += 50_000;
    assert.equal(make(123).summary().values, 1);
    wall += 50_000;
    assert.equal(make(5).summary().values, 0, 'expired while down: dropped on open');
  });
});

describe('engine limits', () => {
  test('max resources: a store for one more resource is Error_Data_Too_Large; existing ones still take stores', () => {
    const { engine } = harness({ maxResources: 1 });
    assert.ok(engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 1n, single('a'))]), { requester: ALICE }).ok);
    const r = engine.store(storeReq(bobRes, KIND.PROFILE, [sd(BOB, 1n, single('b'))]), { requester: BOB });
    assert.equal(!r.ok && r.code, ReloadErrorCode.DataTooLarge);
    assert.match(!r.ok ? r.info : '', /max 1/);
    assert.ok(engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 2n, single('a2'))]), { requester: ALICE }).ok);
  });

  test('max bytes: growth past the limit is Error_Data_Too_Large; shrinking stores are accepted', () => {
    // One PROFILE value of n bytes costs 48 + n + signature ('sig:alice@example.com' = 21) bytes.
    // the per-writer quotas (half of maxBytes by default) are off: this is the peer's own limit
    const { engine } = harness({ maxBytes: 48 + 21 + 5, maxBytesPerNodeId: Infinity, maxBytesPerUser: Infinity });
    assert.ok(engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 1n, single('12345'))]), { requester: ALICE }).ok);
    assert.equal(engine.summary().bytes, 74);
    const grow = engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 2n, single('123456'))]), { requester: ALICE });
    assert.equal(!grow.ok && grow.code, ReloadErrorCode.DataTooLarge);
    assert.ok(engine.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 3n, single('1'))]), { requester: ALICE }).ok);
    assert.equal(engine.summary().bytes, 70);
  });

  test('options must be positive', () => {
    assert.throws(() => harness({ maxResources: 0 }), StorageError);
    assert.throws(() => harness({ sweepBatch: -1 }), StorageError);
  });
});
