/**
 * Issue 14, the registrar tells the truth and keeps its registrations:
 * - a REGISTER is answered 200 only when its overlay Store succeeded; otherwise 503 (no answer, with
 *   Retry-After) or 500 (storage full, refused) with the reason, and nothing changes at the peer;
 * - hostile AoRs (CR LF, NUL, '@' after unescaping, too long) get 400 before anything is stored;
 * - background work (withdraws, restored AoRs) is retried only while it may succeed, and never forever;
 * - after a restart the restored AoRs are stored afresh and entries left without bindings withdrawn,
 *   so calls reach the phones at once, none of them registering again.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RegistrationStoreError } from '../../../../src/usages/sip/registration-store-error.js';
import { MemoryRecordStore } from '../../../support/lib/memory-record-store.js';
import { OVERLAY, OverlaySipWorld, type TestPhone, type WorldPeer } from './overlay-sip-world.js';

const ALICE = `sip:alice@${OVERLAY}`;

/** A REGISTER for `user` (as written in the To URI, escapes and all) from `phone`. */
function registerAs(phone: TestPhone, user: string, cseq: number, expires = 600): string {
  return [
    `REGISTER sip:${OVERLAY} SIP/2.0`,
    `Via: SIP/2.0/UDP ${phone.addr.host}:${phone.addr.port};branch=z9hG4bKh${cseq};rport`,
    'Max-Forwards: 70',
    `From: <sip:${user}@${OVERLAY}>;tag=h${cseq}`,
    `To: <sip:${user}@${OVERLAY}>`,
    `Call-ID: hostile-${cseq}`,
    `CSeq: ${cseq} REGISTER`,
    `Contact: <${phone.contact}>`,
    `Expires: ${expires}`,
    'Content-Length: 0',
    '',
    '',
  ].join('\n');
}

const publishes = (w: OverlaySipWorld, aor?: string): number => w.store.log.filter((l) => l.op === 'publish' && (aor === undefined || l.aor === aor)).length;
const withdraws = (w: OverlaySipWorld, aor?: string): number => w.store.log.filter((l) => l.op === 'withdraw' && (aor === undefined || l.aor === aor)).length;

