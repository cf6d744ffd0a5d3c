/**
 * The SIP front's core: a record-routing stateful proxy (RFC 3261 §16) with the registrar
 * (§10) for the domains it serves. It is the transaction user of the transaction layer.
 */
import type { Clock } from '../../lib/clock.js';
import { P2psipError } from '../../lib/errors.js';
import { isIpLiteral, stripBrackets } from '../../lib/ip.js';
import { randomToken, type Random } from '../../lib/random.js';
import { createResponse, formatNameAddr, hasParam, isSipUri, parseMaxForwards, parseNameAddr, parseNameAddrList, parseTokenList, toTag as toTagOf } from '../message/index.js';
import type { SipRequest, SipResponse, SipUri, Uri } from '../message/sip-message.js';
import type { AuthVerdict, RequestAuthenticator } from '../auth/request-authenticator.js';
import { responseTarget, statelessToTag } from '../transaction/index.js';
import type { ClientTransaction, ClientTransactionUser, ServerTransaction, TransactionUser } from '../transaction/transaction-contract.js';
import type { InboundMessage, OutboundTarget, SipTransport, TransportAddress, TransportProtocol } from '../transport/sip-transport.js';
import { forwardRequest, popOwnRoutes, recordRoutes, selfVia, strictRouteRewrite, topRoute } from './forward-request.js';
import { INSTANCE_PARAM, type LocalIdentity } from './local-identity.js';
import { LocationLookupError, type Binding, type LocationService } from './location-service.js';
import { isLoop, proxyBranch } from './loop-detection.js';
import type { LocalServices, ServiceRequest } from './local-services.js';
import type { MediaHook } from './media-hook.js';
import { OriginatedTransaction } from './originated-transaction.js';
import type { ProxyTarget } from './proxy-target.js';
import type { Registrar } from './registrar.js';
import { ResponseContext, type PreparedBranch, type ResponseContextDeps, type ResponseContextOptions } from './response-context.js';
import { StatelessForwarder, type StatelessStats } from './stateless-forwarder.js';
import { numericTarget, type TargetResolver } from './target-resolver.js';
import { ROUTE_TOKEN_PARAM, RouteTokens } from './route-token.js';

/** How AoRs outside our domains are reached. */
export type OutboundPolicy = { mode: 'none' } | { mode: 'dns' } | { mode: 'proxy'; uri: SipUri };

export interface ProxyCoreOptions {
  outbound: OutboundPolicy;
  /** Timer C, ms (default 180,000). */
  timerC: number;
  /** Host to put in Via/Record-Route when a transport listens on a wildcard address. */
  advertisedHost: string;
  /** Value of the Server / User-Agent header. */
  serverName: string;
  /** Most concurrent forwarded requests (default 50,000); beyond it new requests get 503. */
  maxContexts: number;
}

export const DEFAULT_PROXY_OPTIONS: Readonly<ProxyCoreOptions> = Object.freeze({
  outbound: { mode: 'none' } as OutboundPolicy,
  timerC: 180_000,
  advertisedHost: '127.0.0.1',
  serverName: 'p2psip',
  maxContexts: 50_000,
});

export const ALLOWED_METHODS = 'INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, MESSAGE, SUBSCRIBE, NOTIFY, REFER, INFO, UPDATE, PRACK';

/** The transaction layer as the core uses it. */
export interface TransactionApi {
  sendRequest(request: SipRequest, target: OutboundTarget, user: ClientTransactionUser): ClientTransaction;
  findCancelTarget(cancel: SipRequest): ServerTransaction | undefined;
}

export interface ProxyCoreDeps {
  clock: Clock;
  random: Random;
  transport: SipTransport;
  transactions: TransactionApi;
  location: LocationService;
  identity: LocalIdentity;
  registrar: Registrar;
  resolver: TargetResolver;
  /** The MACs of our Record-Routes (relaying with outbound 'none'); default: a secret of this run from `random`. */
  routeTokens?: RouteTokens;
  /** Rewrites SDP of what we forward (the media relay, issue 13); none: bodies pass untouched. */
  media?: MediaHook;
  /**
   * Digest authentication of our phones (RFC 3261 §22, issue 15), asked before a request is routed;
   * none: nothing is challenged (an open overlay).
   */
  auth?: RequestAuthenticator;
  /** Services for our users (issue 16: presence, messages kept for absent users, voicemail); none: plain proxy. */
  services?: LocalServices;
  /** True for a request another p2psip peer forwarded to us (services tell it from a phone's); default: never. */
  fromPeer?: (request: SipRequest, source: TransportAddress) => boolean;
}

