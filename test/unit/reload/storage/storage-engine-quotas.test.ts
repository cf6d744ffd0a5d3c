/**
 * Storage quotas per writer (issue 14; RFC 6940 §13.5.2 "pending quota checks"): on one peer, one
 * Node-ID and one user name may hold values at only so many Resource-IDs and so many bytes, on top of
 * the peer's own limit — so one writer cannot fill a peer and lock everyone else out. Past a quota an
 * original Store is Error_Forbidden with a reason. Issue 18: only what the peer stored as responsible
 * peer counts; replicas are neither refused nor counted (in a small overlay every peer holds every
 * value, and counting the replicas refused a registrar's own phones).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { ReloadErrorCode, Writer, writeStoredData } from '../../../../src/reload/codec/index.js';
import type { StoredData, StoredDataValue } from '../../../../src/reload/codec/index.js';
import type { AccessIdentity, KindDefinition, StorageEngineOptions, StoredDataVerifier } from '../../../../src/reload/storage/index.js';
import { DEFAULT_STORAGE_ENGINE_OPTIONS, DEFAULT_WRITER_QUOTAS, MemoryStorageBackend, RECORD_PREFIX, StorageEngine, toHex } from '../../../../src/reload/storage/index.js';
import { decodeKindRecord, recordKey } from '../../../../src/reload/storage/kind-record-codec.js';
import { dict, hash, nodeId, sd as signedByUser, storeReq, utf8 } from './storage-fixtures.js';

/** SIP-REGISTRATION as the LAN overlay has it: a proxy peer writes any AoR's entry under its own Node-ID. */
const SIP = 1;
const PROXY_KINDS: readonly KindDefinition[] = [
  { id: SIP, name: 'SIP-REGISTRATION', dataModel: 'dictionary', accessControl: 'USER-NODE-MATCH', maxCount: 16, maxSize: 1000, proxyPeerWrites: true },
];

const PROXY: AccessIdentity = { userName: 'peer@p2psip.local', nodeIds: [nodeId(0x70)] };
const OTHER_PEER: AccessIdentity = { userName: 'peer@p2psip.local', nodeIds: [nodeId(0x71)] };
const CAROL: AccessIdentity = { userName: 'carol@example.com', nodeIds: [nodeId(0xc0)] };
const CAROL_2: AccessIdentity = { userName: 'carol@example.com', nodeIds: [nodeId(0xc2)] };

/** Signed (in the fake scheme of this test) by `who`: the signature names the user and the Node-ID. */
function sd(who: AccessIdentity, storageTime: bigint, value: StoredDataValue, lifetime = 3600): StoredData {
  const d = signedByUser(who, storageTime, value, lifetime);
  return { ...d, signature: { ...d.signature, signatureValue: utf8(`${who.userName}/${toHex(who.nodeIds[0]!)}`) } };
}

/** Several Node-IDs share a user name here, so the signature carries both. */
class NodeVerifier implements StoredDataVerifier {
  verify(_r: Uint8Array, _k: number, data: StoredData): { ok: true; signer: AccessIdentity } | { ok: false; info: string } {
    const who = [PROXY, OTHER_PEER, CAROL, CAROL_2].find((w) => new TextDecoder().decode(data.signature.signatureValue) === `${w.userName}/${toHex(w.nodeIds[0]!)}`);
    return who === undefined ? { ok: false, info: 'bad signature' } : { ok: true, signer: who };
  }
}

function world(options: StorageEngineOptions = {}) {
  const clock = new ManualClock(1_000_000);
  const backend = new MemoryStorageBackend();
  const verifier = new NodeVerifier();
  const make = (): StorageEngine => new StorageEngine({ clock, backend, kinds: (id) => PROXY_KINDS.find((k) => k.id === id), hashResourceName: hash, verifyStoredData: verifier }, options);
  const w = { clock, backend, engine: make(), reopen: () => (w.engine = make()) };
  return w;
}

const aor = (i: number): Uint8Array => hash(utf8(`sip:phone${i}@p2psip.local`));