describe('a REGISTER is answered 200 only when its Store succeeded', () => {
  test('no answer → 503 with Retry-After, storage full / refused → 500 with the reason; the phone is not registered', async () => {
    const w = new OverlaySipWorld();
    const a = await w.addPeer('A');
    const alice = await w.phone('alice', a);
    w.store.failWith = new RegistrationStoreError('unavailable', 'x', 0, 'no answer: no answer after 3 transmission(s)');
    alice.register(600);
    await w.settle();
    const r503 = alice.responses(503)[0];
    assert.ok(r503);
    assert.equal(r503.reason, 'Service Unavailable - overlay store failed: no answer: no answer after 3 transmission(s)');
    assert.equal(r503.headers.get('retry-after'), '5');
    assert.deepEqual(a.inner.lookupNow(ALICE), []);

    w.store.failWith = new RegistrationStoreError('full', 'x', 8, 'Error_Data_Too_Large: storage full: 10000 resources held (max 10000)');
    alice.register(600);
    await w.settle();
    const r500 = alice.responses(500)[0];
    assert.ok(r500);
    assert.match(r500.reason, /^Server Internal Error - overlay store failed: Error_Data_Too_Large: storage full/);
    assert.deepEqual(a.inner.lookupNow(ALICE), []);

    w.store.failWith = new RegistrationStoreError('refused', 'x', 2, 'Error_Forbidden: USER-NODE-MATCH\r\nX-Injected: 1');
    alice.register(600);
    await w.settle();
    const refused = alice.responses(500)[1];
    assert.ok(refused);
    assert.equal(refused.reason, 'Server Internal Error - overlay store failed: Error_Forbidden: USER-NODE-MATCH X-Injected: 1', 'no CR LF from the overlay reaches the reason phrase');
    assert.deepEqual(a.inner.lookupNow(ALICE), []);
    assert.equal(a.usage.location.stats.registerStoreFailures, 3);

    await w.advance(300_000, 10_000);
    assert.equal(publishes(w), 3, 'nothing is retried behind the phone\'s back');
    w.store.failWith = undefined;
    alice.register(600);
    await w.settle();
    assert.equal(alice.responses(200).length, 1);
    assert.equal(a.inner.lookupNow(ALICE).length, 1);
    await w.stop();
  });

  test('a refresh that needs a Store and does not get it leaves the binding as it was', async () => {
    const w = new OverlaySipWorld();
    const a = await w.addPeer('A');
    const alice = await w.phone('alice', a);
    alice.register(600);
    await w.settle();
    const before = a.inner.lookupNow(ALICE)[0]!;
    await w.advance(100_000, 10_000);
    // 600 s from now is 100 s past the stored lifetime: a Store is needed
    w.store.failWith = new RegistrationStoreError('unavailable', 'x', 0, 'no answer: timeout');
    alice.register(600);
    await w.settle();
    assert.equal(alice.responses(503).length, 1);
    const kept = a.inner.lookupNow(ALICE);
    assert.equal(kept.length, 1);
    assert.deepEqual([kept[0]!.expiresAt, kept[0]!.cseq], [before.expiresAt, before.cseq], 'expiry and CSeq as before the failed REGISTER');
    // a refresh within the slack needs no Store: answered at once even with the overlay down
    await w.advance(10_000, 10_000);
    const cheap = publishes(w);
    alice.register(510);
    await w.settle();
    assert.equal(alice.responses(200).length, 2);
    assert.equal(publishes(w), cheap, 'no Store for it');
    w.store.failWith = undefined;
    await w.stop();
  });

  test('a retransmission while the Store is under way gets the same answer; a REGISTER waits for its AoR\'s work', async () => {
    const w = new OverlaySipWorld();
    const a = await w.addPeer('A');
    const alice = await w.phone('alice', a);
    let open!: () => void;
    w.store.publishGate = new Promise<void>((r) => (open = r));
    const text = registerAs(alice, 'alice', 1);
    alice.sendText(text);
    await w.advance(500, 100);
    alice.sendText(text);
    await w.advance(500, 100);
    assert.equal(publishes(w), 1, 'the retransmission made no second Store');
    w.store.publishGate = undefined;
    open();
    await w.settle();
    assert.equal(alice.responses(200).length, 2, 'both copies answered 200');
    await w.stop();
  });

  test('an un-REGISTER is answered at once; its withdraw is retried in the background, no longer than the entry lives', async () => {
    const w = new OverlaySipWorld();
    const a = await w.addPeer('A');
    const alice = await w.phone('alice', a);
    alice.register(120);
    await w.settle();
    w.store.failWith = new RegistrationStoreError('unavailable', 'x', 0, 'no answer: timeout');
    alice.register(0);
    await w.settle();
    assert.equal(alice.responses(200).length, 2, 'the phone is no longer reachable here: that is true at once');
    assert.deepEqual(a.inner.lookupNow(ALICE), []);
    await w.advance(60_000, 1_000);
    const tries = withdraws(w, ALICE);
    assert.ok(tries >= 4, `retried with backoff (${tries})`);
    await w.advance(600_000, 10_000);
    const after = withdraws(w, ALICE);
    assert.ok(after <= tries + 2, `stopped once the stored entry's 120 s were over (${tries} → ${after})`);
    await w.advance(600_000, 10_000);
    assert.equal(withdraws(w, ALICE), after);
    w.store.failWith = undefined;
    await w.stop();
  });
});

