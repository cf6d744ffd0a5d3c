import type { Clock } from '../../lib/clock.js';
import type { Lifecycle } from '../../lib/lifecycle.js';
import {
  MessageCode,
  ReloadErrorCode,
  decodeFetchAns,
  decodeStatAns,
  decodeStoreAns,
  encodeFetchReq,
  encodeStatReq,
  encodeStoreReq,
} from '../codec/index.js';
import type { BodyCodecOptions, DecodeResult, StatKindResponse, StoreAns, StoreReq, StoredData, StoredDataSpecifier, StoredDataValue } from '../codec/index.js';
import type { OverlayAnswer } from '../overlay/overlay-types.js';
import type { AccessIdentity } from './access-identity.js';
import { checkAccessPolicy } from './access-policy.js';
import type { HashResourceName } from './access-policy.js';
import type { BagSharingSecurity } from './bag-sharing-security.js';
import { certificatePlaces } from './certificate-places.js';
import type { KindDefinition } from './kind.js';
import { ReplicaMaintainer } from './replica-maintainer.js';
import { bytesEqual } from './resource-id-ring.js';
import type { ReplicaMaintainerOptions } from './replica-maintainer.js';
import type { StorageCredentials } from './storage-credentials.js';
import type { StorageEngine, StorageSummary } from './storage-engine.js';
import { StorageError } from './storage-error.js';
import { StorageRequestHandlers } from './storage-request-handlers.js';
import { SignerCertificates } from './signer-certificates.js';
import type { StorageBackend } from './storage-backend.js';
import type { StorageHost } from './storage-host.js';

export interface OverlayStorageDeps {
  host: StorageHost;
  engine: StorageEngine;
  clock: Clock;
  /** Milliseconds since 1970 for storage_time (RFC 6940 §7.2); `() => Date.now()` in real peers. */
  wallClock: () => number;
  credentials: StorageCredentials;
  /** The security the node was built with (bag sharing for replica Stores and answers). */
  security: Pick<BagSharingSecurity, 'withCertificates'>;
  kinds: (kindId: number) => KindDefinition | undefined;
  hashResourceName: HashResourceName;
  /** The engine's backend: signer certificates are kept there too (RFC 6940 §8), so they survive a restart. */
  backend?: StorageBackend;
}

export interface OverlayStorageOptions extends ReplicaMaintainerOptions {
  /** Lifetime of values this node stores when the caller gives none (seconds, default 3600). */
  defaultLifetime?: number;
  /** See StorageHandlerDeps.fetchFallbackMs (default DEFAULT_FETCH_FALLBACK_MS, 2 minutes). */
  fetchFallbackMs?: number;
}

/** What a client Store, Fetch or Stat failed with: the RELOAD error (0: no answer) and its text. */
export interface StorageRequestFailure {
  ok: false;
  errorCode: number;
  info: string;
}

export type ClientStoreResult = { ok: true; answer: StoreAns; responder: Uint8Array | undefined } | StorageRequestFailure;

/** A fetched value whose signature verified and whose signer the Kind's policy allows (RFC 6940 §7.1, §7.3). */
export interface FetchedValue {
  data: StoredData;
  signer: AccessIdentity;
}

export type ClientFetchResult =
  | { ok: true; generation: bigint; values: FetchedValue[]; rejected: Array<{ data: StoredData; info: string }>; responder: Uint8Array | undefined }
  | StorageRequestFailure;

export type ClientStatResult = { ok: true; kind: StatKindResponse | undefined; responder: Uint8Array | undefined } | StorageRequestFailure;

/** A decoded answer body and who answered, or why there is none. */
type Decoded<T> = { ok: true; value: T; responder: Uint8Array | undefined } | StorageRequestFailure;

/** Which values of a Kind a Fetch or Stat asks for (RFC 6940 §7.4.2.1); the model is the Kind's. */
export type ValueSelector = { indices?: Array<{ first: number; last: number }>; keys?: Uint8Array[]; generation?: bigint };

/** Where to store / fetch: a Resource-ID, or a Resource Name hashed by the overlay. */
export type ResourceRef = { resourceId: Uint8Array } | { resourceName: string | Uint8Array };

/**
 * RELOAD storage in the overlay (RFC 6940 §7, §10.4, §10.7.3): the {@link StorageEngine} of this
 * peer answering Store/Fetch/Stat/Find, replication and migration under churn, and the client
 * API usages build on (signs values with our identity, verifies fetched ones).
 */
