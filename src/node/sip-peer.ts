/**
 * The composition root of the SIP front: transport driver → transport layer → transaction
 * layer → proxy core (registrar + stateful proxy) with its location service.
 */
import type { Clock } from '../lib/clock.js';
import type { Lifecycle } from '../lib/lifecycle.js';
import type { Random } from '../lib/random.js';
import { admissionPolicy, type AdmissionOptions, type LoadMonitor, type OverlayAdmission } from '../sip/core/admission-policy.js';
import { LocalIdentity } from '../sip/core/local-identity.js';
import type { LocationService } from '../sip/core/location-service.js';
import type { LocalServices } from '../sip/core/local-services.js';
import type { MediaHook } from '../sip/core/media-hook.js';
import { MemoryLocationService } from '../sip/core/memory-location-service.js';
import { ProxyCore, type OutboundPolicy } from '../sip/core/proxy-core.js';
import { Registrar, type RegistrarOptions } from '../sip/core/registrar.js';
import type { TargetResolver } from '../sip/core/target-resolver.js';
import { TransactionLayer } from '../sip/transaction/transaction-layer.js';
import type { TransportDriver } from '../sip/transport/transport-driver.js';
import { TransportError } from '../sip/transport/transport-error.js';
import { TransportLayer, type TransportLayerOptions } from '../sip/transport/transport-layer.js';
import type { TransportAddress, TransportProtocol } from '../sip/transport/sip-transport.js';
import type { CredentialVerifier } from '../sip/auth/credential-verifier.js';
import { DigestAuthenticator, type DigestAuthOptions } from '../sip/auth/digest-authenticator.js';
import { hasParam, isSipUri } from '../sip/message/index.js';
import type { SipRequest } from '../sip/message/sip-message.js';
import { PEER_MARK } from '../usages/sip/peer-binding.js';
import type { EventHub } from '../lib/event-hub.js';
import type { BindingObserver } from '../sip/core/location-service.js';
import type { PeerEventMap } from './peer-events.js';
import { SipEventTap, type TapLogger } from './sip-event-tap.js';

export interface SipPeerDeps {
  clock: Clock;
  random: Random;
  driver: TransportDriver;
  resolver: TargetResolver;
  /** Defaults to an in-memory location service. */
  location?: LocationService;
  /** Addresses of this machine (for "is this URI us?"). */
  localHosts: string[];
  /** pino's shape; debug (when enabled) gets a line per call step, each with its `callId` (sip-event-tap.ts). */
  logger?: TapLogger;
  /** Overload signal: while it says so, new out-of-dialog requests get a stateless 503. */
  load?: LoadMonitor;
  /**
   * The overlay's work in flight against its budget, and what tells a REGISTER refresh: while the
   * budget is saturated, requests that would add overlay work get a stateless 503 (issue 14).
   */
  overlayWork?: OverlayAdmission;
  /** Retry-After range of those 503s (DEFAULT_ADMISSION_OPTIONS). */
  admission?: Partial<AdmissionOptions>;
  /** The media relay's SDP rewriting (issue 13). */
  media?: MediaHook;
  /** Where the SIP front publishes what happens (issue 17, peer-events.ts); unset: nobody listens. */
  events?: EventHub<PeerEventMap>;
  /**
   * The in-memory location service under `location` (when `location` is given), whose binding
   * changes become `registration` events; without `location` the peer's own service is observed.
   */
  bindings?: { observe(observer: BindingObserver | undefined): void };
  /** Services for our users (issue 16: presence, messages kept for absent users, voicemail). */
  services?: LocalServices;
  /** True for the address of a SIP channel to another peer (`sip.request` transport `channel`). */
  isChannel?: (source: TransportAddress) => boolean;
}

/** Ports tried for a UDP+TCP pair on port 0 before giving up (see {@link SipPeer.start}). */
export const MAX_TWIN_PORT_ATTEMPTS = 10;

export interface SipListen {
  protocol: TransportProtocol;
  host: string;
  port: number;
}

