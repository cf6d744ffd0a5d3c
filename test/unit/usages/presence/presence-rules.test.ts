/** Issue 16: watcher rules in the overlay (presence-rules.ts) on a fake storage. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { ReloadErrorCode, type StoredData, type StoredDataValue } from '../../../../src/reload/codec/index.js';
import { decodeRules, OverlayPresenceRules, RULES_CACHE_MS, type PresenceRulesStorage } from '../../../../src/usages/presence/presence-rules.js';

const utf8 = new TextEncoder();
const stored = (v: StoredDataValue): StoredData => ({ storageTime: 1n, lifetime: 600, value: v, signature: { algorithm: { hash: 0, signature: 0 }, identity: { type: 'none' }, signatureValue: new Uint8Array(0) } }) as unknown as StoredData;

class Fake implements PresenceRulesStorage {
  values: StoredDataValue[] = [];
  fetches = 0;
  refuse: number | undefined;
  async store(_k: number, _r: { resourceName: string }, values: readonly StoredDataValue[]): Promise<{ ok: true } | { ok: false; errorCode: number; info: string }> {
    if (this.refuse !== undefined) return { ok: false, errorCode: this.refuse, info: 'no write grant' };
    this.values.push(...values);
    return { ok: true };
  }
  async fetch(): Promise<{ ok: true; values: Array<{ data: StoredData }> }> {
    this.fetches++;
    return { ok: true, values: this.values.map((v) => ({ data: stored(v) })) };
  }
}

describe('presence rules in the overlay', () => {
  test('decodeRules takes only well-formed bounded lists', () => {
    assert.deepEqual(decodeRules(utf8.encode('{"allow":["*@p2psip.local"],"deny":["*"]}')), { allow: ['*@p2psip.local'], deny: ['*'] });
    assert.equal(decodeRules(utf8.encode('{"deny":["not an entry"]}')), undefined);
    assert.equal(decodeRules(utf8.encode('[1]')), undefined);
    assert.equal(decodeRules(new Uint8Array([0xff])), undefined);
  });

  test('set writes our entry; entries of several peers merge; read again after the cache time; refusals named', async () => {
    const storage = new Fake();
    const clock = new ManualClock(0);
    const rules = new OverlayPresenceRules({ clock, storage, selfNodeId: new Uint8Array(16).fill(1) });
    assert.equal(await rules.rules('sip:bob@p2psip.local'), undefined);
    assert.deepEqual(await rules.set('sip:bob@p2psip.local', { allow: [], deny: ['sip:eve@p2psip.local'] }), { ok: true });
    storage.values.push({ model: 'dictionary', key: new Uint8Array(16).fill(2), value: { exists: true, value: utf8.encode('{"allow":["sip:alice@p2psip.local"],"deny":["*"]}') } });
    assert.deepEqual(await rules.rules('sip:bob@p2psip.local'), { allow: ['sip:alice@p2psip.local'], deny: ['sip:eve@p2psip.local', '*'] });
    const n = storage.fetches;
    await rules.rules('sip:bob@p2psip.local');
    assert.equal(storage.fetches, n, 'kept a moment');
    clock.advance(RULES_CACHE_MS);
    await rules.rules('sip:bob@p2psip.local');
    assert.equal(storage.fetches, n + 1);
    assert.equal((await rules.set('sip:bob@p2psip.local', { allow: ['bad entry'], deny: [] })).ok, false);
    storage.refuse = ReloadErrorCode.Forbidden;
    const r = await rules.set('sip:bob@p2psip.local', { allow: [], deny: ['*'] });
    assert.equal(r.ok === false && r.status, 'forbidden');
  });
});
