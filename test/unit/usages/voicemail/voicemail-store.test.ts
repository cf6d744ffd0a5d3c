/** Issue 16: voicemail's storage layout (index + chunks), its client, and the storing peer's guards. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ReloadErrorCode, type StoredDataValue } from '../../../../src/reload/codec/index.js';
import { entryKey, WRITE_GRANT_KIND_ID, writeGrantValue, type GuardRequest, type KindRecord } from '../../../../src/reload/storage/index.js';
import type { KindDefinition } from '../../../../src/reload/storage/kind.js';
import { VoicemailChunkGuard, VoicemailIndexGuard } from '../../../../src/usages/voicemail/voicemail-guard.js';
import {
  CHUNK_AUDIO_BYTES,
  MAX_VOICEMAIL_CHUNKS,
  MAX_VOICEMAILS_PER_USER,
  VOICEMAIL_CHUNK_KIND_ID,
  VOICEMAIL_KIND_ID,
  VoicemailStore,
  VoicemailStoreError,
  chunkResourceName,
  compareKeys,
  decodeChunk,
  decodeVoicemailEntry,
  encodeChunk,
  encodeVoicemailEntry,
  runBounded,
  voicemailKey,
  voicemailKeyWriter,
  type VoicemailEntry,
} from '../../../../src/usages/voicemail/voicemail-store.js';
import { CHUNK_KIND, INDEX_KIND, MemoryVoicemailStorage, storedData } from './voicemail-fixtures.js';

const nodeA = new Uint8Array(16).fill(0xa);
const nodeB = new Uint8Array(16).fill(0xb);
const AOR = 'sip:alice@p2psip.local';
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function entryFor(writer: Uint8Array, n: number, bytes = 5000): VoicemailEntry {
  return { id: hex(voicemailKey(writer, 1000 + n, n)), from: '"Carol" <sip:carol@p2psip.local>', date: 1_700_000_000_000 + n, durationMs: Math.round(bytes / 8), format: 'pcmu', chunks: Math.ceil(bytes / CHUNK_AUDIO_BYTES), bytes };
}

function indexValue(writer: Uint8Array, n: number, exists = true): StoredDataValue {
  const key = voicemailKey(writer, 1000 + n, n);
  return { model: 'dictionary', key, value: { exists, value: exists ? encodeVoicemailEntry(entryFor(writer, n)) : new Uint8Array(0) } };
}

function guardRequest(kind: KindDefinition, value: StoredDataValue, signer: Uint8Array, records: Map<number, KindRecord> = new Map(), lifetime = 3600): GuardRequest {
  return {
    resource: new Uint8Array(16),
    kind,
    data: storedData(value, lifetime),
    signer: { userName: 'peer@p2psip.local', nodeIds: [signer] },
    requester: { userName: 'peer@p2psip.local', nodeIds: [signer] },
    now: 1000,
    current: (k) => records.get(k),
    kinds: () => kind,
  };
}

function recordOf(kind: number, values: StoredDataValue[], expiresAt = 10_000): KindRecord {
  return { kind, model: values[0]?.model ?? 'dictionary', generation: 1n, replicaNumber: 0, entries: new Map(values.map((v) => [entryKey(v), { data: storedData(v), receivedAt: 0, expiresAt, size: 100 }])) };
}

/** µ-law bytes of a recognisable pattern. */
function audioOf(n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 7 + (i >> 8)) & 0xff);
}

