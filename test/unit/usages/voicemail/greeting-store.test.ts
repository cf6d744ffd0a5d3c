/** Issue 16: a user's own greeting — the pointer codec, the storing peer's guard, and GreetingStore over the in-memory overlay. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom } from '../../../../src/lib/random.js';
import { ReloadErrorCode, type StoredDataValue } from '../../../../src/reload/codec/index.js';
import { entryKey, WRITE_GRANT_KIND_ID, writeGrantValue, type GuardRequest, type KindRecord } from '../../../../src/reload/storage/index.js';
import { VoicemailGreetingGuard } from '../../../../src/usages/voicemail/greeting-guard.js';
import {
  DEFAULT_GREETING_LIFETIME_S,
  GREETING_KIND_ID,
  GreetingError,
  GreetingStore,
  MAX_GREETING_BYTES,
  MAX_GREETING_CHUNKS,
  MAX_GREETING_LIFETIME_S,
  MIN_CHUNK_AUDIO_BYTES,
  RENEW_BEFORE_S,
  decodeGreetingPointer,
  encodeGreetingPointer,
  greetingChunkResourceName,
  type GreetingPointer,
} from '../../../../src/usages/voicemail/greeting-store.js';
import { CHUNK_AUDIO_BYTES, VOICEMAIL_CHUNK_KIND_ID, encodeChunk } from '../../../../src/usages/voicemail/voicemail-store.js';
import { GREETING_KIND, MemoryGreetingStorage, resourceIdOf } from './greeting-fixtures.js';
import { storedData } from './voicemail-fixtures.js';

const nodeA = new Uint8Array(16).fill(0xa);
const nodeB = new Uint8Array(16).fill(0xb);
const AOR = 'sip:alice@p2psip.local';
const NAME = 'alice@p2psip.local';
const EPOCH = 1_700_000_000_000;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const utf8 = (o: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(o));

function pointer(writer = nodeA, bytes = 5000): GreetingPointer {
  return { id: 'c3'.repeat(16), writer: hex(writer), durationMs: Math.round(bytes / 8), format: 'pcmu', chunks: Math.ceil(bytes / CHUNK_AUDIO_BYTES), bytes };
}

function audioOf(n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 13 + (i >> 7)) & 0xff);
}

function request(value: StoredDataValue, o: { signer?: Uint8Array; userName?: string; grantFor?: Uint8Array; lifetime?: number; resource?: Uint8Array } = {}): GuardRequest {
  const records = new Map<number, KindRecord>();
  if (o.grantFor !== undefined) {
    const g = writeGrantValue(o.grantFor, 10_000);
    records.set(WRITE_GRANT_KIND_ID, { kind: WRITE_GRANT_KIND_ID, model: 'dictionary', generation: 1n, replicaNumber: 0, entries: new Map([[entryKey(g), { data: storedData(g), receivedAt: 0, expiresAt: 10_000, size: 16 }]]) });
  }
  const signer = o.signer ?? nodeA;
  return {
    resource: o.resource ?? resourceIdOf(NAME),
    kind: GREETING_KIND,
    data: storedData(value, o.lifetime ?? 3600),
    signer: { userName: o.userName ?? NAME, nodeIds: [signer] },
    requester: { userName: o.userName ?? NAME, nodeIds: [signer] },
    now: 1000,
    current: (k) => records.get(k),
    kinds: () => GREETING_KIND,
  };
}

const single = (bytes: Uint8Array, exists = true): StoredDataValue => ({ model: 'single', value: { exists, value: exists ? bytes : new Uint8Array(0) } });

describe('greeting pointer', () => {
  test('round trip; the chunk names; 20 s is 67 chunks', () => {
    const p = pointer();
    assert.deepEqual(decodeGreetingPointer(encodeGreetingPointer(p)), p);
    assert.equal(MAX_GREETING_BYTES, 160_000);
    assert.equal(MAX_GREETING_CHUNKS, 67);
    assert.equal(greetingChunkResourceName('sip:Alice@P2PSIP.local', p.id, 3), `vmg:Alice@p2psip.local:${p.id}:3`);
  });

  test('bad values are refused with the reason', () => {
    const ok = JSON.parse(new TextDecoder().decode(encodeGreetingPointer(pointer()))) as Record<string, unknown>;
    const bad: Array<[Uint8Array, RegExp]> = [
      [new Uint8Array([0xff, 0xfe]), /UTF-8 JSON/],
      [utf8([1, 2]), /JSON object/],
      [utf8({ ...ok, v: 2 }), /version/],
      [utf8({ ...ok, format: 'opus' }), /format/],
      [utf8({ ...ok, id: 'xyz' }), /'id'/],
      [utf8({ ...ok, writer: 'A' }), /'writer'/],
      [utf8({ ...ok, bytes: MAX_GREETING_BYTES + 1 }), /'bytes'/],
      [utf8({ ...ok, chunks: 1 }), /chunks do not hold/],
      [utf8({ ...ok, durationMs: 20_001 }), /'durationMs'/],
      [new Uint8Array(600).fill(0x20), /at most 512/],
    ];
    for (const [b, re] of bad) assert.throws(() => decodeGreetingPointer(b), (e: unknown) => e instanceof GreetingError && re.test(e.message), String(re));
  });
});

describe('VoicemailGreetingGuard', () => {
  const value = single(encodeGreetingPointer(pointer(nodeA)));

  test('closed overlay: a write or a removal needs a live write grant for the signer', () => {
    const g = new VoicemailGreetingGuard({ nodeIdLength: 16, closed: true });
    assert.deepEqual(g.check(request(value, { grantFor: nodeA })), { ok: true, keep: true });
    const refused = g.check(request(value));
    assert.ok(!refused.ok && /write grant/.test(refused.info));
    assert.ok(!g.check(request(value, { grantFor: nodeB })).ok, "another peer's grant is not the signer's");
    assert.ok(!g.check(request(single(new Uint8Array(0), false))).ok, 'removal without a grant');
    assert.ok(g.check(request(single(new Uint8Array(0), false), { grantFor: nodeA })).ok);
    assert.deepEqual(g.counts, { kept: 1, removed: 1, refused: 3 });
  });

  test('the writer must be the signer; lifetime bounded; the value must read; single only', () => {
    const g = new VoicemailGreetingGuard({ nodeIdLength: 16, closed: false });
    const mismatch = g.check(request(value, { signer: nodeB }));
    assert.ok(!mismatch.ok && /writer is not the signer/.test(mismatch.info));
    const long = g.check(request(value, { lifetime: MAX_GREETING_LIFETIME_S + 1 }));
    assert.ok(!long.ok && /lifetime/.test(long.info));
    const junk = g.check(request(single(utf8({ v: 1 }))));
    assert.ok(!junk.ok && /not a greeting pointer/.test(junk.info));
    const fields = JSON.parse(new TextDecoder().decode(encodeGreetingPointer(pointer()))) as Record<string, unknown>;
    const tooLong = g.check(request(single(utf8({ ...fields, bytes: 200_000, chunks: 84 }))));
    assert.ok(!tooLong.ok && /'bytes'/.test(tooLong.info), 'past 20 s');
    const dict = g.check(request({ model: 'dictionary', key: new Uint8Array(1), value: { exists: true, value: new Uint8Array(1) } }));
    assert.ok(!dict.ok && /single value/.test(dict.info));
    const short = new VoicemailGreetingGuard({ nodeIdLength: 20, closed: false }).check(request(value));
    assert.ok(!short.ok, 'a writer of another Node-ID length');
  });

  test('open overlay: any peer writes and removes (nothing is proven there)', () => {
    const g = new VoicemailGreetingGuard({ nodeIdLength: 16, closed: false });
    assert.ok(g.check(request(value)).ok);
    assert.ok(g.check(request(single(new Uint8Array(0), false), { signer: nodeB })).ok);
  });

  test('enrolled overlay (userMatch): the signer user name must be the Resource Name', () => {
    const g = new VoicemailGreetingGuard({ nodeIdLength: 16, closed: false, userMatch: { hashResourceName: (n) => resourceIdOf(new TextDecoder().decode(n)) } });
    assert.ok(g.check(request(value)).ok);
    const other = g.check(request(value, { userName: 'mallory@p2psip.local' }));
    assert.ok(!other.ok && /user name 'mallory@p2psip.local'/.test(other.info));
    assert.ok(!g.check(request(value, { userName: '' })).ok);
    assert.ok(!g.check(request(single(new Uint8Array(0), false), { userName: 'mallory@p2psip.local' })).ok, 'nor remove it');
    assert.throws(() => new VoicemailGreetingGuard({ nodeIdLength: 0, closed: false }), RangeError);
  });
});

describe('GreetingStore', () => {
  function rig(o: { closed?: boolean; grant?: boolean } = {}) {
    let now = EPOCH;
    const storage = new MemoryGreetingStorage(() => now, nodeA, { closed: o.closed ?? true });
    if (o.grant ?? true) storage.grant(NAME, nodeA, EPOCH + 400 * 86_400_000);
    const store = new GreetingStore({ storage, selfNodeId: nodeA, wallClock: () => now, random: new SeededRandom(5) }, { cacheSize: 2 });
    return { storage, store, advance: (ms: number) => (now += ms) };
  }

  test('save: chunks first, the pointer last; load reads it back (one Fetch when cached)', async () => {
    const { storage, store } = rig();
    const audio = audioOf(7000);
    const saved = await store.save(AOR, audio);
    assert.ok(saved.ok);
    assert.equal(saved.greeting.chunks, 3);
    assert.equal(saved.greeting.durationMs, 875);
    const kinds = storage.stores.map((s) => s.kind);
    assert.deepEqual(kinds, [VOICEMAIL_CHUNK_KIND_ID, VOICEMAIL_CHUNK_KIND_ID, VOICEMAIL_CHUNK_KIND_ID, GREETING_KIND_ID]);
    assert.equal(storage.stores.at(-1)!.lifetime, DEFAULT_GREETING_LIFETIME_S);
    assert.match(storage.stores[0]!.resourceName, /^vmg:alice@p2psip\.local:[0-9a-f]{32}:\d$/);
    const fresh = new GreetingStore({ storage, selfNodeId: nodeA, wallClock: () => EPOCH, random: new SeededRandom(6) });
    const loaded = await fresh.load(AOR);
    assert.ok(loaded.ok);
    assert.deepEqual(loaded.audio, audio);
    const before = storage.fetches;
    const again = await fresh.load(AOR);
    assert.ok(again.ok);
    assert.equal(storage.fetches - before, 1, 'cached: the pointer only');
  });

  test('replacing writes a new id and removes the old chunks; remove goes back to none', async () => {
    const { storage, store } = rig();
    const first = await store.save(AOR, audioOf(5000));
    const second = await store.save(AOR, audioOf(MAX_GREETING_BYTES));
    assert.ok(first.ok && second.ok);
    assert.notEqual(first.greeting.id, second.greeting.id);
    assert.equal(second.greeting.chunks, MAX_GREETING_CHUNKS);
    const live = storage.resourcesWith(VOICEMAIL_CHUNK_KIND_ID);
    assert.equal(live.length, MAX_GREETING_CHUNKS, 'the old chunks are gone');
    assert.ok(live.every((n) => n.includes(second.greeting.id)));
    assert.ok(storage.maxInFlight <= 8);
    assert.deepEqual(await store.remove(AOR), { ok: true });
    assert.deepEqual(await store.load(AOR), { ok: false, reason: 'none' });
    assert.equal(storage.resourcesWith(VOICEMAIL_CHUNK_KIND_ID).length, 0);
    assert.equal((await store.remove(AOR)).ok, false);
  });

  test('refusals and failures: no grant → forbidden (chunks removed); bad audio; a failed chunk', async () => {
    const { storage, store } = rig({ grant: false });
    const r = await store.save(AOR, audioOf(3000));
    assert.ok(!r.ok && r.reason === 'forbidden' && /write grant/.test(r.info));
    assert.equal(storage.resourcesWith(VOICEMAIL_CHUNK_KIND_ID).length, 0, 'its chunks are removed');
    assert.equal((await store.save(AOR, new Uint8Array(0))).ok, false);
    assert.equal((await store.save(AOR, audioOf(63))).ok, false, 'shorter than a chunk may be');
    const big = await store.save(AOR, audioOf(MAX_GREETING_BYTES + 1));
    assert.ok(!big.ok && big.reason === 'bad-audio');
    const t = rig();
    t.storage.failStore = (op) => (op.resourceName.endsWith(':1') ? { ok: false, errorCode: ReloadErrorCode.Forbidden, info: 'nope' } : undefined);
    const failed = await t.store.save(AOR, audioOf(6000));
    assert.ok(!failed.ok && failed.reason === 'failed' && /chunk 1/.test(failed.info));
    assert.equal(t.storage.live(NAME, GREETING_KIND_ID).length, 0, 'no pointer');
  });

  test('load: none, a failing Fetch, a chunk gone or written by another peer', async () => {
    const { storage, store } = rig();
    assert.deepEqual(await store.load(AOR), { ok: false, reason: 'none' });
    const saved = await store.save(AOR, audioOf(5000));
    assert.ok(saved.ok);
    const reader = (): GreetingStore => new GreetingStore({ storage, selfNodeId: nodeA, wallClock: () => EPOCH, random: new SeededRandom(1) });
    storage.failFetch = (kind) => (kind === GREETING_KIND_ID ? { ok: false, errorCode: 0, info: 'unreachable' } : undefined);
    const down = await reader().load(AOR);
    assert.ok(!down.ok && down.reason === 'failed');
    storage.failFetch = undefined;
    // chunk 1 replaced by another writer (the chunk guard would refuse it; a replica could lie)
    const rec = storage.record(greetingChunkResourceName(AOR, saved.greeting.id, 1), VOICEMAIL_CHUNK_KIND_ID)!;
    const forged = single(encodeChunk(nodeB, audioOf(CHUNK_AUDIO_BYTES)));
    rec.entries.clear();
    rec.entries.set(entryKey(forged), { data: storedData(forged), receivedAt: 0, expiresAt: Infinity, size: 1 });
    const lied = await reader().load(AOR);
    assert.ok(!lied.ok && lied.reason === 'failed' && /another peer/.test(lied.info));
    rec.entries.clear();
    const gone = await reader().load(AOR);
    assert.ok(!gone.ok && gone.reason === 'failed' && /chunk 1 is gone/.test(gone.info));
  });

  test('renew: nothing while fresh; stored again (new id) once less than RENEW_BEFORE_S is left', async () => {
    const { store, advance } = rig();
    assert.equal((await store.renew(AOR)).ok, false, 'none');
    const saved = await store.save(AOR, audioOf(4000));
    assert.ok(saved.ok);
    assert.deepEqual(await store.renew(AOR), { ok: true, renewed: false });
    advance((DEFAULT_GREETING_LIFETIME_S - RENEW_BEFORE_S + 60) * 1000);
    assert.deepEqual(await store.renew(AOR), { ok: true, renewed: true });
    const now = await store.load(AOR);
    assert.ok(now.ok);
    assert.notEqual(now.greeting.id, saved.greeting.id);
    assert.deepEqual(now.audio, audioOf(4000));
  });

  test('a tail shorter than MIN_CHUNK_AUDIO_BYTES after the last full chunk is dropped (no tiny chunk)', async () => {
    const { storage, store } = rig();
    const saved = await store.save(AOR, audioOf(2 * CHUNK_AUDIO_BYTES + MIN_CHUNK_AUDIO_BYTES - 1));
    assert.ok(saved.ok);
    assert.equal(saved.greeting.bytes, 2 * CHUNK_AUDIO_BYTES);
    assert.equal(saved.greeting.chunks, 2);
    const kept = await store.save(AOR, audioOf(2 * CHUNK_AUDIO_BYTES + MIN_CHUNK_AUDIO_BYTES));
    assert.ok(kept.ok && kept.greeting.chunks === 3);
    assert.ok(storage.stores.filter((s) => s.kind === VOICEMAIL_CHUNK_KIND_ID && s.value.value.exists).every((s) => s.value.value.value.length >= 16 + MIN_CHUNK_AUDIO_BYTES));
  });

  test('options are checked; the cache is bounded', async () => {
    const { storage, store } = rig({ closed: false });
    assert.throws(() => new GreetingStore({ storage, selfNodeId: nodeA, wallClock: () => 0, random: new SeededRandom(1) }, { lifetimeS: MAX_GREETING_LIFETIME_S + 1 }), RangeError);
    assert.throws(() => new GreetingStore({ storage, selfNodeId: nodeA, wallClock: () => 0, random: new SeededRandom(1) }, { parallel: 0 }), RangeError);
    for (const u of ['a', 'b', 'c']) assert.ok((await store.save(`sip:${u}@p2psip.local`, audioOf(100))).ok);
    assert.throws(() => new GreetingStore({ storage, selfNodeId: nodeA, wallClock: () => 0, random: new SeededRandom(1) }, { cacheSize: -1 }), RangeError);
    assert.equal(store.cached, 2);
  });
});
