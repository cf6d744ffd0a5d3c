/**
 * Issue 15, the storing peers' side of SIP authentication, on one StorageEngine with the closed LAN
 * configuration's Kinds and the SIP usage's guards: user records (private, first claim wins, changes
 * proven with the current password or by the owner), digest proofs (good / bad / replay / unknown,
 * rate-limited), write grants (earned by a proof, expiring) and SIP-REGISTRATION refused without one.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../../src/lib/manual-clock.js';
import { ReloadErrorCode } from '../../../../../src/reload/codec/index.js';
import type { StoredData } from '../../../../../src/reload/codec/index.js';
import { P2PSIP_AUTH_PROOF_KIND_ID, P2PSIP_USER_KIND_ID, defaultLanConfiguration } from '../../../../../src/reload/config/index.js';
import type { AccessIdentity, KindDefinition } from '../../../../../src/reload/storage/index.js';
import { MemoryStorageBackend, StorageEngine, WRITE_GRANT_KIND_ID, liveGrantUntil, toHex, writeGrantValue } from '../../../../../src/reload/storage/index.js';
import type { DigestCredentials } from '../../../../../src/sip/auth/credential-verifier.js';
import { encodeAuthProof, encodeOwnerClaim } from '../../../../../src/usages/sip/auth/auth-proof.js';
import { computeDigestResponse as expectedResponse, computeHa1 as ha1 } from '../../../../../src/sip/auth/digest-math.js';
import { UserDirectoryGuards } from '../../../../../src/usages/sip/auth/user-directory-guards.js';
import type { UserDirectoryGuardOptions } from '../../../../../src/usages/sip/auth/user-directory-guards.js';
import { encodeUserRecord, makeTombstone, makeUserRecord, withUpdateAuth } from '../../../../../src/usages/sip/auth/user-record.js';
import type { UserRecord } from '../../../../../src/usages/sip/auth/user-record.js';
import { FakeVerifier, dict, hash, nodeId, sd, single, storeReq, utf8 } from '../../../reload/storage/storage-fixtures.js';

const REALM = 'p2psip.local';
const SIP = 1;
const FRONT: AccessIdentity = { userName: 'front@p2psip.local', nodeIds: [nodeId(0xb0)] };
const OTHER: AccessIdentity = { userName: 'other@p2psip.local', nodeIds: [nodeId(0xc0)] };
const ATTACKER: AccessIdentity = { userName: 'mallory@p2psip.local', nodeIds: [nodeId(0x66)] };
const STORING: AccessIdentity = { userName: 'storing@p2psip.local', nodeIds: [nodeId(0x5e)] };
const ALICE_RES = hash(utf8(`alice@${REALM}`));

function world(options: Omit<UserDirectoryGuardOptions, 'realm'> = {}, tweak: (k: KindDefinition) => KindDefinition = (k) => k) {
  const clock = new ManualClock(1_000_000);
  const kinds = defaultLanConfiguration(REALM, 'closed').kinds.map(tweak);
  let grantTime = 1n;
  const guards = new UserDirectoryGuards({ hashResourceName: hash, signGrant: (_r, value, lifetime) => sd(STORING, grantTime++, value, lifetime) }, { ...options, realm: REALM });
  const engine = new StorageEngine({
    clock,
    backend: new MemoryStorageBackend(),
    kinds: (id) => kinds.find((k) => k.id === id),
    hashResourceName: hash,
    verifyStoredData: new FakeVerifier([FRONT, OTHER, ATTACKER, STORING]),
    guards: (id) => (id === P2PSIP_USER_KIND_ID ? guards.userGuard : id === P2PSIP_AUTH_PROOF_KIND_ID ? guards.proofGuard : undefined),
  });
  let t = 100n;
  const writeRecord = (who: AccessIdentity, rec: UserRecord, resource = ALICE_RES) =>
    engine.store(storeReq(resource, P2PSIP_USER_KIND_ID, [sd(who, t++, single(encodeUserRecord(rec)), 3600)]), { requester: who });
  const addAlice = (who: AccessIdentity = FRONT, password = 'secret') => writeRecord(who, makeUserRecord({ user: 'alice', realm: REALM, password, now: clock.now(), owner: toHex(who.nodeIds[0]!) }));
  const prove = (who: AccessIdentity, c: DigestCredentials) => engine.store(storeReq(ALICE_RES, P2PSIP_AUTH_PROOF_KIND_ID, [sd(who, t++, single(encodeAuthProof(c)), 60)]), { requester: who });
  const register = (who: AccessIdentity) => engine.store(storeReq(ALICE_RES, SIP, [sd(who, t++, dict(who.nodeIds[0]!, `sip:alice@${toHex(who.nodeIds[0]!)}`), 3600)]), { requester: who });
  const withdraw = (who: AccessIdentity) => engine.store(storeReq(ALICE_RES, SIP, [sd(who, t++, dict(who.nodeIds[0]!, '', false), 60)]), { requester: who });
  return { clock, engine, guards, writeRecord, addAlice, prove, register, withdraw };
}

let cn = 0;
/** A phone's digest answer for alice (qop=auth). */
function answer(password: string, o: Partial<DigestCredentials> = {}): DigestCredentials {
  const base = { username: 'alice', realm: REALM, nonce: `nonce-${++cn}`, uri: `sip:${REALM}`, algorithm: 'MD5' as const, method: 'REGISTER', qop: 'auth' as const, nc: '00000001', cnonce: `c${cn}`, ...o };
  const response = expectedResponse(ha1(base.algorithm, base.username, base.realm, password), base);
  return { ...base, response, ...(o.response === undefined ? {} : { response: o.response }) };
}

