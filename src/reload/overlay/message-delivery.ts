/**
 * Delivery of the messages destined to one RELOAD node: signature verification, holding a message
 * while its signer's certificate is looked up (RFC 6940 §8, bounded), answers matched to the
 * requests this node originated (§6.2.1), requests dispatched to their handlers (Ping §6.5.3,
 * Probe §6.4.2.5, Attach in no-ICE mode §6.5.1.11, the topology's methods §6.4.2, the registered
 * ones) with a reply cache for retransmissions (§6.2.1), and answers sent back along the reversed
 * Via List (§6.2.2), sent through a {@link MessageSender} (the dispatcher). Routing is in overlay-router.ts,
 * the verdicts are acted on in message-dispatcher.ts; sans-I/O.
 */
import type { Clock } from '../../lib/clock.js';
import type { Random } from '../../lib/random.js';
import {
  CodecError,
  MessageCode,
  Reader,
  ReloadErrorCode,
  decodeAppAttachReqAns,
  decodeAttachReqAns,
  decodeErrorResponse,
  encodeAttachReqAns,
  encodeErrorResponse,
  encodePingAns,
  encodeProbeAns,
  errorContents,
  errorInfoText,
  isRequestCode,
  readMessageContents,
  readSecurityBlock,
} from '../codec/index.js';
import type { CodecOptions, ForwardingHeader, IceCandidate, MessageContents } from '../codec/index.js';
import type { LinkEndpoint } from '../link/link-driver.js';
import { passiveCandidate } from './candidates.js';
import type { ChordTopology } from './chord/chord-topology.js';
import { iceCredentials } from './ice-chars.js';
import type { MessageFactory } from './message-factory.js';
import type { OverlayCounters } from './overlay-counters.js';
import type { EventSource } from '../../lib/event-hub.js';
import type { HandlerReply, IceAttachParams, InboundRequest, OverlayAnswer, OverlayEventMap, OverlayIce, OverlaySecurity, RequestHandler, ServedRequest, SignerInfo } from './overlay-types.js';
import type { PendingRequests } from './pending-requests.js';
import { ReplyCache } from './reply-cache.js';
import type { Ring } from './ring.js';
import { routingFailureOf } from './routing-failure.js';
import type { Refusal } from './routing-failure.js';

/** Messages held at once while their signer's certificate is looked up (more are refused at once). */
export const MAX_HELD_FOR_CERTIFICATE = 64;
/** Answers kept for retransmitted requests: RFC 6940 §6.2.1's maximum request lifetime, and how many at most. */
const REPLY_LIFETIME_MS = 15_000;
const MAX_REPLIES = 10_000;
const ROLE_PASSIVE = new TextEncoder().encode('passive');

/** Sends what this node originates: routed from here (RFC 6940 §6.1); MessageDispatcher implements it. */
export interface MessageSender {
  originate(h: ForwardingHeader, payload: Uint8Array): void;
}

/** What delivery needs from its node. */
export interface MessageDeliveryDeps {
  readonly ring: Ring;
  readonly idBytes: Uint8Array;
  readonly clock: Clock;
  readonly random: Random;
  readonly security: Pick<OverlaySecurity, 'verify'>;
  readonly counters: OverlayCounters;
  readonly pending: Pick<PendingRequests, 'finish' | 'retrySoon'>;
  readonly topology: Pick<ChordTopology, 'probeInfo' | 'handle' | 'sendUpdateWhenConnected'>;
  readonly maxMessageSize: number;
  codecOptions(): CodecOptions;
  /** Our passive candidate's endpoint (undefined: a client, or not listening yet). */
  advertised(): LinkEndpoint | undefined;
  isClosed(): boolean;
  readonly messages: MessageFactory;
  /** Where the answers this node gives go. */
  readonly outbound: MessageSender;
  /** ICE-negotiated links; without them every Attach is answered no-ICE. */
  readonly ice?: OverlayIce;
  /** True when we hold a usable link to the node (its Attach needs no new one). */
  isConnected?(nodeId: Uint8Array): boolean;
  /**
   * RFC 6940 §6.5.1.2, the Attach we may have sent to the origin of an Attach we got: 'answer' (none,
   * or ours lost the tie-break and is cancelled) or 'in-progress' (ours goes on: Error_In_Progress).
   */
  attachGlare?(origin: Uint8Array): 'answer' | 'in-progress';
  /** The passive TLS candidate an Attach request carried (the requester's overlay address). */
  peerCandidate?(origin: Uint8Array, candidates: readonly IceCandidate[]): void;
  /** Where `served` is published (only while somebody listens). */
  readonly events?: Pick<EventSource<OverlayEventMap>, 'hasListeners'> & { emit(name: 'served', payload: ServedRequest): void };
}