export interface SipPeerOptions {
  domains: string[];
  listen: SipListen[];
  outbound: OutboundPolicy;
  advertisedHost: string;
  registrar?: Partial<RegistrarOptions>;
  serverName?: string;
  /** Connection caps, deadlines and size limits of the transport (issue 14); unset: DEFAULT_TRANSPORT_OPTIONS. */
  transport?: TransportLayerOptions;
  /** Digest authentication of our phones (issue 15); unset: nothing is challenged (an open overlay). */
  auth?: SipAuthConfig;
}

/** The SIP front's digest authentication: who checks the answers, and its limits. */
export interface SipAuthConfig {
  /** The realm of the challenges: the overlay's SIP domain. */
  realm: string;
  /** Says whether an answer was made with the user's password (the overlay's storing peers, or a table in tests). */
  verifier: CredentialVerifier;
  /** Nonce lifetime, s (default 300). */
  nonceLifetimeS?: number;
  /**
   * True for a request another p2psip peer forwarded to us (not challenged: its caller authenticated at
   * its own peer). Default: the Request-URI carries the RFC 7904 target mark `;p2psip=peer`. Pass a
   * stricter test where SIP channels exist (the mark AND an authenticated channel at the source).
   */
  fromPeer?: (request: SipRequest, source: TransportAddress) => boolean;
  /** Nonces every peer of the overlay accepts (DigestAuthDeps.nonceKey); default: this process's own. */
  nonceKey?: { readonly key: Uint8Array; readonly wallClock: () => number };
  /** The other limits (failures per source, table sizes, verifier timeout…; DEFAULT_DIGEST_AUTH_OPTIONS). */
  limits?: Partial<Omit<DigestAuthOptions, 'realm' | 'nonceLifetimeS'>>;
}

/** The RFC 7904 target mark: a request another p2psip peer forwarded here (`;p2psip=peer`). */
function markedFromPeer(request: SipRequest): boolean {
  return isSipUri(request.uri) && hasParam(request.uri.params, PEER_MARK);
}

export class SipPeer implements Lifecycle {
  readonly transport: TransportLayer;
  readonly transactions: TransactionLayer;
  readonly proxy: ProxyCore;
  readonly location: LocationService;
  readonly identity: LocalIdentity;
  /** The digest authenticator when `auth` is configured (its stats() for /api/status). */
  readonly auth: DigestAuthenticator | undefined;
  /** What publishes the SIP-side events (issue 17), when `events` is given. */
  private readonly tap: SipEventTap | undefined;
  private bound: TransportAddress[] = [];

