/**
 * Refused handovers are sent again soon (issue 17 finding): a peer that hands a resource to the new
 * peer responsible for it (RFC 6940 §10.5, §10.7.3) and is refused — the receiver's view of the ring
 * lags ours by an Update — tries again after HANDOVER_FIRST_RETRY_MS, doubling up to retryMs, at most
 * maxAttempts sends until the next periodic re-check, and only while the ring still says the data is
 * that peer's. And what a joining peer takes: a handover from a neighbour for its range only.
 * Storage on a fake StorageHost and a ManualClock (no overlay code).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { MessageCode, ReloadErrorCode, UNFRAGMENTED, decodeStoreReq, encodeStoreAns, encodeStoreReq } from '../../../../src/reload/codec/index.js';
import type { Destination, StoredDataValue } from '../../../../src/reload/codec/index.js';
import { HANDOVER_FIRST_RETRY_MS, MemoryStorageBackend, OverlayStorage, StorageEngine, clockwiseDistance, idValue, inRingInterval } from '../../../../src/reload/storage/index.js';
import type { OverlayStorageOptions, StorageCredentials, StorageHost, StorageNeighbours, StorageRing } from '../../../../src/reload/storage/index.js';
import { ALICE, BOB, FakeVerifier, KIND, aliceRes, hash, kinds, sd, single } from './storage-fixtures.js';

type Answer = Awaited<ReturnType<StorageHost['request']>>;
type Handler = Parameters<StorageHost['handle']>[1];
type Inbound = Parameters<Handler>[0];
type Reply = Awaited<ReturnType<Handler>>;
type Signer = NonNullable<Inbound['signer']>;

const ID_BYTES = 16;
const codec = { maxMessageSize: 64_000, nodeIdLength: ID_BYTES, dataModelOf: (k: number) => kinds(k)?.dataModel };
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
const at = (k: bigint, d: bigint): bigint => (((k + d) % RING_SIZE) + RING_SIZE) % RING_SIZE;
const K = ring.fromBytes(aliceRes);

/** A StorageHost whose Stores to other nodes are answered by `answer`, each send noted with its time. */
class FakeHost implements StorageHost {
  readonly ring = ring;
  readonly idBytes: Uint8Array;
  readonly clock = new ManualClock(1_000_000);
  readonly isClient = false;
  state: StorageHost['state'] = 'joined';
  readonly joinedAt = 1_000_000;
  readonly handlers = new Map<number, Handler>();
  readonly sent: Array<{ at: number; to: bigint; replicaNumber: number }> = [];
  answer: (to: bigint, replicaNumber: number) => Answer = () => this.accepted();
  /** Responsibility by the table; while joining only coversInTable says anything (as OverlayNode). */
  private table: StorageNeighbours = { successors: [], predecessors: [] };
  private readonly listeners = new Set<(n: StorageNeighbours) => void>();

  constructor(readonly id: bigint) {
    this.idBytes = ring.toBytes(id);
  }
  accepted(): Answer {
    return { ok: true, code: MessageCode.store_ans, body: encodeStoreAns({ kindResponses: [] }, codec), responder: undefined, hops: 1, signer: undefined };
  }
  codecOptions(): { maxMessageSize: number; nodeIdLength: number } {
    return { maxMessageSize: codec.maxMessageSize, nodeIdLength: ID_BYTES };
  }
  request(dest: Destination[], code: number, body: Uint8Array): Promise<Answer> {
    const d = dest[0]!;
    assert.equal(code, MessageCode.store_req);
    assert.equal(d.type, 'node');
    const to = ring.fromBytes(d.type === 'node' ? d.nodeId : new Uint8Array(0));
    const req = decodeStoreReq(body, codec);
    assert.ok(req.ok);
    this.sent.push({ at: this.clock.now(), to, replicaNumber: req.value.replicaNumber });
    return Promise.resolve(this.answer(to, req.value.replicaNumber));
  }
  requestResource(): Promise<Answer> {
    throw new Error('not used');
  }
  handle(code: number, handler: Handler): void {
    this.handlers.set(code, handler);
  }
  coversInTable(k: bigint): boolean {
    const p = this.table.predecessors[0];
    return p === undefined ? this.table.successors.length === 0 : ring.inInterval(p, k, this.id);
  }
  isResponsible(k: bigint): boolean {
    return this.state === 'joined' && this.coversInTable(k);
  }
  neighbours(): StorageNeighbours {
    return this.table;
  }
  onNeighboursChanged(listener: (n: StorageNeighbours) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }
  setStoredResourcesProvider(): void {}