export interface ProxyStats {
  requests: number;
  forwarded: number;
  localResponses: Record<string, number>;
  activeContexts: number;
  /** ACKs for 2xx and stray 2xx forwarded without a transaction, and what was dropped. */
  stateless: StatelessStats;
}

export class ProxyCore implements TransactionUser {
  private readonly options: ProxyCoreOptions;
  private readonly contexts = new Map<string, ResponseContext>();
  /** One function for every context (a closure per call would live as long as its transactions). */
  private readonly sendRequest: ResponseContextDeps['sendRequest'] = (r, t, u) => this.deps.transactions.sendRequest(r, t, u);
  private readonly forgetContext: NonNullable<ResponseContextDeps['onFinal']> = (_status, tx) => void this.contexts.delete(tx.id);
  private readonly upstream: ResponseContextDeps['upstream'];
  /** The context options of a request no service may take (one object for all of them). */
  private readonly plainContextOptions: ResponseContextOptions;
  private readonly stateless: StatelessForwarder;
  private readonly counters = { requests: 0, forwarded: 0, localResponses: {} as Record<string, number> };
  private readonly tokens: RouteTokens;

  constructor(
    private readonly deps: ProxyCoreDeps,
    options: Partial<ProxyCoreOptions> = {},
  ) {
    this.options = { ...DEFAULT_PROXY_OPTIONS, ...options };
    this.plainContextOptions = Object.freeze({ timerC: this.options.timerC });
    const media = deps.media;
    this.upstream = media === undefined ? undefined : (res, to, from) => media.response(res, to, from);
    this.tokens = deps.routeTokens ?? new RouteTokens(deps.random.bytes(32));
    this.stateless = new StatelessForwarder({
      transport: deps.transport,
      identity: deps.identity,
      self: (p) => this.self(p),
      ...(deps.media === undefined ? {} : { media: deps.media }),
      nextHop: (req, routedByUs, tokens) => this.statelessNextHop(req, routedByUs, tokens),
    });
  }

  stats(): ProxyStats {
    return {
      ...this.counters,
      localResponses: { ...this.counters.localResponses },
      activeContexts: this.contexts.size,
      stateless: { ...this.stateless.stats },
    };
  }

  /** Headers on every response we generate. */
  commonHeaders(): Array<[string, string]> {
    return [['Server', this.options.serverName]];
  }

  onRequest(tx: ServerTransaction): void {
    this.counters.requests++;
    const toTag = randomToken(this.deps.random, 12);
    try {
      this.route(tx, toTag);
    } catch (err) {
      const reason = err instanceof P2psipError ? err.message : 'internal error';
      this.reply(tx, 500, `Server Internal Error - ${reason}`, toTag);
    }
  }

  /**
   * REGISTER for one of our domains, with nothing for the proxy to check first, is answered
   * statelessly (RFC 3261 §8.2.7): the registrar's answer is idempotent for a retransmission, and
   * no transaction is held for Timer J (32 s) per REGISTER.
   */
  answersStatelessly(request: SipRequest): boolean {
    if (request.method !== 'REGISTER' || request.headers.has('route') || request.headers.has('proxy-require')) return false;
    const mf = request.headers.get('max-forwards');
    if (mf !== undefined && parseMaxForwards(mf) === 0) return false;
    // a REGISTER whose credentials the verifier must check waits in a server transaction (it absorbs
    // retransmissions meanwhile); one without is challenged statelessly like any other answer
    if (this.deps.auth !== undefined && !this.deps.auth.answersAtOnce(request)) return false;
    return this.deps.identity.isLocalDomainUri(request.uri);
  }

