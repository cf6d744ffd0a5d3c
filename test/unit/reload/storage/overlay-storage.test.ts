import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ReloadErrorCode } from '../../../../src/reload/codec/index.js';
import type { StoredDataValue } from '../../../../src/reload/codec/index.js';
import { StorageWorld } from '../overlay/support/storage-world.js';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const single = (s: string): StoredDataValue => ({ model: 'single', value: { exists: true, value: utf8(s) } });
const PROFILE = 100;
const SIP = 1;

async function world(n: number, seed = 1): Promise<StorageWorld> {
  const w = new StorageWorld(seed);
  for (let i = 0; i < n; i++) await w.add();
  await w.run(3000);
  return w;
}

describe('OverlayStorage (RFC 6940 §7.4, §10.4)', () => {
  test('a value stored at one peer is fetched, verified, from another; three copies exist', async () => {
    const w = await world(8);
    const alice = w.peers[2]!;
    const bob = w.peers[6]!;
    const ref = { resourceName: alice.identity.certificate.userName };
    const s = await w.settle(alice.storage.store(PROFILE, ref, [single('hello')]));
    assert.ok(s.ok, s.ok ? '' : s.info);
    assert.equal(s.answer.kindResponses[0]!.replicas.length, 2);
    await w.run(1000);
    const f = await w.settle(bob.storage.fetch(PROFILE, ref));
    assert.ok(f.ok, f.ok ? '' : f.info);
    assert.equal(f.values.length, 1);
    assert.equal(f.rejected.length, 0);
    assert.deepEqual(f.values[0]!.data.value.value.value, utf8('hello'));
    assert.equal(f.values[0]!.signer.userName, alice.identity.certificate.userName);
    const resource = alice.storage.resourceId(ref);
    const order = w.ringOrder(resource).slice(0, 3);
    assert.deepEqual(w.holders(resource).map((p) => p.node.id), order.map((p) => p.node.id));
    assert.deepEqual(order.map((p) => p.engine.replicaNumber(resource)), [0, 1, 2]);
  });

  test('a dictionary value (SIP-REGISTRATION, USER-NODE-MATCH) keyed by the writer\'s Node-ID; Stat at a replica', async () => {
    const w = await world(6, 2);
    const alice = w.peers[1]!;
    const ref = { resourceName: alice.identity.certificate.userName };
    const key = alice.identity.certificate.nodeIds[0]!;
    const s = await w.settle(alice.storage.store(SIP, ref, [{ model: 'dictionary', key, value: { exists: true, value: new Uint8Array(200).fill(7) } }]));
    assert.ok(s.ok, s.ok ? '' : s.info);
    await w.run(1000);
    const resource = alice.storage.resourceId(ref);
    const replica = w.ringOrder(resource)[2]!;
    const st = await w.settle(w.peers[4]!.storage.stat(SIP, ref, { keys: [key] }, replica.node.idBytes));
    assert.ok(st.ok, st.ok ? '' : st.info);
    assert.equal(st.kind?.values.length, 1);
    assert.equal(st.kind?.values[0]!.metadata.value.valueLength, 200);
  });

  test('a store under another user\'s Resource-ID is refused (Forbidden); so is a replayed older value', async () => {
    const w = await world(6, 3);
    const alice = w.peers[1]!;
    const mallory = w.peers[3]!;
    const ref = { resourceName: alice.identity.certificate.userName };
    const forged = await w.settle(mallory.storage.store(PROFILE, ref, [single('mine now')]));
    assert.ok(!forged.ok);
    assert.equal(forged.errorCode, ReloadErrorCode.Forbidden);
    const first = await w.settle(alice.storage.store(PROFILE, ref, [single('v1')]));
    assert.ok(first.ok);
    const resource = alice.storage.resourceId(ref);
    // keep the signed v1 for a replay
    const f1 = await w.settle(mallory.storage.fetch(PROFILE, ref));
    assert.ok(f1.ok && f1.values.length === 1);
    const v1 = f1.values[0]!.data;
    await w.run(10);
    const second = await w.settle(alice.storage.store(PROFILE, ref, [single('v2')]));
    assert.ok(second.ok);
    // replayed by someone else: the StoreReq's signer must conform to the policy too (§7.3)
    const replay = await w.settle(mallory.storage.storeSigned(resource, PROFILE, [v1]));
    assert.ok(!replay.ok);
    assert.equal(replay.errorCode, ReloadErrorCode.Forbidden);
    // replayed through Alice's own node: older storage_time than the stored value (§7.4.1.1)
    const rollback = await w.settle(alice.storage.storeSigned(resource, PROFILE, [v1]));
    assert.ok(!rollback.ok);
    assert.equal(rollback.errorCode, ReloadErrorCode.DataTooOld);
    const f2 = await w.settle(mallory.storage.fetch(PROFILE, ref));
    assert.ok(f2.ok);
    assert.deepEqual(f2.values[0]!.data.value.value.value, utf8('v2'));
  });

  test('an appended array value verifies at the fetcher (index 0 in the signature, §7.4.2.2)', async () => {
    const w = await world(5, 4);
    const a = w.peers[2]!;
    const ref = { resourceName: a.identity.certificate.nodeIds[0]! };
    const s = await w.settle(a.storage.store(3, ref, [{ model: 'array', index: 0xffffffff, value: { exists: true, value: utf8('one') } }]));
    assert.ok(s.ok, s.ok ? '' : s.info);
    const s2 = await w.settle(a.storage.store(3, ref, [{ model: 'array', index: 0xffffffff, value: { exists: true, value: utf8('two') } }]));
    assert.ok(s2.ok);
    const f = await w.settle(w.peers[0]!.storage.fetch(3, ref));
    assert.ok(f.ok, f.ok ? '' : f.info);
    assert.deepEqual(f.values.map((v) => [v.data.value.model === 'array' ? v.data.value.index : -1, new TextDecoder().decode(v.data.value.value.value)]), [[0, 'one'], [1, 'two']]);
    assert.equal(f.rejected.length, 0);
  });
});

