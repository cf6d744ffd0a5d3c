/**
 * Storage against a fake {@link StorageHost}: no OverlayNode, no router, no Chord, nothing from
 * src/reload/overlay loaded. The fake records the requests storage sends and answers them; the
 * tests drive OverlayStorage (its handlers, ReplicaMaintainer and client API) through it.
 * `class FakeHost implements StorageHost` is passed where storage takes its host: if storage asked
 * for OverlayNode again, this file would not compile.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { MessageCode, ReloadErrorCode, UNFRAGMENTED, decodeStoreAns, decodeStoreReq, encodeStoreAns, encodeStoreReq } from '../../../../src/reload/codec/index.js';
import type { Destination, StoredDataValue } from '../../../../src/reload/codec/index.js';
import { MemoryStorageBackend, OverlayStorage, StorageEngine, clockwiseDistance, idValue, inRingInterval } from '../../../../src/reload/storage/index.js';
import type { StorageCredentials, StorageHost, StorageNeighbours, StorageRing } from '../../../../src/reload/storage/index.js';
import { ALICE, FakeVerifier, KIND, aliceRes, hash, kinds, sd, single } from './storage-fixtures.js';

// The overlay's types, read off the host interface (nothing imported from src/reload/overlay).
type Answer = Awaited<ReturnType<StorageHost['request']>>;
type Handler = Parameters<StorageHost['handle']>[1];
type Inbound = Parameters<Handler>[0];
type Reply = Awaited<ReturnType<Handler>>;
type Signer = NonNullable<Inbound['signer']>;

const ID_BYTES = 16;
const codec = { maxMessageSize: 64_000, nodeIdLength: ID_BYTES, dataModelOf: (k: number) => kinds(k)?.dataModel };

/** A 128-bit ring on storage's own Resource-ID helpers. */
const ring: StorageRing = {
  fromBytes(b) {
    if (b.length !== ID_BYTES) throw new RangeError(`${b.length} bytes`);
    return idValue(b);
  },
  tryFromBytes: (b) => (b.length === ID_BYTES ? idValue(b) : undefined),
  toBytes: (id) => new Uint8Array(Buffer.from(id.toString(16).padStart(2 * ID_BYTES, '0'), 'hex')),
  hex: (id) => id.toString(16).padStart(2 * ID_BYTES, '0'),
  inInterval: (a, x, b) => inRingInterval(ring.toBytes(x), ring.toBytes(a), ring.toBytes(b)),
  distance: (a, b) => clockwiseDistance(ring.toBytes(a), ring.toBytes(b), 8 * ID_BYTES),
};
const RING_SIZE = 1n << BigInt(8 * ID_BYTES);
/** `k + d` on the ring. */
const at = (k: bigint, d: bigint): bigint => (((k + d) % RING_SIZE) + RING_SIZE) % RING_SIZE;

/** One request storage sent through the host. */
interface Sent {
  dest: Destination;
  code: number;
  body: Uint8Array;
}

class FakeHost implements StorageHost {
  readonly ring = ring;
  readonly idBytes: Uint8Array;
  readonly clock = new ManualClock(1_000_000);
  isClient = false;
  state: StorageHost['state'] = 'joined';
  joinedAt: number | undefined = 1_000_000;
  readonly handlers = new Map<number, Handler>();
  readonly sent: Sent[] = [];
  /** How the fake answers a request (default: Stores are accepted). */
  answer: (s: Sent) => Answer = (s) =>
    s.code === MessageCode.store_req ? this.ok(MessageCode.store_ans, encodeStoreAns({ kindResponses: [] }, codec)) : { ok: false, errorCode: ReloadErrorCode.NotFound, info: 'nothing here', responder: undefined, hops: 1 };
  storedResources: (() => number) | undefined;
  private table: StorageNeighbours = { successors: [], predecessors: [] };
  private readonly listeners = new Set<(n: StorageNeighbours) => void>();