  setNeighbours(successors: bigint[], predecessors: bigint[]): void {
    this.table = { successors, predecessors };
    for (const l of [...this.listeners]) l(this.table);
  }
  deliver(code: number, body: Uint8Array, signer: Signer | undefined, dest: Destination): Promise<Reply> {
    const handler = this.handlers.get(code)!;
    const header = { overlay: 1, configurationSequence: 0, version: 10, ttl: 100, fragment: UNFRAGMENTED, length: 0, transactionId: 1n, maxResponseLength: 0, viaList: [], destinationList: [dest], options: [] };
    return Promise.resolve(handler({ code, body, header, contents: { messageCode: code, body, extensions: [] }, fromNeighbour: undefined, origin: signer?.nodeIds[0], signer, hops: 1 }));
  }
  async run(ms: number): Promise<void> {
    const end = this.clock.now() + ms;
    while (this.clock.now() < end) {
      this.clock.advance(Math.min(10, end - this.clock.now()));
      await new Promise((r) => setImmediate(r));
    }
  }
}

const credentials: StorageCredentials = {
  identity: ALICE,
  certificate: new Uint8Array([1]),
  sign: (_r, _k, storageTime, lifetime, value: StoredDataValue) => sd(ALICE, storageTime, value, lifetime),
  verifier: new FakeVerifier(),
  certificateOf: () => undefined,
};
const refused = (): Answer => ({ ok: false, errorCode: ReloadErrorCode.NotFound, info: 'not responsible for this Resource-ID', responder: undefined, hops: 1 });
/** An original Store (generation 0: the storing peer gives one), or a handover / replica carrying generation 1. */
const profile = (replicaNumber: number, generationCounter = 0n): Uint8Array => encodeStoreReq({ resource: aliceRes, replicaNumber, kindData: [{ kind: KIND.PROFILE, generationCounter, values: [sd(ALICE, 5n, single('hi'))] }] }, codec);
const asPeer = (id: bigint): Signer => ({ userName: BOB.userName, nodeIds: [ring.toBytes(id)] });

function storageOn(host: FakeHost, options: OverlayStorageOptions = {}): OverlayStorage {
  const engine = new StorageEngine({ clock: host.clock, backend: new MemoryStorageBackend(), kinds, hashResourceName: hash, verifyStoredData: credentials.verifier });
  const storage = new OverlayStorage(
    { host, engine, clock: host.clock, wallClock: () => host.clock.now(), credentials, security: { withCertificates: (_c, send) => send() }, kinds, hashResourceName: hash },
    { resyncIntervalMs: 0, retryMs: 5000, ...options },
  );
  storage.start();
  return storage;
}

/**
 * Host H responsible for Alice's profile (stored and replicated); then J joins between the resource
 * and H, and H hands the profile over. J answers handovers with `answerJ` (undefined: accepted).
 */
async function handingOver(answerJ: () => Answer | undefined, options: OverlayStorageOptions = {}): Promise<{ host: FakeHost; storage: OverlayStorage; j: bigint; preds: bigint[]; succ: bigint[] }> {
  const j = at(K, 5n);
  const host = new FakeHost(at(K, 10n));
  host.answer = (to, replicaNumber) => (to === j && replicaNumber === 0 ? (answerJ() ?? host.accepted()) : host.accepted());
  const storage = storageOn(host, options);
  const succ = [at(K, 20n), at(K, 30n)];
  const preds = [at(K, -10n), at(K, -20n)];
  host.setNeighbours(succ, preds);
  const r = await host.deliver(MessageCode.store_req, profile(0), { userName: ALICE.userName, nodeIds: ALICE.nodeIds }, { type: 'resource', resourceId: aliceRes });
  assert.ok('code' in r, JSON.stringify(r));
  await host.run(100);
  host.sent.length = 0;
  const t0 = host.clock.now();
  host.setNeighbours(succ, [j, ...preds]);
  await host.run(0);
  assert.deepEqual(host.sent, [{ at: t0, to: j, replicaNumber: 0 }], 'the handover goes out at once');
  return { host, storage, j, preds, succ };
}

const handovers = (host: FakeHost, to: bigint): number[] => host.sent.filter((s) => s.to === to && s.replicaNumber === 0).map((s) => s.at);

