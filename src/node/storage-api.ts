/**
 * Debug and test routes of RELOAD storage under `/api/storage` (pure handler, like status-api):
 *   GET  /api/storage                         summary, replication counters
 *   POST /api/storage/store?kind=K&(name=N|id=HEX)&value=TEXT[&lifetime=S][&key=HEX][&index=I]
 *   GET  /api/storage/fetch?kind=K&(name=N|id=HEX)[&at=NODEHEX]
 *   GET  /api/storage/stat?kind=K&(name=N|id=HEX)[&at=NODEHEX]
 *   GET  /api/storage/held?id=HEX             whether this peer holds the resource, replica number
 *   POST /api/storage/replay?kind=K&(name=N|id=HEX)   re-sends the first value fetched here (replay test)
 * Values are signed by this peer's identity; `key` defaults to our Node-ID (dictionary), `index`
 * to append (array). The POSTs need the API token and the overlay routes are rate-limited
 * (node/api-guard.ts, in front of this handler).
 */
import type { StoredData, StoredDataValue } from '../reload/codec/index.js';
import type { OverlayStorage, ResourceRef } from '../reload/storage/index.js';
import type { ApiReply } from './status-api.js';

/** Routes of this handler that send overlay traffic (rate-limited by the API guard; POSTs also need the token). */
export const STORAGE_OVERLAY_ROUTES: readonly string[] = ['/api/storage/store', '/api/storage/fetch', '/api/storage/stat', '/api/storage/replay'];

/** Fetched values remembered for the replay route (first fetch of each kind+resource). */
export const MAX_REMEMBERED_FETCHES = 64;

const json = (status: number, value: unknown): ApiReply => ({ status, body: JSON.stringify(value, null, 2), contentType: 'application/json' });
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const isHex = (s: string): boolean => /^([0-9a-fA-F]{2})+$/.test(s);

function valueView(d: StoredData): object {
  const v = d.value;
  return {
    ...(v.model === 'array' ? { index: v.index } : v.model === 'dictionary' ? { key: hex(v.key) } : {}),
    exists: v.value.exists,
    value: Buffer.from(v.value.value).toString('utf8'),
    hex: hex(v.value.value),
    storageTime: d.storageTime.toString(),
    lifetime: d.lifetime,
  };
}

export type StorageApiHandler = (method: string, url: URL) => Promise<ApiReply | undefined>;