  onStatelessRequest(inbound: InboundMessage): void {
    const request = inbound.message;
    if (request.kind !== 'request') return;
    this.counters.requests++;
    const target = responseTarget(inbound);
    const exchange = { request, inbound, respond: (res: SipResponse) => this.deps.transport.send(res, target) };
    // §8.2.7: the same To tag for every retransmission of the request.
    const toTag = statelessToTag(request);
    const auth = this.deps.auth;
    if (auth === undefined) {
      void this.deps.registrar.handle(exchange, toTag);
      return;
    }
    const registerOrReply = (v: AuthVerdict): void => {
      if (v.kind === 'pass') {
        void this.deps.registrar.handle({ ...exchange, request: v.request }, toTag);
        return;
      }
      this.count(v.status);
      exchange.respond(createResponse(request, v.status, v.reason, { toTag, headers: [...v.headers, ...this.commonHeaders()] }));
    };
    const verdict = auth.authenticate(request, inbound.source);
    if (verdict instanceof Promise) void verdict.then(registerOrReply, () => registerOrReply({ kind: 'reply', status: 500, reason: 'Server Internal Error - Authentication failed', headers: [] }));
    else registerOrReply(verdict);
  }

  /**
   * Issue 16: a request this peer makes itself (a MESSAGE kept for an absent user, a message-summary
   * NOTIFY) for a user of our domains, routed as a phone's would be (location lookup, the overlay,
   * forking, flows) but never offered to the services. `request` carries no Via: ours is put on top.
   * Resolves with the final response — a local failure included (404 no registration, 480, 408…);
   * never rejects.
   */
  originate(request: SipRequest): Promise<SipResponse> {
    return new Promise((resolve) => {
      const local = this.self('udp') ?? this.self('tcp') ?? { protocol: 'udp', host: this.options.advertisedHost, port: 5060 };
      const branch = `z9hG4bK-o${randomToken(this.deps.random, 16)}`;
      const headers = request.headers.clone();
      headers.prepend('Via', selfVia(local, branch));
      const req: SipRequest = { ...request, headers };
      const toTag = randomToken(this.deps.random, 12);
      const tx = new OriginatedTransaction(`originated|${branch}`, req, local, resolve);
      const fail = (status: number, reason: string): void => tx.respond(createResponse(req, status, reason, { toTag }));
      if (!this.deps.identity.isLocalDomainUri(req.uri)) return fail(404, 'Not Found - Not a user of our domains');
      this.forwardToAor(tx, req, toTag, true).catch((err: unknown) => fail(500, `Server Internal Error - ${err instanceof P2psipError ? err.message : 'internal error'}`));
    });
  }

  onAck(inbound: InboundMessage): void {
    // issue 16: the ACK of a 2xx a service sent (a call voicemail answered) is the service's
    const m = inbound.message;
    if (m.kind === 'request' && this.deps.services?.onAck?.(m) === true) return;
    this.stateless.forwardAck(inbound);
  }

  onStrayResponse(inbound: InboundMessage): void {
    this.stateless.forwardResponse(inbound);
  }

  private route(tx: ServerTransaction, toTag: string): void {
    const received = tx.request;
    if (received.method === 'CANCEL') return this.onCancel(tx, toTag);

    // §16.3 step 2: the Request-URI scheme.
    if (received.uri.scheme !== 'sip' && received.uri.scheme !== 'sips' && received.uri.scheme !== 'tel') {
      return this.reply(tx, 416, 'Unsupported URI Scheme', toTag);
    }
    // §16.3 step 3: Max-Forwards.
    const mfText = received.headers.get('max-forwards');
    if (mfText !== undefined && parseMaxForwards(mfText) === 0) {
      if (received.method === 'OPTIONS' && this.isForUs(received)) return this.answerOptions(tx, toTag);
      return this.reply(tx, 483, 'Too Many Hops', toTag);
    }
    // §16.3 step 4: loops.
    if (isLoop(received, this.deps.identity)) return this.reply(tx, 482, 'Loop Detected', toTag);
    // §16.3 step 5: Proxy-Require.
    const proxyRequire = received.headers.getAll('proxy-require').flatMap((v) => parseTokenList(v));
    if (proxyRequire.length > 0) {
      return this.reply(tx, 420, 'Bad Extension', toTag, [['Unsupported', proxyRequire.join(', ')]]);
    }

    // §22: our phones authenticate before anything is routed for them (issue 15)
    const auth = this.deps.auth;
    if (auth === undefined) return this.dispatch(tx, received, toTag, false, undefined);
    const verdict = auth.authenticate(received, tx.inbound.source);
    if (!(verdict instanceof Promise)) return this.afterAuth(tx, verdict, toTag, false);
    // the verifier may take the overlay's time: an INVITE gets its 100 Trying now (§16.2)
    const trying = tx.isInvite;
    if (trying) tx.respond(createResponse(received, 100, 'Trying'));
    void verdict.then(
      (v) => this.afterAuth(tx, v, toTag, trying),
      () => this.afterAuth(tx, { kind: 'reply', status: 500, reason: 'Server Internal Error - Authentication failed', headers: [] }, toTag, trying),
    );
  }