describe('voicemail values', () => {
  test('index entry round trip; keys name their writer and order by time then counter', () => {
    const e = entryFor(nodeA, 3);
    assert.deepEqual(decodeVoicemailEntry(encodeVoicemailEntry(e)), e);
    const k = voicemailKey(nodeA, 5, 2);
    assert.equal(k.length, 28);
    assert.deepEqual(voicemailKeyWriter(k, 16), nodeA);
    assert.equal(voicemailKeyWriter(k, 20), undefined);
    assert.ok(compareKeys(voicemailKey(nodeB, 5, 1), voicemailKey(nodeA, 6, 0)) < 0);
    assert.ok(compareKeys(voicemailKey(nodeB, 5, 1), voicemailKey(nodeA, 5, 2)) < 0);
    assert.equal(chunkResourceName('sip:Alice@P2PSIP.local', e.id, 7), `vm:Alice@p2psip.local:${e.id}:7`);
  });

  test('bad index values and chunks are refused with the reason, never a crash', () => {
    const ok = JSON.parse(new TextDecoder().decode(encodeVoicemailEntry(entryFor(nodeA, 1)))) as Record<string, unknown>;
    const bad = (o: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(o));
    assert.throws(() => decodeVoicemailEntry(new Uint8Array([0xff])), /not UTF-8 JSON/);
    assert.throws(() => decodeVoicemailEntry(bad({ ...ok, v: 2 })), /unknown version/);
    assert.throws(() => decodeVoicemailEntry(bad({ ...ok, format: 'opus' })), /format/);
    assert.throws(() => decodeVoicemailEntry(bad({ ...ok, chunks: 1 })), /chunks do not hold/);
    assert.throws(() => decodeVoicemailEntry(bad({ ...ok, bytes: MAX_VOICEMAIL_CHUNKS * CHUNK_AUDIO_BYTES + 1 })), /bytes/);
    assert.throws(() => decodeVoicemailEntry(bad({ ...ok, from: 'a\nb' })), /from/);
    assert.throws(() => decodeVoicemailEntry(bad({ ...ok, id: 'zz' })), /id/);
    assert.throws(() => encodeChunk(nodeA, new Uint8Array(CHUNK_AUDIO_BYTES + 1)), VoicemailStoreError);
    assert.throws(() => decodeChunk(nodeA, 16), /Node-ID and 1 to 2400/);
    const c = decodeChunk(encodeChunk(nodeA, audioOf(10)), 16);
    assert.deepEqual([hex(c.writer), hex(c.audio)], [hex(nodeA), hex(audioOf(10))]);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        try {
          decodeVoicemailEntry(bytes);
        } catch (e) {
          assert.ok(e instanceof VoicemailStoreError);
        }
      }),
    );
  });

  test('runBounded keeps at most `limit` in flight and stops starting work after a failure', async () => {
    let inFlight = 0;
    let max = 0;
    const started: number[] = [];
    const ok = await runBounded([...Array(20).keys()], 3, async (i) => {
      started.push(i);
      inFlight++;
      max = Math.max(max, inFlight);
      await new Promise<void>((r) => setImmediate(r));
      inFlight--;
      return i !== 4;
    });
    assert.equal(ok, false);
    assert.equal(max, 3);
    assert.ok(started.length < 20, 'no new work after the failure');
  });
});

