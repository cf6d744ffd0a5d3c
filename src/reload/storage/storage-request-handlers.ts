import {
  MessageCode,
  ReloadErrorCode,
  decodeFetchAns,
  decodeFetchReq,
  decodeFindReq,
  decodeStatReq,
  decodeStoreReq,
  encodeFetchAns,
  encodeFindAns,
  encodeStatAns,
  encodeStoreAns,
} from '../codec/index.js';
import type { BodyCodecOptions, FetchAns, StoreReq, StoredData } from '../codec/index.js';
import type { HandlerReply, InboundRequest } from '../overlay/overlay-types.js';
import type { StorageCredentials } from './storage-credentials.js';
import type { StorageEngine } from './storage-engine.js';
import type { StorageFailure } from './storage-failure.js';
import type { StorageHost } from './storage-host.js';
import type { SignerCertificates } from './signer-certificates.js';

/** What the request handlers need. */
export interface StorageHandlerDeps {
  host: StorageHost;
  engine: StorageEngine;
  credentials: StorageCredentials;
  codec: BodyCodecOptions;
  /** Certificates of the signers of what we hold (RFC 6940 §8). */
  certificates?: SignerCertificates;
  /** An original store succeeded: replicate it (RFC 6940 §10.4); the answer waits for the promise. */
  onReplicate(req: StoreReq): void | Promise<void>;
  /** Issue 16: an original Store was applied here, as the responsible peer (observers: presence hints). */
  onStored?(req: StoreReq): void;
  /** A neighbour handed us a resource we are now responsible for (§10.5): our replicas need it too. */
  onHandover?(resource: Uint8Array, from: bigint): void;
  /**
   * For this long after joining (ms; 0: never), a Fetch for a resource we are responsible for but
   * hold nothing of is also asked of our first successor, a replica holder, and answered with its
   * values when it has some. See {@link DEFAULT_FETCH_FALLBACK_MS}.
   */
  fetchFallbackMs?: number;
}

/**
 * Default of {@link StorageHandlerDeps.fetchFallbackMs}. A peer that joins in place of a responsible
 * peer that crashed silently is admitted by a peer that does not hold its range as the responsible
 * peer, so nobody hands that range over until the crash is noticed (link timeouts, about 50 s), and
 * a Fetch answered by the joiner meanwhile finds nothing although the successors hold replicas
 * (RFC 6940 §10.4: a Fetch must still succeed while the responsible peer is gone). Two minutes
 * covers that detection with room; after it a miss is a miss.
 */
export const DEFAULT_FETCH_FALLBACK_MS = 120_000;

/**
 * The Fetch passed on to our successor (one hop away) waits at most 2 × 1 s: the fetcher is waiting
 * on us meanwhile (its own reliability timer, 3 s), and a silent successor must not make it time out.
 */
const FALLBACK_REQUEST = { timerMs: 1000, transmissions: 2 } as const;

/** Most certificates added to a FetchAns bag besides the responder's own (the receiver examines 32, §6.3.4). */
export const MAX_FETCH_BAG_CERTIFICATES = 31;

const refused = (f: StorageFailure): HandlerReply => ({ error: f.code, info: f.info, errorInfo: f.errorInfo });

/**
 * The server side of RFC 6940 §7.4: Store, Fetch, Stat and Find requests delivered to this peer,
 * answered from the {@link StorageEngine}. Never throws for any body.
 */
export class StorageRequestHandlers {
  /** Fetches passed on to our successor after a miss ({@link StorageHandlerDeps.fetchFallbackMs}), and how many it answered with values. */
  readonly fallbacks = { asked: 0, answered: 0 };

  constructor(private readonly deps: StorageHandlerDeps) {}

  register(): void {
    const { host } = this.deps;
    host.handle(MessageCode.store_req, (r) => this.store(r));
    host.handle(MessageCode.fetch_req, (r) => this.fetch(r));
    host.handle(MessageCode.stat_req, (r) => this.stat(r));
    host.handle(MessageCode.find_req, (r) => this.find(r));
  }

  /** The Node-ID that sent a request: its verified signer, else the originator from the Via List. */
  private sender(req: InboundRequest): bigint | undefined {
    const bytes = req.signer?.nodeIds[0] ?? req.origin;
    return bytes === undefined ? undefined : this.deps.host.ring.tryFromBytes(bytes);
  }

  /**
   * RFC 6940 §7.4.1.1: replica Stores "MUST come from nodes which are either in the known replica set
   * for a given resource or which are closer than some node in the replica set". A predecessor of ours,
   * or any peer between the resource and us clockwise (closer to it than we are, a member of the
   * replica set we are in). The second half matters after two neighbours crash together: the
   * responsible peer's new second successor has only the peer between them in its predecessor table
   * until Updates and an Attach bring the responsible peer back in, and refused its replica meanwhile.
   */
  private plausibleReplicaSender(from: bigint, resource: Uint8Array): boolean {
    const { ring, id } = this.deps.host;
    if (this.deps.host.neighbours().predecessors.includes(from)) return true;
    const k = ring.fromBytes(resource);
    return from !== id && ring.distance(k, from) < ring.distance(k, id);
  }

