/** Issue 16: presence in the overlay — the watch entries' guard, the source on a fake storage, the storing peer's hints. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import type { StoredData, StoredDataValue } from '../../../../src/reload/codec/index.js';
import type { GuardRequest } from '../../../../src/reload/storage/index.js';
import { chordResourceId } from '../../../../src/reload/storage/chord-resource-id.js';
import { OverlayPresence, PRESENCE_KIND_ID, PRESENCE_WATCH_KIND_ID, PresenceHintReceiver, WATCH_REFRESH_MS, WatchGuard, type PresenceStorage } from '../../../../src/usages/presence/overlay-presence.js';
import { parsePidf } from '../../../../src/usages/presence/pidf.js';
import type { ServiceRequest } from '../../../../src/sip/core/local-services.js';
import type { SipResponse } from '../../../../src/sip/message/sip-message.js';
import { parseUri, SipHeaders } from '../../../../src/sip/message/index.js';

const hash = (name: Uint8Array): Uint8Array => chordResourceId(name, 16);
const utf8 = new TextEncoder();
const self = new Uint8Array(16).fill(1);
const other = new Uint8Array(16).fill(2);

function stored(value: StoredDataValue, lifetime = 600): StoredData {
  return { storageTime: 1n, lifetime, value, signature: { algorithm: { hash: 0, signature: 0 }, identity: { type: 'none' }, signatureValue: new Uint8Array(0) } } as unknown as StoredData;
}

describe('P2PSIP-PRESENCE-WATCH guard', () => {
  const guard = new WatchGuard({ nodeIdLength: 16, hashResourceName: hash });
  const req = (value: StoredDataValue, signer: Uint8Array, resourceName = 'bob@p2psip.local', lifetime = 1800): GuardRequest => ({
    resource: hash(utf8.encode(resourceName)),
    kind: { id: PRESENCE_WATCH_KIND_ID, name: 'P2PSIP-PRESENCE-WATCH', dataModel: 'dictionary', accessControl: 'USAGE-GUARD', maxCount: 64, maxSize: 512 },
    data: stored(value, lifetime),
    signer: { userName: '', nodeIds: [signer] },
    requester: { userName: '', nodeIds: [signer] },
    now: 0,
    current: () => undefined,
    kinds: () => undefined,
  });
  test('own key, value naming the Resource-ID it is stored at, bounded lifetime; removal of its own', () => {
    const mine: StoredDataValue = { model: 'dictionary', key: self, value: { exists: true, value: utf8.encode('bob@p2psip.local') } };
    assert.equal(guard.check(req(mine, self)).ok, true);
    assert.match(JSON.stringify(guard.check(req(mine, other))), /signer's Node-ID/);
    const lying: StoredDataValue = { model: 'dictionary', key: self, value: { exists: true, value: utf8.encode('carol@p2psip.local') } };
    assert.match(JSON.stringify(guard.check(req(lying, self))), /Resource Name of its Resource-ID/);
    assert.match(JSON.stringify(guard.check(req(mine, self, 'bob@p2psip.local', 86_400))), /lives at most/);
    assert.equal(guard.check(req({ model: 'dictionary', key: self, value: { exists: false, value: new Uint8Array(0) } }, self)).ok, true);
  });
});

/** A storage that keeps dictionary values by Kind and Resource Name. */
class FakeStorage implements PresenceStorage {
  readonly data = new Map<string, Map<string, StoredData>>();
  stores = 0;
  async store(kindId: number, ref: { resourceName: string }, values: readonly StoredDataValue[], opts?: { lifetime?: number }): Promise<{ ok: true }> {
    this.stores++;
    const k = `${kindId}|${ref.resourceName}`;
    const m = this.data.get(k) ?? new Map<string, StoredData>();
    this.data.set(k, m);
    for (const v of values) if (v.model === 'dictionary') m.set(Buffer.from(v.key).toString('hex'), stored(v, opts?.lifetime));
    return { ok: true };
  }
  async fetch(kindId: number, ref: { resourceName: string }): Promise<{ ok: true; values: Array<{ data: StoredData }> }> {
    return { ok: true, values: [...(this.data.get(`${kindId}|${ref.resourceName}`)?.values() ?? [])].map((data) => ({ data })) };
  }
}