  constructor(readonly id: bigint) {
    this.idBytes = ring.toBytes(id);
  }

  ok(code: number, body: Uint8Array): Answer {
    return { ok: true, code, body, responder: ring.toBytes(at(this.id, 99n)), hops: 2, signer: undefined };
  }

  codecOptions(): { maxMessageSize: number; nodeIdLength: number } {
    return { maxMessageSize: codec.maxMessageSize, nodeIdLength: ID_BYTES };
  }
  request(dest: Destination[], code: number, body: Uint8Array): Promise<Answer> {
    const s = { dest: dest[0]!, code, body };
    this.sent.push(s);
    return Promise.resolve(this.answer(s));
  }
  requestResource(resourceId: Uint8Array, code: number, body: Uint8Array): Promise<Answer> {
    return this.request([{ type: 'resource', resourceId }], code, body);
  }
  handle(code: number, handler: Handler): void {
    this.handlers.set(code, handler);
  }
  /** Ours: (first predecessor, us] (RFC 6940 §10.3); a lone node holds the whole ring. */
  isResponsible(k: bigint): boolean {
    const p = this.table.predecessors[0];
    return p === undefined || ring.inInterval(p, k, this.id);
  }
  coversInTable(k: bigint): boolean {
    return this.isResponsible(k);
  }
  neighbours(): StorageNeighbours {
    return this.table;
  }
  onNeighboursChanged(listener: (n: StorageNeighbours) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }
  setStoredResourcesProvider(count: () => number): void {
    this.storedResources = count;
  }

  // ---- test controls
  get listenerCount(): number {
    return this.listeners.size;
  }
  setNeighbours(successors: bigint[], predecessors: bigint[]): void {
    this.table = { successors, predecessors };
    for (const l of [...this.listeners]) l(this.table);
  }
  /** A request arriving for `code` (routed to a Resource-ID), as the overlay would deliver it. */
  deliver(code: number, body: Uint8Array, signer: Signer | undefined, dest: Destination): Promise<Reply> {
    const handler = this.handlers.get(code);
    assert.ok(handler, `no handler for ${code}`);
    const header = { overlay: 1, configurationSequence: 0, version: 10, ttl: 100, fragment: UNFRAGMENTED, length: 0, transactionId: 1n, maxResponseLength: 0, viaList: [], destinationList: [dest], options: [] };
    const req: Inbound = { code, body, header, contents: { messageCode: code, body, extensions: [] }, fromNeighbour: undefined, origin: signer?.nodeIds[0], signer, hops: 2 };
    return Promise.resolve(handler(req));
  }
}

/** Stores sent to `target`: replica number and resource. */
function storesTo(host: FakeHost, target: bigint): Array<{ replicaNumber: number; resource: string }> {
  return host.sent
    .filter((s) => s.code === MessageCode.store_req && s.dest.type === 'node' && ring.fromBytes(s.dest.nodeId) === target)
    .map((s) => {
      const d = decodeStoreReq(s.body, codec);
      assert.ok(d.ok);
      return { replicaNumber: d.value.replicaNumber, resource: Buffer.from(d.value.resource).toString('hex') };
    });
}

const credentials: StorageCredentials = {
  identity: ALICE,
  certificate: new Uint8Array([1]),
  sign: (_r, _k, storageTime, lifetime, value: StoredDataValue) => sd(ALICE, storageTime, value, lifetime),
  verifier: new FakeVerifier(),
  certificateOf: () => undefined,
};

