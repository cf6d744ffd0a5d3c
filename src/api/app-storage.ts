/**
 * The application's own Kinds in the overlay's storage (issue 17): Store, Fetch and removal (RFC 6940
 * §7.4.1, §7.4.2) of values the peer signs with its identity, checked against each Kind's access
 * policy by the storing peers and again here when fetched (§7.3). Only the Kinds the application
 * declared (`PeerOptions.kinds`) are reachable through it.
 */
import type { StoredDataValue } from '../reload/codec/index.js';
import { nodeMultipleResourceName, type KindDefinition, type OverlayStorage, type ResourceRef, type ValueSelector } from '../reload/storage/index.js';
import { P2psipApiError } from './api-error.js';
import { bodyBytes, textOf } from './sip-text.js';

/**
 * Where a value lives: a Resource Name (a string is UTF-8; bytes as they are), or a node's Resource
 * Name — `{ node: 'self' }` or `{ node: '<hex Node-ID>' }` (NODE-MATCH), with `index` i for
 * NODE-MULTIPLE (Node-ID ‖ i, RFC 6940 §7.3.4).
 */
export type ResourceName = string | Uint8Array | { node: string; index?: number };

export interface StoreOptions {
  /** Dictionary Kinds: the key, hex (default: this peer's Node-ID, what USER-NODE-MATCH requires). */
  key?: string;
  /** Array Kinds: the index (default: append). */
  index?: number;
  /** Seconds the value lives (default {@link DEFAULT_LIFETIME_S}, at most {@link MAX_LIFETIME_S}); store again to keep it. */
  lifetime?: number;
}

export interface FetchOptions {
  /** Dictionary Kinds: only this key (hex); default every key. */
  key?: string;
  /** Array Kinds: only this index; default every index. */
  index?: number;
}

/** A value fetched: its signature verified and its writer allowed by the Kind's policy. */
export interface StoredValue {
  value: Uint8Array;
  /** The value as UTF-8 text. */
  text: string;
  /** Dictionary Kinds: the key, hex. */
  key?: string;
  /** Array Kinds: the index. */
  index?: number;
  /** Who wrote it: the signer's Node-ID (hex) and user name. */
  signer: { nodeId: string; user: string };
  /** When it was stored (ms since 1970) and how long it lives from then (s). */
  storedAt: number;
  lifetime: number;
}

/** What a Store reached: the Resource-ID (hex) and the replicas the responsible peer named. */
export interface StoreReceipt {
  resourceId: string;
  replicas: string[];
}

export const DEFAULT_LIFETIME_S = 3_600;
export const MAX_LIFETIME_S = 7 * 86_400;
/** Longest Resource Name, bytes. */
export const MAX_RESOURCE_NAME_BYTES = 1_024;
/** Longest dictionary key, bytes. */
export const MAX_KEY_BYTES = 256;

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function hexBytes(text: string, what: string, maxBytes: number): Uint8Array {
  if (typeof text !== 'string' || text.length === 0 || text.length > maxBytes * 2 || !/^([0-9a-fA-F]{2})+$/.test(text)) throw new P2psipApiError('bad-argument', `${what}: hex, 1 to ${maxBytes} bytes`);
  return new Uint8Array(Buffer.from(text, 'hex'));
}

export class AppStorage {
  constructor(
    private readonly storage: OverlayStorage,
    private readonly kinds: readonly KindDefinition[],
  ) {}

  /** The application Kind named or numbered `kind`; `bad-argument` for any other. */
  kind(kind: string | number): KindDefinition {
    const k = this.kinds.find((x) => (typeof kind === 'number' ? x.id === kind : x.name === kind));
    if (k === undefined) throw new P2psipApiError('bad-argument', `${JSON.stringify(kind)} is not one of the application's Kinds (PeerOptions.kinds)`);
    return k;
  }

  private ref(r: ResourceName): ResourceRef {
    if (typeof r === 'string' || r instanceof Uint8Array) {
      const bytes = typeof r === 'string' ? new TextEncoder().encode(r) : r;
      if (bytes.length === 0 || bytes.length > MAX_RESOURCE_NAME_BYTES) throw new P2psipApiError('bad-argument', `a Resource Name is 1 to ${MAX_RESOURCE_NAME_BYTES} bytes`);
      return { resourceName: bytes };
    }
    if (typeof r !== 'object' || r === null || typeof r.node !== 'string') throw new P2psipApiError('bad-argument', "a resource is a string, bytes, or { node: 'self' | hex Node-ID, index? }");
    const own = this.storage.ownNodeId();
    const node = r.node === 'self' ? own : hexBytes(r.node, 'node', own.length);
    if (node.length !== own.length) throw new P2psipApiError('bad-argument', `node: a Node-ID of ${own.length} bytes`);
    if (r.index === undefined) return { resourceName: node };
    if (!Number.isInteger(r.index) || r.index < 0 || r.index > 255) throw new P2psipApiError('bad-argument', 'index: 0 to 255');
    return { resourceName: nodeMultipleResourceName(node, r.index) };
  }