export class OverlayStorage implements Lifecycle {
  readonly replicas: ReplicaMaintainer;
  /** Certificates of the signers of what this peer holds (only with a backend). */
  readonly signerCertificates: SignerCertificates | undefined;
  private readonly handlers: StorageRequestHandlers;
  private readonly codec: BodyCodecOptions;
  private readonly defaultLifetime: number;
  private lastStorageTime = 0n;
  private readonly storeObservers = new Set<(req: StoreReq) => void>();
  /** Stops following the neighbour table (set by start, called by stop). */
  private unfollow: (() => void) | undefined;

  constructor(
    private readonly deps: OverlayStorageDeps,
    options: OverlayStorageOptions = {},
  ) {
    const { host } = deps;
    this.defaultLifetime = options.defaultLifetime ?? 3600;
    this.codec = { ...host.codecOptions(), dataModelOf: (k) => deps.kinds(k)?.dataModel };
    const kept = deps.backend === undefined ? undefined : new SignerCertificates(deps.backend);
    this.signerCertificates = kept;
    for (const der of kept?.certificates() ?? []) deps.credentials.learn?.(der);
    const credentials: StorageCredentials = kept === undefined ? deps.credentials : { ...deps.credentials, certificateOf: (v) => deps.credentials.certificateOf(v) ?? kept.get(v) };
    this.replicas = new ReplicaMaintainer({ host, engine: deps.engine, clock: deps.clock, credentials, security: deps.security, codec: this.codec }, options);
    this.handlers = new StorageRequestHandlers({
      host,
      engine: deps.engine,
      credentials,
      ...(kept === undefined ? {} : { certificates: kept }),
      codec: this.codec,
      onReplicate: (req) => this.replicas.replicate(req),
      onHandover: (resource, from) => this.replicas.handedOver(resource, from),
      onStored: (req) => {
        for (const l of this.storeObservers) {
          try {
            l(req);
          } catch {
            // an observer's fault never reaches the Store
          }
        }
      },
      ...(options.fetchFallbackMs === undefined ? {} : { fetchFallbackMs: options.fetchFallbackMs }),
    });
  }

  /**
   * Issue 16: `listener` sees every original Store applied here as the responsible peer (the values
   * as stored, signatures verified); returns the unsubscribe. At most 16 observers.
   */
  observeStores(listener: (req: StoreReq) => void): () => void {
    if (this.storeObservers.size >= 16) throw new StorageError('STORAGE_BAD_OPTIONS', 'at most 16 store observers');
    this.storeObservers.add(listener);
    return () => this.storeObservers.delete(listener);
  }

  /** Registers the request handlers and follows the neighbour table (Lifecycle). Call before the node starts. */
  start(): void {
    this.handlers.register();
    this.unfollow = this.deps.host.onNeighboursChanged((n) => this.replicas.onNeighboursChanged(n.successors));
    this.deps.host.setStoredResourcesProvider(() => this.deps.engine.summary().resources);
  }

  get engine(): StorageEngine {
    return this.deps.engine;
  }

  /** A Kind of the configuration. */
  kinds(kindId: number): KindDefinition | undefined {
    return this.deps.kinds(kindId);
  }

  /** The Node-ID we sign with (the dictionary key of USER-NODE-MATCH values, RFC 7904). */
  ownNodeId(): Uint8Array {
    return this.deps.credentials.identity.nodeIds[0] ?? this.deps.host.idBytes;
  }

  summary(): StorageSummary {
    return this.deps.engine.summary();
  }

  /** The Resource-ID of a Resource Name (RFC 6940 §5.2). */
  resourceId(ref: ResourceRef): Uint8Array {
    if ('resourceId' in ref) return ref.resourceId;
    const name = typeof ref.resourceName === 'string' ? new TextEncoder().encode(ref.resourceName) : ref.resourceName;
    return this.deps.hashResourceName(name);
  }

  private kind(kindId: number): KindDefinition {
    const def = this.deps.kinds(kindId);
    if (def === undefined) throw new StorageError('STORAGE_UNKNOWN_KIND', `Kind-ID 0x${kindId.toString(16)} is not in the configuration`);
    return def;
  }

  /** A storage_time after every one we used (RFC 6940 §7: later values replace earlier ones). */
  private storageTime(): bigint {
    const now = BigInt(Math.floor(this.deps.wallClock()));
    this.lastStorageTime = now > this.lastStorageTime ? now : this.lastStorageTime + 1n;
    return this.lastStorageTime;
  }

