/**
 * The overlay side of a real peer: identity (self-signed or enrolled, kept in the data
 * directory), mutual-TLS links (TLS-TCP-FH-NO-ICE), the RELOAD node with CHORD-RELOAD, message
 * signatures checked against the configuration's trust, and RELOAD storage (RFC 6940 §7) in an
 * LMDB environment in `<dataDir>/store` with the configuration's Kinds.
 */
import { VoicemailGreetingGuard } from '../usages/voicemail/greeting-guard.js';
import { GREETING_KIND_ID } from '../usages/voicemail/greeting-store.js';
import { join } from 'node:path';
import { CryptoRandom } from '../platform/crypto-random.js';
import { LmdbStorageBackend } from '../platform/lmdb-storage-backend.js';
import { prepareOverlayIdentity } from '../platform/enrollment-bootstrap.js';
import type { PreparedIdentity } from '../platform/enrollment-bootstrap.js';
import { SystemClock } from '../platform/system-clock.js';
import { TlsLinkDriver } from '../platform/tls-link-driver.js';
import { UdpPort } from '../platform/udp-port.js';
import { NatPort } from '../nat/nat-port.js';
import { CandidateGatherer } from '../nat/candidate-gatherer.js';
import { CompositeLinks, ICE_LINK_PREFIX } from '../reload/link/composite-links.js';
import { IceLinks } from '../reload/link/ice-links.js';
import { DtlsChannelFactory, keylogFromEnvironment } from '../platform/dtls-channel-factory.js';
import { localAddresses } from '../platform/local-addresses.js';
import { isPublicAddress } from '../nat/address-scope.js';
import { discoverNatBehaviour } from '../nat/nat-behaviour.js';
import type { NatBehaviourReport } from '../nat/nat-behaviour.js';
import { allocateRelay, firstRelays, offerTurn, tcpRelayKeeper } from './nat-services.js';
import { learnReflexive, learnReflexiveFromAll, natRoleOf } from './nat-role.js';
import type { NatRole } from './nat-role.js';
import type { TurnRelayKeeper } from '../nat/turn/turn-relay-keeper.js';
import type { Destination } from '../reload/codec/index.js';
import { TurnServicePublisher } from '../usages/turn/turn-service-publisher.js';
import type { BootstrapCandidateSink } from './bootstrap-candidate.js';
import type { JoinStatus } from './bootstrap-manager.js';
import { DEFAULT_ALONE_AFTER_MS, prepareJoining } from './peer-joining.js';
import { TurnServiceFinder } from '../usages/turn/turn-service-finder.js';
import { requestFind } from '../reload/storage/request-find.js';
import { TURN_SERVICE_KIND_ID } from '../usages/turn/turn-server-record.js';
import type { OverlayTurnSource, RelayAllocation, TurnBandwidth, TurnOffer } from './nat-services.js';
import { LinkLayer } from '../reload/link/index.js';
import type { LinkEndpoint } from '../reload/link/index.js';
import { OverlayNode } from '../reload/overlay/overlay-node.js';
import type { OverlayOptions, OverlayState } from '../reload/overlay/overlay-types.js';
import { CertificateResolver, CertificateSecurity, CertificateStore, certificateToPem, privateKeyToPem, type NodeCertificate } from '../reload/security/index.js';
import type { OverlayConfiguration } from '../reload/config/index.js';
import { BagSharingSecurity, MemoryStorageBackend, OverlayStorage, StorageEngine, chordResourceId, publishCertificate } from '../reload/storage/index.js';
import type { CertificatePlace, OverlayStorageOptions, PublishResult, StorageBackend, StorageEngineOptions, StorageSummary } from '../reload/storage/index.js';
import type { StoredData } from '../reload/codec/index.js';
import type { HostPort } from './peer-config.js';
import { certificateStorageCredentials } from './certificate-storage-credentials.js';
import { authModeOf, createDirectoryGuards, hasUserCertificates } from './user-directory-wiring.js';
import { MessageBoxGuard } from '../usages/messages/message-box-guard.js';
import { MESSAGE_KIND_ID } from '../usages/messages/message-box.js';
import { PRESENCE_WATCH_KIND_ID, WatchGuard } from '../usages/presence/overlay-presence.js';
import { VoicemailChunkGuard, VoicemailIndexGuard } from '../usages/voicemail/voicemail-guard.js';
import { VOICEMAIL_CHUNK_KIND_ID, VOICEMAIL_KIND_ID } from '../usages/voicemail/voicemail-store.js';
import { withApplicationKinds } from './application-kinds.js';
import type { KindDefinition, KindGuard, KindGuards } from '../reload/storage/index.js';
import type { UserDirectoryGuards } from '../usages/sip/auth/user-directory-guards.js';

