/**
 * A stand-in for OverlayStorage behind /api/storage with no overlay: Stores are refused, Fetches
 * answer one value, Stats one entry. Only the surface node/storage-api.ts uses (the HTTP fuzzer,
 * tests of the API's input handling).
 */
import { createHash } from 'node:crypto';
import type { OverlayStorage, ResourceRef } from '../../../src/reload/storage/index.js';

const NODE_ID = new Uint8Array(16).fill(0xab);

export function fakeOverlayStorage(): OverlayStorage {
  const value = { storageTime: 1n, lifetime: 60, value: { model: 'single', value: { exists: true, value: new TextEncoder().encode('sip:bob@192.0.2.1') } } };
  const kinds = new Map<number, { id: number; dataModel: string }>([
    [1, { id: 1, dataModel: 'dictionary' }],
    [2, { id: 2, dataModel: 'array' }],
    [3, { id: 3, dataModel: 'single' }],
  ]);
  const fake = {
    replicas: { counters: { sent: 0, received: 0 }, pending: () => 0 },
    engine: { replicaNumber: (id: Uint8Array) => ((id[0] ?? 0) % 2 === 0 ? 0 : undefined) },
    kinds: (k: number) => kinds.get(k),
    ownNodeId: () => NODE_ID,
    summary: () => ({ resources: 0, values: 0, bytes: 0 }),
    resourceId: (ref: ResourceRef) =>
      'resourceId' in ref && ref.resourceId !== undefined
        ? ref.resourceId
        : new Uint8Array(createHash('sha256').update(String((ref as { resourceName?: unknown }).resourceName)).digest().subarray(0, 16)),
    store: () => Promise.resolve({ ok: false, errorCode: 2, info: 'the fake storage refuses Stores' }),
    storeSigned: () => Promise.resolve({ ok: false, errorCode: 2, info: 'the fake storage refuses Stores' }),
    fetch: () => Promise.resolve({ ok: true, responder: NODE_ID, generation: 1n, values: [{ data: value, signer: { userName: 'bob' } }], rejected: [] }),
    stat: () => Promise.resolve({ ok: true, responder: NODE_ID, kind: { generation: 1n, values: [{ metadata: { value: { exists: true, valueLength: 17 } }, storageTime: 1n, lifetime: 60 }] } }),
  };
  return fake as unknown as OverlayStorage;
}