const infoOf = (r: { ok: boolean; info?: string }): string => (r.ok ? '' : (r.info ?? ''));

describe('closed overlay: registrations need a write grant', () => {
  test('without a grant a SIP-REGISTRATION under the signer\'s own Node-ID is Error_Forbidden', () => {
    const w = world();
    assert.ok(w.addAlice().ok);
    const r = w.register(ATTACKER);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.code, ReloadErrorCode.Forbidden);
    assert.match(infoOf(r), /no write grant/);
  });

  test('a good proof earns its signer a grant (not kept itself); the registration then passes, for that Node-ID only', () => {
    const w = world();
    assert.ok(w.addAlice().ok);
    const p = w.prove(FRONT, answer('secret'));
    assert.ok(p.ok, infoOf(p));
    assert.ok(p.ok && p.replicate?.kindData.some((k) => k.kind === WRITE_GRANT_KIND_ID), 'the grant is replicated with the resource');
    const held = w.engine.storeReqFor(ALICE_RES, 1)!;
    assert.equal(held.kindData.find((k) => k.kind === P2PSIP_AUTH_PROOF_KIND_ID), undefined, 'the proof is not kept');
    const grant = held.kindData.find((k) => k.kind === WRITE_GRANT_KIND_ID)!.values[0]!;
    assert.deepEqual(grant.signature.signatureValue, utf8(`sig:${STORING.userName}`), 'signed by the storing peer');
    assert.ok(w.register(FRONT).ok);
    assert.equal(w.register(ATTACKER).ok, false, 'another Node-ID has no grant');
    // a dictionary key other than the signer's Node-ID stays refused (USER-NODE-MATCH)
    const forged = w.engine.store(storeReq(ALICE_RES, SIP, [sd(ATTACKER, 999n, dict(FRONT.nodeIds[0]!, 'sip:x'), 60)]), { requester: ATTACKER });
    assert.equal(forged.ok, false);
  });

  test('an INVITE\'s answer is verified but earns no grant', () => {
    const w = world();
    assert.ok(w.addAlice().ok);
    const p = w.prove(OTHER, answer('secret', { method: 'INVITE', uri: `sip:bob@${REALM}` }));
    assert.ok(p.ok, infoOf(p));
    assert.match(infoOf(w.register(OTHER)), /no write grant/);
    assert.match(infoOf(w.prove(OTHER, answer('nope', { method: 'INVITE' }))), /bad-response/);
  });

  test('SHA-256 answers and RFC 2069 answers (no qop) verify too', () => {
    const w = world();
    assert.ok(w.addAlice().ok);
    assert.ok(w.prove(FRONT, answer('secret', { algorithm: 'SHA-256' })).ok);
    const { qop: _q, nc: _n, cnonce: _c, ...noQop } = answer('secret');
    const c2069 = { ...noQop, nonce: 'n2069' };
    assert.ok(w.prove(OTHER, { ...c2069, response: expectedResponse(ha1('MD5', 'alice', REALM, 'secret'), c2069) }).ok);
  });

  test('a wrong password is bad-response, an unknown user unknown-user, a repeated (nonce, cnonce, nc) replay; none grants', () => {
    const w = world();
    const unknown = w.prove(FRONT, answer('secret'));
    assert.match(infoOf(unknown), /p2psip-auth:unknown-user/);
    assert.ok(w.addAlice().ok);
    const bad = w.prove(FRONT, answer('wrong'));
    assert.equal(!bad.ok && bad.code, ReloadErrorCode.Forbidden);
    assert.match(infoOf(bad), /p2psip-auth:bad-response/);
    const good = answer('secret');
    assert.ok(w.prove(FRONT, good).ok);
    assert.match(infoOf(w.prove(OTHER, good)), /p2psip-auth:replay/, 'a captured answer replayed by another peer');
    assert.equal(w.register(OTHER).ok, false);
    const otherUser = answer('secret', { username: 'bob' });
    assert.match(infoOf(w.prove(FRONT, otherUser)), /p2psip-auth:unknown-user/, 'an answer for bob stored at alice');
    assert.match(infoOf(w.engine.store(storeReq(ALICE_RES, P2PSIP_AUTH_PROOF_KIND_ID, [sd(FRONT, 5000n, single('{"x":1}'), 60)]), { requester: FRONT })), /p2psip-auth:bad-proof/);
  });

  test("static registrations: the record's owner claims a grant without the password; nobody else can", () => {
    const w = world();
    assert.ok(w.addAlice(FRONT).ok);
    const claim = (who: AccessIdentity, user = 'alice') => w.engine.store(storeReq(ALICE_RES, P2PSIP_AUTH_PROOF_KIND_ID, [sd(who, BigInt(w.clock.now()), single(encodeOwnerClaim(user, REALM)), 60)]), { requester: who });
    assert.match(infoOf(claim(ATTACKER)), /p2psip-auth:bad-response: an owner's claim from a peer that is not the record's owner/);
    assert.equal(w.register(ATTACKER).ok, false);
    assert.match(infoOf(claim(FRONT, 'bob')), /unknown-user/);
    w.clock.advance(1);
    assert.ok(claim(FRONT).ok);
    assert.ok(w.register(FRONT).ok);
  });

  test('grants expire; the next proof renews them', () => {
    const w = world({ grantMs: 60_000 });
    assert.ok(w.addAlice().ok);
    assert.ok(w.prove(FRONT, answer('secret')).ok);
    assert.ok(w.register(FRONT).ok);
    w.clock.advance(61_000);
    assert.match(infoOf(w.register(FRONT)), /no write grant/);
    // withdrawing its own entry needs no grant (a phone's un-REGISTER, a clean stop after the grant ended)
    const withdraw = w.withdraw(FRONT);
    assert.ok(withdraw.ok, infoOf(withdraw));
    assert.ok(w.prove(FRONT, answer('secret')).ok);
    assert.ok(w.register(FRONT).ok);
  });

  test('grants are never Stored from outside, and replicas take them without a guard', () => {
    const w = world();
    assert.ok(w.addAlice().ok);
    const forged = sd(ATTACKER, 7n, writeGrantValue(ATTACKER.nodeIds[0]!, 9e12), 3600);
    const r = w.engine.store(storeReq(ALICE_RES, WRITE_GRANT_KIND_ID, [forged]), { requester: ATTACKER });
    assert.equal(r.ok, false);
    assert.match(infoOf(r), /no usage on this peer accepts Stores of this Kind/);
    assert.equal(w.register(ATTACKER).ok, false);
    // a replica Store (from the responsible peer) is taken: replicas trust its checks
    const replica = world();
    const g = sd(STORING, 7n, writeGrantValue(FRONT.nodeIds[0]!, 9e12), 3600);
    assert.ok(replica.engine.store({ resource: ALICE_RES, replicaNumber: 1, kindData: [{ kind: WRITE_GRANT_KIND_ID, generationCounter: 1n, values: [g] }] }).ok);
    const reg = sd(FRONT, 8n, dict(FRONT.nodeIds[0]!, 'sip:x'), 60);
    const regNoGrant = sd(ATTACKER, 8n, dict(ATTACKER.nodeIds[0]!, 'sip:x'), 60);
    assert.ok(replica.engine.store({ resource: ALICE_RES, replicaNumber: 1, kindData: [{ kind: SIP, generationCounter: 1n, values: [reg, regNoGrant] }] }).ok, 'replicas do not check grants');
  });
});