export class MessageDelivery {
  private readonly handlers = new Map<number, RequestHandler>();
  private readonly appHandlers = new Map<number, RequestHandler>();
  private readonly replies: ReplyCache;
  private heldForCertificate = 0;

  constructor(private readonly deps: MessageDeliveryDeps) {
    this.replies = new ReplyCache(deps.clock, REPLY_LIFETIME_MS, MAX_REPLIES);
  }

  /** Answers kept for retransmitted requests (§6.2.1). */
  get cachedAnswers(): number {
    return this.replies.size;
  }

  /** Registers the handler of a request method (Store, Fetch, AppAttach, …). */
  handle(code: number, handler: RequestHandler): void {
    this.handlers.set(code, handler);
  }

  /**
   * Registers the handler of AppAttach for one application (RFC 6940 §6.5.2: the `application`
   * field, a port number: 5060 SIP, 3478 TURN…); other applications go to the AppAttach handler
   * registered with `handle`, if any.
   */
  handleApplication(application: number, handler: RequestHandler): void {
    this.appHandlers.set(application, handler);
  }

  /** A message for this node: verified, then answered (a request) or matched to its request (an answer). */
  deliver(h: ForwardingHeader, payload: Uint8Array, from: bigint | undefined, retried = false): void {
    let contents: MessageContents;
    let contentsBytes: Uint8Array;
    let signer: SignerInfo | undefined;
    try {
      const r = new Reader(payload, 'ReloadMessage', this.deps.maxMessageSize);
      contents = r.scoped('contents', () => readMessageContents(r));
      contentsBytes = payload.subarray(0, r.offset);
      const block = r.scoped('security_block', () => readSecurityBlock(r));
      r.expectEnd();
      // straight from the link's authenticated peer (no Via entry): see OverlaySecurity.verify's linkPeer
      const v = this.deps.security.verify(h, contentsBytes, block, from !== undefined && h.viaList.length === 0 ? this.deps.ring.toBytes(from) : undefined);
      if (!v.ok && v.pending !== undefined && !retried && this.heldForCertificate < MAX_HELD_FOR_CERTIFICATE) {
        // the signer's certificate is being fetched (§8): verify again once the lookup settles (it is bounded in time)
        this.heldForCertificate++;
        void v.pending.then(
          () => this.redeliver(h, payload, from),
          () => this.redeliver(h, payload, from),
        );
        return;
      }
      if (!v.ok) {
        if (isRequestCode(contents.messageCode)) this.sendAnswer(h, from, errorContents(ReloadErrorCode.Forbidden, `signature refused: ${v.info}`));
        this.deps.counters.dropped('signature');
        return;
      }
      signer = v.signer;
    } catch (e) {
      if (!(e instanceof CodecError)) throw e;
      this.deps.counters.dropped('undecodable contents');
      return;
    }
    this.deps.counters.delivered++;
    if (isRequestCode(contents.messageCode)) {
      void this.answerRequest(h, contents, from, signer);
      return;
    }
    this.acceptAnswer(h, contents, from, signer);
  }

  /** Answers a request the router refused with its error (RFC 6940 §6.1.2). */
  answerRefusal(req: ForwardingHeader, from: bigint, refusal: Refusal): void {
    this.sendAnswer(req, from, errorContents(refusal.code, refusal.info));
  }

  /** Who sent a message delivered here: the first Via List entry, else the adjacent node, else us. */
  private originOf(h: ForwardingHeader, from: bigint | undefined): Uint8Array {
    const firstVia = h.viaList[0];
    return firstVia?.type === 'node' ? firstVia.nodeId : from === undefined ? this.deps.idBytes : this.deps.ring.toBytes(from);
  }

  private redeliver(h: ForwardingHeader, payload: Uint8Array, from: bigint | undefined): void {
    this.heldForCertificate--;
    if (!this.deps.isClosed()) this.deliver(h, payload, from, true);
  }