  constructor(
    deps: SipPeerDeps,
    private readonly options: SipPeerOptions,
  ) {
    // a tag of this run in our Record-Routes: another peer at the same private address:port (another
    // home with the same address plan, reached through a SIP channel) is not taken for us
    this.identity = new LocalIdentity({ domains: options.domains, hosts: deps.localHosts, ports: [], instance: Buffer.from(deps.random.bytes(4)).toString('hex') });
    const tap =
      deps.events === undefined
        ? undefined
        : new SipEventTap({ clock: deps.clock, events: deps.events, ...(deps.logger === undefined ? {} : { logger: deps.logger }), ...(deps.isChannel === undefined ? {} : { isChannel: deps.isChannel }) });
    this.tap = tap;
    this.location = deps.location ?? new MemoryLocationService(deps.clock, tap === undefined ? {} : { observer: tap });
    if (deps.location !== undefined && tap !== undefined) deps.bindings?.observe(tap);
    let transactions: TransactionLayer | undefined;
    this.transport = new TransportLayer(
      {
        driver: deps.driver,
        clock: deps.clock,
        user: {
          onMessage: (inbound) => {
            tap?.inbound(inbound);
            transactions?.receive(inbound);
          },
          onSendError: (target, message, error) => transactions?.onSendError(target, message, error),
        },
        ...(deps.logger ? { logger: deps.logger } : {}),
      },
      options.transport ?? {},
    );
    let proxy: ProxyCore | undefined;
    // issue 17: what the transactions and the proxy send passes the tap (responses, forwarded INVITEs)
    const sending = tap === undefined ? this.transport : tap.wrap(this.transport);
    transactions = new TransactionLayer({
      clock: deps.clock,
      transport: sending,
      onError: (error) => deps.logger?.warn({ err: error instanceof Error ? error.message : String(error) }, 'SIP core error'),
      admit:
        deps.load === undefined && deps.overlayWork === undefined
          ? undefined
          : admissionPolicy({ monitor: deps.load, overlay: deps.overlayWork, identity: this.identity, random: deps.random }, deps.admission),
      user: {
        onRequest: (tx) => proxy?.onRequest(tx),
        onAck: (inbound) => proxy?.onAck(inbound),
        onStrayResponse: (inbound) => proxy?.onStrayResponse(inbound),
        answersStatelessly: (request) => proxy?.answersStatelessly(request) ?? false,
        onStatelessRequest: (inbound) => proxy?.onStatelessRequest(inbound),
      },
    });
    this.transactions = transactions;
    const registrar = new Registrar(
      {
        clock: deps.clock,
        location: this.location,
        identity: this.identity,
        commonHeaders: () => proxy?.commonHeaders() ?? [],
        // A phone registered over a connection is reached over it: keep it open while bound.
        holdFlow: (flowId, ms) => this.transport.holdFlow(flowId, ms),
      },
      options.registrar,
    );
    const authConfig = options.auth;
    this.auth =
      authConfig === undefined
        ? undefined
        : new DigestAuthenticator(
            {
              clock: deps.clock,
              random: deps.random,
              verifier: authConfig.verifier,
              domains: this.identity,
              fromPeer: authConfig.fromPeer ?? markedFromPeer,
              ...(authConfig.nonceKey === undefined ? {} : { nonceKey: authConfig.nonceKey }),
            },
            { ...authConfig.limits, realm: authConfig.realm, ...(authConfig.nonceLifetimeS === undefined ? {} : { nonceLifetimeS: authConfig.nonceLifetimeS }) },
          );
    proxy = new ProxyCore(
      {
        clock: deps.clock,
        random: deps.random,
        transport: sending,
        transactions,
        location: this.location,
        identity: this.identity,
        registrar,
        resolver: deps.resolver,
        ...(deps.media === undefined ? {} : { media: deps.media }),
        ...(this.auth === undefined ? {} : { auth: this.auth }),
        ...(deps.services === undefined ? {} : { services: deps.services }),
        fromPeer: authConfig?.fromPeer ?? markedFromPeer,
      },
      {
        outbound: options.outbound,
        advertisedHost: options.advertisedHost,
        ...(options.serverName !== undefined ? { serverName: options.serverName } : {}),
      },
    );
    this.proxy = proxy;
  }

  /** Opens every configured listener; resolves with the bound addresses. */
  async start(): Promise<TransportAddress[]> {
    for (const l of this.options.listen) {
      // UDP and TCP share a port (RFC 3261 §18): port 0 for TCP reuses the port UDP got on that host.
      let twin = l.protocol === 'tcp' && l.port === 0 ? this.bound.find((b) => b.protocol === 'udp' && b.host === l.host) : undefined;
      for (let attempt = 1; ; attempt++) {
        try {
          this.bound.push(await this.transport.listen(l.protocol, l.host, twin?.port ?? l.port));
          break;
        } catch (e) {
          // The port the kernel gave UDP can be held for TCP (by an outgoing connection: both come from
          // the ephemeral range): the pair moves to another free port.
          if (twin === undefined || attempt >= MAX_TWIN_PORT_ATTEMPTS || !(e instanceof TransportError && e.code === 'TRANSPORT_ADDRESS_IN_USE')) throw e;
          const old = twin;
          await this.transport.unlisten(old);
          twin = await this.transport.listen('udp', old.host, 0);
          this.bound[this.bound.indexOf(old)] = twin;
        }
      }
    }
    for (const addr of this.bound) {
      this.identity.addPort(addr.port);
      if (addr.host !== '0.0.0.0' && addr.host !== '::') this.identity.addHost(addr.host);
    }
    return this.bound.slice();
  }

  /** Calls (INVITE dialogs) proxied here and not ended (0 when no event hub is given). */
  callsInProgress(): number {
    return this.tap?.callsInProgress() ?? 0;
  }

  get addresses(): TransportAddress[] {
    return this.bound.slice();
  }

  async stop(): Promise<void> {
    this.transactions.close();
    await this.transport.close();
  }
}
