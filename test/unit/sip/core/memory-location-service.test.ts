/**
 * Issue 14: registrations survive a restart. MemoryLocationService writes every change of an AoR's
 * bindings to its RecordStore; a new service over the same store (a restarted peer: another clock
 * origin, the wall clock moved on) restores them with their remaining lifetime, expired ones dropped.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { MemoryLocationService } from '../../../../src/sip/core/memory-location-service.js';
import type { BindingChange } from '../../../../src/sip/core/location-service.js';
import { formatNameAddr, parseNameAddr } from '../../../../src/sip/message/index.js';
import { MemoryRecordStore } from '../../../support/lib/memory-record-store.js';

const AOR = 'sip:alice@p2psip.local';

function change(contact: string, expiresSec: number, cseq: number, over: Partial<BindingChange> = {}): BindingChange {
  return {
    contacts: [{ contact: parseNameAddr(contact), expiresSec, q: 0.5 }],
    callId: 'reg-1',
    cseq,
    source: { protocol: 'udp', host: '198.51.100.7', port: 5062 },
    flowId: undefined,
    ...over,
  };
}

/** A peer's location service at wall-clock time `wall` (ms), its own clock starting elsewhere. */
function peer(store: MemoryRecordStore, wall: { now: number }, clockStart: number): { clock: ManualClock; loc: MemoryLocationService } {
  const clock = new ManualClock(clockStart);
  const base = wall.now - clockStart;
  const loc = new MemoryLocationService(clock, { store, wallClock: () => base + clock.now() });
  return { clock, loc };
}

describe('MemoryLocationService: bindings kept in a RecordStore across a restart', () => {
  test('restored with their remaining lifetime; expired ones dropped and removed from the store', async () => {
    const store = new MemoryRecordStore();
    const wall = { now: 1_700_000_000_000 };
    const a = peer(store, wall, 5_000);
    assert.ok((await a.loc.update(AOR, change('"Alice" <sip:alice@198.51.100.7:5062;transport=udp>;+sip.instance="<urn:uuid:1>"', 600, 7))).ok);
    assert.ok((await a.loc.update('sip:bob@p2psip.local', change('<sip:bob@198.51.100.8>', 60, 1))).ok);
    assert.equal(store.records.size, 2, 'each change written');

    // 100 s later the process is gone; a new one starts with another clock origin
    wall.now += 100_000;
    const b = peer(store, wall, 42);
    const report = b.loc.restore();
    assert.deepEqual(report, { aors: 1, bindings: 1, expired: 1, flowOnly: 0, unreadable: 0 });
    const [alice] = b.loc.lookupNow(AOR);
    assert.ok(alice);
    assert.equal(alice.expiresAt - b.clock.now(), 500_000, '600 s less the 100 s the peer was down');
    assert.equal(formatNameAddr(alice.contact), '"Alice" <sip:alice@198.51.100.7:5062;transport=udp>;+sip.instance="<urn:uuid:1>"');
    assert.equal(alice.q, 0.5);
    assert.deepEqual([alice.callId, alice.cseq], ['reg-1', 7]);
    assert.deepEqual(alice.source, { protocol: 'udp', host: '198.51.100.7', port: 5062 });
    assert.deepEqual(b.loc.lookupNow('sip:bob@p2psip.local'), []);
    assert.equal(store.records.has('sip:bob@p2psip.local'), false, 'the expired AoR is removed from the store');

    // Call-ID/CSeq ordering goes on across the restart (RFC 3261 §10.3 step 7)
    const older = await b.loc.update(AOR, change('<sip:alice@198.51.100.7:5062;transport=udp>', 600, 6));
    assert.deepEqual(older, { ok: false, reason: 'out-of-order' });
    b.clock.advance(500_001);
    assert.deepEqual(b.loc.lookupNow(AOR), []);
    assert.equal(store.records.size, 0, 'a binding that expires is removed from the store too');
  });

  test('connections do not survive: the flow is forgotten; a contact only the flow reached (.invalid) is dropped', async () => {
    const store = new MemoryRecordStore();
    const wall = { now: 1_700_000_000_000 };
    const a = peer(store, wall, 0);
    await a.loc.update(AOR, change('<sip:alice@198.51.100.7:5070;transport=tcp>', 600, 1, { source: { protocol: 'tcp', host: '198.51.100.7', port: 40000 }, flowId: 'c17' }));
    await a.loc.update('sip:web@p2psip.local', change('<sip:x7k@df7jal23ls0d.invalid;transport=ws>', 600, 1, { source: { protocol: 'ws', host: '198.51.100.9', port: 40001 }, flowId: 'c18' }));
    const b = peer(store, wall, 0);
    assert.deepEqual(b.loc.restore(), { aors: 1, bindings: 1, expired: 0, flowOnly: 1, unreadable: 0 });
    const [alice] = b.loc.lookupNow(AOR);
    assert.equal(alice?.flowId, undefined, 'a flow id of the old process names nothing (or another phone) now');
    assert.deepEqual(alice?.source, { protocol: 'tcp', host: '198.51.100.7', port: 40000 });
    assert.equal(store.records.has('sip:web@p2psip.local'), false);
  });

  test('unreadable records and AoRs beyond maxAors are dropped (and removed), the rest restored', async () => {
    const store = new MemoryRecordStore();
    const wall = { now: 1_700_000_000_000 };
    const a = peer(store, wall, 0);
    for (const u of ['u1', 'u2', 'u3']) await a.loc.update(`sip:${u}@p2psip.local`, change(`<sip:${u}@198.51.100.7>`, 600, 1));
    store.records.set('sip:bad1@p2psip.local', 'not json');
    store.records.set('sip:bad2@p2psip.local', JSON.stringify({ v: 1, b: [{ c: '<sip:x@y', e: 1, q: 1, i: 'c', s: 1, t: 'udp', h: 'h', p: 1 }] }));
    store.records.set('sip:bad3@p2psip.local', JSON.stringify({ v: 99, b: [] }));
    const b = new MemoryLocationService(new ManualClock(0), { store, wallClock: () => wall.now, maxAors: 2 });
    const r = b.restore();
    assert.equal(r.aors, 2);
    assert.equal(r.unreadable, 4);
    assert.equal(b.size(), 2);
    assert.equal(store.records.size, 2);
  });

  test('stage() changes nothing; commit() applies and writes', async () => {
    const store = new MemoryRecordStore();
    const loc = new MemoryLocationService(new ManualClock(0), { store });
    const r = loc.stage(AOR, change('<sip:alice@198.51.100.7>', 600, 1));
    assert.ok(r.ok);
    assert.deepEqual(loc.lookupNow(AOR), []);
    assert.equal(store.puts, 0);
    loc.commit(AOR, r.bindings);
    assert.equal(loc.lookupNow(AOR).length, 1);
    assert.equal(store.puts, 1);
    loc.commit(AOR, []);
    assert.equal(store.records.size, 0);
  });
});