  /**
   * RFC 6940 §7.4.1: signs `values` (each a StoredDataValue of the Kind's model; array index
   * 0xffffffff appends) and stores them at the responsible peer. `generation` 0 = unconditional.
   * Throws {@link StorageError} only for a Kind not in the configuration.
   */
  async store(kindId: number, ref: ResourceRef, values: readonly StoredDataValue[], opts: { lifetime?: number; generation?: bigint } = {}): Promise<ClientStoreResult> {
    this.kind(kindId);
    const resource = this.resourceId(ref);
    const time = this.storageTime();
    const lifetime = opts.lifetime ?? this.defaultLifetime;
    const signed = values.map((v) => this.deps.credentials.sign(resource, kindId, time, lifetime, v));
    const r = await this.storeSigned(resource, kindId, signed, opts.generation ?? 0n);
    if (r.ok || r.errorCode !== ReloadErrorCode.DataTooOld || signed.length === 0) return r;
    return (await this.heldAlready(resource, kindId, signed)) ?? r;
  }

  /**
   * Error_Data_Too_Old for values we just signed: our own Store may have landed already — its answer
   * lost, the request retransmitted end to end (RFC 6940 §6.2.1) to a peer that had meanwhile become
   * responsible and held the value as a replica (seen under load while a ring healed: a REGISTER got
   * 500 although its Store had been stored and replicated). A Fetch tells: when the responsible peer
   * holds every one of these values, the very signatures we made, the Store succeeded. Else undefined
   * (the error stands).
   */
  private async heldAlready(resource: Uint8Array, kindId: number, signed: readonly StoredData[]): Promise<ClientStoreResult | undefined> {
    const def = this.deps.kinds(kindId);
    if (def === undefined) return undefined;
    const sel: ValueSelector = {};
    if (def.dataModel === 'dictionary') sel.keys = signed.flatMap((d) => (d.value.model === 'dictionary' ? [d.value.key] : []));
    if (def.dataModel === 'array') {
      const indices = signed.flatMap((d) => (d.value.model === 'array' && d.value.index !== 0xffffffff ? [d.value.index] : []));
      if (indices.length !== signed.length) return undefined; // appends have no index to look for
      sel.indices = indices.map((i) => ({ first: i, last: i }));
    }
    const f = await this.fetch(kindId, { resourceId: resource }, sel);
    if (!f.ok) return undefined;
    const held = (d: StoredData): boolean =>
      f.values.some((v) => v.data.storageTime === d.storageTime && bytesEqual(v.data.signature.signatureValue, d.signature.signatureValue));
    if (!signed.every(held)) return undefined;
    return { ok: true, answer: { kindResponses: [{ kind: kindId, generationCounter: f.generation, replicas: [] }] }, responder: f.responder };
  }

  /** Stores already signed values (a replayed or foreign value, tests; or values signed elsewhere). */
  async storeSigned(resource: Uint8Array, kindId: number, values: StoredData[], generation = 0n): Promise<ClientStoreResult> {
    let body: Uint8Array;
    try {
      body = encodeStoreReq({ resource, replicaNumber: 0, kindData: [{ kind: kindId, generationCounter: generation, values }] }, this.codec);
    } catch (e) {
      return { ok: false, errorCode: ReloadErrorCode.MessageTooLarge, info: e instanceof Error ? e.message : String(e) };
    }
    const a = this.decoded(await this.send(resource, undefined, MessageCode.store_req, body), MessageCode.store_ans, decodeStoreAns);
    return a.ok ? { ok: true, answer: a.value, responder: a.responder } : a;
  }

  private specifier(def: KindDefinition, sel: ValueSelector): StoredDataSpecifier {
    const generation = sel.generation ?? 0n;
    if (def.dataModel === 'array') return { kind: def.id, generation, model: 'array', indices: sel.indices ?? [{ first: 0, last: 0xffffffff }] };
    if (def.dataModel === 'dictionary') return { kind: def.id, generation, model: 'dictionary', keys: sel.keys ?? [] };
    return { kind: def.id, generation, model: 'single' };
  }