describe('user records', () => {
  test('private: Fetch is Error_Forbidden, Stat says only that a record exists (issue 16), Find never names the resource', () => {
    const w = world();
    assert.ok(w.addAlice().ok);
    const f = w.engine.fetch({ resource: ALICE_RES, specifiers: [{ kind: P2PSIP_USER_KIND_ID, generation: 0n, model: 'single' }] });
    assert.equal(f.ok, false);
    assert.equal(!f.ok && f.code, ReloadErrorCode.Forbidden);
    const s = w.engine.stat({ resource: ALICE_RES, specifiers: [{ kind: P2PSIP_USER_KIND_ID, generation: 0n, model: 'single' }] });
    assert.ok(s.ok);
    const meta = s.answer.kindResponses[0]!.values[0]!.metadata;
    assert.equal(meta.value.exists, true);
    assert.equal(meta.value.valueLength, 0, 'no length');
    assert.equal(meta.value.hashValue.length, 0, 'no hash of the password record');
    // mixed with a public Kind: still refused (nothing of the private one leaks)
    const mixed = w.engine.fetch({ resource: ALICE_RES, specifiers: [{ kind: SIP, generation: 0n, model: 'dictionary', keys: [] }, { kind: P2PSIP_USER_KIND_ID, generation: 0n, model: 'single' }] });
    assert.equal(mixed.ok, false);
    const found = w.engine.find({ resource: new Uint8Array(16), kinds: [P2PSIP_USER_KIND_ID] });
    assert.equal(found.results[0]!.closest.length, 0);
    // replication still moves it
    assert.ok(w.engine.storeReqFor(ALICE_RES, 1)!.kindData.some((k) => k.kind === P2PSIP_USER_KIND_ID));
  });

  test('first claim wins; a change needs the current password (or the owner); versions go up', () => {
    const w = world();
    assert.ok(w.addAlice(FRONT, 'secret').ok);
    const again = w.addAlice(ATTACKER, 'mine');
    assert.match(infoOf(again), /p2psip-auth:user-exists: .*\(version 1\)/);
    const v1 = makeUserRecord({ user: 'alice', realm: REALM, password: 'secret', now: 0, owner: toHex(FRONT.nodeIds[0]!) });
    const mine = (pw: string) => makeUserRecord({ user: 'alice', realm: REALM, password: pw, now: 0, owner: toHex(ATTACKER.nodeIds[0]!), previous: v1 });
    assert.match(infoOf(w.writeRecord(ATTACKER, mine('mine'))), /p2psip-auth:not-authorized/, 'version 2 without proof, not the owner');
    assert.match(infoOf(w.writeRecord(ATTACKER, withUpdateAuth(mine('mine'), 'guess', 'c1'))), /p2psip-auth:not-authorized: .*current password/);
    // a proof made for another record does not carry over
    const proven = withUpdateAuth(mine('new'), 'secret', 'c2');
    assert.match(infoOf(w.writeRecord(ATTACKER, { ...proven, ha1Md5: mine('other').ha1Md5! })), /not made over this record/);
    assert.ok(w.writeRecord(OTHER, { ...withUpdateAuth({ ...mine('new'), owner: toHex(OTHER.nodeIds[0]!) }, 'secret', 'c3') }).ok, 'proven with the current password');
    // the old password no longer proves anything, the new one does
    assert.match(infoOf(w.prove(FRONT, answer('secret'))), /bad-response/);
    assert.ok(w.prove(FRONT, answer('new')).ok);
    // the owner (the last writer) changes it without the password
    const v2 = { ...mine('new'), owner: toHex(OTHER.nodeIds[0]!) };
    assert.ok(w.writeRecord(OTHER, makeUserRecord({ user: 'alice', realm: REALM, password: 'third', now: 0, owner: toHex(OTHER.nodeIds[0]!), previous: v2 })).ok);
  });

  test('removal is a tombstone proven like a change; the name is free again', () => {
    const w = world();
    assert.ok(w.addAlice(FRONT, 'secret').ok);
    const v1 = makeUserRecord({ user: 'alice', realm: REALM, password: 'secret', now: 0, owner: toHex(FRONT.nodeIds[0]!) });
    const tomb = makeTombstone(v1, toHex(OTHER.nodeIds[0]!));
    assert.match(infoOf(w.writeRecord(OTHER, tomb)), /not-authorized/);
    assert.ok(w.writeRecord(OTHER, withUpdateAuth(tomb, 'secret', 'x')).ok);
    assert.match(infoOf(w.prove(FRONT, answer('secret'))), /unknown-user/);
    const fresh = makeUserRecord({ user: 'alice', realm: REALM, password: 'p2', now: 0, owner: toHex(ATTACKER.nodeIds[0]!), previous: tomb });
    assert.ok(w.writeRecord(ATTACKER, fresh).ok, 'claimed again after removal');
    assert.match(infoOf(w.writeRecord(ATTACKER, makeTombstone(fresh, toHex(ATTACKER.nodeIds[0]!)))), /^(?!.*not-authorized)/);
  });

  test('a record must live at H(user@realm), name its signer as owner, be of our realm; a change of a missing user is refused', () => {
    const w = world();
    const rec = makeUserRecord({ user: 'bob', realm: REALM, password: 'x', now: 0, owner: toHex(FRONT.nodeIds[0]!) });
    assert.match(infoOf(w.writeRecord(FRONT, rec)), /belongs at H\(bob@p2psip.local\)/);
    assert.match(infoOf(w.writeRecord(ATTACKER, makeUserRecord({ user: 'alice', realm: REALM, password: 'x', now: 0, owner: toHex(FRONT.nodeIds[0]!) }))), /owner must be its signer/);
    assert.match(infoOf(w.writeRecord(FRONT, makeUserRecord({ user: 'alice', realm: 'other.example', password: 'x', now: 0, owner: toHex(FRONT.nodeIds[0]!) }))), /realm other.example/);
    const v2 = makeUserRecord({ user: 'alice', realm: REALM, password: 'x', now: 0, owner: toHex(FRONT.nodeIds[0]!), previous: makeUserRecord({ user: 'alice', realm: REALM, password: 'y', now: 0, owner: 'aa'.repeat(16) }) });
    assert.match(infoOf(w.writeRecord(FRONT, v2)), /unknown-user: no user alice@p2psip.local to change/);
    assert.match(infoOf(w.engine.store(storeReq(ALICE_RES, P2PSIP_USER_KIND_ID, [sd(FRONT, 1n, single('not json'), 60)]), { requester: FRONT })), /bad-record/);
  });
});