  /** The authenticator's verdict: answered here, or routed on (without our credentials, §22.3). */
  private afterAuth(tx: ServerTransaction, verdict: AuthVerdict, toTag: string, tryingSent: boolean): void {
    // a CANCEL (487) or the transaction's end may have come first
    if (tx.state === 'terminated' || tx.finalResponse !== undefined) return;
    if (verdict.kind === 'reply') return this.reply(tx, verdict.status, verdict.reason, toTag, verdict.headers);
    try {
      this.dispatch(tx, verdict.request, toTag, tryingSent, verdict.user);
    } catch (err) {
      const reason = err instanceof P2psipError ? err.message : 'internal error';
      this.reply(tx, 500, `Server Internal Error - ${reason}`, toTag);
    }
  }

  /** §16.4 on: route information, then the targets. */
  private dispatch(tx: ServerTransaction, received: SipRequest, toTag: string, tryingSent: boolean, user: string | undefined): void {
    // §16.4: Route information preprocessing, on our own copy.
    // Only a request that carries our own route information is rewritten: copy it first then.
    const strictRouted = this.deps.identity.isSelfUri(received.uri) && isSipUri(received.uri) && hasParam(received.uri.params, 'lr');
    const firstRoute = topRoute(received);
    const rewrite = strictRouted || (firstRoute !== undefined && this.deps.identity.isSelfUri(firstRoute.uri));
    const req: SipRequest = rewrite ? { ...received, headers: received.headers.clone() } : received;
    if (strictRouted) {
      this.restoreStrictRouted(req);
    }
    const { routedByUs, params: tokens } = popOwnRoutes(req, (uri) => this.deps.identity.isSelfUri(uri), ROUTE_TOKEN_PARAM);

    // §16.5: targets.
    const next = topRoute(req);
    if (next !== undefined) {
      // a Route naming another host: relayed only where the configuration allows it (issue 14)
      const refused = this.relayRefusal(req, next.uri, routedByUs, tokens);
      if (refused !== undefined) return this.reply(tx, refused.status, refused.reason, toTag);
      this.forward(tx, req, [{ uri: req.uri, q: 1, via: undefined }], toTag, tryingSent);
      return;
    }
    if (this.deps.identity.isLocalDomainUri(req.uri)) {
      if (req.method === 'REGISTER') {
        void this.deps.registrar.handle(tx, toTag);
        return;
      }
      const forUs = this.isForUs(req);
      const service = this.serviceRequest(tx, req, forUs ? undefined : this.deps.identity.canonicalAor(req.uri), toTag, tryingSent, user);
      // issue 16: a service may answer it itself (PUBLISH, SUBSCRIBE, a voicemail number)
      if (service !== undefined && (forUs || service.aor !== undefined) && this.deps.services!.claim(service)) return;
      if (forUs) {
        if (req.method === 'OPTIONS') return this.answerOptions(tx, toTag);
        return this.reply(tx, 405, 'Method Not Allowed', toTag, [['Allow', 'OPTIONS, REGISTER']]);
      }
      void this.forwardToAor(tx, req, toTag, tryingSent, service);
      return;
    }
    this.forwardOutside(tx, req, toTag, routedByUs, tokens, tryingSent);
  }