/** An original Store of `who`'s registration entry for AoR i (value of `size` bytes). */
function register(engine: StorageEngine, who: AccessIdentity, i: number, t = 1n, size = 20, lifetime = 3600) {
  const value = `sip:phone${i}@x`.padEnd(size, '.');
  return engine.store(storeReq(aor(i), SIP, [sd(who, t, dict(who.nodeIds[0]!, value), lifetime)]), { requester: who });
}

describe('storage quotas per writer', () => {
  test('per Node-ID: past N Resource-IDs an original Store is Error_Forbidden with a reason; other writers and updates still pass', () => {
    const { engine } = world({ maxResourcesPerNodeId: 3 });
    for (let i = 0; i < 3; i++) assert.ok(register(engine, PROXY, i).ok, `AoR ${i}`);
    const r = register(engine, PROXY, 3);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.code, ReloadErrorCode.Forbidden);
    assert.match(!r.ok ? r.info : '', /quota.*Node-ID 7000.*3 Resource-IDs.*max 3/);
    assert.deepEqual(engine.writerUsage({ nodeId: toHex(PROXY.nodeIds[0]!) }), { resources: 3, bytes: engine.summary().bytes });
    // the peer is not full: another writer stores, also at a resource the first one holds
    assert.ok(register(engine, OTHER_PEER, 3).ok);
    assert.ok(register(engine, OTHER_PEER, 0).ok);
    // the writer at its quota still refreshes and removes what it holds
    assert.ok(register(engine, PROXY, 1, 2n).ok, 'refresh');
    const del = engine.store(storeReq(aor(2), SIP, [sd(PROXY, 3n, dict(PROXY.nodeIds[0]!, '', false))]), { requester: PROXY });
    assert.ok(del.ok, 'a tombstone in place of its own value');
  });

  test('per Node-ID: expiry frees the quota', () => {
    const w = world({ maxResourcesPerNodeId: 2 });
    assert.ok(register(w.engine, PROXY, 0, 1n, 20, 60).ok);
    assert.ok(register(w.engine, PROXY, 1, 1n, 20, 3600).ok);
    assert.equal(register(w.engine, PROXY, 2).ok, false);
    w.clock.advance(61_000);
    assert.ok(register(w.engine, PROXY, 2).ok, 'the expired value no longer counts');
    assert.equal(w.engine.writerUsage({ nodeId: toHex(PROXY.nodeIds[0]!) }).resources, 2);
  });

  test('per Node-ID bytes: growth past M bytes is refused; a smaller value is taken', () => {
    // one entry: 48 + value + key (16) + signature ('peer@p2psip.local/' + 32 hex digits = 50)
    const per = (size: number): number => 48 + size + 16 + 50;
    const { engine } = world({ maxBytesPerNodeId: per(100) * 2 });
    assert.ok(register(engine, PROXY, 0, 1n, 100).ok);
    assert.ok(register(engine, PROXY, 1, 1n, 100).ok);
    const grow = register(engine, PROXY, 1, 2n, 101);
    assert.equal(!grow.ok && grow.code, ReloadErrorCode.Forbidden);
    assert.match(!grow.ok ? grow.info : '', /quota.*bytes.*max/);
    assert.ok(register(engine, PROXY, 1, 3n, 50).ok);
    assert.equal(engine.writerUsage({ nodeId: toHex(PROXY.nodeIds[0]!) }).bytes, per(100) + per(50));
  });

  test('per user name: two Node-IDs of one user share its quota', () => {
    const { engine } = world({ maxResourcesPerUser: 3 });
    assert.ok(register(engine, CAROL, 0).ok);
    assert.ok(register(engine, CAROL, 1).ok);
    assert.ok(register(engine, CAROL_2, 2).ok);
    const r = register(engine, CAROL_2, 3);
    assert.equal(!r.ok && r.code, ReloadErrorCode.Forbidden);
    assert.match(!r.ok ? r.info : '', /user carol@example\.com/);
    assert.deepEqual(engine.writerUsage({ userName: 'carol@example.com' }).resources, 3);
  });

  test('replica Stores are neither refused nor counted (the responsible peer checked its quota)', () => {
    const { engine } = world({ maxResourcesPerNodeId: 2 });
    for (let i = 0; i < 3; i++) {
      const r = engine.store(storeReq(aor(i), SIP, [sd(PROXY, 1n, dict(PROXY.nodeIds[0]!, 'sip:x'))], 1n, 1));
      assert.ok(r.ok, `replica ${i}`);
    }
    assert.equal(engine.summary().resources, 3);
    assert.deepEqual(engine.writerUsage({ nodeId: toHex(PROXY.nodeIds[0]!) }), { resources: 0, bytes: 0 });
    assert.ok(register(engine, PROXY, 9).ok, 'an original Store: the replicas left the quota free');
    // this peer became responsible for a replica: the writer's refresh makes it an original, counted
    assert.ok(register(engine, PROXY, 0, 2n).ok);
    assert.equal(engine.writerUsage({ nodeId: toHex(PROXY.nodeIds[0]!) }).resources, 2);
    const r = register(engine, PROXY, 1, 2n);
    assert.equal(!r.ok && r.code, ReloadErrorCode.Forbidden, 'past the quota of originals');
    assert.equal(engine.replicaNumber(aor(1)), 1, 'the refused Store left the replica as it was');
  });

  test('3 peers, one writer with 20,000 values: each peer holds all of them, its originals fit the quota', () => {
    // A registrar peer writes every phone's registration under its own Node-ID (proxyPeerWrites).
    // Each peer is responsible for a third of the ring and holds the rest as replica 1 or 2. The
    // quota (10,000 per Node-ID here) counts the ~6,700 originals of each peer, not its 20,000.
    const peers = [world({ maxResourcesPerNodeId: 10_000 }), world({ maxResourcesPerNodeId: 10_000 }), world({ maxResourcesPerNodeId: 10_000 })];
    const N = 20_000;
    for (let i = 0; i < N; i++) {
      const owner = aor(i)[0]! % 3;
      const r = register(peers[owner]!.engine, PROXY, i);
      assert.ok(r.ok, `AoR ${i}: ${r.ok ? '' : r.info}`);
      assert.ok(r.replicate, 'an original Store has a StoreReq for the replicas');
      assert.ok(peers[(owner + 1) % 3]!.engine.store(r.replicate).ok, `replica 1 of AoR ${i}`);
      assert.ok(peers[(owner + 2) % 3]!.engine.store({ ...r.replicate, replicaNumber: 2 }).ok, `replica 2 of AoR ${i}`);
    }
    let originals = 0;
    for (const p of peers) {
      assert.equal(p.engine.summary().resources, N);
      const held = p.engine.writerUsage({ nodeId: toHex(PROXY.nodeIds[0]!) }).resources;
      assert.ok(held > 5_000 && held < 8_000, `originals held: ${held}`);
      originals += held;
    }
    assert.equal(originals, N);
    // the quota still binds: originals past it are refused on the peer responsible for them
    const small = world({ maxResourcesPerNodeId: 100 });
    for (let i = 0; i < 100; i++) assert.ok(register(small.engine, PROXY, i).ok);
    assert.equal(register(small.engine, PROXY, 100).ok, false);
  });

  test('the accounting survives a restart (writers are persisted with the values)', async () => {
    const w = world({ maxResourcesPerNodeId: 2 });
    assert.ok(register(w.engine, PROXY, 0).ok);
    assert.ok(register(w.engine, PROXY, 1).ok);
    await w.engine.close();
    const engine = w.reopen();
    assert.equal(engine.writerUsage({ nodeId: toHex(PROXY.nodeIds[0]!) }).resources, 2);
    assert.equal(register(engine, PROXY, 2).ok, false);
    // a dropped resource (left our replica set) frees its share
    assert.ok(engine.drop(aor(0)));
    assert.ok(register(engine, PROXY, 2).ok);
  });

  test('records written before writers were recorded (version 1) are read, and not charged', () => {
    const w = world({ maxResourcesPerNodeId: 1 });
    const data = sd(PROXY, 1n, dict(PROXY.nodeIds[0]!, 'sip:old'));
    const v1 = new Writer('KindRecord');
    v1.u8(1, 'version');
    v1.u8(2, 'model'); // dictionary
    v1.u8(0, 'replica_number');
    v1.u64(1n, 'generation');
    v1.u32(1, 'count');
    v1.u64(1_000_000n, 'received_at');
    v1.u64(1_000_000n + 3_600_000n, 'expires_at');
    writeStoredData(v1, data);
    const bytes = v1.finish();
    const decoded = decodeKindRecord(SIP, bytes);
    assert.equal(decoded.entries.size, 1);
    assert.equal([...decoded.entries.values()][0]!.writer, undefined);
    w.backend.batch([{ type: 'put', key: recordKey(aor(0), SIP), value: bytes }]);
    const engine = w.reopen();
    assert.equal(engine.summary().values, 1);
    assert.equal(engine.writerUsage({ nodeId: toHex(PROXY.nodeIds[0]!) }).resources, 0);
    assert.ok(register(engine, PROXY, 1).ok);
    assert.ok([...w.backend.entries(Uint8Array.of(RECORD_PREFIX))].length >= 2);
  });

  test('defaults: half of the peer (1,000,000 Resource-IDs, 512 MiB of its 2,000,000 and 1 GiB) per Node-ID and per user, explicit and positive', () => {
    assert.equal(DEFAULT_STORAGE_ENGINE_OPTIONS.maxResources, 2_000_000);
    assert.equal(DEFAULT_STORAGE_ENGINE_OPTIONS.maxBytes, 1024 * 1024 * 1024);
    assert.equal(DEFAULT_STORAGE_ENGINE_OPTIONS.maxResourcesPerNodeId, 1_000_000);
    assert.equal(DEFAULT_STORAGE_ENGINE_OPTIONS.maxBytesPerNodeId, 512 * 1024 * 1024);
    assert.equal(DEFAULT_STORAGE_ENGINE_OPTIONS.maxResourcesPerUser, 1_000_000);
    assert.equal(DEFAULT_STORAGE_ENGINE_OPTIONS.maxBytesPerUser, 512 * 1024 * 1024);
    assert.deepEqual(DEFAULT_WRITER_QUOTAS, { maxResourcesPerNodeId: 1_000_000, maxBytesPerNodeId: 512 * 1024 * 1024, maxResourcesPerUser: 1_000_000, maxBytesPerUser: 512 * 1024 * 1024 });
    assert.deepEqual(world().engine.limits, DEFAULT_STORAGE_ENGINE_OPTIONS);
    assert.throws(() => world({ maxResourcesPerNodeId: 0 }));
  });

  test('quotas not given are half of the limits given: one writer never fills the peer', () => {
    const { engine } = world({ maxResources: 9, maxBytes: 100_000, maxResourcesPerUser: Infinity });
    assert.equal(engine.limits.maxResourcesPerNodeId, 5);
    assert.equal(engine.limits.maxBytesPerNodeId, 50_000);
    assert.equal(engine.limits.maxResourcesPerUser, Infinity);
    for (let i = 0; i < 5; i++) assert.ok(register(engine, PROXY, i).ok, `AoR ${i}`);
    const r = register(engine, PROXY, 5);
    assert.equal(!r.ok && r.code, ReloadErrorCode.Forbidden);
    assert.match(!r.ok ? r.info : '', /max 5\b/);
    for (let i = 5; i < 9; i++) assert.ok(register(engine, OTHER_PEER, i).ok, 'the peer itself still takes other writers');
    const full = register(engine, OTHER_PEER, 9);
    assert.equal(!full.ok && full.code, ReloadErrorCode.DataTooLarge, 'then the peer is full');
  });
});