  /**
   * RFC 6940 §7.4.2: fetches a Kind's values at a resource and keeps those whose signature verifies
   * and whose signer the Kind's access policy allows (§7.1, §7.3); the others are `rejected`.
   * `at`: ask this node (e.g. a replica) instead of the responsible peer.
   */
  async fetch(kindId: number, ref: ResourceRef, sel: ValueSelector = {}, at?: Uint8Array): Promise<ClientFetchResult> {
    const def = this.kind(kindId);
    const resource = this.resourceId(ref);
    const body = encodeFetchReq({ resource, specifiers: [this.specifier(def, sel)] }, this.codec);
    const a = this.decoded(await this.send(resource, at, MessageCode.fetch_req, body), MessageCode.fetch_ans, decodeFetchAns);
    if (!a.ok) return a;
    const kr = a.value.kindResponses.find((k) => k.kind === kindId);
    const values: FetchedValue[] = [];
    const rejected: Array<{ data: StoredData; info: string }> = [];
    for (const data of kr?.values ?? []) {
      // §7.4.2.2: a value the peer does not hold comes back with exists = false and no signature
      if (!data.value.value.exists && data.signature.identity.type === 'none') continue;
      let v = this.deps.credentials.verifier.verify(resource, kindId, data);
      // RFC 6940 §8: a signer whose certificate came in no bag is looked up in the overlay, then checked again
      const resolve = this.deps.credentials.resolveSigner;
      if (!v.ok && resolve !== undefined && data.signature.identity.type !== 'none') {
        const places = certificatePlaces(def, resource, data.value, this.deps.hashResourceName, (k) => this.deps.kinds(k) !== undefined);
        if (places.length > 0 && (await resolve(data, places).catch(() => false))) v = this.deps.credentials.verifier.verify(resource, kindId, data);
      }
      if (!v.ok) {
        rejected.push({ data, info: v.info });
        continue;
      }
      const p = checkAccessPolicy(def, resource, data.value, v.signer, this.deps.hashResourceName);
      if (!p.ok) {
        rejected.push({ data, info: p.info });
        continue;
      }
      values.push({ data, signer: v.signer });
    }
    return { ok: true, generation: kr?.generation ?? 0n, values, rejected, responder: a.responder };
  }

  /**
   * The values of a Kind at a Resource-ID as the responsible peer answers them, signatures NOT
   * checked: for the certificate store usage (RFC 6940 §8), whose values are checked by the
   * certificate's own hash and the trust policy. Resolves [] on any failure.
   */
  async fetchUnverified(kindId: number, resourceId: Uint8Array): Promise<StoredData[]> {
    const def = this.deps.kinds(kindId);
    if (def === undefined) return [];
    try {
      const body = encodeFetchReq({ resource: resourceId, specifiers: [this.specifier(def, {})] }, this.codec);
      const a = this.decoded(await this.send(resourceId, undefined, MessageCode.fetch_req, body), MessageCode.fetch_ans, decodeFetchAns);
      if (!a.ok) return [];
      return a.value.kindResponses.find((k) => k.kind === kindId)?.values ?? [];
    } catch {
      return [];
    }
  }

  /** RFC 6940 §7.4.3 Stat of one Kind; `at`: ask this node (a replica) instead of the responsible peer. */
  async stat(kindId: number, ref: ResourceRef, sel: ValueSelector = {}, at?: Uint8Array): Promise<ClientStatResult> {
    const def = this.kind(kindId);
    const resource = this.resourceId(ref);
    const body = encodeStatReq({ resource, specifiers: [this.specifier(def, sel)] }, this.codec);
    const a = this.decoded(await this.send(resource, at, MessageCode.stat_req, body), MessageCode.stat_ans, decodeStatAns);
    return a.ok ? { ok: true, kind: a.value.kindResponses.find((k) => k.kind === kindId), responder: a.responder } : a;
  }

  /** Sends a client request (RFC 6940 §6.2.1) to the peer responsible for `resource`, or to node `at`. */
  private send(resource: Uint8Array, at: Uint8Array | undefined, code: number, body: Uint8Array): Promise<OverlayAnswer> {
    return at === undefined ? this.deps.host.requestResource(resource, code, body) : this.deps.host.request([{ type: 'node', nodeId: at }], code, body);
  }

  /**
   * The answer to a client request: its error, an answer of another method (errorCode 0), a body
   * that does not decode (Error_Invalid_Message), or the decoded body.
   */
  private decoded<T>(ans: OverlayAnswer, answerCode: number, decode: (bytes: Uint8Array, options: BodyCodecOptions) => DecodeResult<T>): Decoded<T> {
    if (!ans.ok) return { ok: false, errorCode: ans.errorCode, info: ans.info };
    if (ans.code !== answerCode) return { ok: false, errorCode: 0, info: `unexpected answer code ${ans.code}` };
    const d = decode(ans.body, this.codec);
    if (!d.ok) return { ok: false, errorCode: ReloadErrorCode.InvalidMessage, info: d.error.message };
    return { ok: true, value: d.value, responder: ans.responder };
  }

  /** Before a clean Leave: our data to the peers that keep it after us ({@link ReplicaMaintainer.handOffBeforeLeave}). */
  handOffBeforeLeave(maxWaitMs = 5000): Promise<void> {
    return this.replicas.handOffBeforeLeave(maxWaitMs);
  }

  /** Stops replication work and the engine (Lifecycle; the backend stays open: its owner closes it). */
  async stop(): Promise<void> {
    this.unfollow?.();
    this.unfollow = undefined;
    this.replicas.close();
    await this.deps.engine.close();
  }
}