  /**
   * Issue 14 (open relay): with outbound 'none' a request goes to a host that is not us only along a
   * dialog we Record-Routed, to one of the two hops next to us in it (see RouteTokens); with 'dns' or
   * an outbound proxy the configuration allows relaying. The answer to give, or undefined: 404 for an
   * in-dialog request that did not come along our Route (the rule of forwardOutside), else 403.
   */
  private relayRefusal(req: SipRequest, hop: Uri, routedByUs: boolean, tokens: readonly string[]): { status: number; reason: string } | undefined {
    if (this.options.outbound.mode !== 'none') return undefined;
    const host = isSipUri(hop) ? stripBrackets(hop.host) : hop.scheme;
    if (!routedByUs) {
      if (toTagOf(req) !== undefined) return { status: 404, reason: 'Not Found - Not here (in-dialog request without our Route)' };
      return { status: 403, reason: `Forbidden - Not relaying to ${host} (outbound disabled)` };
    }
    const callId = req.headers.get('call-id') ?? '';
    if (!isSipUri(hop) || !this.tokens.allows(callId, hop, tokens)) {
      return { status: 403, reason: `Forbidden - Not relaying to ${host}: not a hop of a dialog set up here (outbound disabled)` };
    }
    return undefined;
  }

  /** The Request-URI names this element rather than a user of our domains. */
  private isForUs(req: SipRequest): boolean {
    return isSipUri(req.uri) && (req.uri.user === undefined || req.uri.user === '') && this.deps.identity.isLocalDomainUri(req.uri);
  }

  /** What the services see of a request (undefined without services). */
  private serviceRequest(tx: ServerTransaction, request: SipRequest, aor: string | undefined, toTag: string, tryingSent: boolean, user: string | undefined): ServiceRequest | undefined {
    if (this.deps.services === undefined) return undefined;
    const fromPeer = this.deps.fromPeer?.(request, tx.inbound.source) ?? false;
    // the authenticator names the user (its digest username, which it checked is the From user):
    // the services get the From's canonical AoR
    let authenticated: string | undefined;
    if (user !== undefined) {
      try {
        const from = parseNameAddr(request.headers.get('from') ?? '');
        authenticated = this.deps.identity.canonicalAor(from.uri);
      } catch {
        authenticated = undefined;
      }
    }
    return { tx, request, aor, toTag, fromPeer, user: authenticated, tryingSent };
  }

  /** Issue 16: routing to the AoR failed with `status`; a service may answer instead (true: it does). */
  private diverted(service: ServiceRequest | undefined, status: number, trying: boolean): boolean {
    if (service === undefined || service.aor === undefined) return false;
    const tx = service.tx;
    if (tx.state === 'terminated' || tx.finalResponse !== undefined) return false;
    return this.deps.services!.divert(trying === service.tryingSent ? service : { ...service, tryingSent: trying }, status);
  }

  private async forwardToAor(tx: ServerTransaction, req: SipRequest, toTag: string, tryingSent = false, service?: ServiceRequest): Promise<void> {
    const aor = this.deps.identity.canonicalAor(req.uri);
    if (aor === undefined) return this.reply(tx, 404, 'Not Found', toTag);
    // §16.2 / §17.2.1: the lookup may take the overlay's time (a Fetch, an AppAttach, ICE and DTLS to
    // the peer): the 100 goes now, so the phone stops retransmitting the INVITE meanwhile.
    const trying = tx.isInvite;
    if (trying && !tryingSent) tx.respond(createResponse(tx.request, 100, 'Trying'));
    let bindings: Binding[];
    let more: Promise<Binding[]> | undefined;
    let stale: Promise<Binding[]> | undefined;
    try {
      const location = this.deps.location;
      if (location.lookupForking !== undefined) ({ bindings, more, stale } = await location.lookupForking(aor, req, tx.inbound.source));
      else bindings = await location.lookup(aor, req, tx.inbound.source);
    } catch (err) {
      if (err instanceof LocationLookupError) {
        if (this.diverted(service, err.status, trying)) return;
        return this.reply(tx, err.status, `${err.reason} - ${err.message}`, toTag);
      }
      if (this.diverted(service, 503, trying)) return;
      return this.reply(tx, 503, `Service Unavailable - Location service: ${String(err)}`, toTag);
    }
    if (bindings.length === 0) {
      if (this.diverted(service, 404, trying)) return;
      return this.reply(tx, 404, 'Not Found', toTag);
    }
    const targets = bindings.map((b) => this.bindingTarget(b));
    const ctx = this.forward(tx, req, targets, toTag, trying, service);
    if (more !== undefined) ctx?.expect(more.then((late) => late.map((b) => this.bindingTarget(b))));
    if (stale !== undefined) ctx?.abandon(stale.then((gone) => gone.map((b) => targets[bindings.indexOf(b)]).filter((t): t is ProxyTarget => t !== undefined)));
  }