/** A host responsible for Alice's PROFILE resource, with two successors and two predecessors, and storage on it. */
function world(): { host: FakeHost; storage: OverlayStorage; engine: StorageEngine; s1: bigint; s2: bigint; k: bigint } {
  const k = ring.fromBytes(aliceRes);
  const host = new FakeHost(at(k, 10n));
  const engine = new StorageEngine({ clock: host.clock, backend: new MemoryStorageBackend(), kinds, hashResourceName: hash, verifyStoredData: credentials.verifier });
  const storage = new OverlayStorage(
    { host, engine, clock: host.clock, wallClock: () => host.clock.now(), credentials, security: { withCertificates: (_c, send) => send() }, kinds, hashResourceName: hash },
    { resyncIntervalMs: 0 },
  );
  storage.start();
  const s1 = at(k, 20n);
  const s2 = at(k, 30n);
  // the join's neighbour table (nothing stored yet: no Stores)
  host.setNeighbours([s1, s2], [at(k, -10n), at(k, -20n)]);
  return { host, storage, engine, s1, s2, k };
}

const aliceSigner: Signer = { userName: ALICE.userName, nodeIds: ALICE.nodeIds };
const toResource: Destination = { type: 'resource', resourceId: aliceRes };
const profileStore = (value: string, replicaNumber = 0): Uint8Array =>
  encodeStoreReq({ resource: aliceRes, replicaNumber, kindData: [{ kind: KIND.PROFILE, generationCounter: 0n, values: [sd(ALICE, 5n, single(value))] }] }, codec);