export type { NatRole } from './nat-role.js';

/**
 * Longest wait for the hand-off of our data before the Leave, ms (issue 14: a stop is bounded; the
 * storage's own default, 5 s, would leave the Leave little of run-peer's overlay-leave step).
 */
export const LEAVE_HANDOFF_WAIT_MS = 2_000;

export interface OverlayServiceConfig {
  /**
   * Never strand (issue 15): a peer whose bootstrap candidates (configured, cached) do not answer
   * within this long starts alone and keeps trying (default {@link DEFAULT_ALONE_AFTER_MS}).
   */
  aloneAfterMs?: number;
  /** Keep the peer cache `<dataDir>/peers.json` (default true). */
  peerCache?: boolean;
  /** Log lines of the joining logic (peer cache problems, join state changes). */
  log?: (line: string) => void;
  overlay: string;
  listen: HostPort;
  bootstrap: HostPort[];
  dataDir: string;
  client: boolean;
  /** Issue 15: the zero-configuration overlay open (`--open`) or closed (ReloadConfig.open); must be false with configSource. */
  open: boolean;
  /** Configuration document (file or https URL); absent = the zero-configuration LAN default. */
  configSource?: string;
  /** PEM trust anchor for an https configuration/enrollment server. */
  configCa?: string;
  credentials?: { username: string; password: string };
  /** Address put in our Attach candidates when listening on a wildcard. */
  advertiseHost?: string;
  /**
   * Frames written to a link in one event-loop turn go out as one TLS record (default true: an ACK
   * and the answer behind it share a record and a syscall). False: a record per frame, for
   * Wireshark, whose RELOAD dissector reads only the first frame of a record.
   */
  coalesceTlsWrites?: boolean;
  /**
   * Attach negotiates ICE links (DTLS-UDP-SR over the overlay UDP port, RFC 6940 §6.5.1.3) when both
   * ends offer them; the TLS links stay for bootstrap connections and as the fallback.
   */
  ice?: boolean;
  /**
   * TURN users this peer's relay accepts besides the overlay's members (`--turn-user user:password`):
   * for operators' own clients and for coturn's turnutils_uclient.
   */
  turnUsers?: Record<string, string>;
  /**
   * An operator's TURN server (coturn) to take relays from (`--turn-server host:port` with
   * `--turn-credentials`): a peer behind a NAT takes its relays there first; the overlay's TURN peers
   * (bootstrap peers, then TURN-SERVICE) are the fallback.
   */
  turnServer?: { host: string; port: number; username: string; password: string };
  /**
   * Operator's STUN servers (`--stun-server`, RFC 8489 Binding), asked with the bootstrap peers before
   * the Join: server-reflexive candidates and the NAT role.
   */
  stunServers?: HostPort[];
  /** Bandwidth of the relay a public peer offers (`--turn-bandwidth`, `--turn-total-bandwidth`). */
  turnBandwidth?: TurnBandwidth;
  /** Issue 17: application Kinds (library API), added to or checked against the configuration (application-kinds.ts). */
  kinds?: readonly KindDefinition[];
  /** Overrides of the overlay's timers (tests). */
  overlayOptions?: Partial<OverlayOptions>;
  /** Replication timing (hold-down, retries) and default lifetime of the storage (tests). */
  storageOptions?: OverlayStorageOptions;
  /** Limits of the storage engine: per peer and per writer (DEFAULT_STORAGE_ENGINE_OPTIONS). */
  engineOptions?: StorageEngineOptions;
  onState?: (s: OverlayState) => void;
  /** The certificate store usage (RFC 6940 §8) published our certificate (or failed to). */
  onCertificatePublished?: (results: PublishResult[]) => void;
}