  /** Phones behind a connection (TCP/TLS/WS, RFC 5626-style) and `.invalid` contacts are reached over their flow. */
  private bindingTarget(b: Binding): ProxyTarget {
    const uri = b.contact.uri;
    const viaFlow =
      b.flowId !== undefined && (b.source.protocol !== 'udp' || (isSipUri(uri) && uri.host.toLowerCase().endsWith('.invalid')));
    return { uri, q: b.q, via: viaFlow ? { destination: b.source, flowId: b.flowId } : undefined };
  }

  /** A Request-URI outside our domains (§16.5: forward to it, by DNS, an outbound proxy or not at all). */
  private forwardOutside(tx: ServerTransaction, req: SipRequest, toTag: string, routedByUs: boolean, tokens: readonly string[], tryingSent = false): void {
    const policy = this.options.outbound;
    // §16.12: a request that reached us along our own Record-Route (its Route popped, none left) goes to
    // its Request-URI, the remote target of the dialog; only other requests take the outbound proxy.
    const dialogTarget = routedByUs && isSipUri(req.uri) && isIpLiteral(req.uri.host);
    if (policy.mode === 'proxy' && !dialogTarget) {
      const target = numericTarget(policy.uri);
      const via = target === undefined ? undefined : { destination: target };
      this.forward(tx, req, [{ uri: req.uri, q: 1, via }], toTag, tryingSent);
      return;
    }
    if (!isSipUri(req.uri)) return this.reply(tx, 404, 'Not Found - No route for this URI', toTag);
    // In-dialog requests follow the Record-Route set: one that did not come through our Route is not ours
    // to relay (like Kamailio's loose_route() check). With outbound 'none' only record-routed requests to
    // IP literals leave (the contact of a phone in a dialog we set up): nothing is ever sent to a name.
    const inDialog = toTagOf(req) !== undefined;
    if (inDialog && !routedByUs) return this.reply(tx, 404, 'Not Found - Not here (in-dialog request without our Route)', toTag);
    if (policy.mode === 'none' && !(routedByUs && isIpLiteral(req.uri.host))) {
      return this.reply(tx, 404, `Not Found - No route to ${stripBrackets(req.uri.host)} (outbound disabled)`, toTag);
    }
    const refused = this.relayRefusal(req, req.uri, routedByUs, tokens);
    if (refused !== undefined) return this.reply(tx, refused.status, refused.reason, toTag);
    this.forward(tx, req, [{ uri: req.uri, q: 1, via: undefined }], toTag, tryingSent);
  }

  private forward(tx: ServerTransaction, req: SipRequest, targets: ProxyTarget[], toTag: string, tryingSent = false, service?: ServiceRequest): ResponseContext | undefined {
    if (tx.state === 'terminated' || tx.finalResponse !== undefined) return undefined;
    if (this.contexts.size >= this.options.maxContexts) {
      this.reply(tx, 503, 'Service Unavailable - Too many requests in progress', toTag, [['Retry-After', '5']]);
      return undefined;
    }
    this.counters.forwarded++;
    // §16.2: a stateful proxy answers an INVITE it forwards with 100 Trying at once.
    if (tx.isInvite && !tryingSent) tx.respond(createResponse(tx.request, 100, 'Trying'));
    // The closures are made in helpers of their own: one made here would share this scope, and
    // keep `req` alive as long as the longest-lived of them (the transactions' 32 s).
    const ctx = new ResponseContext(
      {
        clock: this.deps.clock,
        sendRequest: this.sendRequest,
        prepare: this.preparer(req, tx.request, tx.inbound.local, tx.inbound.source),
        ...(this.upstream === undefined ? {} : { upstream: this.upstream }),
        // Once a final response went upstream a CANCEL can change nothing: forget the context (the
        // transactions keep absorbing retransmissions on their own for Timer L / M).
        onFinal: this.forgetContext,
        ...(service === undefined ? {} : { divert: this.diverter(service, tx.isInvite || tryingSent) }),
      },
      tx,
      targets,
      this.contextOptions(service),
      toTag,
    );
    this.contexts.set(tx.id, ctx);
    const forget = this.forgetter(tx.id);
    const previous = tx.onTerminated;
    tx.onTerminated = previous === undefined ? forget : () => (forget(), previous());
    ctx.start();
    return ctx;
  }