describe('the P2PSIP-VOICEMAIL guard (index)', () => {
  test('a peer writes entries only under its own Node-ID, readable, naming their key, within the lifetime limit', () => {
    const g = new VoicemailIndexGuard({ nodeIdLength: 16, closed: true });
    assert.deepEqual(g.check(guardRequest(INDEX_KIND, indexValue(nodeA, 1), nodeA)), { ok: true, keep: true });
    const foreign = g.check(guardRequest(INDEX_KIND, indexValue(nodeA, 2), nodeB));
    assert.match(!foreign.ok ? foreign.info : '', /does not name the signer/);
    const other: StoredDataValue = { model: 'dictionary', key: voicemailKey(nodeA, 9, 9), value: { exists: true, value: encodeVoicemailEntry(entryFor(nodeA, 1)) } };
    assert.match((r => (!r.ok ? r.info : ''))(g.check(guardRequest(INDEX_KIND, other, nodeA))), /another key/);
    const garbage: StoredDataValue = { model: 'dictionary', key: voicemailKey(nodeA, 1, 1), value: { exists: true, value: new Uint8Array([1]) } };
    assert.match((r => (!r.ok ? r.info : ''))(g.check(guardRequest(INDEX_KIND, garbage, nodeA))), /not a voicemail index entry/);
    const shortKey: StoredDataValue = { model: 'dictionary', key: nodeA, value: { exists: true, value: new Uint8Array(0) } };
    assert.match((r => (!r.ok ? r.info : ''))(g.check(guardRequest(INDEX_KIND, shortKey, nodeA))), /Node-ID and 12 bytes/);
    assert.match((r => (!r.ok ? r.info : ''))(g.check(guardRequest(INDEX_KIND, indexValue(nodeA, 3), nodeA, new Map(), 31 * 86_400))), /lifetime/);
  });

  test(`a full mailbox (${MAX_VOICEMAILS_PER_USER} live) refuses the next with Error_Data_Too_Large; expired ones and tombstones do not count`, () => {
    const g = new VoicemailIndexGuard({ nodeIdLength: 16, closed: true });
    const live = Array.from({ length: MAX_VOICEMAILS_PER_USER }, (_, i) => indexValue(nodeA, i));
    const full = g.check(guardRequest(INDEX_KIND, indexValue(nodeA, 99), nodeA, new Map([[VOICEMAIL_KIND_ID, recordOf(VOICEMAIL_KIND_ID, live)]])));
    assert.equal(full.ok, false);
    assert.equal(!full.ok && full.code, ReloadErrorCode.DataTooLarge);
    assert.match(!full.ok ? full.info : '', /mailbox full/);
    assert.equal(g.check(guardRequest(INDEX_KIND, live[0]!, nodeA, new Map([[VOICEMAIL_KIND_ID, recordOf(VOICEMAIL_KIND_ID, live)]]))).ok, true, 'the writer storing one again');
    assert.equal(g.check(guardRequest(INDEX_KIND, indexValue(nodeA, 99), nodeA, new Map([[VOICEMAIL_KIND_ID, recordOf(VOICEMAIL_KIND_ID, live, 500)]]))).ok, true, 'expired');
    const tombs = live.map((v) => ({ ...v, value: { exists: false, value: new Uint8Array(0) } }) as StoredDataValue);
    assert.equal(g.check(guardRequest(INDEX_KIND, indexValue(nodeA, 99), nodeA, new Map([[VOICEMAIL_KIND_ID, recordOf(VOICEMAIL_KIND_ID, tombs)]]))).ok, true, 'tombstones');
    assert.equal(new VoicemailIndexGuard({ nodeIdLength: 16, closed: true, perUser: 2 }).check(guardRequest(INDEX_KIND, indexValue(nodeA, 99), nodeA, new Map([[VOICEMAIL_KIND_ID, recordOf(VOICEMAIL_KIND_ID, live.slice(0, 2))]]))).ok, false);
    assert.throws(() => new VoicemailIndexGuard({ nodeIdLength: 16, closed: true, perUser: 0 }), RangeError);
  });

  test('removal: by its writer; closed overlay: by a peer with a live write grant for the user here; open: by anyone', () => {
    const closed = new VoicemailIndexGuard({ nodeIdLength: 16, closed: true });
    const gone = indexValue(nodeA, 1, false);
    assert.equal(closed.check(guardRequest(INDEX_KIND, gone, nodeA)).ok, true);
    const stranger = closed.check(guardRequest(INDEX_KIND, gone, nodeB));
    assert.match(!stranger.ok ? stranger.info : '', /write grant/);
    const grant = writeGrantValue(nodeB, 50_000);
    assert.equal(closed.check(guardRequest(INDEX_KIND, gone, nodeB, new Map([[WRITE_GRANT_KIND_ID, recordOf(WRITE_GRANT_KIND_ID, [grant])]]))).ok, true);
    assert.equal(closed.check(guardRequest(INDEX_KIND, gone, nodeB, new Map([[WRITE_GRANT_KIND_ID, recordOf(WRITE_GRANT_KIND_ID, [grant], 999)]]))).ok, false, 'an expired grant');
    assert.equal(new VoicemailIndexGuard({ nodeIdLength: 16, closed: false }).check(guardRequest(INDEX_KIND, gone, nodeB)).ok, true);
    assert.deepEqual(closed.counts, { kept: 0, removed: 2, refused: 2 });
  });
});