describe('OverlayStorage: our own Store answered Error_Data_Too_Old', () => {
  test('the value already held with our very signature (an end-to-end retransmission answered by a replica) counts as stored; another value of ours does not', async () => {
    const w = await world(6, 4);
    const alice = w.peers[2]!;
    const ref = { resourceName: alice.identity.certificate.userName };
    const key = alice.identity.certificate.nodeIds[0]!;
    const entry = (fill: number): StoredDataValue => ({ model: 'dictionary', key, value: { exists: true, value: new Uint8Array(40).fill(fill) } });
    const storage = alice.storage;
    const original = storage.storeSigned.bind(storage);
    // the request lands, its answer is lost, and the retransmission is answered Error_Data_Too_Old
    storage.storeSigned = async (...args) => {
      const first = await original(...args);
      assert.ok(first.ok, first.ok ? '' : first.info);
      const again = await original(...args);
      assert.ok(!again.ok && again.errorCode === ReloadErrorCode.DataTooOld, 'the replay is refused as too old');
      return again;
    };
    const s = await w.settle(storage.store(SIP, ref, [entry(1)]));
    assert.ok(s.ok, s.ok ? '' : s.info);
    // a newer value of ours is held instead (ours stored later, or after a clock jump): the error stands
    storage.storeSigned = async (resource, kindId, values, generation) => {
      const newer = values.map((d) => ({ ...d, storageTime: d.storageTime + 1000n }));
      const resigned = newer.map((d) => alice.credentials.sign(resource, kindId, d.storageTime, d.lifetime, d.value));
      const n = await original(resource, kindId, resigned, generation);
      assert.ok(n.ok, n.ok ? '' : n.info);
      return original(resource, kindId, values, generation);
    };
    const t = await w.settle(storage.store(SIP, ref, [entry(2)]));
    assert.ok(!t.ok);
    assert.equal(t.errorCode, ReloadErrorCode.DataTooOld);
  });

  test('the reply cache keeps answers to other nodes\' requests, not to our own answered here (issue 18: a Fetch per call)', async () => {
    const w = await world(5, 4);
    const alice = w.peers[1]!;
    const ref = { resourceName: alice.identity.certificate.userName };
    const s = await w.settle(alice.storage.store(PROFILE, ref, [single('x')]));
    assert.ok(s.ok, s.ok ? '' : s.info);
    await w.run(1000);
    const responsible = w.ringOrder(alice.storage.resourceId(ref))[0]!;
    const other = w.live().find((p) => p !== responsible)!;
    const before = responsible.node.cachedAnswers;
    for (let i = 0; i < 5; i++) {
      const own = await w.settle(responsible.storage.fetch(PROFILE, ref));
      assert.ok(own.ok && own.values.length === 1);
    }
    assert.equal(responsible.node.cachedAnswers, before, 'its own Fetches, answered here, are not kept');
    const theirs = await w.settle(other.storage.fetch(PROFILE, ref));
    assert.ok(theirs.ok && theirs.values.length === 1);
    assert.equal(responsible.node.cachedAnswers, before + 1, "another node's Fetch answer is kept for its retransmissions");
  });
});