  private preparer(req: SipRequest, seed: SipRequest, inbound: TransportAddress, source: TransportAddress): (target: ProxyTarget) => Promise<PreparedBranch> {
    return (target) => this.prepare(req, target, seed, inbound, source);
  }

  /** Timer C, and the ring time when a service may take the call; one shared object when there is none. */
  private contextOptions(service: ServiceRequest | undefined): ResponseContextOptions {
    const ring = this.noAnswer(service);
    return ring.noAnswerMs === undefined ? this.plainContextOptions : { timerC: this.options.timerC, ...ring };
  }

  /** Issue 16: the services' ring time for this request, if any (a call that may go to voicemail). */
  private noAnswer(service: ServiceRequest | undefined): { noAnswerMs?: number } {
    if (service === undefined || service.aor === undefined || !service.tx.isInvite) return {};
    const ms = this.deps.services?.noAnswerMs?.(service);
    return ms === undefined ? {} : { noAnswerMs: ms };
  }

  private diverter(service: ServiceRequest, trying: boolean): (status: number) => boolean {
    return (status) => this.diverted(service, status, trying);
  }

  private forgetter(id: string): () => void {
    return () => {
      this.contexts.delete(id);
    };
  }

  /** §16.6: the copy of the request for one target, and its next hop. */
  private async prepare(req: SipRequest, target: ProxyTarget, seed: SipRequest, inbound: TransportAddress, source: TransportAddress): Promise<PreparedBranch> {
    let next: OutboundTarget | undefined = target.via;
    const route = topRoute(req);
    if (next === undefined) {
      const hopUri = route?.uri ?? target.uri;
      if (!isSipUri(hopUri)) return { ok: false, status: 416, reason: 'Unsupported URI Scheme' };
      const literal = numericTarget(hopUri);
      let addrs: TransportAddress[];
      if (literal !== undefined) addrs = [literal];
      else if (this.options.outbound.mode === 'none') addrs = [];
      else addrs = await this.deps.resolver.resolve(hopUri);
      const first = addrs[0];
      if (first === undefined) return { ok: false, status: 404, reason: `Not Found - Cannot resolve ${hopUri.host}` };
      next = { destination: first };
    }
    const protocol = next.destination.protocol;
    const out = this.self(protocol);
    if (out === undefined) return { ok: false, status: 503, reason: `Service Unavailable - No ${protocol.toUpperCase()} transport` };
    const forwarded = forwardRequest(req, target.uri, {
      inbound: this.self(inbound.protocol) ?? out,
      outbound: out,
      branch: proxyBranch(seed, this.deps.random),
      recordRoute: true,
      ...(recordRoutes(req.method) ? { recordRouteParams: `${this.instanceParam()}${this.routeTokenParam(req, route?.uri ?? target.uri)}` } : {}),
    });
    if (route !== undefined && !route.lr && target.via === undefined) strictRouteRewrite(forwarded);
    // issue 13: the media relay rewrites the SDP for where it goes, or refuses (488, 503)
    await this.deps.media?.prepare?.(forwarded);
    const refused = this.deps.media?.request(forwarded, seed, source, next.destination);
    if (refused !== undefined) return { ok: false, status: refused.status, reason: refused.reason, ...(refused.headers === undefined ? {} : { headers: refused.headers }) };
    return { ok: true, request: forwarded, target: next };
  }

