import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_RULE_ENTRIES, MemoryPresenceRuleStore, isRuleEntry, isWatcherAllowed } from '../../../../src/usages/presence/presence-authorization.js';
import { PresenceError } from '../../../../src/usages/presence/presence-error.js';

const ALICE = 'sip:alice@p2psip.local';
const BOB = 'sip:bob@p2psip.local';
const EVE = 'sip:eve@evil.example';

describe('presence authorization', () => {
  test('no rules: everyone may watch', () => {
    assert.ok(isWatcherAllowed(undefined, BOB, ALICE));
    assert.ok(isWatcherAllowed({ allow: [], deny: [] }, EVE, ALICE));
  });

  test('deny wins on the same level; default allow', () => {
    assert.ok(!isWatcherAllowed({ allow: [], deny: [EVE] }, EVE, ALICE));
    assert.ok(isWatcherAllowed({ allow: [], deny: [EVE] }, BOB, ALICE));
    assert.ok(!isWatcherAllowed({ allow: [EVE], deny: [EVE] }, EVE, ALICE));
    assert.ok(!isWatcherAllowed({ allow: ['*'], deny: ['*'] }, BOB, ALICE));
  });

  test('the most specific entry decides: a whitelist is deny * plus allowed AoRs', () => {
    const whitelist = { allow: [BOB], deny: ['*'] };
    assert.ok(isWatcherAllowed(whitelist, BOB, ALICE));
    assert.ok(!isWatcherAllowed(whitelist, EVE, ALICE));
    const domainBlock = { allow: ['sip:friend@evil.example'], deny: ['*@evil.example'] };
    assert.ok(!isWatcherAllowed(domainBlock, EVE, ALICE));
    assert.ok(isWatcherAllowed(domainBlock, 'sip:friend@evil.example', ALICE));
    assert.ok(!isWatcherAllowed({ allow: ['*@evil.example'], deny: [EVE] }, EVE, ALICE), 'an exact deny beats a domain allow');
  });

  test('the presentity may always watch itself', () => {
    assert.ok(isWatcherAllowed({ allow: [], deny: ['*', ALICE] }, ALICE, ALICE));
  });

  test('the in-memory store: entries checked, lists bounded', async () => {
    const store = new MemoryPresenceRuleStore();
    assert.equal(await store.rules(ALICE), undefined);
    store.deny(ALICE, EVE);
    store.allow(ALICE, '*@p2psip.local');
    assert.deepEqual(await store.rules(ALICE), { allow: ['*@p2psip.local'], deny: [EVE] });
    store.forget(ALICE, EVE);
    store.forget(ALICE, '*@p2psip.local');
    assert.equal(await store.rules(ALICE), undefined);
    assert.throws(() => store.deny(ALICE, 'not an aor'), (e: unknown) => e instanceof PresenceError && e.code === 'bad-rule');
    for (let i = 0; i < MAX_RULE_ENTRIES; i++) store.deny(ALICE, `sip:u${i}@x.example`);
    store.deny(ALICE, 'sip:u0@x.example'); // already there: fine
    assert.throws(() => store.deny(ALICE, 'sip:one-more@x.example'), (e: unknown) => e instanceof PresenceError && e.code === 'rules-limit');
  });

  test('rule entries', () => {
    for (const e of ['*', '*@example.com', 'sip:bob@example.com', 'sips:bob@example.com']) assert.ok(isRuleEntry(e), e);
    for (const e of ['', 'bob', '*@', 'sip:bob', 'http://x', 'sip:b ob@x', '**']) assert.ok(!isRuleEntry(e), e);
  });
});
