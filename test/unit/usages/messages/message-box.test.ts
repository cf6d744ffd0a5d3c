/** Issue 16: kept messages' values and the storing peer's guard of P2PSIP-MESSAGE. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { StoredData, StoredDataValue } from '../../../../src/reload/codec/index.js';
import { ReloadErrorCode } from '../../../../src/reload/codec/index.js';
import { entryKey, WRITE_GRANT_KIND_ID, writeGrantValue, type GuardRequest, type KindRecord } from '../../../../src/reload/storage/index.js';
import type { KindDefinition } from '../../../../src/reload/storage/kind.js';
import {
  MAX_KEPT_BODY_BYTES,
  MAX_KEPT_PER_RECIPIENT,
  MESSAGE_KIND_ID,
  MessageBoxError,
  decodeKeptMessage,
  encodeKeptMessage,
  keptMessageKey,
  keyOrder,
  keyWriter,
  type KeptMessage,
} from '../../../../src/usages/messages/message-box.js';
import { MessageBoxGuard } from '../../../../src/usages/messages/message-box-guard.js';

const KIND: KindDefinition = { id: MESSAGE_KIND_ID, name: 'P2PSIP-MESSAGE', dataModel: 'dictionary', accessControl: 'USAGE-GUARD', maxCount: 40, maxSize: 3200 };
const nodeA = new Uint8Array(16).fill(0xa);
const nodeB = new Uint8Array(16).fill(0xb);
const sample: KeptMessage = { from: '"Carol" <sip:carol@elsewhere.example>', to: 'sip:bob@p2psip.local', date: 'Mon, 07 Dec 2026 08:01:00 GMT', contentType: 'text/plain', body: new TextEncoder().encode('hello'), acceptedAt: 1_700_000_000_000 };

function stored(value: StoredDataValue, lifetime = 3600): StoredData {
  return { storageTime: 1n, lifetime, value, signature: { algorithm: { hash: 0, signature: 0 }, identity: { type: 'none' }, signatureValue: new Uint8Array(0) } } as unknown as StoredData;
}

function request(value: StoredDataValue, signer: Uint8Array, records: Map<number, KindRecord> = new Map(), lifetime = 3600): GuardRequest {
  return {
    resource: new Uint8Array(16),
    kind: KIND,
    data: stored(value, lifetime),
    signer: { userName: 'peer@p2psip.local', nodeIds: [signer] },
    requester: { userName: 'peer@p2psip.local', nodeIds: [signer] },
    now: 1000,
    current: (k) => records.get(k),
    kinds: () => KIND,
  };
}

function recordOf(kind: number, values: StoredDataValue[], expiresAt = 10_000): KindRecord {
  return { kind, model: 'dictionary', generation: 1n, replicaNumber: 0, entries: new Map(values.map((v) => [entryKey(v), { data: stored(v), receivedAt: 0, expiresAt, size: 100 }])) };
}

describe('kept messages', () => {
  test('encode / decode round trip; keys order by acceptance time then counter', () => {
    assert.deepEqual(decodeKeptMessage(encodeKeptMessage(sample)), sample);
    const k1 = keptMessageKey(nodeA, 5, 2);
    assert.equal(k1.length, 28);
    assert.deepEqual(keyWriter(k1, 16), nodeA);
    assert.equal(keyWriter(k1, 20), undefined);
    assert.deepEqual(keyOrder(k1), { at: 5n, counter: 2 });
  });

  test('bad values are refused with the reason, never a crash', () => {
    const bad = (o: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(o));
    const ok = JSON.parse(new TextDecoder().decode(encodeKeptMessage(sample))) as Record<string, unknown>;
    assert.throws(() => decodeKeptMessage(new Uint8Array([0xff, 0xfe])), /not UTF-8 JSON/);
    assert.throws(() => decodeKeptMessage(bad([1])), /not a JSON object/);
    assert.throws(() => decodeKeptMessage(bad({ ...ok, v: 2 })), /unknown version/);
    assert.throws(() => decodeKeptMessage(bad({ ...ok, from: 'a\r\nb' })), /control character/);
    assert.throws(() => decodeKeptMessage(bad({ ...ok, body: Buffer.alloc(MAX_KEPT_BODY_BYTES + 1).toString('base64') })), /body of 1301 bytes/);
    assert.throws(() => decodeKeptMessage(bad({ ...ok, at: -1 })), /not a time/);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        try {
          decodeKeptMessage(bytes);
        } catch (e) {
          assert.ok(e instanceof MessageBoxError);
        }
      }),
    );
  });
});

describe('the P2PSIP-MESSAGE guard', () => {
  const value = (writer: Uint8Array, n: number, exists = true): StoredDataValue => ({ model: 'dictionary', key: keptMessageKey(writer, 1000 + n, n), value: { exists, value: exists ? encodeKeptMessage(sample) : new Uint8Array(0) } });

  test('a peer keeps messages only under its own Node-ID, readable, within the lifetime limit', () => {
    const g = new MessageBoxGuard({ nodeIdLength: 16, closed: true });
    assert.deepEqual(g.check(request(value(nodeA, 1), nodeA)), { ok: true, keep: true });
    const foreign = g.check(request(value(nodeA, 2), nodeB));
    assert.equal(foreign.ok, false);
    assert.match(!foreign.ok ? foreign.info : '', /does not name the signer/);
    const garbage = g.check(request({ model: 'dictionary', key: keptMessageKey(nodeA, 1, 1), value: { exists: true, value: new Uint8Array([1, 2]) } }, nodeA));
    assert.match(!garbage.ok ? garbage.info : '', /not a kept message/);
    const shortKey = g.check(request({ model: 'dictionary', key: nodeA, value: { exists: true, value: encodeKeptMessage(sample) } }, nodeA));
    assert.match(!shortKey.ok ? shortKey.info : '', /Node-ID and 12 bytes/);
    const forever = g.check(request(value(nodeA, 3), nodeA, new Map(), 365 * 86_400));
    assert.match(!forever.ok ? forever.info : '', /lifetime/);
  });

  test(`a full box (${MAX_KEPT_PER_RECIPIENT} live) refuses the next with Error_Data_Too_Large; expired ones and tombstones do not count`, () => {
    const g = new MessageBoxGuard({ nodeIdLength: 16, closed: true });
    const live = Array.from({ length: MAX_KEPT_PER_RECIPIENT }, (_, i) => value(nodeA, i));
    const full = g.check(request(value(nodeA, 99), nodeA, new Map([[MESSAGE_KIND_ID, recordOf(MESSAGE_KIND_ID, live)]])));
    assert.equal(full.ok, false);
    assert.equal(!full.ok && full.code, ReloadErrorCode.DataTooLarge);
    assert.match(!full.ok ? full.info : '', /message box full/);
    // the writer storing one of them again is no new message
    assert.equal(g.check(request(live[0]!, nodeA, new Map([[MESSAGE_KIND_ID, recordOf(MESSAGE_KIND_ID, live)]]))).ok, true);
    const expired = g.check(request(value(nodeA, 99), nodeA, new Map([[MESSAGE_KIND_ID, recordOf(MESSAGE_KIND_ID, live, 500)]])));
    assert.equal(expired.ok, true);
    const tombs = live.map((v) => ({ ...v, value: { exists: false, value: new Uint8Array(0) } }) as StoredDataValue);
    assert.equal(g.check(request(value(nodeA, 99), nodeA, new Map([[MESSAGE_KIND_ID, recordOf(MESSAGE_KIND_ID, tombs)]]))).ok, true);
  });

  test('removal: by its writer; in a closed overlay by a peer with a live write grant here, nobody else; in an open one by anyone', () => {
    const closed = new MessageBoxGuard({ nodeIdLength: 16, closed: true });
    const gone = value(nodeA, 1, false);
    assert.equal(closed.check(request(gone, nodeA)).ok, true);
    const stranger = closed.check(request(gone, nodeB));
    assert.equal(stranger.ok, false);
    assert.match(!stranger.ok ? stranger.info : '', /write grant/);
    const grant: StoredDataValue = writeGrantValue(nodeB, 50_000);
    assert.equal(closed.check(request(gone, nodeB, new Map([[WRITE_GRANT_KIND_ID, recordOf(WRITE_GRANT_KIND_ID, [grant])]]))).ok, true);
    assert.equal(closed.check(request(gone, nodeB, new Map([[WRITE_GRANT_KIND_ID, recordOf(WRITE_GRANT_KIND_ID, [grant], 999)]]))).ok, false, 'an expired grant');
    assert.equal(new MessageBoxGuard({ nodeIdLength: 16, closed: false }).check(request(gone, nodeB)).ok, true);
    assert.deepEqual(closed.counts, { kept: 0, removed: 2, refused: 2 });
  });
});