export interface RunningOverlay {
  /** Where discovery and others offer bootstrap candidates (issue 15): joined or merged through them. */
  candidates: BootstrapCandidateSink;
  /** The join state for /api/status (`join`). */
  joinStatus(): JoinStatus;
  /** Called after this peer merged into another ring (or a lone peer joined one): re-store what we own. */
  onMerged(listener: (via: string) => void): () => void;
  node: OverlayNode;
  links: LinkLayer;
  config: OverlayConfiguration;
  prepared: PreparedIdentity;
  listen: LinkEndpoint | undefined;
  /** RELOAD storage of this peer: the Store/Fetch/Stat client API for usages and its engine. */
  storage: OverlayStorage;
  /** Resources, values and bytes held here (for /api/status `storedResources`). */
  storageSummary(): StorageSummary;
  /** The certificate when the overlay trusts it now (its CA, validity, bad-node); undefined otherwise. */
  trustedCertificate(der: Uint8Array): NodeCertificate | undefined;
  /** Issue 15: the user directory's guards on this storing peer (closed overlays), for /api/status. */
  directoryGuards: UserDirectoryGuards | undefined;
  /** The overlay UDP port (STUN server for the other peers, RFC 6940 §6.5.1.4); absent for a client. */
  nat: NatPort | undefined;
  /** Counters of the UDP socket under `nat`. */
  udpCounters(): object | null;
  /** ICE-negotiated DTLS-UDP-SR links, when enabled. */
  iceLinks: IceLinks | undefined;
  /** ICE + DTLS channels for AppAttach (SIP between peers), when enabled. */
  sipLinks: IceLinks | undefined;
  /** Our ICE candidates (host, server-reflexive, relayed). */
  gatherer: CandidateGatherer | undefined;
  /** Behind a NAT or not, and why (what the bootstrap peers saw). */
  natRole(): NatRole;
  /** RFC 5780 mapping and filtering behaviour found against other peers (a few seconds after the join). */
  natBehaviour(): NatBehaviourReport | undefined;
  /** The TURN server we offer and the relay we hold. */
  turn(): object;
  /** The UDP port of the SIP channels, its counters and candidates. */
  sipNat(): object | null;
  /** Clean Leave (RFC 6940 §10.9), then links and storage closed. */
  leave(): Promise<void>;
}