describe('hostile AoRs: kept escaped, or refused at the registrar (400) before anything is stored', () => {
  test('escaped CR LF, NUL, C1 and @ are registered under an AoR that keeps them escaped (RFC 4475 §3.1.1.4): nothing raw is stored', async () => {
    const w = new OverlaySipWorld();
    const a = await w.addPeer('A');
    const phone = await w.phone('mallory', a);
    const users: Array<[string, string]> = [
      ['a%0D%0Ab', 'a%0D%0Ab'],
      ['null-%00-null', 'null-%00-null'],
      ['a%c2%85b', 'a%C2%85b'],
      ['bob%40evil.example', 'bob%40evil.example'],
      ['%61lice%25', 'alice%25'],
    ];
    let cseq = 0;
    for (const [user] of users) {
      phone.sendText(registerAs(phone, user, ++cseq));
      await w.settle();
      assert.equal(phone.responses(200).length, cseq, user);
    }
    const stored = w.store.log.filter((l) => l.op === 'publish').map((l) => l.aor);
    const expected = users.map(([, canonical]) => `sip:${canonical}@${OVERLAY}`);
    assert.deepEqual([...new Set(stored)].sort(), [...expected].sort());
    assert.deepEqual(a.inner.entries().map(([aor]) => aor).sort(), [...expected].sort());
    for (const aor of [...stored, ...a.inner.entries().map(([x]) => x)]) {
      assert.doesNotMatch(aor, /[\u0000-\u001f\u007f-\u009f]/, 'no control character is stored');
      assert.equal(aor.indexOf('@'), aor.lastIndexOf('@'), 'one @');
    }
    // a request for the escaped AoR reaches the phone registered under it
    phone.request('MESSAGE', `sip:a%0d%0ab@${OVERLAY}`);
    await w.settle();
    assert.equal(phone.requests('MESSAGE').length, 1);
    await w.stop();
  });

  test('a user part over 256 bytes (counted canonical, escapes included) gets 400 with no Store, and is not looked up', async () => {
    const w = new OverlaySipWorld();
    const a = await w.addPeer('A');
    const phone = await w.phone('mallory', a);
    const users: Array<[string, RegExp]> = [
      ['u'.repeat(257), /257 bytes \(at most 256\)/],
      ['%E2%82%AC'.repeat(86), /258 bytes/],
      ['%00'.repeat(86), /258 bytes/],
    ];
    let cseq = 0;
    for (const [user, why] of users) {
      phone.sendText(registerAs(phone, user, ++cseq));
      await w.settle();
      const r = phone.responses(400)[cseq - 1];
      assert.ok(r, user);
      assert.match(r.reason, /^Bad Request - AoR /);
      assert.match(r.reason, why);
    }
    assert.equal(w.store.log.length, 0, 'no Store, no Fetch, nothing to retry');
    assert.equal(a.inner.size(), 0);
    // the longest user part allowed is taken
    phone.sendText(registerAs(phone, 'u'.repeat(256), ++cseq));
    await w.settle();
    assert.equal(phone.responses(200).length, 1);
    // and a request for an AoR too long to register is not asked of the overlay
    const lookups = w.store.log.length;
    phone.request('MESSAGE', `sip:${'v'.repeat(300)}@${OVERLAY}`);
    await w.settle();
    assert.equal(phone.responses(404).length, 1);
    assert.equal(w.store.log.length, lookups);
    await w.stop();
  });

  test('SipUsage.describe refuses them too', async () => {
    const w = new OverlaySipWorld();
    const a = await w.addPeer('A');
    await assert.rejects(a.usage.describe(`sip:a\r\nb@${OVERLAY}`), (e: unknown) => e instanceof Error && 'code' in e && e.code === 'bad-aor');
    assert.equal(w.store.log.length, 0);
    await w.stop();
  });
});

