/** Issue 16: voicemail in enrolled overlays — index entries sealed to the user, chunks under the entry's key. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import type { StoredDataValue } from '../../../../src/reload/codec/index.js';
import type { GuardRequest } from '../../../../src/reload/storage/index.js';
import { CertificateSealing } from '../../../../src/usages/sealing/certificate-sealing.js';
import { certificateHashOf, looksSealed } from '../../../../src/usages/sealing/sealed-box.js';
import { VoicemailChunkGuard, VoicemailIndexGuard } from '../../../../src/usages/voicemail/voicemail-guard.js';
import { CHUNK_AUDIO_BYTES, encodeVoicemailEntry, VOICEMAIL_CHUNK_KIND_ID, VOICEMAIL_KIND_ID, VoicemailStore, voicemailKey } from '../../../../src/usages/voicemail/voicemail-store.js';
import { CHUNK_KIND, INDEX_KIND, MemoryVoicemailStorage, storedData } from '../voicemail/voicemail-fixtures.js';

const utf8 = new TextEncoder();
const nodeA = new Uint8Array(16).fill(0xa);
const AOR = 'sip:alice@p2psip.local';

function sealingFor(user: string, keys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })): CertificateSealing {
  const hash = certificateHashOf(utf8.encode(`certificate of ${user}`));
  return new CertificateSealing({
    clock: new ManualClock(0),
    fetchUserCertificates: async (name) => ({ ok: true, ders: name === user ? [new Uint8Array([1])] : [] }),
    trusted: () => ({ userName: user, publicKey: keys.publicKey, hash, notBefore: 0 }),
    self: { certificateHash: hash, privateKey: keys.privateKey },
  });
}

function sealedStorage(now: () => number): MemoryVoicemailStorage {
  const s = new MemoryVoicemailStorage(now, nodeA, { closed: false });
  const sealed = { userResourceId: (u: string) => utf8.encode(u) };
  s.guards[VOICEMAIL_KIND_ID] = new VoicemailIndexGuard({ nodeIdLength: 16, closed: false, sealed });
  s.guards[VOICEMAIL_CHUNK_KIND_ID] = new VoicemailChunkGuard({ nodeIdLength: 16, sealed: true });
  return s;
}

describe('voicemail sealed to its user (enrolled overlays)', () => {
  test('saved sealed: the storing peers see envelopes and ciphertext; the user reads the entry and the audio; another peer reads nothing', async () => {
    const t = 1_700_000_000_000;
    const storage = sealedStorage(() => t);
    const alice = sealingFor('alice@p2psip.local');
    const store = new VoicemailStore({ storage, selfNodeId: nodeA, wallClock: () => t, sealing: alice });
    const audio = Uint8Array.from({ length: CHUNK_AUDIO_BYTES * 2 + 100 }, (_, i) => (i * 13) & 0xff);
    const saved = await store.save(AOR, { from: '"Carol" <sip:carol@p2psip.local>', durationMs: 612, audio });
    assert.ok(saved.ok, saved.ok ? '' : saved.info);
    const index = storage.live('alice@p2psip.local', VOICEMAIL_KIND_ID)[0]!.data.value;
    assert.ok(looksSealed(index.value.value));
    assert.equal(Buffer.from(index.value.value).indexOf('carol'), -1, 'the caller is not readable at the storing peer');
    const chunk0 = storage.live(`vm:alice@p2psip.local:${saved.entry.id}:0`, VOICEMAIL_CHUNK_KIND_ID)[0]!.data.value.value.value;
    assert.equal(chunk0.length, 16 + CHUNK_AUDIO_BYTES + 28);
    assert.equal(Buffer.from(chunk0.subarray(16)).indexOf(Buffer.from(audio.subarray(0, 64))), -1, 'the audio is not stored as it was');
    const listed = await store.list(AOR);
    assert.ok(listed.ok);
    assert.deepEqual(listed.entries.map((e) => [e.from, e.bytes]), [['"Carol" <sip:carol@p2psip.local>', audio.length]]);
    const got = await store.audio(AOR, listed.entries[0]!);
    assert.ok(got.ok);
    assert.deepEqual(got.audio, audio);
    // a peer not enrolled as alice (another key) lists nothing it can read
    const other = new VoicemailStore({ storage, selfNodeId: new Uint8Array(16).fill(0xb), wallClock: () => t, sealing: sealingFor('alice@p2psip.local') });
    const seen = await other.list(AOR);
    assert.deepEqual(seen.ok ? seen.entries : 'failed', []);
    // a chunk moved to another place (chunk 1's value put in chunk 0's) does not open
    const name = (i: number): string => `vm:alice@p2psip.local:${saved.entry.id}:${i}`;
    storage.record(name(0), VOICEMAIL_CHUNK_KIND_ID)!.entries = storage.record(name(1), VOICEMAIL_CHUNK_KIND_ID)!.entries;
    const moved = await store.audio(AOR, listed.entries[0]!);
    assert.match(moved.ok ? 'opened' : moved.info, /does not authenticate/);
  });

  test('a user the overlay holds no certificate of: nothing is written, reason no-user', async () => {
    const storage = sealedStorage(() => 1000);
    const store = new VoicemailStore({ storage, selfNodeId: nodeA, wallClock: () => 1000, sealing: sealingFor('alice@p2psip.local') });
    const r = await store.save('sip:nobody@p2psip.local', { from: 'x', durationMs: 100, audio: new Uint8Array(800) });
    assert.deepEqual(r.ok ? 'saved' : r.reason, 'no-user');
    assert.equal(storage.stores.length, 0);
  });

  test('the guards of an enrolled overlay: sealed values only, chunks sized as sealed pieces; removal by the writer or the user\'s own peers', () => {
    const sealed = { userResourceId: (u: string) => utf8.encode(u) };
    const index = new VoicemailIndexGuard({ nodeIdLength: 16, closed: false, sealed });
    const chunks = new VoicemailChunkGuard({ nodeIdLength: 16, sealed: true });
    const key = voicemailKey(nodeA, 1, 1);
    const req = (kind: typeof INDEX_KIND, value: StoredDataValue, userName = 'peer@p2psip.local', signer = nodeA): GuardRequest => ({
      resource: utf8.encode('alice@p2psip.local'),
      kind,
      data: storedData(value),
      signer: { userName, nodeIds: [signer] },
      requester: { userName, nodeIds: [signer] },
      now: 1000,
      current: () => undefined,
      kinds: () => kind,
    });
    const plain = encodeVoicemailEntry({ id: Buffer.from(key).toString('hex'), from: 'x', date: 1, durationMs: 1, format: 'pcmu', chunks: 1, bytes: 8 });
    const refused = index.check(req(INDEX_KIND, { model: 'dictionary', key, value: { exists: true, value: plain } }));
    assert.match(refused.ok ? '' : refused.info, /not a sealed value/);
    const tomb: StoredDataValue = { model: 'dictionary', key, value: { exists: false, value: new Uint8Array(0) } };
    const nodeB = new Uint8Array(16).fill(0xb);
    assert.equal(index.check(req(INDEX_KIND, tomb, 'alice@p2psip.local', nodeB)).ok, true, "alice's own peer");
    const stranger = index.check(req(INDEX_KIND, tomb, 'mallory@p2psip.local', nodeB));
    assert.match(stranger.ok ? '' : stranger.info, /enrolled as its user/);
    const piece = (n: number): StoredDataValue => ({ model: 'single', value: { exists: true, value: Uint8Array.from([...nodeA, ...new Uint8Array(n)]) } });
    assert.equal(chunks.check(req(CHUNK_KIND, piece(CHUNK_AUDIO_BYTES + 28))).ok, true);
    assert.equal(chunks.check(req(CHUNK_KIND, piece(CHUNK_AUDIO_BYTES + 29))).ok, false);
    assert.equal(chunks.check(req(CHUNK_KIND, piece(28))).ok, false, 'no audio in it');
  });
});
