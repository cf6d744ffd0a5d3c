import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkAccessPolicy, nodeMultipleResourceName, userResourceName } from '../../../../src/reload/storage/index.js';
import type { KindDefinition } from '../../../../src/reload/storage/index.js';
import { ALICE, BOB, KIND, aliceNodeRes, aliceRes, aliceTurnRes, bobRes, dict, hash, kinds, nodeId, single, entry } from './storage-fixtures.js';

const k = (id: number): KindDefinition => kinds(id)!;

describe('access policies (RFC 6940 §7.3)', () => {
  test('Resource Names: user name as UTF-8, Node-ID || one octet i', () => {
    assert.deepEqual(userResourceName('a@b'), new Uint8Array([0x61, 0x40, 0x62]));
    assert.deepEqual(nodeMultipleResourceName(new Uint8Array([1, 2]), 3), new Uint8Array([1, 2, 3]));
  });

  describe('USER-MATCH (§7.3.1)', () => {
    test('the user whose name hashes to the Resource-ID may write', () => {
      assert.deepEqual(checkAccessPolicy(k(KIND.CERT_USER), aliceRes, entry(0, 'x'), ALICE, hash), { ok: true });
    });
    test("another user's resource is refused", () => {
      const d = checkAccessPolicy(k(KIND.CERT_USER), bobRes, entry(0, 'x'), ALICE, hash);
      assert.equal(d.ok, false);
      assert.match(!d.ok ? d.info : '', /USER-MATCH/);
    });
    test('a Node-ID hashing to the resource does not help', () => {
      assert.equal(checkAccessPolicy(k(KIND.CERT_USER), aliceNodeRes, entry(0, 'x'), ALICE, hash).ok, false);
    });
    test('an empty user name never matches', () => {
      assert.equal(checkAccessPolicy(k(KIND.CERT_USER), hash(new Uint8Array(0)), entry(0, 'x'), { userName: '', nodeIds: [] }, hash).ok, false);
    });
  });

  describe('NODE-MATCH (§7.3.2)', () => {
    test('H(Node-ID) of the signer matches', () => {
      assert.equal(checkAccessPolicy(k(KIND.CERT_NODE), aliceNodeRes, entry(0, 'c'), ALICE, hash).ok, true);
    });
    test('the Node-ID itself (not hashed) as the resource is refused', () => {
      assert.equal(checkAccessPolicy(k(KIND.CERT_NODE), ALICE.nodeIds[0]!, entry(0, 'c'), ALICE, hash).ok, false);
    });
    test("another node's resource is refused", () => {
      assert.equal(checkAccessPolicy(k(KIND.CERT_NODE), hash(BOB.nodeIds[0]!), entry(0, 'c'), ALICE, hash).ok, false);
    });
    test('the user name hashing to the resource does not help', () => {
      assert.equal(checkAccessPolicy(k(KIND.CERT_NODE), aliceRes, entry(0, 'c'), ALICE, hash).ok, false);
    });
    test('any of several Node-IDs of the signer matches', () => {
      const two = { userName: 'x', nodeIds: [nodeId(1), ALICE.nodeIds[0]!] };
      assert.equal(checkAccessPolicy(k(KIND.CERT_NODE), aliceNodeRes, entry(0, 'c'), two, hash).ok, true);
    });
  });

  describe('USER-NODE-MATCH (§7.3.3)', () => {
    const sip = k(KIND.SIP);
    test("the user's resource with the signer's Node-ID as key", () => {
      assert.equal(checkAccessPolicy(sip, aliceRes, dict(ALICE.nodeIds[0]!, 'sip:a'), ALICE, hash).ok, true);
    });
    test("another node's dictionary key is refused", () => {
      const d = checkAccessPolicy(sip, aliceRes, dict(BOB.nodeIds[0]!, 'sip:a'), ALICE, hash);
      assert.equal(d.ok, false);
      assert.match(!d.ok ? d.info : '', /dictionary key/);
    });
    test("another user's resource is refused even with the right key", () => {
      assert.equal(checkAccessPolicy(sip, bobRes, dict(ALICE.nodeIds[0]!, 'sip:a'), ALICE, hash).ok, false);
    });
    test('a non-dictionary entry is refused', () => {
      assert.equal(checkAccessPolicy(sip, aliceRes, single('x'), ALICE, hash).ok, false);
    });
    test('proxy peers (LAN overlay): any user resource, but only under the signer’s own Node-ID', () => {
      const lan: KindDefinition = { ...sip, proxyPeerWrites: true };
      assert.equal(checkAccessPolicy(lan, bobRes, dict(ALICE.nodeIds[0]!, 'sip:b'), ALICE, hash).ok, true);
      const forged = checkAccessPolicy(lan, bobRes, dict(BOB.nodeIds[0]!, 'sip:b'), ALICE, hash);
      assert.equal(forged.ok, false);
      assert.match(!forged.ok ? forged.info : '', /dictionary key/);
      assert.equal(checkAccessPolicy(lan, bobRes, single('x'), ALICE, hash).ok, false);
    });
  });

  describe('NODE-MULTIPLE (§7.3.4)', () => {
    const turn = k(KIND.TURN); // max-node-multiple 3
    test('H(Node-ID || i) for every i up to max-node-multiple', () => {
      for (let i = 0; i <= 3; i++) assert.equal(checkAccessPolicy(turn, aliceTurnRes(i), single('t'), ALICE, hash).ok, true, `i=${i}`);
    });
    test('i past max-node-multiple is refused', () => {
      assert.equal(checkAccessPolicy(turn, aliceTurnRes(4), single('t'), ALICE, hash).ok, false);
    });
    test("another node's H(Node-ID || i) is refused", () => {
      assert.equal(checkAccessPolicy(turn, hash(nodeMultipleResourceName(BOB.nodeIds[0]!, 1)), single('t'), ALICE, hash).ok, false);
    });
    test('H(Node-ID) alone is refused', () => {
      assert.equal(checkAccessPolicy(turn, aliceNodeRes, single('t'), ALICE, hash).ok, false);
    });
    test('a Kind without max-node-multiple refuses everything', () => {
      const { maxNodeMultiple: _drop, ...noMax } = turn;
      assert.equal(checkAccessPolicy(noMax, aliceTurnRes(1), single('t'), ALICE, hash).ok, false);
    });
  });

  test('an unknown policy name is refused, never thrown', () => {
    const odd = { ...k(KIND.PROFILE), accessControl: 'ANYONE' } as unknown as KindDefinition;
    assert.equal(checkAccessPolicy(odd, aliceRes, single('x'), ALICE, hash).ok, false);
  });
});
