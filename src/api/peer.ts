/**
 * A peer started by an application in its own process (issue 17): the facade the library API
 * returns. It wraps the node's RunningPeer (node/run-peer.ts), the application's user agent
 * (user-agent.ts) and its Kinds (app-storage.ts); nothing internal leaks through it.
 */
import { homedir } from 'node:os';
import { SystemClock } from '../platform/system-clock.js';
import { CryptoRandom } from '../platform/crypto-random.js';
import { startPeer as startNodePeer, type RunningPeer } from '../node/run-peer.js';
import { aorProblem } from '../sip/core/aor-validation.js';
import { formatNameAddr, parseUri } from '../sip/message/index.js';
import { P2psipError } from '../lib/errors.js';
import { P2psipApiError } from './api-error.js';
import { ApiEvents, type OverlayStateName, type PeerEventMapApi, type PeerEventName } from './api-events.js';
import { AppStorage, type FetchOptions, type ResourceName, type StoreOptions, type StoredValue, type StoreReceipt } from './app-storage.js';
import { peerConfigOf, type ApiLogger, type PeerOptions } from './peer-options.js';
import { aorOf } from './sip-text.js';
import type { OutgoingRequest, RequestHandler, SipResult } from './sip-types.js';
import { AppUserAgent } from './user-agent.js';

export interface PeerAddresses {
  /** The overlay link address others bootstrap through (undefined for a client). */
  overlay: { host: string; port: number } | undefined;
  /** The SIP front (phones register here), one entry per transport. */
  sip: Array<{ protocol: string; host: string; port: number }>;
  /** The dashboard / JSON API, when on. */
  http: { host: string; port: number } | undefined;
}

export interface PeerStatus {
  nodeId: string;
  overlay: string;
  state: OverlayStateName;
  client: boolean;
  successors: string[];
  predecessors: string[];
  fingers: string[];
  /** Resources, values and bytes this peer stores for the overlay. */
  storedResources: { resources: number; values: number; bytes: number };
}

export interface RegisterOptions {
  /** The user part of the AoR (`user@<overlay>`). */
  user: string;
  /** Its password (closed overlays: the SIP front challenges the REGISTER). */
  password?: string;
  /** Closed zero-configuration overlays: create the user first (first claim wins; an existing user is kept). */
  createUser?: boolean;
  /** Seconds asked for (default 600); the user agent refreshes before it runs out. */
  expires?: number;
}

export interface Registration {
  aor: string;
  /** Where the peer forwards requests for the AoR: the application's user agent. */
  contact: string;
  /** Seconds the registrar granted. */
  expires: number;
  unregister(): Promise<void>;
}

/** Where the overlay says an AoR can be reached (what `p2psip lookup` shows). */
export interface AorLocation {
  aor: string;
  /** True when the AoR has a binding here or a registration in the overlay. */
  registered: boolean;
  /** Hex Resource-ID of the AoR (RFC 7904). */
  resourceId: string | undefined;
  /** Bindings the location service gives (this peer's registrar, or the registered peer's front). */
  contacts: Array<{ contact: string; expiresIn: number }>;
  /** Registrations stored in the overlay: the registering peer's Node-ID and its SIP front. */
  registrations: Array<{ nodeId: string; type: 'route' | 'uri' | 'unknown'; sip?: string; uri?: string; error?: string }>;
  /** Why the overlay could not be asked, when it could not. */
  error?: string;
}

