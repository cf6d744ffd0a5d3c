import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom } from '../../../../src/lib/random.js';
import { MessageCode, ReloadErrorCode, UNFRAGMENTED, decodeFetchAns, encodeFetchReq, encodeStoreReq } from '../../../../src/reload/codec/index.js';
import type { Destination, ForwardingHeader, StoreReq } from '../../../../src/reload/codec/index.js';
import type { HandlerReply, InboundRequest, SignerInfo } from '../../../../src/reload/overlay/overlay-types.js';
import { StorageRequestHandlers, publishCertificate } from '../../../../src/reload/storage/index.js';
import type { StorageHost } from '../../../../src/reload/storage/index.js';
import { StorageWorld, TEST_KINDS } from '../overlay/support/storage-world.js';
import { NeighborTable } from '../../../../src/reload/overlay/chord/neighbor-table.js';
import type { StoragePeer } from '../overlay/support/storage-world.js';

const codec = { maxMessageSize: 5000, nodeIdLength: 16, dataModelOf: (k: number) => TEST_KINDS.find((x) => x.id === k)?.dataModel };

function header(dest: Destination): ForwardingHeader {
  return { overlay: 1, configurationSequence: 0, version: 10, ttl: 100, fragment: UNFRAGMENTED, length: 0, transactionId: 1n, maxResponseLength: 0, viaList: [], destinationList: [dest], options: [] };
}

function inbound(code: number, body: Uint8Array, signer: SignerInfo | undefined, dest: Destination): InboundRequest {
  return { code, body, header: header(dest), contents: { messageCode: code, body, extensions: [] }, fromNeighbour: undefined, origin: signer?.nodeIds[0], signer, hops: 1 };
}

function handlersOf(p: StoragePeer, replicated: StoreReq[] = []): StorageRequestHandlers {
  return new StorageRequestHandlers({ host: p.node, engine: p.engine, credentials: p.credentials, codec, onReplicate: (r) => void replicated.push(r) });
}

/** `n` peers; peer 1 is the owner of the resource named after its user. */
async function ownerWorld(seed: number, n: number): Promise<{ w: StorageWorld; owner: StoragePeer; resource: Uint8Array }> {
  const w = new StorageWorld(seed);
  for (let i = 0; i < n; i++) await w.add();
  await w.run(3000);
  const owner = w.peers[1]!;
  return { w, owner, resource: owner.storage.resourceId({ resourceName: owner.identity.certificate.userName }) };
}

const isError = (r: HandlerReply, code: ReloadErrorCode): boolean => 'error' in r && r.error === code;