  private acceptAnswer(h: ForwardingHeader, contents: MessageContents, from: bigint | undefined, signer: SignerInfo | undefined): void {
    const responder = this.originOf(h, from);
    const hops = hopsOf(h, from);
    let answer: OverlayAnswer;
    if (contents.messageCode === MessageCode.error) {
      let code = 0;
      let info = 'unreadable error response';
      try {
        const e = decodeErrorResponse(contents.body);
        code = e.errorCode;
        info = errorInfoText(e);
      } catch {
        // keep the defaults
      }
      answer = { ok: false, errorCode: code, info, responder, hops };
    } else {
      answer = { ok: true, code: contents.messageCode, body: contents.body, responder, hops, signer };
    }
    // a routing failure on the way (no route, node gone, TTL) is worth another try once the tables heal
    if (!answer.ok && routingFailureOf(answer.errorCode, answer.info) !== undefined && this.deps.pending.retrySoon(h.transactionId, 500)) return;
    if (!this.deps.pending.finish(h.transactionId, answer)) this.deps.counters.dropped('answer to no pending request');
  }

  private async answerRequest(h: ForwardingHeader, contents: MessageContents, from: bigint | undefined, signer: SignerInfo | undefined): Promise<void> {
    const cached = this.replies.get(h.transactionId);
    if (cached !== undefined) {
      this.sendAnswer(h, from, cached.contents, cached.extraCertificates);
      return;
    }
    // §6.2.1: a retransmission of a request we are still answering is not handled twice (reply-cache.ts)
    if (!this.replies.begin(h.transactionId)) {
      this.deps.counters.dropped('retransmission of a request being answered');
      return;
    }
    const req: InboundRequest = { code: contents.messageCode, body: contents.body, header: h, contents, fromNeighbour: from, origin: this.originOf(h, from), signer, hops: hopsOf(h, from) };
    let reply: HandlerReply;
    try {
      reply = await this.dispatch(req);
    } catch (e) {
      reply = { error: ReloadErrorCode.InvalidMessage, info: e instanceof Error ? e.message : String(e) };
    } finally {
      this.replies.end(h.transactionId);
    }
    let out: MessageContents;
    if ('error' in reply) {
      out = errorContents(reply.error, reply.info);
      if (reply.errorInfo !== undefined) out = { messageCode: MessageCode.error, body: encodeErrorResponse({ errorCode: reply.error, errorInfo: reply.errorInfo }), extensions: [] };
    } else {
      out = { messageCode: reply.code, body: reply.body, extensions: [] };
    }
    const extra = 'error' in reply ? undefined : reply.extraCertificates;
    // A request of our own answered here came over no link: nothing can retransmit it to us, so its
    // answer is not kept for 15 s (a Fetch per call answered locally: ~0.7 KB a call, issue 18).
    if (from !== undefined || h.viaList.length > 0) this.replies.set(h.transactionId, out, extra);
    this.sendAnswer(h, from, out, extra);
    const events = this.deps.events;
    if (events?.hasListeners('served') === true) {
      const served: ServedRequest = { tid: h.transactionId.toString(16).padStart(16, '0'), code: req.code, origin: Array.from(req.origin ?? [], (b) => b.toString(16).padStart(2, '0')).join('') };
      events.emit('served', 'error' in reply ? { ...served, errorCode: reply.error } : served);
    }
    if (!('error' in reply)) reply.afterSent?.();
  }

  private dispatch(req: InboundRequest): HandlerReply | Promise<HandlerReply> {
    switch (req.code) {
      case MessageCode.ping_req:
        return { code: MessageCode.ping_ans, body: encodePingAns({ responseId: this.deps.messages.transactionId(), time: BigInt(Math.floor(this.deps.clock.now())) }) };
      case MessageCode.probe_req:
        return { code: MessageCode.probe_ans, body: encodeProbeAns({ probeInfo: this.deps.topology.probeInfo(req.body) }) };
      case MessageCode.attach_req:
        return this.answerAttach(req);
      case MessageCode.join_req:
      case MessageCode.leave_req:
      case MessageCode.update_req:
      case MessageCode.route_query_req:
        return this.deps.topology.handle(req);
      default: {
        if (req.code === MessageCode.app_attach_req && this.appHandlers.size > 0) {
          const d = decodeAppAttachReqAns(req.body);
          const ah = d.ok ? this.appHandlers.get(d.value.application) : undefined;
          if (ah !== undefined) return ah(req);
        }
        const h = this.handlers.get(req.code);
        if (h !== undefined) return h(req);
        return { error: ReloadErrorCode.InvalidMessage, info: `message code ${req.code} is not supported here` };
      }
    }
  }

