/**
 * LmdbRecordStores (issue 14: `<data-dir>/registrations`): records survive a close and reopen;
 * queued writes are one per key however often it changes; the REGISTER hot path pays little for
 * persistence (a bench of 10,000 updates with and without the store, printed).
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ManualClock } from '../../../src/lib/manual-clock.js';
import { LmdbRecordStores, MAX_RECORD_KEY_BYTES } from '../../../src/platform/lmdb-record-stores.js';
import { MemoryLocationService } from '../../../src/sip/core/memory-location-service.js';
import type { BindingChange } from '../../../src/sip/core/location-service.js';
import { parseNameAddr } from '../../../src/sip/message/index.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'p2psip-records-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('LmdbRecordStores', () => {
  test('records survive close and reopen, per table; deletes too', async () => {
    const dir = tempDir();
    const s = LmdbRecordStores.open(dir);
    const a = s.table('bindings');
    const b = s.table('published');
    a.put('sip:alice@o', '{"v":1}');
    a.put('sip:bob@o', 'x');
    b.put('sip:alice@o', '123');
    a.delete('sip:bob@o');
    await s.close();
    const again = LmdbRecordStores.open(dir);
    assert.deepEqual([...again.table('bindings').loadAll()], [['sip:alice@o', '{"v":1}']]);
    assert.deepEqual([...again.table('published').loadAll()], [['sip:alice@o', '123']]);
    await again.close();
  });

  test('a key changed many times is queued once; one transaction at a time; a key over the limit is refused', async () => {
    const errors: unknown[] = [];
    const s = LmdbRecordStores.open(tempDir(), { onError: (e) => errors.push(e) });
    const t = s.table('bindings');
    for (let i = 0; i < 1000; i++) t.put('sip:alice@o', String(i));
    assert.equal(s.stats().queued, 1);
    t.put('x'.repeat(MAX_RECORD_KEY_BYTES + 1), 'v');
    assert.equal(errors.length, 1);
    await s.flush();
    assert.deepEqual(s.stats(), { queued: 0, commits: 1, written: 1, failures: 1 });
    assert.deepEqual([...t.loadAll()], [['sip:alice@o', '999']]);
    await s.close();
  });

  test('bench: 10,000 REGISTER updates with and without the store (printed), all restored after reopen', async () => {
    const change = (i: number, cseq: number): BindingChange => ({
      contacts: [{ contact: parseNameAddr(`<sip:u${i}@198.51.100.${i % 250}:${5060 + (i % 1000)};transport=udp>`), expiresSec: 3600, q: 1 }],
      callId: `reg-${i}`,
      cseq,
      source: { protocol: 'udp', host: `198.51.100.${i % 250}`, port: 5060 + (i % 1000) },
      flowId: undefined,
    });
    const N = 10_000;
    /** 10,000 updates (2,000 AoRs, each registered then refreshed 4 times), the event loop turning every 100 as under load. */
    const run = async (loc: MemoryLocationService): Promise<number> => {
      for (let i = 0; i < 500; i++) await loc.update(`sip:w${i}@o`, change(i, 1));
      const t0 = performance.now();
      for (let k = 0; k < N; k++) {
        await loc.update(`sip:u${k % 2000}@o`, change(k % 2000, 1 + Math.floor(k / 2000)));
        if (k % 100 === 99) await new Promise((r) => setImmediate(r));
      }
      return performance.now() - t0;
    };
    const dir = tempDir();
    const s = LmdbRecordStores.open(dir);
    const memory: number[] = [];
    const persisted: number[] = [];
    let flushMs = 0;
    for (let round = 0; round < 2; round++) {
      memory.push(await run(new MemoryLocationService(new ManualClock(0))));
      persisted.push(await run(new MemoryLocationService(new ManualClock(0), { store: s.table('bindings'), wallClock: () => 1_700_000_000_000 })));
      const f0 = performance.now();
      await s.flush();
      flushMs = performance.now() - f0;
    }
    const st = s.stats();
    await s.close();
    const m = Math.min(...memory);
    const p = Math.min(...persisted);
    process.stdout.write(
      `# bench: ${N} updates in memory ${m.toFixed(1)} ms (${((m * 1000) / N).toFixed(2)} µs each); ` +
        `with LMDB ${p.toFixed(1)} ms (${((p * 1000) / N).toFixed(2)} µs each), then ${flushMs.toFixed(1)} ms to flush; ` +
        `${st.commits} transactions wrote ${st.written} records for ${2 * (N + 500)} updates\n`,
    );
    assert.ok(st.written <= 2 * (N + 500), 'coalesced: never more records written than changes');
    const again = LmdbRecordStores.open(dir);
    const loc = new MemoryLocationService(new ManualClock(0), { store: again.table('bindings'), wallClock: () => 1_700_000_000_000 });
    assert.equal(loc.restore().aors, 2_500);
    assert.equal(loc.lookupNow('sip:u1999@o')[0]?.cseq, 5);
    await again.close();
  });
});