export interface Peer {
  /** The overlay name, also the SIP domain of its AoRs. */
  readonly overlay: string;
  /** This peer's Node-ID, hex. */
  readonly nodeId: string;
  /** Joined as a client (RFC 6940 §3.2). */
  readonly client: boolean;
  /** 'closed': users have passwords (the SIP front challenges); 'open': anyone may register any user. */
  readonly auth: 'open' | 'closed';
  readonly addresses: PeerAddresses;
  /** The HTTP API token (state-changing requests), when the API is on. */
  readonly apiToken: string | undefined;
  state(): OverlayStateName;
  status(): PeerStatus;
  /** Creates a user of a closed zero-configuration overlay (like `p2psip user add`); `user` error when refused. */
  addUser(user: string, password: string): Promise<void>;
  /** Registers the application as `user@<overlay>`: requests for it reach `onRequest`'s handler. */
  register(o: RegisterOptions): Promise<Registration>;
  /** Removes a registration made with {@link register}. */
  unregister(user: string): Promise<void>;
  /** Sets (or with undefined removes) the handler of requests to the application's users. */
  onRequest(handler: RequestHandler | undefined): void;
  /** Where the overlay says `aor` (a URI, `user@domain` or `user`) can be reached. */
  locate(aor: string): Promise<AorLocation>;
  /** Sends a SIP request through the overlay and resolves with its final response (never throws for a SIP failure). */
  request(req: OutgoingRequest): Promise<SipResult>;
  /** A MESSAGE (RFC 3428) with `text`; resolves with the final response. */
  message(to: string, text: string, o?: { from?: string; timeoutMs?: number }): Promise<SipResult>;
  /** Stores a value of one of the application's Kinds. */
  store(kind: string | number, resource: ResourceName, value: string | Uint8Array, o?: StoreOptions): Promise<StoreReceipt>;
  /** Fetches the values of one of the application's Kinds at a resource. */
  fetch(kind: string | number, resource: ResourceName, o?: FetchOptions): Promise<StoredValue[]>;
  /** Removes this peer's value of one of the application's Kinds. */
  remove(kind: string | number, resource: ResourceName, o?: Omit<StoreOptions, 'lifetime'>): Promise<StoreReceipt>;
  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends PeerEventName>(event: K, listener: (payload: PeerEventMapApi[K]) => void): () => void;
  /** Un-registers the application's users, leaves the overlay cleanly (bounded, a few seconds), closes everything. */
  stop(): Promise<void>;
}

const SILENT: ApiLogger = { info: () => undefined, warn: () => undefined };

/**
 * Starts a peer (or a client) in this process with `options` (the defaults of `p2psip up`); resolves
 * once it is in the overlay (joined, or alone as a new overlay) and its SIP front and the
 * application's user agent listen. Throws P2psipApiError `config` (bad options) or `start`.
 */
