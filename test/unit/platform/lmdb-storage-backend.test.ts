import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../../src/lib/manual-clock.js';
import { LmdbStorageBackend } from '../../../src/platform/lmdb-storage-backend.js';
import { StorageEngine, StorageError } from '../../../src/reload/storage/index.js';
import { ALICE, FakeVerifier, KIND, aliceRes, dict, hash, kinds, sd, single, storeReq } from '../reload/storage/storage-fixtures.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'p2psip-lmdb-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const k = (...b: number[]) => Uint8Array.from(b);

describe('LmdbStorageBackend', () => {
  test('put, get, delete, prefix iteration in key order; reads see writes before they commit', async () => {
    const b = LmdbStorageBackend.open(tempDir());
    b.batch([
      { type: 'put', key: k(1, 2), value: k(12) },
      { type: 'put', key: k(1, 1), value: k(11) },
      { type: 'put', key: k(2, 1), value: k(21) },
    ]);
    assert.deepEqual(b.get(k(1, 2)), k(12), 'read-your-writes before commit');
    b.batch([{ type: 'delete', key: k(1, 2) }]);
    assert.equal(b.get(k(1, 2)), undefined);
    assert.deepEqual([...b.entries(k(1))], [[k(1, 1), k(11)]]);
    await b.flush();
    assert.deepEqual([...b.entries(k(1))], [[k(1, 1), k(11)]]);
    assert.deepEqual([...b.entries(k())].length, 2);
    await b.close();
    assert.throws(() => b.get(k(1)), StorageError);
  });

  test('prefix iteration merges committed keys and uncommitted writes in key order (streamed)', async () => {
    const b = LmdbStorageBackend.open(tempDir());
    b.batch([1, 3, 5, 7].map((i) => ({ type: 'put' as const, key: k(9, i), value: k(i) })));
    b.batch([{ type: 'put', key: k(8, 0), value: k(80) }]);
    await b.flush();
    // pending: a new key between committed ones, one before all, one after all, a replaced and a deleted key
    b.batch([
      { type: 'put', key: k(9, 4), value: k(40) },
      { type: 'put', key: k(9, 0), value: k(0) },
      { type: 'put', key: k(9, 9), value: k(90) },
      { type: 'put', key: k(9, 5), value: k(50) },
      { type: 'delete', key: k(9, 3) },
    ]);
    const seen = [...b.entries(k(9))].map(([key, value]) => [key[1], value[0]]);
    assert.deepEqual(seen, [
      [0, 0],
      [1, 1],
      [4, 40],
      [5, 50],
      [7, 7],
      [9, 90],
    ]);
    await b.flush();
    assert.deepEqual([...b.entries(k(9))].map(([key, value]) => [key[1], value[0]]), seen, 'the same once committed');
    await b.close();
  });

  test('a batch is atomic and ordered: the later write of a key wins', async () => {
    const dir = tempDir();
    const b = LmdbStorageBackend.open(dir);
    for (let i = 0; i < 50; i++) b.batch([{ type: 'put', key: k(7), value: k(i) }]);
    assert.deepEqual(b.get(k(7)), k(49));
    await b.close();
    const again = LmdbStorageBackend.open(dir);
    assert.deepEqual(again.get(k(7)), k(49));
    await again.close();
  });

  test("a peer's stored data survives its restart: open, store, close, reopen, fetch", async () => {
    const dir = tempDir();
    const wall = { now: 1_700_000_000_000 };
    const engineOn = (backend: LmdbStorageBackend) =>
      new StorageEngine({ clock: new ManualClock(), backend, kinds, hashResourceName: hash, verifyStoredData: new FakeVerifier(), wallClock: () => wall.now });
    const b1 = LmdbStorageBackend.open(dir);
    const e1 = engineOn(b1);
    assert.ok(e1.store(storeReq(aliceRes, KIND.PROFILE, [sd(ALICE, 5n, single('hello'))]), { requester: ALICE }).ok);
    assert.ok(e1.store(storeReq(aliceRes, KIND.SIP, [sd(ALICE, 5n, dict(ALICE.nodeIds[0]!, 'sip:alice@127.0.0.1'))]), { requester: ALICE }).ok);
    await e1.close();
    await b1.close();

    wall.now += 60_000;
    const b2 = LmdbStorageBackend.open(dir);
    const e2 = engineOn(b2);
    assert.deepEqual(e2.summary().resources, 1);
    const r = e2.fetch({
      resource: aliceRes,
      specifiers: [
        { kind: KIND.PROFILE, generation: 0n, model: 'single' },
        { kind: KIND.SIP, generation: 0n, model: 'dictionary', keys: [] },
      ],
    });
    assert.ok(r.ok);
    assert.deepEqual(r.answer.kindResponses[0]!.values[0]!.value, single('hello'));
    assert.equal(r.answer.kindResponses[0]!.values[0]!.lifetime, 3540);
    assert.equal(r.answer.kindResponses[1]!.values.length, 1);
    assert.equal(r.answer.kindResponses[1]!.generation, 1n);
    await e2.close();
    await b2.close();
  });

  test('opening a path that cannot be a directory is a StorageError', () => {
    const dir = tempDir();
    assert.throws(() => LmdbStorageBackend.open(join(dir, '\0bad')), StorageError);
  });
});