describe('storage request handlers (RFC 6940 §7.4, §10.4)', () => {
  test('random and truncated bodies are answered with an error, never thrown', async () => {
    const w = new StorageWorld(31);
    for (let i = 0; i < 3; i++) await w.add();
    const p = w.peers[0]!;
    const h = handlersOf(p);
    const rnd = new SeededRandom(5);
    const valid = encodeFetchReq({ resource: new Uint8Array(16), specifiers: [{ kind: 100, generation: 0n, model: 'single' }] }, codec);
    const me: SignerInfo = { userName: 'x', nodeIds: [p.node.idBytes] };
    for (let i = 0; i < 2000; i++) {
      const body = i % 2 === 0 ? rnd.bytes(rnd.u32() % 200) : valid.slice(0, rnd.u32() % valid.length);
      const dest: Destination = { type: 'node', nodeId: p.node.idBytes };
      for (const f of [h.store, h.fetch, h.stat, h.find]) {
        const r = await f.call(h, inbound(MessageCode.store_req, body, me, dest));
        assert.ok('error' in r || 'code' in r);
      }
    }
  });

  test('replica stores not from a stranger farther from the resource; original stores must be signed; not responsible: Error_Not_Found', async () => {
    const w = new StorageWorld(32);
    for (let i = 0; i < 6; i++) await w.add();
    await w.run(3000);
    const p = w.peers[2]!;
    const h = handlersOf(p);
    const owner = w.peers[4]!;
    const ref = { resourceName: owner.identity.certificate.userName };
    const resource = owner.storage.resourceId(ref);
    const value = owner.credentials.sign(resource, 100, 5n, 60, { model: 'single', value: { exists: true, value: new Uint8Array([1]) } });
    // a node that is no predecessor of p (not in this ring at all), just after p: farther from the resource than p
    const asStranger: SignerInfo = { userName: 'mallory@storage.test', nodeIds: [p.node.ring.toBytes(p.node.ring.add(p.node.id, 1n))] };
    const replica = encodeStoreReq({ resource, replicaNumber: 1, kindData: [{ kind: 100, generationCounter: 1n, values: [value] }] }, codec);
    assert.ok(isError(await h.store(inbound(MessageCode.store_req, replica, asStranger, { type: 'node', nodeId: p.node.idBytes })), ReloadErrorCode.Forbidden));
    const pred = w.peers.find((x) => x.node.id === p.node.topology.neighbours.predecessors[0])!;
    const asPred: SignerInfo = { userName: pred.identity.certificate.userName, nodeIds: [pred.node.idBytes] };
    const ok = await h.store(inbound(MessageCode.store_req, replica, asPred, { type: 'node', nodeId: p.node.idBytes }));
    assert.ok('code' in ok && ok.code === MessageCode.store_ans);
    // an original store for a resource p is not responsible for
    const elsewhere = w.ringOrder(resource)[0] === p ? w.ringOrder(resource)[3]! : p;
    const newer = owner.credentials.sign(resource, 100, 6n, 60, { model: 'single', value: { exists: true, value: new Uint8Array([2]) } });
    const original = encodeStoreReq({ resource, replicaNumber: 0, kindData: [{ kind: 100, generationCounter: 0n, values: [newer] }] }, codec);
    const hx = handlersOf(elsewhere);
    const asOwner: SignerInfo = { userName: owner.identity.certificate.userName, nodeIds: [owner.node.idBytes] };
    if (!elsewhere.node.topology.isResponsible(elsewhere.node.ring.fromBytes(resource))) {
      assert.ok(isError(await hx.store(inbound(MessageCode.store_req, original, asOwner, { type: 'resource', resourceId: resource })), ReloadErrorCode.NotFound));
    }
    const resp = w.ringOrder(resource)[0]!;
    const replicated: StoreReq[] = [];
    const hr = handlersOf(resp, replicated);
    assert.ok(isError(await hr.store(inbound(MessageCode.store_req, original, undefined, { type: 'resource', resourceId: resource })), ReloadErrorCode.Forbidden));
    const stored = await hr.store(inbound(MessageCode.store_req, original, asOwner, { type: 'resource', resourceId: resource }));
    assert.ok('code' in stored, JSON.stringify(stored));
    assert.equal(replicated.length, 1);
    assert.equal(replicated[0]!.replicaNumber, 1);
    // a Fetch at a peer neither responsible nor holding: Error_Not_Found
    const far = w.peers.find((x) => x.engine.replicaNumber(resource) === undefined && !x.node.topology.isResponsible(x.node.ring.fromBytes(resource)))!;
    const fetch = encodeFetchReq({ resource, specifiers: [{ kind: 100, generation: 0n, model: 'single' }] }, codec);
    assert.ok(isError(await handlersOf(far).fetch(inbound(MessageCode.fetch_req, fetch, asOwner, { type: 'node', nodeId: far.node.idBytes })), ReloadErrorCode.NotFound));
    // a Resource-ID of the wrong length
    const short = encodeFetchReq({ resource: new Uint8Array(4), specifiers: [{ kind: 100, generation: 0n, model: 'single' }] }, codec);
    assert.ok(isError(await h.fetch(inbound(MessageCode.fetch_req, short, asOwner, { type: 'node', nodeId: p.node.idBytes })), ReloadErrorCode.InvalidMessage));
  });

  test('replica stores from a peer closer to the resource than us are plausible (RFC 6940 §7.4.1.1), from farther ones not', async () => {
    const { w, owner, resource } = await ownerWorld(37, 8);
    const order = w.ringOrder(resource);
    const [resp, , second] = order;
    const value = owner.credentials.sign(resource, 100, 5n, 60, { model: 'single', value: { exists: true, value: new Uint8Array([7]) } });
    const replica = encodeStoreReq({ resource, replicaNumber: 2, kindData: [{ kind: 100, generationCounter: 1n, values: [value] }] }, codec);
    // as after the responsible peer's first successor crashed: the second one has not learnt the responsible peer yet
    second!.node.topology.neighbours.remove(resp!.node.id);
    assert.ok(!second!.node.topology.neighbours.predecessors.includes(resp!.node.id));
    const h = handlersOf(second!);
    const as = (p: StoragePeer): SignerInfo => ({ userName: p.identity.certificate.userName, nodeIds: [p.node.idBytes] });
    const ok = await h.store(inbound(MessageCode.store_req, replica, as(resp!), { type: 'node', nodeId: second!.node.idBytes }));
    assert.ok('code' in ok && ok.code === MessageCode.store_ans, JSON.stringify(ok));
    assert.equal(second!.engine.replicaNumber(resource), 2);
    // a peer past us (farther from the resource) that is no predecessor of ours: Error_Forbidden
    const farther = order.slice(3).find((p) => !second!.node.topology.neighbours.predecessors.includes(p.node.id))!;
    assert.ok(farther !== undefined);
    assert.ok(isError(await h.store(inbound(MessageCode.store_req, replica, as(farther), { type: 'node', nodeId: second!.node.idBytes })), ReloadErrorCode.Forbidden));
    // nor from ourselves
    assert.ok(isError(await h.store(inbound(MessageCode.store_req, replica, as(second!), { type: 'node', nodeId: second!.node.idBytes })), ReloadErrorCode.Forbidden));
  });

  test('an original Store is answered only once its replication settles (a replica holds it, or the wait ended)', async () => {
    const { w, owner, resource } = await ownerWorld(34, 5);
    const resp = w.ringOrder(resource)[0]!;
    let release: () => void = () => undefined;
    const h = new StorageRequestHandlers({ host: resp.node, engine: resp.engine, credentials: resp.credentials, codec, onReplicate: () => new Promise<void>((r) => (release = r)) });
    const value = owner.credentials.sign(resource, 100, 7n, 60, { model: 'single', value: { exists: true, value: new Uint8Array([3]) } });
    const original = encodeStoreReq({ resource, replicaNumber: 0, kindData: [{ kind: 100, generationCounter: 0n, values: [value] }] }, codec);
    const asOwner: SignerInfo = { userName: owner.identity.certificate.userName, nodeIds: [owner.node.idBytes] };
    let answered = false;
    const reply = Promise.resolve(h.store(inbound(MessageCode.store_req, original, asOwner, { type: 'resource', resourceId: resource }))).then((r) => {
      answered = true;
      return r;
    });
    await w.run(100);
    assert.equal(answered, false, 'no answer while the replica Store is out');
    release();
    const r = await reply;
    assert.ok('code' in r && r.code === MessageCode.store_ans, JSON.stringify(r));
  });

  test('a peer still joining takes the handover of its range from its admitting peer (RFC 6940 §10.5), nothing else', async () => {
    const { w, owner, resource } = await ownerWorld(33, 4);
    const k = owner.node.ring.fromBytes(resource);
    const ring = owner.node.ring;
    // a joining peer J just before k's owner: its table (from the AP's Update) says (pred, J] with k inside
    const ap = w.ringOrder(resource)[0]!;
    const pred = w.ringOrder(resource)[w.peers.length - 1]!;
    const j = ring.add(k, 1n) === ap.node.id ? k : ring.add(k, 1n);
    const table = new NeighborTable(ring, j, 5);
    table.add([ap.node.id, pred.node.id]);
    let state: 'joining' | 'joined' = 'joining';
    const host = {
      ring,
      get state() {
        return state;
      },
      isClient: false,
      neighbours: () => ({ successors: table.successors, predecessors: table.predecessors }),
      isResponsible: () => false,
      coversInTable: (k: bigint) => table.isResponsible(k),
    } as unknown as StorageHost;
    const h = new StorageRequestHandlers({ host, engine: w.peers[3]!.engine, credentials: w.peers[3]!.credentials, codec, onReplicate: () => {} });
    const value = owner.credentials.sign(resource, 100, 5n, 60, { model: 'single', value: { exists: true, value: new Uint8Array([1]) } });
    const handover = encodeStoreReq({ resource, replicaNumber: 0, kindData: [{ kind: 100, generationCounter: 1n, values: [value] }] }, codec);
    const asAp: SignerInfo = { userName: ap.identity.certificate.userName, nodeIds: [ap.node.idBytes] };
    const toJ: Destination = { type: 'node', nodeId: ring.toBytes(j) };
    const got = await h.store(inbound(MessageCode.store_req, handover, asAp, toJ));
    assert.ok('code' in got && got.code === MessageCode.store_ans, JSON.stringify(got));
    // outside J's range: refused even while joining
    const far = ring.toBytes(ring.add(j, 1n));
    const other = encodeStoreReq({ resource: far, replicaNumber: 0, kindData: [{ kind: 100, generationCounter: 0n, values: [owner.credentials.sign(far, 100, 5n, 60, { model: 'single', value: { exists: true, value: new Uint8Array([2]) } })] }] }, codec);
    assert.ok(isError(await h.store(inbound(MessageCode.store_req, other, asAp, toJ)), ReloadErrorCode.NotFound));
    // once joined, responsibility is the topology's word again (here: not responsible)
    state = 'joined';
    assert.ok(isError(await h.store(inbound(MessageCode.store_req, handover, asAp, toJ)), ReloadErrorCode.NotFound));
  });

  test('a Fetch missing at a just-joined responsible peer is answered from its successor within fetchFallbackMs, and only then', async () => {
    const { w, owner, resource } = await ownerWorld(35, 5);
    const stored = await w.settle(owner.storage.store(100, { resourceName: owner.identity.certificate.userName }, [{ model: 'single', value: { exists: true, value: new Uint8Array([9, 9]) } }]));
    assert.ok(stored.ok, stored.ok ? '' : stored.info);
    await w.run(1000);
    const [resp, succ] = w.ringOrder(resource);
    assert.equal(succ!.engine.replicaNumber(resource), 1, 'the successor holds replica 1');
    // as after joining in place of a responsible peer that crashed silently: nobody handed the range over
    resp!.engine.drop(resource);
    const h = new StorageRequestHandlers({ host: resp!.node, engine: resp!.engine, credentials: resp!.credentials, codec, onReplicate: () => undefined, fetchFallbackMs: 60_000 });
    const asOwner: SignerInfo = { userName: owner.identity.certificate.userName, nodeIds: [owner.node.idBytes] };
    const body = encodeFetchReq({ resource, specifiers: [{ kind: 100, generation: 0n, model: 'single' }] }, codec);
    const values = (r: HandlerReply): number[][] => {
      assert.ok('code' in r && r.code === MessageCode.fetch_ans, JSON.stringify(r));
      const d = decodeFetchAns(r.body, codec);
      assert.ok(d.ok);
      return d.value.kindResponses.flatMap((k) => k.values.filter((v) => v.value.value.exists).map((v) => [...v.value.value.value]));
    };
    assert.ok(resp!.node.clock.now() - resp!.node.joinedAt! < 60_000);
    // routed to the resource: our successor's replica answers
    const routed = await w.settle(Promise.resolve(h.fetch(inbound(MessageCode.fetch_req, body, asOwner, { type: 'resource', resourceId: resource }))));
    assert.deepEqual(values(routed), [[9, 9]]);
    assert.deepEqual(h.fallbacks, { asked: 1, answered: 1 });
    // node-addressed (as the Fetch we pass on is): never passed on
    const direct = await w.settle(Promise.resolve(h.fetch(inbound(MessageCode.fetch_req, body, asOwner, { type: 'node', nodeId: resp!.node.idBytes }))));
    assert.deepEqual(values(direct), []);
    assert.deepEqual(h.fallbacks, { asked: 1, answered: 1 });
    // after the window a miss is a miss
    await w.run(60_000);
    resp!.engine.drop(resource);
    const late = await w.settle(Promise.resolve(h.fetch(inbound(MessageCode.fetch_req, body, asOwner, { type: 'resource', resourceId: resource }))));
    assert.deepEqual(values(late), []);
    assert.deepEqual(h.fallbacks, { asked: 1, answered: 1 });
    // and with fetchFallbackMs 0 it is off from the start
    const off = new StorageRequestHandlers({ host: resp!.node, engine: resp!.engine, credentials: resp!.credentials, codec, onReplicate: () => undefined, fetchFallbackMs: 0 });
    assert.deepEqual(values(await off.fetch(inbound(MessageCode.fetch_req, body, asOwner, { type: 'resource', resourceId: resource }))), []);
  });

  test('the Fetch passed on to a silent successor is given up after 2 s: the fetcher gets our own (empty) answer in time', async () => {
    const { w, owner, resource } = await ownerWorld(36, 5);
    const [resp, succ] = w.ringOrder(resource);
    w.crash(succ!); // silently: its links stay up on our side until they time out
    const h = new StorageRequestHandlers({ host: resp!.node, engine: resp!.engine, credentials: resp!.credentials, codec, onReplicate: () => undefined, fetchFallbackMs: 60_000 });
    const asOwner: SignerInfo = { userName: owner.identity.certificate.userName, nodeIds: [owner.node.idBytes] };
    const body = encodeFetchReq({ resource, specifiers: [{ kind: 100, generation: 0n, model: 'single' }] }, codec);
    const t0 = resp!.node.clock.now();
    const r = await w.settle(Promise.resolve(h.fetch(inbound(MessageCode.fetch_req, body, asOwner, { type: 'resource', resourceId: resource }))));
    const took = resp!.node.clock.now() - t0;
    assert.ok('code' in r && r.code === MessageCode.fetch_ans, JSON.stringify(r));
    assert.deepEqual(h.fallbacks, { asked: 1, answered: 0 });
    assert.ok(took >= 1000 && took <= 2100, `answered after ${took} ms`);
  });

  test('the certificate store usage: our certificate published under CERTIFICATE_BY_NODE and _BY_USER, once', async () => {
    const w = new StorageWorld(33);
    for (let i = 0; i < 4; i++) await w.add();
    await w.run(2000);
    const p = w.peers[1]!;
    const kinds = (id: number) => TEST_KINDS.find((k) => k.id === id);
    const first = await w.settle(publishCertificate(p.storage, p.credentials, kinds));
    assert.deepEqual(first.map((r) => [r.kind, r.ok, r.present]), [[3, true, false], [16, true, false]]);
    const again = await w.settle(publishCertificate(p.storage, p.credentials, kinds));
    assert.deepEqual(again.map((r) => [r.kind, r.ok, r.present]), [[3, true, true], [16, true, true]]);
    const f = await w.settle(w.peers[3]!.storage.fetch(3, { resourceName: p.node.idBytes }));
    assert.ok(f.ok && f.values.length === 1);
    assert.deepEqual(f.values[0]!.data.value.value.value, p.identity.certificate.der);
  });
});