export async function startPeer(options: PeerOptions = {}): Promise<Peer> {
  const config = peerConfigOf(options, homedir());
  const logger = options.logger ?? SILENT;
  let running: RunningPeer;
  try {
    running = await startNodePeer(config, logger);
  } catch (e) {
    const config = e instanceof P2psipError && (e.code === 'CONFIG' || e.name === 'ConfigError' || e.name === 'IdentitySetupError');
    throw new P2psipApiError(config ? 'config' : 'start', `the peer did not start: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  try {
    return await PeerFacade.create(running, options, logger);
  } catch (e) {
    await running.stop().catch(() => undefined);
    throw e;
  }
}

class PeerFacade implements Peer {
  readonly overlay: string;
  readonly nodeId: string;
  readonly client: boolean;
  readonly auth: 'open' | 'closed';
  readonly addresses: PeerAddresses;
  readonly apiToken: string | undefined;
  private stopping: Promise<void> | undefined;
  /** The peer's clock (SystemClock: bindings' expiry times are on it). */
  private readonly clock = new SystemClock();

  private constructor(
    private readonly running: RunningPeer,
    private readonly ua: AppUserAgent,
    private readonly events: ApiEvents,
    private readonly kinds: AppStorage | undefined,
    overlay: string,
  ) {
    const o = running.overlay!;
    this.overlay = overlay;
    this.nodeId = Buffer.from(o.node.idBytes).toString('hex');
    this.client = o.node.options.client;
    this.auth = running.sip.auth === undefined ? 'open' : 'closed';
    this.addresses = {
      overlay: this.client || o.listen === undefined ? undefined : { host: o.listen.host, port: o.listen.port },
      sip: running.sipAddresses.map((a) => ({ protocol: a.protocol, host: a.host, port: a.port })),
      http: running.http === undefined ? undefined : { host: running.http.host, port: running.http.port },
    };
    this.apiToken = running.apiToken?.token;
  }

  static async create(running: RunningPeer, options: PeerOptions, logger: ApiLogger): Promise<PeerFacade> {
    const o = running.overlay;
    if (o === undefined) throw new P2psipApiError('start', 'the peer runs no overlay');
    const udp = running.sipAddresses.find((a) => a.protocol === 'udp');
    if (udp === undefined) throw new P2psipApiError('start', 'the SIP front has no UDP listener');
    // the user agent sits next to the front: on its address, or on loopback when it listens on a wildcard
    const wildcard = udp.host === '0.0.0.0' || udp.host === '::';
    const host = wildcard ? (udp.host === '::' ? '::1' : '127.0.0.1') : udp.host;
    const events = new ApiEvents(
      { overlay: o.node.events, hex: (id) => o.node.ring.hex(id), nodeId: Buffer.from(o.node.idBytes).toString('hex'), peer: running.events },
      (event, err) => logger.warn({ event, err: String(err) }, 'a listener of an API event failed'),
    );
    const clock = new SystemClock();
    const ua = await AppUserAgent.start({
      clock,
      random: new CryptoRandom(),
      front: { host, port: udp.port },
      domain: running.sip.identity.primaryDomain,
      bindHost: host,
      onRequest: (r) => events.emitRequest({ method: r.method, from: r.from, to: r.to, user: r.user, callId: r.callId }),
      log: (obj, msg) => logger.warn(obj, msg),
    });
    const specs = options.kinds ?? [];
    // the definitions in force (a configuration document's limits may differ), under the application's names
    const defs = specs.map((k) => ({ ...(o.storage.kinds(k.id) ?? { id: k.id, name: k.name, dataModel: k.dataModel, accessControl: k.access, maxCount: 1, maxSize: 0 }), name: k.name }));
    return new PeerFacade(running, ua, events, defs.length === 0 ? undefined : new AppStorage(o.storage, defs), running.sip.identity.primaryDomain);
  }

  private open(): void {
    if (this.stopping !== undefined) throw new P2psipApiError('closed', 'the peer was stopped');
  }

  state(): OverlayStateName {
    return this.running.overlay!.node.state;
  }

  status(): PeerStatus {
    const o = this.running.overlay!;
    const st = o.node.status();
    return { nodeId: st.nodeId, overlay: this.overlay, state: o.node.state, client: this.client, successors: st.successors, predecessors: st.predecessors, fingers: st.fingers, storedResources: o.storageSummary() };
  }

  async addUser(user: string, password: string): Promise<void> {
    this.open();
    const dir = this.running.users;
    if (dir === undefined) {
      throw new P2psipApiError('user', this.auth === 'open' ? 'this overlay is open: it has no users (anyone may register any user)' : "this overlay's users are its enrollment server's");
    }
    if (typeof user !== 'string' || typeof password !== 'string' || password === '') throw new P2psipApiError('bad-argument', 'addUser(user, password): two non-empty strings');
    const r = await dir.add(user, password);
    if (!r.ok) throw new P2psipApiError('user', `user ${user}: ${r.status}: ${r.error}`);
  }

  async register(o: RegisterOptions): Promise<Registration> {
    this.open();
    if (typeof o !== 'object' || o === null) throw new P2psipApiError('bad-argument', 'register({ user, password?, createUser?, expires? })');
    if (o.password !== undefined && (typeof o.password !== 'string' || o.password === '' || o.password.length > 1024)) throw new P2psipApiError('bad-argument', 'password: 1 to 1024 characters');
    // an open overlay has no users to create (createUser is ignored); an enrolled one has its server's
    if (o.createUser === true && this.running.users === undefined && this.auth === 'closed') throw new P2psipApiError('user', "this overlay's users are its enrollment server's: createUser is not possible");
    if (o.createUser === true && this.running.users !== undefined) {
      if (o.password === undefined) throw new P2psipApiError('bad-argument', 'createUser needs the password');
      const r = await this.running.users.add(o.user, o.password);
      // an existing user is kept: the REGISTER then proves (or not) that the password is its password
      if (!r.ok && r.status !== 'exists') throw new P2psipApiError('user', `user ${o.user}: ${r.status}: ${r.error}`);
    }
    if (this.auth === 'closed' && o.password === undefined) throw new P2psipApiError('bad-argument', `the overlay is closed: ${o.user} needs its password`);
    const r = await this.ua.register(o.user, o.password, o.expires);
    return { aor: r.aor, contact: r.contact, expires: r.expiresS, unregister: () => this.unregister(o.user) };
  }

  async unregister(user: string): Promise<void> {
    this.open();
    const r = await this.ua.unregister(user);
    if (r.status < 200 || r.status >= 300) throw new P2psipApiError('sip', `un-REGISTER of ${user} answered ${r.status} ${r.reason}`, { status: r.status });
  }

  onRequest(handler: RequestHandler | undefined): void {
    if (handler !== undefined && typeof handler !== 'function') throw new P2psipApiError('bad-argument', 'onRequest takes a function (or undefined)');
    this.ua.setHandler(handler);
  }

  async locate(target: string): Promise<AorLocation> {
    this.open();
    const sip = this.running.sip;
    const aor = sip.identity.canonicalAor(parseUri(aorOf(target, this.overlay)));
    if (aor === undefined) throw new P2psipApiError('bad-argument', `no user part in ${JSON.stringify(target)}`);
    const bad = aorProblem(aor);
    if (bad !== undefined) throw new P2psipApiError('bad-argument', bad);
    const now = this.clock.now();
    let contacts: AorLocation['contacts'] = [];
    let error: string | undefined;
    try {
      contacts = (await sip.location.lookup(aor)).map((b) => ({ contact: formatNameAddr(b.contact), expiresIn: Math.max(0, Math.round((b.expiresAt - now) / 1000)) }));
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    let resourceId: string | undefined;
    let registrations: AorLocation['registrations'] = [];
    const usage = this.running.sipUsage;
    if (usage !== undefined) {
      try {
        const d = await usage.describe(aor);
        resourceId = d.resourceId;
        registrations = d.registrations;
      } catch (e) {
        error ??= e instanceof Error ? e.message : String(e);
      }
    }
    return { aor, registered: contacts.length > 0 || registrations.length > 0, resourceId, contacts, registrations, ...(error === undefined ? {} : { error }) };
  }

  async request(req: OutgoingRequest): Promise<SipResult> {
    this.open();
    if (typeof req !== 'object' || req === null) throw new P2psipApiError('bad-argument', 'request({ method, to, ... })');
    return this.ua.request(req, aorOf(req.to, this.overlay));
  }

  async message(to: string, text: string, o: { from?: string; timeoutMs?: number } = {}): Promise<SipResult> {
    if (typeof text !== 'string') throw new P2psipApiError('bad-argument', 'message(to, text): text is a string');
    return this.request({ method: 'MESSAGE', to, body: text, contentType: 'text/plain;charset=utf-8', ...o });
  }

  private storage(): AppStorage {
    this.open();
    if (this.kinds === undefined) throw new P2psipApiError('bad-argument', 'the peer was started without application Kinds (PeerOptions.kinds)');
    return this.kinds;
  }

  async store(kind: string | number, resource: ResourceName, value: string | Uint8Array, o?: StoreOptions): Promise<StoreReceipt> {
    return this.storage().store(kind, resource, value, o);
  }

  async fetch(kind: string | number, resource: ResourceName, o?: FetchOptions): Promise<StoredValue[]> {
    return this.storage().fetch(kind, resource, o);
  }

  async remove(kind: string | number, resource: ResourceName, o?: Omit<StoreOptions, 'lifetime'>): Promise<StoreReceipt> {
    return this.storage().remove(kind, resource, o);
  }

  on<K extends PeerEventName>(event: K, listener: (payload: PeerEventMapApi[K]) => void): () => void {
    if (typeof listener !== 'function') throw new P2psipApiError('bad-argument', 'on(event, listener): listener is a function');
    try {
      return this.events.on(event, listener);
    } catch (e) {
      throw new P2psipApiError('bad-argument', e instanceof Error ? e.message : String(e));
    }
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.ua.close();
      this.events.close();
      await this.running.stop();
    })();
    return this.stopping;
  }
}