describe('the P2PSIP-VOICEMAIL-CHUNK guard', () => {
  const chunk = (writer: Uint8Array, n = 100): StoredDataValue => ({ model: 'single', value: { exists: true, value: encodeChunk(writer, audioOf(n)) } });
  const gone: StoredDataValue = { model: 'single', value: { exists: false, value: new Uint8Array(0) } };

  test('creation only with the signer Node-ID as prefix, at most 2,400 bytes of audio, a bounded lifetime', () => {
    const g = new VoicemailChunkGuard({ nodeIdLength: 16 });
    assert.deepEqual(g.check(guardRequest(CHUNK_KIND, chunk(nodeA), nodeA)), { ok: true, keep: true });
    assert.match((r => (!r.ok ? r.info : ''))(g.check(guardRequest(CHUNK_KIND, chunk(nodeA), nodeB))), /signer's Node-ID/);
    const big: StoredDataValue = { model: 'single', value: { exists: true, value: new Uint8Array(16 + CHUNK_AUDIO_BYTES + 1) } };
    assert.match((r => (!r.ok ? r.info : ''))(g.check(guardRequest(CHUNK_KIND, big, nodeA))), /1 to 2400 bytes/);
    assert.match((r => (!r.ok ? r.info : ''))(g.check(guardRequest(CHUNK_KIND, chunk(nodeA), nodeA, new Map(), 40 * 86_400))), /lifetime/);
    assert.equal(g.check(guardRequest(CHUNK_KIND, { model: 'dictionary', key: nodeA, value: { exists: true, value: nodeA } }, nodeA)).ok, false);
  });

  test('a live chunk is replaced only by its writer; removal by anyone (then a new writer may write)', () => {
    const g = new VoicemailChunkGuard({ nodeIdLength: 16 });
    const held = new Map([[VOICEMAIL_CHUNK_KIND_ID, recordOf(VOICEMAIL_CHUNK_KIND_ID, [chunk(nodeA)])]]);
    assert.equal(g.check(guardRequest(CHUNK_KIND, chunk(nodeA, 50), nodeA, held)).ok, true, 'its writer');
    assert.match((r => (!r.ok ? r.info : ''))(g.check(guardRequest(CHUNK_KIND, chunk(nodeB), nodeB, held))), /only by its writer/);
    assert.equal(g.check(guardRequest(CHUNK_KIND, gone, nodeB, held)).ok, true, 'removal by anyone');
    const tomb = new Map([[VOICEMAIL_CHUNK_KIND_ID, recordOf(VOICEMAIL_CHUNK_KIND_ID, [gone])]]);
    assert.equal(g.check(guardRequest(CHUNK_KIND, chunk(nodeB), nodeB, tomb)).ok, true);
    assert.equal(g.check(guardRequest(CHUNK_KIND, chunk(nodeB), nodeB, new Map([[VOICEMAIL_CHUNK_KIND_ID, recordOf(VOICEMAIL_CHUNK_KIND_ID, [chunk(nodeA)], 999)]]))).ok, true, 'an expired chunk');
  });
});

describe('VoicemailStore on an overlay that runs the guards', () => {
  function rig(o: { closed?: boolean; perUser?: number; parallel?: number } = {}) {
    let now = 1_700_000_000_000;
    const storage = new MemoryVoicemailStorage(() => now, nodeA, o);
    const store = new VoicemailStore({ storage, selfNodeId: nodeA, wallClock: () => now }, o.parallel === undefined ? {} : { parallel: o.parallel });
    return { storage, store, tick: (ms: number) => (now += ms) };
  }

  test('a 24 s message: 80 chunks of 2,400 bytes (the last shorter), at most 8 Stores at once, the index entry last; read back whole', async () => {
    const { storage, store } = rig();
    const audio = audioOf(24 * 8000 - 1000);
    const saved = await store.save(AOR, { from: '<sip:carol@p2psip.local>', durationMs: 23_875, audio });
    assert.ok(saved.ok);
    const e = saved.entry;
    assert.equal(e.chunks, 80);
    assert.equal(e.bytes, audio.length);
    assert.equal(storage.stores.length, 81);
    assert.equal(storage.stores.at(-1)!.kind, VOICEMAIL_KIND_ID, 'the index entry last');
    assert.equal(storage.stores.at(-1)!.resourceName, 'alice@p2psip.local');
    assert.ok(storage.maxInFlight <= 8 && storage.maxInFlight > 1, `in flight ${storage.maxInFlight}`);
    assert.equal(storage.resourcesWith(VOICEMAIL_CHUNK_KIND_ID).length, 80);
    const last = storage.live(chunkResourceName(AOR, e.id, 79), VOICEMAIL_CHUNK_KIND_ID)[0]!.data.value.value.value;
    assert.equal(last.length, 16 + (audio.length - 79 * CHUNK_AUDIO_BYTES));
    assert.ok(storage.stores.every((s) => s.kind !== VOICEMAIL_CHUNK_KIND_ID || s.lifetime > storage.stores.at(-1)!.lifetime), 'chunks outlive the index');
    const listed = await store.list(AOR);
    assert.ok(listed.ok);
    assert.deepEqual(listed.entries, [e]);
    const back = await store.audio(AOR, e);
    assert.ok(back.ok);
    assert.equal(hex(back.audio), hex(audio));
  });

  test('a chunk that fails: no index entry, the chunks written are removed', async () => {
    const { storage, store } = rig();
    storage.failStore = (op) => (op.kind === VOICEMAIL_CHUNK_KIND_ID && op.resourceName.endsWith(':5') && op.value.value.exists ? { ok: false, errorCode: ReloadErrorCode.RequestTimeout, info: 'timeout' } : undefined);
    const saved = await store.save(AOR, { from: 'x', durationMs: 3000, audio: audioOf(24_000) });
    assert.equal(saved.ok, false);
    assert.match(!saved.ok ? saved.info : '', /chunk 5: timeout/);
    assert.equal(storage.stores.filter((s) => s.kind === VOICEMAIL_KIND_ID).length, 0, 'no index entry');
    assert.deepEqual(storage.resourcesWith(VOICEMAIL_CHUNK_KIND_ID), [], 'every chunk written was removed');
    const listed = await store.list(AOR);
    assert.deepEqual(listed, { ok: true, entries: [] });
  });

  test("a voicemail past the guard's quota: 'full', its chunks removed", async () => {
    const { storage, store, tick } = rig({ perUser: 3 });
    for (let i = 0; i < 3; i++) {
      tick(1000);
      assert.ok((await store.save(AOR, { from: 'x', durationMs: 500, audio: audioOf(4000) })).ok);
    }
    tick(1000);
    const full = await store.save(AOR, { from: 'x', durationMs: 500, audio: audioOf(4000) });
    assert.deepEqual(full.ok ? undefined : full.reason, 'full');
    assert.equal(storage.resourcesWith(VOICEMAIL_CHUNK_KIND_ID).length, 6);
    const listed = await store.list(AOR);
    assert.equal(listed.ok && listed.entries.length, 3);
  });

  test('remove: index tombstone first, then every chunk; a missing or foreign chunk makes the audio unreadable', async () => {
    const { storage, store, tick } = rig();
    const a = await store.save(AOR, { from: 'x', durationMs: 1000, audio: audioOf(5000) });
    tick(10);
    const b = await store.save(AOR, { from: 'y', durationMs: 1000, audio: audioOf(5000) });
    assert.ok(a.ok && b.ok);
    const before = storage.stores.length;
    assert.deepEqual(await store.remove(AOR, a.entry.id), { ok: true });
    const ops = storage.stores.slice(before);
    assert.equal(ops[0]!.kind, VOICEMAIL_KIND_ID);
    assert.equal(ops[0]!.value.value.exists, false);
    assert.equal(ops.filter((o) => o.kind === VOICEMAIL_CHUNK_KIND_ID && !o.value.value.exists).length, 3);
    const listed = await store.list(AOR);
    assert.deepEqual(listed.ok && listed.entries.map((e) => e.id), [b.entry.id]);
    // chunk 1 of b removed by someone and written again by another peer: refused on reading
    storage.signer = nodeB;
    await storage.store(VOICEMAIL_CHUNK_KIND_ID, { resourceName: chunkResourceName(AOR, b.entry.id, 1) }, [{ model: 'single', value: { exists: false, value: new Uint8Array(0) } }]);
    const missing = await store.audio(AOR, b.entry);
    assert.deepEqual(missing.ok ? undefined : missing.reason, 'missing');
    await storage.store(VOICEMAIL_CHUNK_KIND_ID, { resourceName: chunkResourceName(AOR, b.entry.id, 1) }, [{ model: 'single', value: { exists: true, value: encodeChunk(nodeB, audioOf(2400)) } }]);
    const foreign = await store.audio(AOR, b.entry);
    assert.match(foreign.ok ? '' : foreign.info, /another peer/);
  });

  test('a closed overlay refuses removal by a peer without a write grant: reason forbidden', async () => {
    const { storage, store } = rig();
    const a = await store.save(AOR, { from: 'x', durationMs: 1000, audio: audioOf(3000) });
    assert.ok(a.ok);
    storage.signer = nodeB;
    const r = await new VoicemailStore({ storage, selfNodeId: nodeB, wallClock: () => 1_700_000_000_000 }).remove(AOR, a.entry.id);
    assert.deepEqual(r.ok ? undefined : r.reason, 'forbidden');
  });

  test('options are checked', () => {
    const storage = new MemoryVoicemailStorage(() => 0, nodeA);
    assert.throws(() => new VoicemailStore({ storage, selfNodeId: nodeA, wallClock: () => 0 }, { parallel: 0 }), RangeError);
    assert.throws(() => new VoicemailStore({ storage, selfNodeId: nodeA, wallClock: () => 0 }, { lifetimeS: 31 * 86_400 }), RangeError);
  });
});