  private entry(k: KindDefinition, value: Uint8Array, exists: boolean, o: StoreOptions): StoredDataValue {
    const data = { exists, value };
    if (k.dataModel === 'single') return { model: 'single', value: data };
    if (k.dataModel === 'array') {
      const index = o.index ?? 0xffffffff;
      if (!Number.isInteger(index) || index < 0 || index > 0xffffffff) throw new P2psipApiError('bad-argument', 'index: 0 to 4294967295');
      return { model: 'array', index, value: data };
    }
    const key = o.key === undefined ? this.storage.ownNodeId() : hexBytes(o.key, 'key', MAX_KEY_BYTES);
    return { model: 'dictionary', key, value: data };
  }

  /** Stores `value` (a string is UTF-8) of `kind` at `resource`, signed by this peer. Throws `storage` when refused. */
  async store(kind: string | number, resource: ResourceName, value: string | Uint8Array, o: StoreOptions = {}): Promise<StoreReceipt> {
    const k = this.kind(kind);
    const bytes = bodyBytes(value);
    if (bytes.length > k.maxSize) throw new P2psipApiError('limit', `a value of ${bytes.length} bytes: Kind ${k.name} takes at most ${k.maxSize}`);
    return this.write(k, resource, this.entry(k, bytes, true, o), o.lifetime);
  }

  /** Removes this peer's value (RFC 6940 §7.2: exists = false) of `kind` at `resource` (`key` / `index` as for store). */
  async remove(kind: string | number, resource: ResourceName, o: Omit<StoreOptions, 'lifetime'> = {}): Promise<StoreReceipt> {
    const k = this.kind(kind);
    if (k.dataModel === 'array' && o.index === undefined) throw new P2psipApiError('bad-argument', `Kind ${k.name} is an array: give the index to remove`);
    return this.write(k, resource, this.entry(k, new Uint8Array(0), false, o), undefined);
  }

  private async write(k: KindDefinition, resource: ResourceName, entry: StoredDataValue, lifetime: number | undefined): Promise<StoreReceipt> {
    const life = lifetime ?? DEFAULT_LIFETIME_S;
    if (!Number.isInteger(life) || life < 1 || life > MAX_LIFETIME_S) throw new P2psipApiError('bad-argument', `lifetime: 1 to ${MAX_LIFETIME_S} seconds`);
    const ref = this.ref(resource);
    const r = await this.storage.store(k.id, ref, [entry], { lifetime: life });
    if (!r.ok) throw new P2psipApiError('storage', `Store of ${k.name} refused: ${r.info || 'no answer'}`, { reloadError: r.errorCode });
    return { resourceId: hex(this.storage.resourceId(ref)), replicas: r.answer.kindResponses.flatMap((x) => x.replicas.map(hex)) };
  }

  /** The values of `kind` at `resource` whose signature and writer check out (others are left out). Throws `storage` when the overlay fails. */
  async fetch(kind: string | number, resource: ResourceName, o: FetchOptions = {}): Promise<StoredValue[]> {
    const k = this.kind(kind);
    const sel: ValueSelector = {};
    if (k.dataModel === 'dictionary' && o.key !== undefined) sel.keys = [hexBytes(o.key, 'key', MAX_KEY_BYTES)];
    if (k.dataModel === 'array' && o.index !== undefined) {
      if (!Number.isInteger(o.index) || o.index < 0 || o.index > 0xffffffff) throw new P2psipApiError('bad-argument', 'index: 0 to 4294967295');
      sel.indices = [{ first: o.index, last: o.index }];
    }
    const r = await this.storage.fetch(k.id, this.ref(resource), sel);
    if (!r.ok) throw new P2psipApiError('storage', `Fetch of ${k.name} failed: ${r.info || 'no answer'}`, { reloadError: r.errorCode });
    return r.values
      .filter((v) => v.data.value.value.exists)
      .map((v): StoredValue => {
        const m = v.data.value;
        return {
          value: m.value.value,
          text: textOf(m.value.value),
          ...(m.model === 'dictionary' ? { key: hex(m.key) } : m.model === 'array' ? { index: m.index } : {}),
          signer: { nodeId: v.signer.nodeIds[0] === undefined ? '' : hex(v.signer.nodeIds[0]), user: v.signer.userName },
          storedAt: Number(v.data.storageTime),
          lifetime: v.data.lifetime,
        };
      });
  }
}