describe('after a restart', () => {
  /** Peer A with persisted state: alice, bob and carol register; then A "crashes" (abandoned as it is). */
  async function crashedPeer(w: OverlaySipWorld): Promise<{ a: WorldPeer; persist: { bindings: MemoryRecordStore; marks: MemoryRecordStore }; phones: TestPhone[] }> {
    const persist = { bindings: new MemoryRecordStore(), marks: new MemoryRecordStore() };
    const a = await w.addPeer('A', {}, { persist });
    const phones = [await w.phone('alice', a), await w.phone('bob', a), await w.phone('carol', a)];
    phones[0]!.register(600);
    phones[1]!.register(300);
    phones[2]!.register(600);
    await w.settle();
    await a.usage.location.idle();
    assert.equal(w.store.table.size, 3);
    a.reachable = false;
    const s = a.sip.stop();
    await w.settle();
    await s;
    return { a, persist, phones };
  }

  test('restored AoRs are stored afresh (a missing entry comes back), entries without bindings withdrawn; calls reach the phones at once', async () => {
    const w = new OverlaySipWorld();
    const { a, persist, phones } = await crashedPeer(w);
    // carol's un-REGISTER was applied but the process died before its withdraw: no binding, an entry
    persist.bindings.delete(`sip:carol@${OVERLAY}`);
    // alice's entry was lost by the overlay meanwhile
    w.store.table.delete(ALICE);
    await w.advance(100_000, 10_000);

    const a2 = await w.addPeer('A2', {}, { persist, nodeId: a.nodeId });
    const report = a2.inner.restore();
    assert.deepEqual(report, { aors: 2, bindings: 2, expired: 0, flowOnly: 0, unreadable: 0 });
    a2.usage.start();
    await a2.usage.location.idle();
    assert.equal(a2.usage.location.stats.restored, 3);
    const aliceEntry = w.store.table.get(ALICE);
    assert.ok(aliceEntry, 'the missing entry is stored again');
    assert.equal([...aliceEntry.values()][0]!.expiresAt, w.clock.now() + 500_000, 'with the remaining lifetime');
    assert.ok(w.store.table.get(`sip:bob@${OVERLAY}`));
    assert.equal(w.store.table.get(`sip:carol@${OVERLAY}`), undefined, 'an entry left without bindings is withdrawn');
    assert.deepEqual([...persist.marks.records.keys()].sort(), [ALICE, `sip:bob@${OVERLAY}`]);

    // a caller at B reaches alice through the restarted peer; alice never registered again
    const b = await w.addPeer('B');
    const dave = await w.phone('dave', b);
    dave.request('MESSAGE', ALICE);
    await w.settle();
    const got = phones[0]!.requests('MESSAGE')[0];
    assert.ok(got, 'delivered to alice');
    phones[0]!.reply(got, 200);
    await w.settle();
    assert.equal(dave.responses(200).length, 1);
    await a2.usage.stop();
    await w.stop();
  });

  test('a restored AoR whose Store fails is retried while it is registered, never after; a refused one never', async () => {
    const w = new OverlaySipWorld();
    const { a, persist } = await crashedPeer(w);
    w.store.failWith = new RegistrationStoreError('unavailable', 'x', 0, 'no answer: timeout');
    const a2 = await w.addPeer('A2', {}, { persist, nodeId: a.nodeId });
    a2.inner.restore();
    const before = publishes(w, `sip:bob@${OVERLAY}`);
    a2.usage.start();
    await w.advance(120_000, 1_000);
    const tries = publishes(w, `sip:bob@${OVERLAY}`) - before;
    assert.ok(tries >= 5, `retried with backoff (${tries})`);
    // bob's binding ends at 300 s: the retries end with it
    await w.advance(400_000, 5_000);
    const atEnd = publishes(w, `sip:bob@${OVERLAY}`);
    await w.advance(3_600_000, 60_000);
    assert.equal(publishes(w, `sip:bob@${OVERLAY}`), atEnd, 'no retry for an AoR without bindings');
    await a2.usage.stop();

    // the overlay refuses (Error_Forbidden): one try per AoR, none after
    const w2 = new OverlaySipWorld();
    const c = await crashedPeer(w2);
    w2.store.failWith = new RegistrationStoreError('refused', 'x', 2, 'Error_Forbidden: no');
    const c2 = await w2.addPeer('A2', {}, { persist: c.persist, nodeId: c.a.nodeId });
    c2.inner.restore();
    const first = publishes(w2);
    c2.usage.start();
    await w2.advance(600_000, 5_000);
    assert.equal(publishes(w2) - first, 3, 'each AoR tried once');
    assert.equal(c2.usage.location.stats.publishRefused, 3);
    w.store.failWith = undefined;
    w2.store.failWith = undefined;
    await c2.usage.stop();
    await w.stop();
    await w2.stop();
  });
});