  /** Answers an Attach with our passive candidate (RFC 6940 §6.5.1.11, §6.6.5); the requester connects. */
  private answerAttach(req: InboundRequest): HandlerReply {
    const d = decodeAttachReqAns(req.body, this.deps.codecOptions());
    if (!d.ok) return { error: ReloadErrorCode.InvalidMessage, info: d.error.message };
    const advertised = this.deps.advertised();
    if (advertised === undefined) return { error: ReloadErrorCode.Forbidden, info: 'a client accepts no Attach' };
    if (req.origin !== undefined) this.deps.peerCandidate?.(req.origin, d.value.candidates);
    if (d.value.sendUpdate && req.origin !== undefined) {
      const origin = this.deps.ring.tryFromBytes(req.origin);
      if (origin !== undefined) this.deps.topology.sendUpdateWhenConnected(origin);
    }
    const ice = this.deps.ice;
    // a node we are linked to already does not connect again (OverlayNode.attach): no ICE session for it
    const linked = req.origin !== undefined && this.deps.isConnected?.(req.origin) === true;
    // §6.5.1.2: both nodes Attaching to each other at once make one connection, not two
    if (!linked && req.origin !== undefined && this.deps.attachGlare?.(req.origin) === 'in-progress') {
      this.deps.counters.attachGlares++;
      return { error: ReloadErrorCode.InProgress, info: 'Attach: our own Attach to you is in progress (RFC 6940 §6.5.1.2)' };
    }
    if (ice !== undefined && req.origin !== undefined && !linked && ice.accepts(d.value.candidates)) {
      const local = ice.prepare(false);
      // §6.5.1.9: the answerer is the controlled agent (and the DTLS client, §6.5.1.13)
      const started = local === undefined ? undefined : ice.start(local, d.value, false, req.origin);
      if (local !== undefined && typeof started === 'string') {
        this.deps.counters.iceAnswers++;
        return { code: MessageCode.attach_ans, body: iceAttachBody(local, advertised, false) };
      }
      if (started instanceof Error) return { error: ReloadErrorCode.InvalidMessage, info: `Attach: ${started.message}` };
    }
    return { code: MessageCode.attach_ans, body: passiveAttachBody(this.deps.random, advertised, false) };
  }

  /** Sends an answer back along the reversed Via List (RFC 6940 §6.2.2). */
  private sendAnswer(req: ForwardingHeader, from: bigint | undefined, contents: MessageContents, extraCertificates?: readonly Uint8Array[]): void {
    const header = this.deps.messages.header(req.transactionId, []);
    if (from === undefined) {
      // answered locally: hand it straight to the waiting request
      this.acceptAnswer(header, contents, undefined, undefined);
      return;
    }
    header.destinationList = [{ type: 'node', nodeId: this.deps.ring.toBytes(from) }, ...req.viaList.slice().reverse()];
    let payload: Uint8Array;
    try {
      payload = this.deps.messages.signedPayload(header, contents, extraCertificates);
    } catch {
      payload = this.deps.messages.signedPayload(header, errorContents(ReloadErrorCode.ResponseTooLarge, 'answer too large'));
    }
    this.deps.outbound.originate(header, payload);
  }
}

/** Overlay hops a message delivered here travelled: 0 from ourselves, else its Via List and the last hop. */
function hopsOf(h: ForwardingHeader, from: bigint | undefined): number {
  return from === undefined ? 0 : h.viaList.length + 1;
}

/**
 * The body of an Attach request or answer with ICE (RFC 6940 §6.5.1.7): our credentials and
 * candidates, then the passive TLS-TCP-FH-NO-ICE candidate.
 */
export function iceAttachBody(ice: IceAttachParams, advertised: LinkEndpoint | undefined, sendUpdate: boolean): Uint8Array {
  const utf8 = new TextEncoder();
  return encodeAttachReqAns({
    ufrag: utf8.encode(ice.ufrag),
    password: utf8.encode(ice.password),
    role: ROLE_PASSIVE,
    // the ICE candidates first; the passive TLS candidate stays as the fallback where UDP is blocked
    candidates: [...ice.candidates, ...(advertised === undefined ? [] : passiveCandidate(advertised))],
    sendUpdate,
  });
}

/**
 * The body of an Attach request or answer in no-ICE mode (RFC 6940 §6.5.1.11): fresh ICE
 * credentials, the passive role, and our passive candidate at `advertised` (none for a client).
 */
export function passiveAttachBody(random: Random, advertised: LinkEndpoint | undefined, sendUpdate: boolean): Uint8Array {
  return encodeAttachReqAns({
    ...iceCredentials(random),
    role: ROLE_PASSIVE,
    candidates: advertised === undefined ? [] : passiveCandidate(advertised),
    sendUpdate,
  });
}