describe('handover retries (RFC 6940 §10.5, §10.7.3)', () => {
  test('a refused handover is sent again after 250 ms, then 500 ms, then 1 s, and stops once accepted', async () => {
    let refusals = 3;
    const { host, storage, j } = await handingOver(() => (refusals-- > 0 ? refused() : undefined));
    const t0 = handovers(host, j)[0]!;
    await host.run(10_000);
    const times = handovers(host, j).map((t) => t - t0);
    assert.equal(HANDOVER_FIRST_RETRY_MS, 250);
    assert.deepEqual(times, [0, 250, 750, 1750], 'backoff 250, 500, 1000 ms; none after the accepted one');
    assert.equal(storage.replicas.counters.sendFailures, 3);
    assert.match(storage.replicas.counters.lastFailure ?? '', /^handover to .*: 3 not responsible for this Resource-ID$/);
    // confirmed: we keep our copy as J's first replica (§10.5 step 7)
    assert.equal(storage.engine.replicaNumber(aliceRes), 0, 'the stored label is unchanged');
    await host.run(60_000);
    assert.deepEqual(handovers(host, j).map((t) => t - t0), [0, 250, 750, 1750]);
  });

  test('bounded: maxAttempts sends, the waits capped at retryMs; the periodic re-check gives new tries', async () => {
    const { host, j } = await handingOver(() => refused(), { retryMs: 600, maxAttempts: 5, resyncIntervalMs: 30_000 });
    const t0 = handovers(host, j)[0]!;
    await host.run(20_000);
    assert.deepEqual(handovers(host, j).map((t) => t - t0), [0, 250, 750, 1350, 1950], 'waits 250, 500, then capped at 600 ms; five sends');
    await host.run(25_000);
    const later = handovers(host, j).slice(5);
    assert.ok(later.length >= 1 && later.length <= 5, `re-check: ${later.length} sends`);
    assert.ok(later[0]! - t0 >= 28_000 && later[0]! - t0 <= 31_000, `first send of the next period at +${later[0]! - t0} ms`);
  });

  test('other failures are no lag: newer values held there (Error_Data_Too_Old), or no answer, wait retryMs', async () => {
    const tooOld = (): Answer => ({ ok: false, errorCode: ReloadErrorCode.DataTooOld, info: 'storage_time is not after the stored', responder: undefined, hops: 1 });
    const silent = (): Answer => ({ ok: false, errorCode: 0, info: 'no answer', responder: undefined, hops: 0 });
    for (const answer of [tooOld, silent]) {
      const { host, j } = await handingOver(answer, { retryMs: 5000, maxAttempts: 3 });
      const t0 = handovers(host, j)[0]!;
      await host.run(20_000);
      assert.deepEqual(handovers(host, j).map((t) => t - t0), [0, 5000, 10_000], answer.name);
    }
  });

  test('only while the ring says the data is that peer’s: J gone again, the retries stop', async () => {
    const { host, j, preds, succ } = await handingOver(() => refused());
    const t0 = handovers(host, j)[0]!;
    await host.run(300); // one retry sent (at +250)
    host.setNeighbours(succ, preds); // J left the table: the resource is ours again
    await host.run(20_000);
    assert.deepEqual(handovers(host, j).map((t) => t - t0), [0, 250]);
  });
});

describe('what a joining peer takes (RFC 6940 §10.5 step 4)', () => {
  test('from a neighbour, for the range its table gives it: accepted; from a stranger, or outside the range: refused', async () => {
    // J joining between P (predecessor) and AP (its admitting peer); its table holds both (entered before the Join)
    const j = at(K, 5n);
    const ap = at(K, 10n);
    const p = at(K, -10n);
    const host = new FakeHost(j);
    host.state = 'joining';
    const storage = storageOn(host);
    host.setNeighbours([ap, at(K, 20n)], [p, at(K, -20n)]);
    const to: Destination = { type: 'node', nodeId: ring.toBytes(j) };
    const ok = await host.deliver(MessageCode.store_req, profile(0, 1n), asPeer(ap), to);
    assert.ok('code' in ok && ok.code === MessageCode.store_ans, JSON.stringify(ok));
    assert.equal(storage.engine.replicaNumber(aliceRes), 0);
    // a peer outside our table, although our table says the resource is ours
    const stranger = await host.deliver(MessageCode.store_req, profile(0, 1n), asPeer(at(K, 1000n)), to);
    assert.ok('error' in stranger && stranger.error === ReloadErrorCode.NotFound, JSON.stringify(stranger));
    // a resource outside (P, J]: refused even from the admitting peer
    const far = ring.toBytes(at(j, 1n));
    const outside = encodeStoreReq({ resource: far, replicaNumber: 0, kindData: [{ kind: KIND.PROFILE, generationCounter: 1n, values: [sd(ALICE, 5n, single('x'))] }] }, codec);
    const no = await host.deliver(MessageCode.store_req, outside, asPeer(ap), to);
    assert.ok('error' in no && no.error === ReloadErrorCode.NotFound, JSON.stringify(no));
    // with an empty table (before the change, until the Join answer) the same handover was refused
    const empty = new FakeHost(j);
    empty.state = 'joining';
    storageOn(empty);
    const before = await empty.deliver(MessageCode.store_req, profile(0, 1n), asPeer(ap), to);
    assert.ok('error' in before && before.error === ReloadErrorCode.NotFound, JSON.stringify(before));
  });
});