  private responsibleFor(resource: Uint8Array): boolean | undefined {
    const k = this.deps.host.ring.tryFromBytes(resource);
    return k === undefined ? undefined : this.deps.host.isResponsible(k);
  }

  store(req: InboundRequest): HandlerReply | Promise<HandlerReply> {
    const d = decodeStoreReq(req.body, this.deps.codec);
    if (!d.ok) return { error: ReloadErrorCode.InvalidMessage, info: d.error.message };
    const sr = d.value;
    const responsible = this.responsibleFor(sr.resource);
    if (responsible === undefined) return { error: ReloadErrorCode.InvalidMessage, info: 'Resource-ID of the wrong length' };
    if (this.deps.host.isClient) return { error: ReloadErrorCode.Forbidden, info: 'a client stores nothing' };
    const nb = this.deps.host.neighbours();
    const from = this.sender(req);
    const last = req.header.destinationList[req.header.destinationList.length - 1];
    if (sr.replicaNumber > 0) {
      if (from === undefined || !this.plausibleReplicaSender(from, sr.resource)) return { error: ReloadErrorCode.Forbidden, info: 'a replica store must come from a predecessor, or a peer closer to the resource than we are' };
      return this.answerStore(this.deps.engine.store(sr, { replica: true }), sr);
    }
    const neighbour = from !== undefined && (nb.successors.includes(from) || nb.predecessors.includes(from));
    // issue 15: after two rings merge, the peer that held a resource in its old ring may be more than
    // a neighbour table away from its new owner (more than five peers of the other ring between them);
    // its node-addressed hand-over is taken from any peer once we are responsible. This trusts it no
    // more than a neighbour (any member can make itself one): values keep their writers' signatures.
    const mergeHandover = from !== undefined && from !== this.deps.host.id && responsible && this.deps.host.state === 'joined';
    if (last?.type === 'node' && from !== undefined && (neighbour || mergeHandover)) {
      // RFC 6940 §10.5 step 6 / §10.7.3: a neighbour hands us data we are now responsible for. While we
      // join, the admitting peer sends our range as it admits us, often before its Join answer reaches
      // us: our neighbour table, where the join entered the peers it reached before the Join (§10.5
      // step 4: the admitting peer and the neighbours its Update named), says what that range is.
      const joiningOwner = this.deps.host.state === 'joining' && this.deps.host.coversInTable(this.deps.host.ring.fromBytes(sr.resource));
      if (!responsible && !joiningOwner) return { error: ReloadErrorCode.NotFound, info: 'not responsible for this Resource-ID' };
      const r = this.deps.engine.store(sr, { replica: true });
      if (r.ok) this.deps.onHandover?.(sr.resource, from);
      return this.answerStore(r, sr);
    }
    if (!responsible) return { error: ReloadErrorCode.NotFound, info: 'not responsible for this Resource-ID' };
    if (req.signer === undefined) return { error: ReloadErrorCode.Forbidden, info: 'an original store must be signed' };
    const ring = this.deps.host.ring;
    const replicas = nb.successors.slice(0, 2).map((s) => ring.toBytes(s));
    const r = this.deps.engine.store(sr, { requester: req.signer, replicas });
    const reply = this.answerStore(r, sr);
    if (r.ok) this.deps.onStored?.(sr);
    if (!r.ok || r.replicate === undefined) return reply;
    // answered once a replica holds the value (ReplicaMaintainer.replicate bounds the wait)
    const replicated = this.deps.onReplicate(r.replicate);
    return replicated === undefined ? reply : replicated.then(() => reply);
  }

  /** The signer certificate of a value held here: the certificate store's, else the one kept with the data. */
  certificateOf(v: StoredData): Uint8Array | undefined {
    return this.deps.credentials.certificateOf(v) ?? this.deps.certificates?.get(v);
  }

  private answerStore(r: ReturnType<StorageEngine['store']>, sr: StoreReq): HandlerReply {
    if (!r.ok) return refused(r);
    const kept = this.deps.certificates;
    if (kept !== undefined) {
      for (const kd of sr.kindData) {
        for (const v of kd.values) {
          const der = this.deps.credentials.certificateOf(v);
          if (der !== undefined) kept.keep(v, der);
        }
      }
    }
    return { code: MessageCode.store_ans, body: encodeStoreAns(r.answer, this.deps.codec) };
  }