describe('limits', () => {
  test('a user record past max-size is Error_Data_Too_Large', () => {
    const w = world();
    const big: StoredData = sd(FRONT, 1n, single(new Uint8Array(1025)), 60);
    const r = w.engine.store(storeReq(ALICE_RES, P2PSIP_USER_KIND_ID, [big]), { requester: FRONT });
    assert.equal(!r.ok && r.code, ReloadErrorCode.DataTooLarge);
  });

  test('grants per user: at max-count live grants a proof from yet another peer is grants-full', () => {
    const w = world({}, (k) => (k.id === WRITE_GRANT_KIND_ID ? { ...k, maxCount: 2 } : k));
    assert.ok(w.addAlice().ok);
    assert.ok(w.prove(FRONT, answer('secret')).ok);
    assert.ok(w.prove(OTHER, answer('secret')).ok);
    assert.match(infoOf(w.prove(ATTACKER, answer('secret'))), /p2psip-auth:grants-full/);
    assert.ok(w.prove(FRONT, answer('secret')).ok, 'a peer holding a grant renews it');
  });

  test('proofs per second per signer: a burst, then refill at the rate; other signers unaffected', () => {
    const w = world({ proofsPerSecond: 2, proofBurst: 3 });
    assert.ok(w.addAlice().ok);
    for (let i = 0; i < 3; i++) assert.ok(w.prove(FRONT, answer('secret')).ok, `proof ${i}`);
    assert.match(infoOf(w.prove(FRONT, answer('secret'))), /p2psip-auth:rate-limited/);
    assert.ok(w.prove(OTHER, answer('secret')).ok);
    w.clock.advance(500);
    assert.ok(w.prove(FRONT, answer('secret')).ok);
    assert.match(infoOf(w.prove(FRONT, answer('secret'))), /rate-limited/);
  });

  test('the replay memory is bounded: oldest forgotten past max, or after the window', () => {
    const w = world({ maxReplayEntries: 2, replayWindowMs: 10_000, proofsPerSecond: 1000, proofBurst: 1000 });
    assert.ok(w.addAlice().ok);
    const a = answer('secret');
    assert.ok(w.prove(FRONT, a).ok);
    assert.ok(w.prove(FRONT, answer('secret')).ok);
    assert.match(infoOf(w.prove(FRONT, a)), /replay/);
    assert.ok(w.prove(FRONT, answer('secret')).ok);
    assert.equal(w.guards.tables().replay, 2);
    const b = answer('secret');
    assert.ok(w.prove(FRONT, b).ok);
    w.clock.advance(10_001);
    assert.ok(w.prove(FRONT, answer('secret')).ok);
    assert.equal(w.guards.tables().replay, 1, 'entries past the window forgotten');
    assert.ok(liveGrantUntil(undefined, FRONT.nodeIds[0]!, 0) === undefined);
  });

  test('the signers tracked for the rate are bounded', () => {
    const w = world({ maxTrackedSigners: 2 });
    assert.ok(w.addAlice().ok);
    for (const who of [FRONT, OTHER, ATTACKER]) w.prove(who, answer('secret'));
    assert.equal(w.guards.tables().signers, 2);
  });
});