export async function startOverlay(c: OverlayServiceConfig): Promise<RunningOverlay> {
  if (c.open && c.configSource !== undefined) throw new Error('--open is for the zero-configuration overlay: with --config the configuration document decides');
  const random = new CryptoRandom();
  const clock = new SystemClock();
  const prepared = await prepareOverlayIdentity({
    dataDir: c.dataDir,
    overlay: c.overlay,
    now: Date.now(),
    random,
    lanMode: c.open ? 'open' : 'closed',
    ...(c.configSource === undefined ? {} : { config: c.configSource }),
    ...(c.configCa === undefined ? {} : { ca: c.configCa }),
    ...(c.credentials === undefined ? {} : { credentials: c.credentials }),
  });
  const config = withApplicationKinds(prepared.config, c.kinds ?? [], c.configSource !== undefined);
  if (c.client && !config.clientsPermitted) throw new Error(`overlay ${config.instanceName} does not permit clients`);
  const store = new CertificateStore(prepared.trust, { now: () => Date.now() });
  const identity = prepared.identity;
  const driver = new TlsLinkDriver({
    cert: certificateToPem(identity.certificate.der),
    key: privateKeyToPem(identity.keys.privateKey),
    // RFC 6940 §13.3: links accept only certificates the configuration trusts
    verifyPeer: (der) => store.trustsPeerCertificate(der),
    coalesceWrites: c.coalesceTlsWrites ?? true,
  });
  const links = new LinkLayer({ driver, clock, random }, { maxMessageSize: config.maxMessageSize, minRtoMs: 200 });
  const bootstrap: LinkEndpoint[] = c.bootstrap.length > 0 ? c.bootstrap : config.bootstrapNodes.map((b) => ({ host: b.address, port: b.port }));
  let client = c.client;
  const stunServers: readonly LinkEndpoint[] = c.stunServers ?? [];
  let natRole: NatRole = { role: 'unknown', reason: 'ICE off: TLS links only (--ice, or DTLS in the configuration)' };
  // The overlay UDP port, on the same port number as the TLS listener: every peer answers STUN there
  // (RFC 6940 §6.5.1.4), so a bootstrap address is also a STUN server address.
  let udp: UdpPort | undefined;
  let nat: NatPort | undefined;
  let listen = c.listen;
  if (!c.client) {
    let natRef: NatPort | undefined;
    try {
      const onDatagram = (d: Uint8Array, from: { host: string; port: number }): void => natRef?.receive(d, from);
      udp = c.listen.port === 0 ? await UdpPort.bindPair(c.listen.host, onDatagram) : await UdpPort.bind(c.listen.host, c.listen.port, onDatagram);
    } catch (e) {
      throw new Error(`cannot bind the overlay UDP port ${c.listen.host}:${c.listen.port}: ${e instanceof Error ? e.message : String(e)}`);
    }
    nat = new NatPort({ socket: udp, clock, random }, { software: 'p2psip' });
    natRef = nat;
    listen = { host: c.listen.host, port: udp.local.port };
  }
  let gatherer: CandidateGatherer | undefined;
  let iceLinks: IceLinks | undefined;
  let sipLinks: IceLinks | undefined;
  let sipUdp: UdpPort | undefined;
  let sipNat: NatPort | undefined;
  let sipGatherer: CandidateGatherer | undefined;
  let sipRelay: RelayAllocation | undefined;
  // ICE links when asked for (`--ice`), or when the overlay's configuration document names DTLS as an
  // overlay link protocol (RFC 6940 §11.1 overlay-link-protocol: an enrolled overlay can require it)
  const ice = c.ice === true || config.overlayLinkProtocols.some((p) => p.toUpperCase() === 'DTLS');
  if (ice && nat !== undefined && udp !== undefined) {
    const port = udp.local.port;
    const wildcard = udp.local.host === '0.0.0.0' || udp.local.host === '::';
    const hosts = wildcard ? localAddresses().map((h) => ({ host: h, port })) : [udp.local];
    if (c.advertiseHost !== undefined && !hosts.some((h) => h.host === c.advertiseHost)) hosts.unshift({ host: c.advertiseHost, port });
    gatherer = new CandidateGatherer(hosts);
    const g = gatherer;
    const keylog = keylogFromEnvironment();
    // server-reflexive candidates before the first Attach: every peer is a STUN server on its overlay
    // port, and a bootstrap peer's TLS port number is its UDP port number (RFC 6940 §6.5.1.4); the
    // operator's STUN servers are asked at the same time (issue 12)
    const seen = await learnReflexiveFromAll(nat, g, bootstrap, stunServers, () => clock.now());
    natRole = natRoleOf({ bootstrap, stunServers, seen, isHost: (a) => g.isHost(a) });
    if (natRole.role === 'no-udp' && config.clientsPermitted && bootstrap.length > 0) {
      // issue 12: a peer that can obtain no usable candidate joins as a client through its admitting
      // peer (over the bootstrap TLS link) instead of failing
      client = true;
      natRole = { ...natRole, reason: `${natRole.reason}: joined as a client over TLS` };
    }
    const dtls = new DtlsChannelFactory({
      cert: certificateToPem(identity.certificate.der),
      key: privateKeyToPem(identity.keys.privateKey),
      trust: (der) => store.trustsPeerCertificate(der),
      nodeIdsOf: (der) => {
        const r = store.add(der);
        return r.ok ? r.certificate.nodeIds : [];
      },
      clock,
      ...(keylog === undefined ? {} : { onKeylog: keylog }),
    });
    const selfNodeId = identity.certificate.nodeIds[0];
    iceLinks = new IceLinks({ clock, random, plane: nat, candidates: () => g.candidates(), channels: dtls, ...(selfNodeId === undefined ? {} : { selfNodeId }) }, { sr: { maxMessageSize: config.maxMessageSize, nodeIdLength: config.nodeIdLength } });
    // the channels AppAttach opens for SIP (RFC 6940 §6.5.2): the same ICE and DTLS, no SR below SIP
    // The channels AppAttach opens for SIP (RFC 6940 §6.5.2) get a UDP port of their own: a DTLS
    // association is known by its 5-tuple only, so a SIP channel cannot share the overlay link's
    // path to the same peer. Same ICE and DTLS, no SR below SIP; its own reflexive and relayed candidates.
    let sipNatRef: NatPort | undefined;
    sipUdp = await UdpPort.bind(udp.local.host, 0, (d, from) => sipNatRef?.receive(d, from));
    sipNat = new NatPort({ socket: sipUdp, clock, random }, { software: 'p2psip' });
    sipNatRef = sipNat;
    // the SIP channels' port doubles as the overlay port's RFC 5780 alternate (CHANGE-REQUEST change port)
    nat.setAlternate(sipUdp);
    const sipPort = sipUdp.local.port;
    sipGatherer = new CandidateGatherer(hosts.map((h) => ({ host: h.host, port: sipPort })));
    const sg = sipGatherer;
    if (!client) await learnReflexiveFromAll(sipNat, sg, bootstrap, stunServers, () => clock.now());
    sipLinks = new IceLinks({ clock, random, plane: sipNat, candidates: () => sg.candidates(), channels: dtls, ...(selfNodeId === undefined ? {} : { selfNodeId }) }, { reliable: false, idPrefix: 'sip:' });
  }
  const overlayLinks = iceLinks === undefined ? links : new CompositeLinks(links, iceLinks);
  const nodeId = identity.certificate.nodeIds[0];
  if (nodeId === undefined) throw new Error('our certificate carries no Node-ID');
  // RFC 6940 §8: a signer's certificate in no bag and not in the store is fetched from the overlay
  // (CERTIFICATE_BY_NODE / CERTIFICATE_BY_USER), checked against the trust policy, cached
  let storageRef: OverlayStorage | undefined;
  const resolver = new CertificateResolver({ store, clock, fetchCertificates: (kind, resourceId) => storageRef?.fetchUnverified(kind, resourceId) ?? Promise.resolve([]) });
  // signers' certificates of stored values travel in message bags (RFC 6940 §6.3.4)
  const security = new BagSharingSecurity(new CertificateSecurity(identity, store, { resolver }), (der) => void store.add(der));
  const node = new OverlayNode(
    { clock, random, links: overlayLinks, security, ...(iceLinks === undefined ? {} : { ice: iceLinks }) },
    nodeId,
    {
      overlayName: config.instanceName,
      nodeIdLength: config.nodeIdLength,
      maxMessageSize: config.maxMessageSize,
      initialTtl: config.initialTtl,
      client,
      reactive: config.chordReactive,
      ...(config.chordUpdateInterval === undefined ? {} : { updateIntervalMs: config.chordUpdateInterval * 1000 }),
      ...(config.chordPingInterval === undefined ? {} : { fingerRefreshIntervalMs: config.chordPingInterval * 1000 }),
      ...c.overlayOptions,
    },
  );
  if (c.onState !== undefined) node.events.on('state', c.onState);
  // a client stores nothing for others (RFC 6940 §4.2): its engine stays empty, in memory
  const backend: StorageBackend = client ? new MemoryStorageBackend() : LmdbStorageBackend.open(join(c.dataDir, 'store'));
  const kindsById = new Map(config.kinds.map((k) => [k.id, k]));
  const kinds = (id: number) => kindsById.get(id);
  const hashResourceName = (name: Uint8Array): Uint8Array => chordResourceId(name, config.nodeIdLength);
  const credentials = {
    ...certificateStorageCredentials(identity, store),
    resolveSigner: async (data: StoredData, places: readonly CertificatePlace[]) => (await resolver.resolve(data.signature.identity, places)).ok,
  };
  const wallClock = (): number => Date.now();
  // issue 14: quotas per writer. Self-signed certificates all carry the user name `peer@<overlay>` (any
  // name the key holder likes, RFC 6940 §11.3.1), so a quota per user name would bind every peer of a
  // LAN overlay together and bound nobody: there only the per-Node-ID quota applies.
  const engineOptions: StorageEngineOptions = {
    ...(config.selfSignedPermitted ? { maxResourcesPerUser: Infinity, maxBytesPerUser: Infinity } : {}),
    ...c.engineOptions,
  };
  // issue 15: closed overlays — the SIP usage's guards decide the user directory's Stores
  const directory = createDirectoryGuards({ config, credentials, hashResourceName, wallClock, realm: c.overlay });
  // issue 16: the storing peer's rules for messages kept for absent users
  // enrolled overlays: what is kept for a user is sealed to its certificates, and its own peers may remove it
  const sealed = hasUserCertificates(config) ? { userResourceId: (userName: string) => hashResourceName(new TextEncoder().encode(userName)) } : undefined;
  const messageGuard = kinds(MESSAGE_KIND_ID) === undefined ? undefined : new MessageBoxGuard({ nodeIdLength: config.nodeIdLength, closed: authModeOf(config) === 'closed', ...(sealed === undefined ? {} : { sealed }) });
  const watchGuard = kinds(PRESENCE_WATCH_KIND_ID) === undefined ? undefined : new WatchGuard({ nodeIdLength: config.nodeIdLength, hashResourceName });
  const closed = authModeOf(config) === 'closed';
  const vmIndexGuard = kinds(VOICEMAIL_KIND_ID) === undefined ? undefined : new VoicemailIndexGuard({ nodeIdLength: config.nodeIdLength, closed, ...(sealed === undefined ? {} : { sealed }) });
  const vmChunkGuard = kinds(VOICEMAIL_CHUNK_KIND_ID) === undefined ? undefined : new VoicemailChunkGuard({ nodeIdLength: config.nodeIdLength, sealed: sealed !== undefined });
  // a user's own greeting: public, written by the user's side only (greeting-guard.ts)
  const vmGreetingGuard = kinds(GREETING_KIND_ID) === undefined ? undefined : new VoicemailGreetingGuard({ nodeIdLength: config.nodeIdLength, closed, ...(sealed === undefined ? {} : { userMatch: { hashResourceName } }) });
  const serviceGuards = new Map<number, KindGuard | undefined>([
    [MESSAGE_KIND_ID, messageGuard],
    [PRESENCE_WATCH_KIND_ID, watchGuard],
    [VOICEMAIL_KIND_ID, vmIndexGuard],
    [VOICEMAIL_CHUNK_KIND_ID, vmChunkGuard],
    [GREETING_KIND_ID, vmGreetingGuard],
  ]);
  const guards: KindGuards = (kind) => (serviceGuards.has(kind) ? serviceGuards.get(kind) : directory?.guards(kind));
  const engine = new StorageEngine({ clock, backend, kinds, hashResourceName, verifyStoredData: credentials.verifier, wallClock, guards }, engineOptions);
  engine.start();
  const storage = new OverlayStorage({ host: node, engine, clock, wallClock, credentials, security, kinds, hashResourceName, backend }, c.storageOptions);
  storageRef = storage;
  storage.start();
  const closeStorage = async (): Promise<void> => {
    await storage.stop().catch(() => undefined);
    await backend.close().catch(() => undefined);
  };
  const closeUdp = async (): Promise<void> => {
    nat?.stop();
    sipNat?.stop();
    await udp?.close();
    await sipUdp?.close();
  };
  const advertise = c.advertiseHost === undefined ? undefined : { host: c.advertiseHost, port: 0 };
  if (gatherer !== undefined && nat !== undefined && !client) {
    const g = gatherer;
    const n = nat;
    const asked = new Set<string>();
    node.events.on('link-up', (l) => {
      // the peers we connect to are STUN servers too; ask a few, once each, for the addresses they see
      const key = `${l.remote.host}:${l.remote.port}`;
      if (asked.size >= 8 || asked.has(key) || g.reflexiveAddresses().length >= 4) return;
      asked.add(key);
      void learnReflexive(n, g, [l.remote], () => clock.now());
    });
  }
  // TURN (RFC 6940 §9): a peer others see at its own public address offers it; a peer behind a NAT
  // gets a relay from its bootstrap peer before the Join's Attaches (issue 12)
  let turnOffer: TurnOffer | undefined;
  let relay: RelayAllocation | undefined;
  let beforeJoin: (() => Promise<void>) | undefined;
  const operatorGrant = c.turnServer === undefined ? undefined : { server: { host: c.turnServer.host, port: c.turnServer.port }, username: c.turnServer.username, password: c.turnServer.password };
  let operatorProblem: string | undefined;
  if (iceLinks !== undefined && nat !== undefined && gatherer !== undefined && !client && udp !== undefined) {
    const publicHost = udp.local.host !== '0.0.0.0' && udp.local.host !== '::' && isPublicAddress(udp.local.host);
    if (publicHost && (natRole.role === 'public' || natRole.role === 'unknown')) {
      // TURN over TCP too, on the TLS listener's port (the same number): for peers whose UDP is blocked
      turnOffer = offerTurn({
        nat,
        clock,
        random,
        address: udp.local,
        realm: config.instanceName,
        handleApplication: (a, h) => node.handleApplication(a, h),
        streams: driver,
        ...(c.turnUsers === undefined ? {} : { staticUsers: c.turnUsers }),
        ...(c.turnBandwidth === undefined ? {} : { bandwidth: c.turnBandwidth }),
      });
    }
    // issue 12: relays before the Join's Attaches — the operator's TURN server first (`--turn-server`),
    // then the bootstrap peers' TURN (a peer behind a NAT); the TURN-SERVICE Find after the Join is the last resort
    const wantsOperator = operatorGrant !== undefined && natRole.role !== 'public';
    const wantsOverlay = turnOffer === undefined && natRole.role === 'nat' && bootstrap.length > 0;
    if (wantsOperator || wantsOverlay) {
      const ports = [{ nat, gatherer }, ...(sipNat !== undefined && sipGatherer !== undefined ? [{ nat: sipNat, gatherer: sipGatherer }] : [])];
      const sources = async function* (): AsyncGenerator<OverlayTurnSource> {
        if (!wantsOverlay) return;
        for (const b of bootstrap.slice(0, 3)) {
          const id = await node.connectBootstrap(b);
          if (id !== undefined) yield { request: (d: Destination[], code: number, body: Uint8Array) => node.request(d, code, body), dest: [{ type: 'node' as const, nodeId: node.ring.toBytes(id) }] };
        }
      };
      beforeJoin = async () => {
        const got = await firstRelays({ clock, random, ports, ...(wantsOperator ? { operator: operatorGrant } : {}), sources });
        [relay, sipRelay] = got.relays;
        operatorProblem = got.operatorProblem;
      };
    }
  }
  // issue 12: a peer whose UDP is blocked (a client over TLS) holds relays over TCP (RFC 8656 §3.1) at a
  // TURN peer — its bootstrap peers first, then TURN-SERVICE records — kept (re-allocated after a loss,
  // turn-relay-keeper.ts): one on the overlay port, so its Attach reaches the peer responsible for its
  // Node-ID (§4.2: the client's admitting peer), one on the SIP channels' port for their relayed candidate.
  let overlayTcpRelay: TurnRelayKeeper<RelayAllocation> | undefined;
  let sipTcpRelay: TurnRelayKeeper<RelayAllocation> | undefined;
  if (natRole.role === 'no-udp' && client && nat !== undefined && gatherer !== undefined && sipNat !== undefined && sipGatherer !== undefined) {
    const keeper = (n: NatPort, g: CandidateGatherer): TurnRelayKeeper<RelayAllocation> =>
      tcpRelayKeeper({
        nat: n,
        gatherer: g,
        clock,
        random,
        bootstrap,
        request: (d, code, body) => node.request(d, code, body),
        connectBootstrap: async (b) => {
          const id = await node.connectBootstrap(b);
          return id === undefined ? undefined : node.ring.toBytes(id);
        },
        turnPeers: async () => {
          if (node.state !== 'joined' || kinds(TURN_SERVICE_KIND_ID) === undefined) return [];
          const finder = new TurnServiceFinder({ clock, random, storage, selfNodeId: node.idBytes, find: (r, k) => requestFind(node, r, k) });
          return (await finder.find()).map((x) => x.nodeId);
        },
        ...(operatorGrant === undefined ? {} : { operator: operatorGrant }),
      });
    const ko = keeper(nat, gatherer);
    const ks = keeper(sipNat, sipGatherer);
    overlayTcpRelay = ko;
    sipTcpRelay = ks;
    beforeJoin = async () => {
      await Promise.all([ko.start(), ks.start()]);
    };
  }
  // the UDP port (and the TURN relay ports) live as long as the node: a node shut down without a
  // Leave (a test, a crash path) closes them too, so no socket outlives it
  node.events.on('state', (st) => {
    if (st === 'left') {
      void sipLinks?.shutdown();
      void closeTurn().then(closeUdp);
    }
  });
  const closeTurn = async (): Promise<void> => {
    // bounded (TurnTcpClient's stopWaitMs): the close of the TCP connection releases the allocation anyway
    await Promise.all([sipTcpRelay?.stop(), overlayTcpRelay?.stop()]).catch(() => undefined);
    await sipRelay?.stop().catch(() => undefined);
    await relay?.stop().catch(() => undefined);
    await turnOffer?.stop().catch(() => undefined);
  };
  // issue 15: configured and cached peers are candidates; none answering, the peer starts alone
  const joining = await prepareJoining(c, node, clock, random, client);
  const configured = bootstrap.filter((b) => !(b.port === c.listen.port && (b.host === c.listen.host || c.listen.port === 0)));
  try {
    const started = await node.start(listen, joining.startCandidates(configured), advertise, beforeJoin, client ? {} : { aloneAfterMs: c.aloneAfterMs ?? DEFAULT_ALONE_AFTER_MS });
    joining.started(started);
  } catch (e) {
    joining.stop();
    await node.shutdown().catch(() => undefined);
    await closeStorage();
    await closeTurn();
    await closeUdp();
    throw e;
  }
  // RFC 6940 §8: our certificate where others look for it
  void publishCertificate(storage, credentials, kinds).then((r) => c.onCertificatePublished?.(r));
  // RFC 5780 behaviour tests against other peers (mapping; filtering by change-port), once joined: the
  // bootstrap peers and the first peers we link to are the servers
  let behaviour: NatBehaviourReport | undefined;
  if (nat !== undefined && gatherer !== undefined && !client) {
    const n = nat;
    const g = gatherer;
    const servers: LinkEndpoint[] = [...bootstrap, ...stunServers];
    const off = node.events.on('link-up', (l) => {
      // an ICE link's remote is the other peer's UDP port (a TLS link's is a TCP port: no STUN there)
      if (!l.linkId.startsWith(ICE_LINK_PREFIX)) return;
      if (servers.length < 6 && !servers.some((x) => x.host === l.remote.host && x.port === l.remote.port)) servers.push(l.remote);
    });
    clock.setTimer(3_000, () => {
      off();
      if (servers.length === 0) return;
      void discoverNatBehaviour({ clock, probe: (srv, o) => n.probe(srv, o) }, servers, g.hostAddresses())
        .then((r) => {
          behaviour = r;
        })
        .catch(() => undefined);
    });
  }
  // RFC 6940 §9: a TURN peer records itself turn-density times under TURN-SERVICE; a NATed peer that
  // got no relay from its bootstrap peers looks for one there (Find at random Resource-IDs)
  let turnPublisher: TurnServicePublisher | undefined;
  if (turnOffer !== undefined && kinds(TURN_SERVICE_KIND_ID) !== undefined) {
    turnPublisher = new TurnServicePublisher({ clock, storage, selfNodeId: node.idBytes, turnDensity: () => config.turnDensity });
    turnPublisher.start();
    void turnPublisher.offer(turnOffer.address);
  }
  if (relay === undefined && natRole.role === 'nat' && nat !== undefined && gatherer !== undefined && kinds(TURN_SERVICE_KIND_ID) !== undefined) {
    const finder = new TurnServiceFinder({ clock, random, storage, selfNodeId: node.idBytes, find: (r, k) => requestFind(node, r, k) });
    const n = nat;
    const g = gatherer;
    void (async () => {
      for (const s of await finder.find()) {
        relay = await allocateRelay({ nat: n, gatherer: g, clock, random, from: { request: (d, code, body) => node.request(d, code, body), dest: [{ type: 'node', nodeId: s.nodeId }] } });
        if (relay !== undefined) return;
        finder.forget(s.nodeId);
      }
    })().catch(() => undefined);
  }
  return {
    candidates: joining.manager,
    joinStatus: () => joining.manager.status(),
    onMerged: (l) => joining.onMerged(l),
    node,
    links,
    config,
    prepared,
    listen: node.endpoint(),
    storage,
    storageSummary: () => storage.summary(),
    trustedCertificate: (der) => {
      const r = store.add(der);
      return r.ok ? r.certificate : undefined;
    },
    directoryGuards: directory?.directory,
    nat,
    iceLinks,
    sipLinks,
    gatherer,
    natRole: () => natRole,
    natBehaviour: () => behaviour,
    turn: () => ({
      offered: turnOffer?.stats() ?? null,
      relay: (overlayTcpRelay?.current ?? relay)?.stats() ?? null,
      // a UDP-blocked peer's relay over TCP (transport 'tcp'), or the reason it has none
      sipRelay: (sipTcpRelay?.current ?? sipRelay)?.stats() ?? null,
      ...(sipTcpRelay === undefined || overlayTcpRelay === undefined ? {} : { relayKeeper: overlayTcpRelay.stats(), sipRelayKeeper: sipTcpRelay.stats() }),
      // the operator's TURN server (`--turn-server`) and why a port has no relay there (null: none missing)
      ...(c.turnServer === undefined ? {} : { operatorServer: { server: `${c.turnServer.host}:${c.turnServer.port}`, problem: operatorProblem ?? null } }),
    }),
    sipNat: () => (sipNat === undefined || sipUdp === undefined || sipGatherer === undefined ? null : { udp: { local: sipUdp.local, ...sipUdp.counters() }, port: sipNat.counters(), candidates: sipGatherer.candidates().map((c) => ({ type: c.type, address: `${c.address.host}:${c.address.port}`, base: c.base })) }),
    udpCounters: () => (udp === undefined ? null : { local: udp.local, ...udp.counters() }),
    async leave() {
      // bounded: the whole stop of a peer has a deadline (run-peer's STOP_LIMITS_MS)
      await turnPublisher?.stop().catch(() => undefined);
      await storage.handOffBeforeLeave(LEAVE_HANDOFF_WAIT_MS);
      joining.stop();
      await node.leave();
      await joining.flush();
      await closeStorage();
      await closeTurn();
      await closeUdp();
    },
  };
}