describe('storage on a fake StorageHost (no overlay code)', () => {
  test('attach registers the Store/Fetch/Stat/Find handlers, follows the neighbour table and reports what is stored', () => {
    const { host } = world();
    assert.deepEqual([...host.handlers.keys()].sort((a, b) => a - b), [MessageCode.store_req, MessageCode.fetch_req, MessageCode.stat_req, MessageCode.find_req].sort((a, b) => a - b));
    assert.equal(host.listenerCount, 1);
    assert.equal(host.storedResources?.(), 0);
    assert.equal(host.sent.length, 0);
  });

  test('a Store at the responsible host is stored and replicated to its two successors (RFC 6940 §7.4.1, §10.4)', async () => {
    const { host, engine, s1, s2 } = world();
    const reply = await host.deliver(MessageCode.store_req, profileStore('hi'), aliceSigner, toResource);
    assert.ok('code' in reply && reply.code === MessageCode.store_ans, JSON.stringify(reply));
    const ans = decodeStoreAns(reply.body, codec);
    assert.ok(ans.ok);
    // the StoreAns names the replicas: our two successors
    assert.deepEqual(ans.value.kindResponses[0]!.replicas.map((r) => ring.fromBytes(r)), [s1, s2]);
    assert.equal(engine.replicaNumber(aliceRes), 0);
    assert.equal(host.storedResources?.(), 1);
    const hex = Buffer.from(aliceRes).toString('hex');
    assert.deepEqual(storesTo(host, s1), [{ replicaNumber: 1, resource: hex }]);
    assert.deepEqual(storesTo(host, s2), [{ replicaNumber: 2, resource: hex }]);
    assert.equal(host.sent.length, 2);
  });

  test('a client host stores nothing: Error_Forbidden (RFC 6940 §4.2), no replica sent', async () => {
    const { host, engine } = world();
    host.isClient = true;
    const reply = await host.deliver(MessageCode.store_req, profileStore('hi'), aliceSigner, toResource);
    assert.ok('error' in reply && reply.error === ReloadErrorCode.Forbidden, JSON.stringify(reply));
    assert.equal(engine.replicaNumber(aliceRes), undefined);
    assert.equal(host.sent.length, 0);
  });

  test('a Store for a resource outside our range: Error_Not_Found', async () => {
    const { host, k } = world();
    host.setNeighbours(host.neighbours().successors.slice(), [at(k, 5n)]); // a new predecessor between the resource and us
    const reply = await host.deliver(MessageCode.store_req, profileStore('hi'), aliceSigner, toResource);
    assert.ok('error' in reply && reply.error === ReloadErrorCode.NotFound, JSON.stringify(reply));
  });

  test('a new first successor gets a replica Store; the one still in the replica set does not (RFC 6940 §10.7.3)', async () => {
    const { host, s1, s2, k } = world();
    await host.deliver(MessageCode.store_req, profileStore('hi'), aliceSigner, toResource);
    host.sent.length = 0;
    const fresh = at(k, 15n);
    host.setNeighbours([fresh, s1, s2], host.neighbours().predecessors.slice());
    assert.deepEqual(storesTo(host, fresh), [{ replicaNumber: 1, resource: Buffer.from(aliceRes).toString('hex') }]);
    assert.deepEqual(storesTo(host, s1), []);
    assert.equal(host.sent.length, 1);
  });

  test('close() unsubscribes from the neighbour table: later changes send nothing', async () => {
    const { host, storage, k } = world();
    await host.deliver(MessageCode.store_req, profileStore('hi'), aliceSigner, toResource);
    assert.equal(host.listenerCount, 1);
    await storage.stop();
    assert.equal(host.listenerCount, 0);
    host.sent.length = 0;
    host.setNeighbours([at(k, 15n)], host.neighbours().predecessors.slice());
    assert.equal(host.sent.length, 0);
  });

  test('client Store: the request goes to the resource; an error, an answer of another method or an undecodable body fail', async () => {
    const { host, storage } = world();
    const ref = { resourceId: aliceRes };
    const ok = await storage.store(KIND.PROFILE, ref, [single('x')]);
    assert.ok(ok.ok, JSON.stringify(ok));
    assert.deepEqual(ok.responder, ring.toBytes(at(host.id, 99n)));
    const last = host.sent[host.sent.length - 1]!;
    assert.equal(last.code, MessageCode.store_req);
    assert.ok(last.dest.type === 'resource' && Buffer.from(last.dest.resourceId).equals(Buffer.from(aliceRes)));

    host.answer = () => ({ ok: false, errorCode: ReloadErrorCode.GenerationCounterTooLow, info: 'too low', responder: undefined, hops: 1 });
    assert.deepEqual(await storage.store(KIND.PROFILE, ref, [single('x')]), { ok: false, errorCode: ReloadErrorCode.GenerationCounterTooLow, info: 'too low' });
    host.answer = () => host.ok(MessageCode.fetch_ans, new Uint8Array(0));
    assert.deepEqual(await storage.store(KIND.PROFILE, ref, [single('x')]), { ok: false, errorCode: 0, info: `unexpected answer code ${MessageCode.fetch_ans}` });
    host.answer = () => host.ok(MessageCode.store_ans, new Uint8Array([1, 2, 3]));
    const bad = await storage.store(KIND.PROFILE, ref, [single('x')]);
    assert.ok(!bad.ok && bad.errorCode === ReloadErrorCode.InvalidMessage, JSON.stringify(bad));
  });

  test('client Stat and Fetch at a named node go to that node; fetchUnverified resolves [] on an error', async () => {
    const { host, storage, s1 } = world();
    host.answer = () => ({ ok: false, errorCode: ReloadErrorCode.NotFound, info: 'no', responder: undefined, hops: 1 });
    const st = await storage.stat(KIND.PROFILE, { resourceId: aliceRes }, {}, ring.toBytes(s1));
    assert.deepEqual(st, { ok: false, errorCode: ReloadErrorCode.NotFound, info: 'no' });
    const f = await storage.fetch(KIND.PROFILE, { resourceId: aliceRes }, {}, ring.toBytes(s1));
    assert.deepEqual(f, { ok: false, errorCode: ReloadErrorCode.NotFound, info: 'no' });
    assert.deepEqual(
      host.sent.map((s) => [s.code, s.dest.type === 'node' ? ring.fromBytes(s.dest.nodeId) : undefined]),
      [
        [MessageCode.stat_req, s1],
        [MessageCode.fetch_req, s1],
      ],
    );
    assert.deepEqual(await storage.fetchUnverified(KIND.PROFILE, aliceRes), []);
    assert.equal(host.sent[2]!.dest.type, 'resource');
  });
});
