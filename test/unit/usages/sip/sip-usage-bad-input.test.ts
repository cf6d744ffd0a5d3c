import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom } from '../../../../src/lib/random.js';
import { MessageCode, ReloadErrorCode, encodeAppAttachReqAns, encodeSipRegistration } from '../../../../src/reload/codec/index.js';
import type { StoredData } from '../../../../src/reload/codec/index.js';
import type { InboundRequest } from '../../../../src/reload/overlay/overlay-types.js';
import { LocationLookupError } from '../../../../src/sip/core/location-service.js';
import { appAttachHandler } from '../../../../src/usages/sip/app-attach-handler.js';
import { sipCandidates } from '../../../../src/usages/sip/sip-app-attach.js';
import { MAX_REGISTRATIONS_PER_AOR, StorageRegistrationDirectory, type SipRegistrationStorage } from '../../../../src/usages/sip/storage-registration-directory.js';

const random = new SeededRandom(11);

describe('SIP usage: bad input from the network never throws', () => {
  test('the AppAttach handler answers 2,000 random and mutated bodies with an answer or an error', () => {
    const handler = appAttachHandler({ random, sipAddresses: () => [{ protocol: 'udp', host: '127.0.0.1', port: 5060 }] });
    const good = encodeAppAttachReqAns({ ufrag: new Uint8Array(4), password: new Uint8Array(4), application: 5060, role: new Uint8Array(0), candidates: sipCandidates([{ protocol: 'udp', host: '10.0.0.1', port: 5070 }]) });
    for (let i = 0; i < 2000; i++) {
      let body: Uint8Array;
      if (i % 2 === 0) body = random.bytes(random.u32() % 64);
      else {
        body = Uint8Array.from(good);
        body[random.u32() % body.length] = random.u32() & 0xff;
      }
      const r = handler({ code: MessageCode.app_attach_req, body } as unknown as InboundRequest);
      assert.ok('error' in r ? typeof r.info === 'string' : r.code === MessageCode.app_attach_ans);
    }
  });

  test('fetched SIP-REGISTRATION values that are malformed, deleted or keyed wrongly are skipped; at most 64 taken', async () => {
    const key = new Uint8Array(16).fill(1);
    const good = encodeSipRegistration({ type: 'route', contactPrefs: new Uint8Array(0), destinationList: [{ type: 'node', nodeId: key }] }, { nodeIdLength: 16 });
    const value = (k: Uint8Array, exists: boolean, bytes: Uint8Array): { data: StoredData } => ({
      data: { storageTime: 1n, lifetime: 60, value: { model: 'dictionary', key: k, value: { exists, value: bytes } }, signature: {} as StoredData['signature'] },
    });
    const values = [value(key, true, Uint8Array.of(2, 0, 9)), value(key, false, good), value(new Uint8Array(3), true, good), value(key, true, random.bytes(40))];
    for (let i = 0; i < 100; i++) values.push(value(key, true, good));
    const storage: SipRegistrationStorage = {
      store: () => Promise.resolve({ ok: true }),
      fetch: () => Promise.resolve({ ok: true, values }),
    };
    const dir = new StorageRegistrationDirectory({ storage, selfNodeId: key, nodeIdLength: 16 });
    const got = await dir.lookup('sip:alice@p2psip.local');
    assert.equal(got.length, MAX_REGISTRATIONS_PER_AOR);
    assert.ok(got.every((e) => e.value.type === 'route'));
  });

  test('Fetch failures: no answer → 408, Not_Found → none, others → error', async () => {
    const key = new Uint8Array(16);
    const failing = (errorCode: number): StorageRegistrationDirectory =>
      new StorageRegistrationDirectory({
        storage: { store: () => Promise.resolve({ ok: false, errorCode, info: 'x' }), fetch: () => Promise.resolve({ ok: false, errorCode, info: 'x' }) },
        selfNodeId: key,
        nodeIdLength: 16,
      });
    await assert.rejects(failing(0).lookup('sip:a@o'), (e: unknown) => e instanceof LocationLookupError && e.status === 408);
    assert.deepEqual(await failing(ReloadErrorCode.NotFound).lookup('sip:a@o'), []);
    await assert.rejects(failing(ReloadErrorCode.Forbidden).lookup('sip:a@o'), /Fetch failed/);
    await assert.rejects(failing(ReloadErrorCode.Forbidden).publish('sip:a@o', { type: 'uri', uri: new Uint8Array(1) }, 60), /Store of sip:a@o failed/);
  });
});