describe('OverlayPresence', () => {
  test('busy lamp: on-the-phone reaches the overlay once a call lasted busyWriteDelayMs; a shorter call costs no Store; local watchers see it at once', async () => {
    const storage = new FakeStorage();
    const clock = new ManualClock(0);
    const src = new OverlayPresence({ clock, storage, selfNodeId: self, registeredHere: () => true, watchersHeld: () => [], sendHint: () => {} });
    let told = 0;
    src.watch('sip:bob@p2psip.local', () => told++);
    const watchStores = storage.stores;
    const flush = async (): Promise<void> => {
      for (let i = 0; i < 10; i++) await Promise.resolve();
    };
    // a call of 100 ms: watchers here told twice, nothing written
    await src.setOnThePhone('sip:bob@p2psip.local', true);
    clock.advance(100);
    await src.setOnThePhone('sip:bob@p2psip.local', false);
    clock.advance(1000);
    await flush();
    assert.equal(told, 2);
    assert.equal(storage.stores, watchStores, 'a short call costs no Store');
    // a call of 2 s: on-the-phone written after 300 ms, idle written 300 ms after its end
    await src.setOnThePhone('sip:bob@p2psip.local', true);
    clock.advance(299);
    await flush();
    assert.equal(storage.stores, watchStores);
    clock.advance(1);
    await flush();
    assert.equal(storage.stores, watchStores + 1);
    const held = [...(storage.data.get(`${PRESENCE_KIND_ID}|bob@p2psip.local`)?.values() ?? [])][0]!;
    assert.match(new TextDecoder().decode(held.value.value.value), /on-the-phone/);
    clock.advance(1700);
    await src.setOnThePhone('sip:bob@p2psip.local', false);
    clock.advance(300);
    await flush();
    assert.equal(storage.stores, watchStores + 2);
    assert.equal(storage.data.get(`${PRESENCE_KIND_ID}|bob@p2psip.local`)?.values().next().value?.value.value.exists, false);
    // 0: at once
    const now = new OverlayPresence({ clock, storage, selfNodeId: self, registeredHere: () => true, watchersHeld: () => [], sendHint: () => {}, busyWriteDelayMs: 0 });
    await now.setOnThePhone('sip:carol@p2psip.local', true);
    assert.equal(storage.stores, watchStores + 3);
    src.stop();
    now.stop();
  });

  const tuple = (id: string, basic: 'open' | 'closed'): string => `<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:bob@p2psip.local"><tuple id="${id}"><status><basic>${basic}</basic></status></tuple></presence>`;

  test("fetch: other peers' entries (ours left out), registered when any registration exists; publish writes ours", async () => {
    const storage = new FakeStorage();
    const clock = new ManualClock(0);
    let here = false;
    const src = new OverlayPresence({ clock, storage, selfNodeId: self, registeredHere: () => here, watchersHeld: () => [], sendHint: () => {} });
    await storage.store(PRESENCE_KIND_ID, { resourceName: 'bob@p2psip.local' }, [{ model: 'dictionary', key: other, value: { exists: true, value: utf8.encode(tuple('desk', 'open')) } }]);
    const doc = parsePidf(tuple('mine', 'closed'));
    assert.ok(doc.ok);
    await src.publish('sip:bob@p2psip.local', { tuples: doc.document.tuples, elements: [] });
    const snap = await src.fetch('sip:bob@p2psip.local');
    assert.deepEqual(snap.published.map((p) => p.tuples.map((t) => t.id)), [['desk']]);
    assert.equal(snap.registered, false);
    here = true;
    assert.equal((await src.fetch('sip:bob@p2psip.local')).registered, true);
    here = false;
    await storage.store(1, { resourceName: 'bob@p2psip.local' }, [{ model: 'dictionary', key: other, value: { exists: true, value: new Uint8Array(4) } }]);
    assert.equal((await src.fetch('sip:bob@p2psip.local')).registered, true, 'registered at another peer');
    // an empty state removes our entry
    await src.publish('sip:bob@p2psip.local', { tuples: [], elements: [] });
    const ours = storage.data.get(`${PRESENCE_KIND_ID}|bob@p2psip.local`)!.get(Buffer.from(self).toString('hex'))!;
    assert.equal(ours.value.value.exists, false);
  });

  test('watch stores our entry, refreshes it, removes it after the last unwatch; hints and local changes call the watchers', async () => {
    const storage = new FakeStorage();
    const clock = new ManualClock(0);
    const src = new OverlayPresence({ clock, storage, selfNodeId: self, registeredHere: () => false, watchersHeld: () => [], sendHint: () => {} });
    let calls = 0;
    const off1 = src.watch('sip:bob@p2psip.local', () => calls++);
    const off2 = src.watch('sip:bob@p2psip.local', () => calls++);
    await Promise.resolve();
    const entry = (): StoredData => storage.data.get(`${PRESENCE_WATCH_KIND_ID}|bob@p2psip.local`)!.get(Buffer.from(self).toString('hex'))!;
    assert.equal(entry().value.value.exists, true);
    assert.equal(storage.stores, 1, 'one entry for two subscriptions');
    clock.advance(WATCH_REFRESH_MS);
    assert.equal(storage.stores, 2, 'refreshed');
    src.hintReceived('sip:bob@p2psip.local');
    assert.equal(calls, 2);
    off1();
    assert.equal(entry().value.value.exists, true);
    off2();
    await Promise.resolve();
    assert.equal(entry().value.value.exists, false, 'removed with the last');
    clock.advance(WATCH_REFRESH_MS);
    assert.equal(storage.stores, 3, 'no refresh after');
  });

  test('the storing peer: a Store of a registration or presence sends a hint to each watcher peer (ours locally)', () => {
    const hints: string[] = [];
    const clock = new ManualClock(0);
    const src = new OverlayPresence({
      clock,
      storage: new FakeStorage(),
      selfNodeId: self,
      registeredHere: () => false,
      watchersHeld: () => [
        { nodeId: other, resourceName: 'bob@p2psip.local' },
        { nodeId: self, resourceName: 'bob@p2psip.local' },
      ],
      sendHint: (n, aor) => hints.push(`${Buffer.from(n).toString('hex').slice(0, 4)} ${aor}`),
    });
    let local = 0;
    src.watch('sip:bob@p2psip.local', () => local++);
    src.onStored({ resource: new Uint8Array(16), replicaNumber: 0, kindData: [{ kind: 1, generationCounter: 0n, values: [] }] });
    assert.deepEqual(hints, ['0202 sip:bob@p2psip.local']);
    assert.equal(local, 1);
    src.onStored({ resource: new Uint8Array(16), replicaNumber: 0, kindData: [{ kind: 3, generationCounter: 0n, values: [] }] });
    assert.equal(hints.length, 1, 'other Kinds say nothing');
  });

  test('hint receiver: 200 to a peer, 403 to a phone, other NOTIFYs not claimed', () => {
    const got: string[] = [];
    const rx = new PresenceHintReceiver({ hintReceived: (aor) => got.push(aor) });
    const answers: number[] = [];
    const r = (event: string, fromPeer: boolean, method = 'NOTIFY'): ServiceRequest =>
      ({
        tx: { request: { kind: 'request', method, uri: parseUri('sip:bob@p2psip.local'), version: 'SIP/2.0', headers: new SipHeaders([['Via', 'SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKx'], ['From', '<sip:a@b>;tag=1'], ['To', '<sip:bob@p2psip.local>'], ['Call-ID', 'c'], ['CSeq', '1 NOTIFY']]), body: new Uint8Array(0) }, respond: (res: SipResponse) => answers.push(res.status) },
        request: { kind: 'request', method, uri: parseUri('sip:bob@p2psip.local'), version: 'SIP/2.0', headers: new SipHeaders([['Event', event]]), body: new Uint8Array(0) },
        aor: 'sip:bob@p2psip.local',
        toTag: 't',
        fromPeer,
        user: undefined,
        tryingSent: false,
      }) as unknown as ServiceRequest;
    assert.equal(rx.claim(r('x-p2psip-presence', true)), true);
    assert.equal(rx.claim(r('x-p2psip-presence', false)), true);
    assert.equal(rx.claim(r('presence', true)), false);
    assert.equal(rx.claim(r('x-p2psip-presence', true, 'MESSAGE')), false);
    assert.deepEqual(answers, [200, 403]);
    assert.deepEqual(got, ['sip:bob@p2psip.local']);
  });
});
