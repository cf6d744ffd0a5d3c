import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeEmptyBody, encodeReloadMessage, MessageCode } from '../../src/reload/codec/index.js';
import type { ForwardingHeader } from '../../src/reload/codec/index.js';
import { encodeWorkloadValue, workloadValueVersion } from '../../src/sim/storage-workload.js';
import { MAX_TRACKED_TRANSACTIONS, StorageTrafficMeter, emptyStorageTraffic, peekMessageCode } from '../../src/sim/storage-traffic.js';
import { SimStorageSecurity, simStorageCredentials } from '../../src/sim/sim-storage-security.js';

const id = (b: number): Uint8Array => new Uint8Array(16).fill(b);

function message(code: number, dest: ForwardingHeader['destinationList'], via: ForwardingHeader['viaList'] = [], tid = 7n): Uint8Array {
  const header: ForwardingHeader = {
    overlay: 1,
    configurationSequence: 0,
    version: 10,
    ttl: 100,
    fragment: { last: true, offset: 0 },
    length: 0,
    transactionId: tid,
    maxResponseLength: 0,
    viaList: via,
    destinationList: dest,
    options: [],
  };
  return encodeReloadMessage({
    header,
    contents: { messageCode: code, body: encodeEmptyBody(), extensions: [] },
    securityBlock: { certificates: [], signature: { algorithm: { hash: 0, signature: 0 }, identity: { type: 'none' }, signatureValue: new Uint8Array(0) } },
  });
}

describe('storage workload values', () => {
  test('a value carries its number and version; another number reads as version 0', () => {
    const b = encodeWorkloadValue(42, 7, 200);
    assert.equal(b.length, 200);
    assert.equal(workloadValueVersion(b, 42), 7);
    assert.equal(workloadValueVersion(b, 43), 0);
    assert.equal(workloadValueVersion(new Uint8Array(3), 42), 0);
    assert.equal(workloadValueVersion(b.subarray(0, 8), 42), 7);
  });
});

describe('storage traffic meter', () => {
  test('peekMessageCode finds the code behind via and destination lists', () => {
    for (const code of [MessageCode.store_req, MessageCode.fetch_ans, MessageCode.update_req]) {
      const m = message(code, [{ type: 'node', nodeId: id(1) }, { type: 'resource', resourceId: id(2) }], [{ type: 'node', nodeId: id(3) }]);
      assert.equal(peekMessageCode(m), code);
    }
    assert.equal(peekMessageCode(new Uint8Array(10)), 0);
    const cut = message(MessageCode.store_req, [{ type: 'node', nodeId: id(1) }]);
    assert.equal(peekMessageCode(cut.subarray(0, 40)), 0, 'code past the end');
  });

  test('Stores to a Resource-ID are workload, to a Node-ID replication; answers follow their request; Fetches are audit', () => {
    const meter = new StorageTrafficMeter(16);
    const c = emptyStorageTraffic();
    const workload = message(MessageCode.store_req, [{ type: 'resource', resourceId: id(2) }], [], 1n);
    const replica = message(MessageCode.store_req, [{ type: 'node', nodeId: id(4) }], [], 2n);
    meter.count(workload, c);
    meter.count(replica, c);
    // answers: a forwarded hop (two destinations left) then the last hop
    meter.count(message(MessageCode.store_ans, [{ type: 'node', nodeId: id(5) }, { type: 'node', nodeId: id(6) }], [], 1n), c);
    meter.count(message(MessageCode.store_ans, [{ type: 'node', nodeId: id(6) }], [], 1n), c);
    meter.count(message(MessageCode.store_ans, [{ type: 'node', nodeId: id(6) }], [], 2n), c);
    meter.count(message(MessageCode.fetch_req, [{ type: 'resource', resourceId: id(2) }], [], 3n), c);
    meter.count(message(MessageCode.update_req, [{ type: 'node', nodeId: id(6) }], [], 4n), c);
    assert.equal(c.workloadStoreMessages, 3);
    assert.equal(c.replicationMessages, 2);
    assert.equal(c.auditMessages, 1);
    assert.equal(c.replication, replica.length + 8 + message(MessageCode.store_ans, [{ type: 'node', nodeId: id(6) }], [], 2n).length + 8);
    assert.equal(meter.tracked, 0, 'answered transactions are forgotten');
    assert.equal(meter.unmatchedAnswers, 0);
  });

  test('the transaction table is bounded', () => {
    const meter = new StorageTrafficMeter(16);
    const c = emptyStorageTraffic();
    const m = message(MessageCode.store_req, [{ type: 'node', nodeId: id(4) }]);
    const view = new DataView(m.buffer, m.byteOffset);
    for (let i = 0; i < MAX_TRACKED_TRANSACTIONS + 5; i++) {
      view.setUint32(24, i); // low half of the transaction id (octets 20–27)
      meter.count(m, c);
    }
    assert.ok(meter.tracked <= MAX_TRACKED_TRANSACTIONS);
  });
});

describe('sim storage identities', () => {
  test('storage messages name the sender; maintenance messages stay anonymous', () => {
    const sec = new SimStorageSecurity(id(9));
    const store = sec.sign({} as ForwardingHeader, new Uint8Array([0, MessageCode.store_req, 0]));
    assert.deepEqual(sec.verify({} as ForwardingHeader, new Uint8Array(0), store).signer?.nodeIds, [id(9)]);
    const update = sec.sign({} as ForwardingHeader, new Uint8Array([0, MessageCode.update_req, 0]));
    assert.equal(update.signature.identity.type, 'none');
    assert.equal(sec.verify({} as ForwardingHeader, new Uint8Array(0), update).signer, undefined);
  });

  test('values are "signed" by the Node-ID and verified as such', () => {
    const cred = simStorageCredentials(id(9));
    const d = cred.sign(id(1), 1, 5n, 60, { model: 'dictionary', key: id(9), value: { exists: true, value: new Uint8Array(3) } });
    assert.equal(d.signature.signatureValue.length, 64);
    const v = cred.verifier.verify(id(1), 1, d);
    assert.ok(v.ok && v.signer.nodeIds[0]![0] === 9);
    assert.equal(cred.verifier.verify(id(1), 1, { ...d, signature: { ...d.signature, identity: { type: 'none' } } }).ok, false);
  });
});