  /**
   * Our Record-Route's token parameter (RouteTokens): the dialog's Call-ID bound to the hop before us
   * (the nearest upstream Record-Route, else the request's Contact) and the hop after us (`next`).
   */
  private routeTokenParam(req: SipRequest, next: Uri): string {
    const firstUri = (header: string): Uri | undefined => {
      const v = req.headers.get(header);
      if (v === undefined) return undefined;
      try {
        return parseNameAddrList(v)[0]?.uri;
      } catch {
        return undefined;
      }
    };
    const before = firstUri('record-route') ?? firstUri('contact');
    const hops = [before, next].map((u) => (u !== undefined && isSipUri(u) ? u : undefined));
    const value = this.tokens.make(req.headers.get('call-id') ?? '', hops);
    return value === '' ? '' : `;${ROUTE_TOKEN_PARAM}=${value}`;
  }

  /** `;p2psip-i=<tag>` when this proxy has an instance tag (LocalIdentity.instance), else ''. */
  private instanceParam(): string {
    const tag = this.deps.identity.instance;
    return tag === undefined ? '' : `;${INSTANCE_PARAM}=${tag}`;
  }

  /** Our address on a transport, with the advertised host in place of a wildcard. */
  private self(protocol: TransportProtocol): TransportAddress | undefined {
    const a = this.deps.transport.localAddress(protocol);
    if (a === undefined) return undefined;
    const wildcard = a.host === '0.0.0.0' || a.host === '::';
    return wildcard ? { ...a, host: this.options.advertisedHost } : a;
  }

  /** §16.11 next hop for stateless forwarding (ACK for 2xx): Route, else the Request-URI. */
  private statelessNextHop(req: SipRequest, routedByUs: boolean, tokens: readonly string[]): OutboundTarget | undefined {
    const route = topRoute(req);
    const uri = route?.uri ?? req.uri;
    if (!isSipUri(uri)) return undefined;
    // Like in-dialog requests: an ACK is relayed only along a route we are on.
    if (route === undefined && (!routedByUs || this.deps.identity.isLocalDomainUri(uri))) return undefined;
    if (this.relayRefusal(req, uri, routedByUs, tokens) !== undefined) return undefined;
    const t = numericTarget(uri);
    return t === undefined ? undefined : { destination: t };
  }

  private onCancel(tx: ServerTransaction, toTag: string): void {
    // §16.10 / §9.2.
    const invite = this.deps.transactions.findCancelTarget(tx.request);
    if (invite === undefined) return this.reply(tx, 481, 'Call/Transaction Does Not Exist', toTag);
    this.reply(tx, 200, 'OK', toTag);
    const ctx = this.contexts.get(invite.id);
    if (ctx !== undefined) ctx.cancel();
    else if (invite.finalResponse === undefined) invite.respond(createResponse(invite.request, 487, 'Request Terminated', { toTag }));
  }

  /** §16.4: the previous hop was a strict router: the last Route value is the real Request-URI. */
  private restoreStrictRouted(req: SipRequest): void {
    const fields = req.headers.getAll('route');
    const lastField = fields[fields.length - 1];
    if (lastField === undefined) return;
    const entries = parseNameAddrList(lastField);
    const last = entries.pop();
    if (last === undefined) return;
    req.headers.remove('route');
    for (let i = 0; i < fields.length - 1; i++) req.headers.append('Route', fields[i]!);
    if (entries.length > 0) req.headers.append('Route', entries.map((e) => formatNameAddr(e)).join(', '));
    req.uri = last.uri;
  }

  private answerOptions(tx: ServerTransaction, toTag: string): void {
    this.reply(tx, 200, 'OK', toTag, [
      ['Allow', ALLOWED_METHODS],
      ['Accept', 'application/sdp'],
    ]);
  }

  private count(status: number): void {
    const key = String(status);
    this.counters.localResponses[key] = (this.counters.localResponses[key] ?? 0) + 1;
  }

  private reply(tx: ServerTransaction, status: number, reason: string, toTag: string, headers: Array<[string, string]> = []): void {
    this.count(status);
    tx.respond(createResponse(tx.request, status, reason, { toTag, headers: [...headers, ...this.commonHeaders()] }));
  }
}
