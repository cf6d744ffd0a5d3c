/**
 * ReplicaSendQueue (issue 14, shutdown): a replica Store carries its signers' certificates only as far
 * as the message stays within max-message-size (one that did not was dropped at its origin unanswered,
 * and its sender waited out every retransmission: a clean stop in a ring of 3 took the full hand-off
 * wait); and `sendAll` (the hand-off before a Leave) waits for its own sends, not for an older one
 * still retrying.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import type { StoreReq, StoredData } from '../../../../src/reload/codec/index.js';
import type { OverlayAnswer } from '../../../../src/reload/overlay/overlay-types.js';
import { Ring } from '../../../../src/reload/overlay/ring.js';
import { ReplicaSendQueue, type ReplicaSendQueueDeps } from '../../../../src/reload/storage/replica-send-queue.js';
import { KIND, dict, nodeId, sd } from './storage-fixtures.js';

const MAX = 5000;

function world(answer: (body: Uint8Array) => Promise<OverlayAnswer>) {
  const clock = new ManualClock(0);
  const attached: Uint8Array[][] = [];
  let bag: readonly Uint8Array[] = [];
  const users = Array.from({ length: 6 }, (_, i) => ({ userName: `user${i}@example.com`, nodeIds: [nodeId(i + 1)] }));
  const values: StoredData[] = users.map((u, i) => sd(u, 1n, dict(u.nodeIds[0]!, `sip:u${i}@x`)));
  const certOf = new Map(values.map((v, i) => [v, new Uint8Array(1200).fill(i + 1)]));
  const req: StoreReq = { resource: new Uint8Array(16).fill(9), replicaNumber: 1, kindData: [{ kind: KIND.SIP, generationCounter: 1n, values }] };
  const host = {
    ring: new Ring(16),
    request: (_d: unknown, _c: number, body: Uint8Array) => {
      attached.push([...bag]);
      return answer(body);
    },
    neighbours: () => ({ successors: [1n, 2n], predecessors: [] }),
  };
  const deps = {
    host: host as unknown as ReplicaSendQueueDeps['host'],
    engine: { storeReqFor: (_r: Uint8Array, n: number) => ({ ...req, replicaNumber: n }) },
    clock,
    credentials: { certificateOf: (v: StoredData) => certOf.get(v) } as unknown as ReplicaSendQueueDeps['credentials'],
    security: {
      withCertificates: <T>(certs: readonly Uint8Array[], send: () => T): T => {
        bag = certs;
        try {
          return send();
        } finally {
          bag = [];
        }
      },
    },
    codec: { maxMessageSize: MAX, nodeIdLength: 16, dataModelOf: () => 'dictionary' as const },
    counters: { replicaStoresSent: 0, handoversSent: 0, sendFailures: 0, queueOverflows: 0 },
    onHandoverAnswered: () => undefined,
    onGivenUp: () => undefined,
  };
  const q = new ReplicaSendQueue(deps, { retryMs: 1000, maxAttempts: 5, maxInFlight: 8, maxQueued: 100 });
  return { q, clock, attached, req };
}

const OK: OverlayAnswer = { ok: true, code: 0, body: new Uint8Array(0), responder: undefined, hops: 1, signer: undefined };

test('the certificates of a replica Store stop where max-message-size would be passed', async () => {
  let bodyLength = 0;
  const w = world((body) => {
    bodyLength = body.length;
    return Promise.resolve(OK);
  });
  await w.q.sendAcked([{ target: 1n, resource: w.req.resource, replicaNumber: 1, attempts: 0 }], 1000);
  const certs = w.attached[0]!;
  assert.ok(certs.length >= 1 && certs.length < 6, `${certs.length} of the 6 signers' certificates attached`);
  const size = bodyLength + certs.reduce((n, c) => n + c.length + 3, 0);
  assert.ok(size <= MAX - 2048, `body + certificates ${size} B leave room for header, own certificate and signature`);
});

test('sendAll resolves when its own sends are answered, not when an older send still waits', async () => {
  let first = true;
  const w = world(() => {
    if (first) {
      first = false;
      return new Promise<OverlayAnswer>(() => {}); // an older send to a peer that never answers
    }
    return Promise.resolve(OK);
  });
  w.q.enqueue({ target: 2n, resource: w.req.resource, replicaNumber: 2, attempts: 0 });
  let done = false;
  void w.q.sendAll(
    [
      { target: 1n, resource: w.req.resource, replicaNumber: 1, attempts: 4 },
      { target: 2n, resource: w.req.resource, replicaNumber: 2, attempts: 4 },
    ],
    5000,
  ).then(() => (done = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(done, true, 'answered at once');
  assert.equal(w.q.pending(), 1, 'the older send is still in flight');
  w.q.close();
});