  /** Answered by the responsible peer, or by a replica holding the resource (a node-addressed Fetch). */
  private mayAnswer(resource: Uint8Array): HandlerReply | undefined {
    const responsible = this.responsibleFor(resource);
    if (responsible === undefined) return { error: ReloadErrorCode.InvalidMessage, info: 'Resource-ID of the wrong length' };
    if (!responsible && this.deps.engine.replicaNumber(resource) === undefined) return { error: ReloadErrorCode.NotFound, info: 'not responsible for this Resource-ID' };
    return undefined;
  }

  fetch(req: InboundRequest): HandlerReply | Promise<HandlerReply> {
    const d = decodeFetchReq(req.body, this.deps.codec);
    if (!d.ok) return { error: ReloadErrorCode.InvalidMessage, info: d.error.message };
    const no = this.mayAnswer(d.value.resource);
    if (no) return no;
    const r = this.deps.engine.fetch(d.value);
    if (!r.ok) return refused(r);
    const local: HandlerReply = { code: MessageCode.fetch_ans, body: encodeFetchAns(r.answer, this.deps.codec), extraCertificates: this.bagFor(r.answer) };
    const successor = this.fallbackSuccessor(req, d.value.resource);
    return successor === undefined ? local : this.askSuccessor(successor, req.body, local);
  }

  /** RFC 6940 §6.3.4: the certificates of the values' signers travel in the answer's bag. */
  private bagFor(answer: FetchAns): Uint8Array[] {
    const certs: Uint8Array[] = [];
    const seen = new Set<Uint8Array>();
    for (const k of answer.kindResponses) {
      for (const v of k.values) {
        if (certs.length >= MAX_FETCH_BAG_CERTIFICATES) return certs;
        const der = this.certificateOf(v);
        if (der === undefined || seen.has(der)) continue;
        seen.add(der);
        certs.push(der);
      }
    }
    return certs;
  }

  /**
   * The successor to ask as well (see {@link StorageHandlerDeps.fetchFallbackMs}): only for a Fetch
   * routed to the resource (a node-addressed one, like the one we send, is never passed on), that we
   * answer as the responsible peer holding nothing of it, within the window after our join.
   */
  private fallbackSuccessor(req: InboundRequest, resource: Uint8Array): bigint | undefined {
    const windowMs = this.deps.fetchFallbackMs ?? DEFAULT_FETCH_FALLBACK_MS;
    const { host, engine } = this.deps;
    const joinedAt = host.joinedAt;
    if (windowMs <= 0 || joinedAt === undefined || host.clock.now() - joinedAt >= windowMs) return undefined;
    if (req.header.destinationList[req.header.destinationList.length - 1]?.type !== 'resource') return undefined;
    if (engine.replicaNumber(resource) !== undefined || this.responsibleFor(resource) !== true) return undefined;
    const s = host.neighbours().successors[0];
    return s === undefined || s === host.id ? undefined : s;
  }

  private async askSuccessor(successor: bigint, body: Uint8Array, local: HandlerReply): Promise<HandlerReply> {
    const { host } = this.deps;
    this.fallbacks.asked++;
    const ans = await host.request([{ type: 'node', nodeId: host.ring.toBytes(successor) }], MessageCode.fetch_req, body, FALLBACK_REQUEST).catch(() => undefined);
    if (ans === undefined || !ans.ok || ans.code !== MessageCode.fetch_ans) return local;
    const d = decodeFetchAns(ans.body, this.deps.codec);
    if (!d.ok || !d.value.kindResponses.some((k) => k.values.some((v) => v.value.value.exists || v.signature.identity.type !== 'none'))) return local;
    this.fallbacks.answered++;
    // the fetcher verifies every value's signature itself; signers' certificates we keep go along
    return { code: MessageCode.fetch_ans, body: ans.body, extraCertificates: this.bagFor(d.value) };
  }

  stat(req: InboundRequest): HandlerReply {
    const d = decodeStatReq(req.body, this.deps.codec);
    if (!d.ok) return { error: ReloadErrorCode.InvalidMessage, info: d.error.message };
    const no = this.mayAnswer(d.value.resource);
    if (no) return no;
    const r = this.deps.engine.stat(d.value);
    if (!r.ok) return refused(r);
    return { code: MessageCode.stat_ans, body: encodeStatAns(r.answer, this.deps.codec) };
  }

  find(req: InboundRequest): HandlerReply {
    const d = decodeFindReq(req.body, this.deps.codec);
    if (!d.ok) return { error: ReloadErrorCode.InvalidMessage, info: d.error.message };
    const responsible = this.responsibleFor(d.value.resource);
    if (responsible === undefined) return { error: ReloadErrorCode.InvalidMessage, info: 'Resource-ID of the wrong length' };
    if (!responsible) return { error: ReloadErrorCode.NotFound, info: 'not responsible for this Resource-ID' };
    return { code: MessageCode.find_ans, body: encodeFindAns(this.deps.engine.find(d.value), this.deps.codec) };
  }
}