/** The handler; answers undefined for paths outside /api/storage. */
export function createStorageApi(storage: OverlayStorage | undefined): StorageApiHandler {
  const remembered = new Map<string, StoredData[]>();
  return async (method, url) => {
    const path = url.pathname;
    if (path !== '/api/storage' && !path.startsWith('/api/storage/')) return undefined;
    if (storage === undefined) return json(404, { error: 'this peer runs no overlay storage' });
    const route = path.slice('/api/storage'.length);
    const wantMethod = route === '/store' || route === '/replay' ? 'POST' : 'GET';
    if (method !== wantMethod) return json(405, { error: `${route || '/'} takes ${wantMethod}` });
    const q = url.searchParams;
    if (route === '') return json(200, { ...storage.summary(), replication: storage.replicas.counters, pendingSends: storage.replicas.pending() });
    const idLen = storage.ownNodeId().length * 2;
    const idHex = q.get('id');
    const name = q.get('name');
    let ref: ResourceRef;
    if (idHex !== null) {
      if (!isHex(idHex) || idHex.length !== idLen) return json(400, { error: `id must be ${idLen} hex digits` });
      ref = { resourceId: new Uint8Array(Buffer.from(idHex, 'hex')) };
    } else if (name !== null && name !== '') ref = { resourceName: name };
    else return json(400, { error: "give 'id' (hex Resource-ID) or 'name' (Resource Name)" });
    const resource = storage.resourceId(ref);
    if (route === '/held') {
      const r = storage.engine.replicaNumber(resource);
      return json(200, { id: hex(resource), held: r !== undefined, replicaNumber: r ?? null });
    }
    const kind = Number(q.get('kind'));
    if (!Number.isInteger(kind) || kind < 0 || kind > 0xffffffff) return json(400, { error: "'kind' must be a Kind-ID" });
    const def = storage.kinds(kind);
    if (def === undefined) return json(400, { error: `Kind-ID ${kind} is not in the configuration` });
    const at = q.get('at');
    if (at !== null && (!isHex(at) || at.length !== idLen)) return json(400, { error: `'at' must be a Node-ID (${idLen} hex digits)` });
    const atBytes = at === null ? undefined : new Uint8Array(Buffer.from(at, 'hex'));
    const memo = `${kind}:${hex(resource)}`;
    if (route === '/store') {
      const text = q.get('value') ?? '';
      const data = { exists: q.get('exists') !== 'false', value: new TextEncoder().encode(text) };
      let v: StoredDataValue;
      if (def.dataModel === 'array') v = { model: 'array', index: q.has('index') ? Number(q.get('index')) >>> 0 : 0xffffffff, value: data };
      else if (def.dataModel === 'dictionary') {
        const key = q.get('key');
        if (key !== null && !isHex(key)) return json(400, { error: "'key' must be hex" });
        v = { model: 'dictionary', key: key === null ? storage.ownNodeId() : new Uint8Array(Buffer.from(key, 'hex')), value: data };
      } else v = { model: 'single', value: data };
      const lifetime = q.has('lifetime') ? Number(q.get('lifetime')) : undefined;
      const r = await storage.store(kind, ref, [v], lifetime === undefined || !Number.isFinite(lifetime) ? {} : { lifetime: Math.max(0, Math.floor(lifetime)) });
      if (!r.ok) return json(409, { ok: false, errorCode: r.errorCode, error: r.info });
      return json(200, { ok: true, id: hex(resource), responder: r.responder === undefined ? null : hex(r.responder), replicas: r.answer.kindResponses.flatMap((k) => k.replicas.map(hex)) });
    }
    if (route === '/replay') {
      const old = remembered.get(memo);
      if (old === undefined) return json(404, { error: 'fetch this resource first' });
      const r = await storage.storeSigned(resource, kind, old);
      if (!r.ok) return json(409, { ok: false, errorCode: r.errorCode, error: r.info });
      return json(200, { ok: true });
    }
    if (route === '/fetch') {
      const r = await storage.fetch(kind, ref, {}, atBytes);
      if (!r.ok) return json(502, { ok: false, errorCode: r.errorCode, error: r.info });
      if (!remembered.has(memo) && r.values.length > 0) {
        if (remembered.size >= MAX_REMEMBERED_FETCHES) remembered.delete(remembered.keys().next().value as string);
        remembered.set(memo, r.values.map((v) => v.data));
      }
      return json(200, {
        ok: true,
        id: hex(resource),
        responder: r.responder === undefined ? null : hex(r.responder),
        generation: r.generation.toString(),
        values: r.values.map((v) => ({ ...valueView(v.data), signer: v.signer.userName })),
        rejected: r.rejected.map((x) => ({ ...valueView(x.data), reason: x.info })),
      });
    }
    if (route === '/stat') {
      const r = await storage.stat(kind, ref, {}, atBytes);
      if (!r.ok) return json(502, { ok: false, errorCode: r.errorCode, error: r.info });
      return json(200, {
        ok: true,
        id: hex(resource),
        responder: r.responder === undefined ? null : hex(r.responder),
        generation: (r.kind?.generation ?? 0n).toString(),
        values: (r.kind?.values ?? []).map((m) => ({ exists: m.metadata.value.exists, valueLength: m.metadata.value.valueLength, storageTime: m.storageTime.toString(), lifetime: m.lifetime })),
      });
    }
    return json(404, { error: `no such endpoint: ${path}` });
  };
}
