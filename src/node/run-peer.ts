/**
 * Builds and starts a real peer from a PeerConfig: platform drivers (sockets, clock, random,
 * DNS, HTTP) wired to the sans-I/O cores.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CryptoRandom } from '../platform/crypto-random.js';
import { DnsTargetResolver } from '../platform/dns-resolver.js';
import { UdpBacklogLoadMonitor } from '../platform/udp-backlog-load-monitor.js';
import { startHttpServer, type RunningHttpServer } from '../platform/http-server.js';
import { ephemeralApiToken, loadOrCreateApiToken, type ApiToken } from '../platform/api-token.js';
import { localAddresses, primaryAddress } from '../platform/local-addresses.js';
import { LmdbRecordStores } from '../platform/lmdb-record-stores.js';
import { NodeTransportDriver } from '../platform/node-transport-driver.js';
import { SipChannels } from '../usages/sip/sip-channels.js';
import { TracingTransportDriver } from '../sip/transport/tracing-transport-driver.js';
import { ChannelTransportDriver } from '../usages/sip/channel-transport-driver.js';
import { SystemClock } from '../platform/system-clock.js';
import { MemoryLocationService } from '../sip/core/memory-location-service.js';
import { NumericOnlyResolver } from '../sip/core/target-resolver.js';
import type { TransportAddress } from '../sip/transport/sip-transport.js';
import { ConfigError, DEFAULT_PEER_IDLE_MS, type PeerConfig } from './peer-config.js';
import { SipPeer, type SipListen } from './sip-peer.js';
import { createHttpApi } from './http-api.js';
import { createUsersApi } from './users-api.js';
import { authModeOf, hasUserCertificates, hasUserDirectory, userRecordExists } from './user-directory-wiring.js';
import { userCertificateSealing } from './user-certificate-sealing.js';
import { GREETING_API_PATH, MAX_GREETING_WAV_BYTES } from './voicemail-route.js';
import { GREETING_KIND_ID } from '../usages/voicemail/greeting-store.js';
import { EnrollmentDigestVerifier } from '../platform/enrollment-digest-verifier.js';
import { OverlayCredentialVerifier } from '../usages/sip/auth/overlay-credential-verifier.js';
import { UserDirectory } from '../usages/sip/auth/user-directory.js';
import { startOverlay, type RunningOverlay } from './overlay-service.js';
import { discoveryApplies, overlayNonceKey, startLanDiscovery, type RunningLanDiscovery } from './lan-discovery-service.js';
import { SipUsage } from '../usages/sip/sip-usage.js';
import { StorageRegistrationDirectory } from '../usages/sip/storage-registration-directory.js';
import type { RegistrationDirectory } from '../usages/sip/registration-directory.js';
import { OverlayWorkBudget } from '../usages/sip/overlay-work-budget.js';
import { PEER_MARK } from '../usages/sip/overlay-location-service.js';
import { MediaRelay } from '../media/media-relay.js';
import { SdpMediaHook } from '../media/sdp-media-hook.js';
import { afterIoTurn, UdpMediaPorts } from '../platform/media-ports.js';
import { DEFAULT_MEDIA_CONFIG } from './peer-config.js';
import { createResponse, hasParam, isSipUri } from '../sip/message/index.js';
import { isOverlayAor } from '../usages/sip/aor-resource-id.js';
import type { SipRequest } from '../sip/message/sip-message.js';
import { EventHub } from '../lib/event-hub.js';
import type { PeerEventMap, PeerEvents } from './peer-events.js';
import { combineServices } from '../sip/core/local-services.js';
import { MESSAGE_KIND_ID } from '../usages/messages/message-box.js';
import { MessageStoreService } from '../usages/messages/message-store-service.js';
import { ownRequestSender, startPresence } from './presence-wiring.js';
import { startWaitingHints } from './waiting-hints.js';
import { VoicemailService } from '../usages/voicemail/voicemail-service.js';
import { VOICEMAIL_KIND_ID } from '../usages/voicemail/voicemail-store.js';
import { P2PSIP_PRESENCE_KIND_ID } from '../reload/config/index.js';
import { createPeerRoutes } from './peer-routes.js';
import { LogTail, teeLogger } from './dashboard/log-tail.js';
import { logReloadTransactions } from './reload-transaction-log.js';

export interface Logger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  /** Optional finer levels (pino has them): SIP channel events (debug) and every SIP datagram (trace). */
  debug?(obj: object, msg: string): void;
  trace?(obj: object, msg: string): void;
  isLevelEnabled?(level: string): boolean;
}

export interface RunningPeer {
  sip: SipPeer;
  /** The address put in Via / Record-Route (and to give phones) when listening on a wildcard. */
  advertisedHost: string;
  sipAddresses: TransportAddress[];
  http: RunningHttpServer | undefined;
  /** The HTTP API token (state-changing requests: `Authorization: Bearer <token>`) and where it is kept. */
  apiToken: ApiToken | undefined;
  overlay: RunningOverlay | undefined;
  /** The SIP usage (RFC 7904) when the overlay runs. */
  sipUsage: SipUsage | undefined;
  /** SIP channels to other peers (ICE + DTLS), when the overlay runs ICE. */
  sipChannels: SipChannels | undefined;
  /** The media relay (issue 13): what /api/status shows as `media`. */
  media: { status(): object };
  /** LAN discovery (issue 15), when on: `setSink` hands its bootstrap candidates to the joining logic. */
  discovery: RunningLanDiscovery | undefined;
  /** SIP-side events of this peer (issue 17: metrics, dashboard, library API). */
  events: PeerEvents;
  /** Issue 17: the user directory of a closed zero-configuration overlay (what `p2psip user` writes through), else undefined. */
  users: UserDirectory | undefined;
  stop(): Promise<void>;
}

/** Replaceable parts of a peer (tests). */
export interface PeerHooks {
  /** Where SIP registrations are stored; default: the overlay's storage. */
  registrationDirectory?: (overlay: RunningOverlay) => RegistrationDirectory;
}

export async function startPeer(config: PeerConfig, logger: Logger, hooks: PeerHooks = {}): Promise<RunningPeer> {
  // issue 14: the API token, made at first start, kept 0600 in the data directory, reused after; read
  // before anything is opened, so a bad token file stops the start with nothing to clean up
  const tokenDir = config.apiTokenDir ?? config.reload?.dataDir;
  const apiToken: ApiToken | undefined = !config.http ? undefined : tokenDir === undefined ? ephemeralApiToken() : await loadOrCreateApiToken(tokenDir);
  const clock = new SystemClock();
  const random = new CryptoRandom();
  // issue 17: the dashboard shows the log's recent lines, so every line also goes to a bounded tail
  const logTail = new LogTail({ now: () => Date.now() });
  logger = teeLogger(logger, logTail);
  // issue 17: what happens at the SIP side, for observers (a listener that throws is logged, never felt)
  const events = new EventHub<PeerEventMap>({ onListenerError: (event, err) => logger.warn({ event, err: String(err) }, 'a listener of a peer event failed') });
  let overlay: RunningOverlay | undefined;
  if (config.reload !== undefined) {
    const r = config.reload;
    overlay = await startOverlay({
      overlay: config.overlay,
      listen: r.listen,
      bootstrap: r.bootstrap,
      dataDir: r.dataDir,
      client: r.client,
      open: r.open,
      ...(r.configSource === undefined ? {} : { configSource: r.configSource }),
      ...(r.configCa === undefined ? {} : { configCa: r.configCa }),
      ...(r.credentials === undefined ? {} : { credentials: r.credentials }),
      ...(config.advertisedHost === undefined ? {} : { advertiseHost: config.advertisedHost }),
      ...(r.coalesceTlsWrites === undefined ? {} : { coalesceTlsWrites: r.coalesceTlsWrites }),
      ...(r.ice === true ? { ice: true } : {}),
      ...(r.turnUsers === undefined ? {} : { turnUsers: r.turnUsers }),
      ...(r.turnServer === undefined ? {} : { turnServer: r.turnServer }),
      ...(r.stunServers === undefined ? {} : { stunServers: r.stunServers }),
      ...(r.turnBandwidth === undefined ? {} : { turnBandwidth: r.turnBandwidth }),
      ...(r.kinds === undefined ? {} : { kinds: r.kinds }),
      onState: (state) => logger.info({ state }, 'overlay state'),
      log: (line) => logger.info({}, line),
    });
    logger.info({ nodeId: overlay.node.status().nodeId, listen: overlay.listen, identity: overlay.prepared.source, client: overlay.node.options.client, nat: overlay.natRole(), join: overlay.joinStatus().state }, 'overlay started');
  }
  // issue 17: RELOAD transactions in the log, each line with its `tid`
  const unlogReload = overlay === undefined ? () => {} : logReloadTransactions(overlay.node.events, logger);
  const listen: SipListen[] = [
    { protocol: 'udp', host: config.sip.host, port: config.sip.port },
    { protocol: 'tcp', host: config.sip.host, port: config.sip.port },
  ];
  const needsTls = config.sipTls !== undefined || config.sipWss !== undefined;
  if (needsTls && config.tls === undefined) throw new ConfigError('--sip-tls / --sip-wss need --tls-cert and --tls-key');
  if (config.sipTls) listen.push({ protocol: 'tls', ...config.sipTls });
  if (config.sipWs) listen.push({ protocol: 'ws', ...config.sipWs });
  if (config.sipWss) listen.push({ protocol: 'wss', ...config.sipWss });
  const tls = config.tls
    ? {
        cert: readFileSync(config.tls.certFile),
        key: readFileSync(config.tls.keyFile),
        ...(config.tls.caFile ? { ca: readFileSync(config.tls.caFile) } : {}),
      }
    : undefined;
  // Outgoing TLS (to phones or proxies on TLS) verifies against the given CA, else the system's.
  const nodeDriver = new NodeTransportDriver(tls ? { tls, ...(tls.ca ? { tlsClient: { ca: tls.ca } } : {}) } : {});
  // issue 12: with ICE, SIP to other peers goes over ICE + DTLS channels that AppAttach opens
  const debugLog = logger.debug !== undefined && logger.isLevelEnabled?.('debug') === true ? logger.debug.bind(logger) : undefined;
  const traceLog = logger.trace !== undefined && logger.isLevelEnabled?.('trace') === true ? logger.trace.bind(logger) : undefined;
  const sipChannels = overlay?.sipLinks === undefined ? undefined : new SipChannels(overlay.sipLinks, clock, { selfNodeId: overlay.node.idBytes, ...(debugLog === undefined ? {} : { log: { debug: debugLog } }) });
  const channelDriver = sipChannels === undefined ? nodeDriver : new ChannelTransportDriver(nodeDriver, sipChannels);
  // --log-level trace: every SIP datagram's start line, Call-ID and CSeq, in and out
  const driver = traceLog === undefined ? channelDriver : new TracingTransportDriver(channelDriver, { trace: traceLog });
  // issue 14: phones' bindings (and the AoRs we stored in the overlay) are kept in
  // <data-dir>/registrations and restored, with their remaining lifetime, before the SIP front opens
  let registrations: LmdbRecordStores | undefined;
  try {
    const onError = (err: unknown): void => logger.warn({ err: String(err) }, 'registrations: a write to the data directory failed');
    registrations = config.reload === undefined ? undefined : LmdbRecordStores.open(join(config.reload.dataDir, 'registrations'), { onError });
  } catch (err) {
    await overlay?.leave().catch(() => {});
    throw err;
  }
  const wallClock = (): number => Date.now();
  // issue 15: in a closed overlay phones prove their password to the user's storing peers (the
  // verifier Stores their digest answer there); `p2psip user ...` writes the directory through us
  // (enrolled overlays whose document names a sip-digest-verifier: the enrollment server checks them)
  const authMode = overlay === undefined ? undefined : authModeOf(overlay.config);
  const directoryVerifier = overlay !== undefined && hasUserDirectory(overlay.config) ? new OverlayCredentialVerifier(overlay.storage, { realm: config.overlay }) : undefined;
  const digestUrl = overlay?.config.sipDigestVerifier;
  const verifier =
    directoryVerifier ?? (digestUrl === undefined ? undefined : new EnrollmentDigestVerifier(digestUrl, config.reload?.configCa === undefined ? {} : { ca: config.reload.configCa }));
  const users =
    overlay !== undefined && directoryVerifier !== undefined
      ? new UserDirectory({ storage: overlay.storage, ownNodeId: Buffer.from(overlay.storage.ownNodeId()).toString('hex'), random, wallClock, ...(registrations === undefined ? {} : { known: registrations.table('users') }) }, config.overlay)
      : undefined;
  const location = new MemoryLocationService(clock, registrations === undefined ? {} : { store: registrations.table('bindings'), wallClock });
  const restored = location.restore();
  if (restored.aors + restored.expired + restored.flowOnly + restored.unreadable > 0) logger.info({ ...restored }, 'registrations restored from the data directory');
  const wildcardSip = config.sip.host === '0.0.0.0' || config.sip.host === '::';
  const advertisedHost = config.advertisedHost ?? (wildcardSip ? primaryAddress() : config.sip.host);
  let sip: SipPeer | undefined;
  // issue 14: overlay work in flight, against a budget; past it the SIP front refuses new work with 503
  const overlayWork = overlay === undefined ? undefined : new OverlayWorkBudget(config.overlayWork, clock);
  // RFC 7904: with an overlay, REGISTERs are stored in it and requests for AoRs not registered
  // here are looked up there and forwarded to the registered peer's SIP front (AppAttach).
  const sipUsage =
    overlay === undefined
      ? undefined
      : new SipUsage(
          {
            clock,
            random,
            overlay: overlay.node,
            // issue 14: the directory's Stores and Fetches are counted against the overlay work budget
            directory: overlayWork!.directory(hooks.registrationDirectory?.(overlay) ?? registrationDirectory(overlay)),
            inner: location,
            overlayName: config.overlay,
            ...(registrations === undefined ? {} : { marks: registrations.table('published'), wallClock }),
            sipAddresses: () =>
              (sip?.addresses ?? []).map((a) => (a.host === '0.0.0.0' || a.host === '::' ? { ...a, host: advertisedHost } : a)),
            ...(sipChannels === undefined ? {} : { channels: sipChannels }),
            logger,
            // issue 15: after a merge (a healed split, a lone peer that joined) our phones' AoRs are stored again
            ringMerges: { onRingMerged: (l: () => void) => overlay.onMerged(() => l()) },
          },
          {
            // issue 6: permanent AoRs from --static; located peers forgotten after --peer-idle
            statics: config.reload?.staticRegistrations ?? [],
            // issue 15: in a closed overlay a static AoR is stored as the owner of its user record
            ...(directoryVerifier === undefined
              ? {}
              : {
                  authorizeStatic: async (aor: string) => {
                    const r = await directoryVerifier.claimAsOwner(aor);
                    if (!r.ok) throw new Error(`no right to register ${aor} (${r.reason}${r.detail === undefined ? '' : `: ${r.detail}`}); run \`p2psip user add\` for it on this peer`);
                  },
                }),
            locator: { idleMs: config.reload?.peerIdleMs ?? DEFAULT_PEER_IDLE_MS },
          },
        );
  // issue 13: the media relay — SDP rewritten so phones send RTP to us; between peers inside the SIP
  // channels' ICE paths (or the UDP trunk without ICE)
  const mediaConfig = config.media ?? DEFAULT_MEDIA_CONFIG;
  const mediaPorts = mediaConfig.mode === 'direct' ? undefined : new UdpMediaPorts({ host: config.sip.host, range: mediaConfig.range, onError: (err) => logger.warn({ err: err.message }, 'media: socket error') });
  const relay = new MediaRelay(
    {
      clock,
      random,
      ports: mediaPorts ?? { take: () => undefined, inUse: () => 0 },
      trunk: {
        sendToNode: (node, frame) => sipChannels?.sendMedia(node, frame) ?? false,
        sendTo: (to, frame) => mediaPorts?.sendTrunk(to, frame),
        address: () => mediaPorts?.trunkAddress(),
      },
      afterTurn: afterIoTurn,
    },
    { timeoutMs: mediaConfig.timeoutMs, ...(mediaConfig.maxPacketsPerSecond === undefined ? {} : { maxPacketsPerSecond: mediaConfig.maxPacketsPerSecond }) },
  );
  sipChannels?.onMedia((node, frame) => relay.receiveFrame(frame, { node }));
  const mediaHook = new SdpMediaHook(
    relay,
    { channelNode: (a) => sipChannels?.nodeServing(a), directPath: (n) => sipChannels?.hostToHost(n) ?? false },
    {
      mode: mediaConfig.mode,
      mediaAddress: () => mediaConfig.address ?? advertisedHost,
      isPeerUri: (u) => isSipUri(u) && hasParam(u.params, PEER_MARK),
      ...(debugLog === undefined ? {} : { log: (obj: object, msg: string) => debugLog(obj, msg) }),
    },
  );
  try {
    await mediaPorts?.start((frame, from) => relay.receiveFrame(frame, { from }));
  } catch (err) {
    await overlay?.leave().catch(() => {});
    await registrations?.close().catch(() => {});
    throw err;
  }
  relay.start();
  const mediaStatus = (): object => ({ mode: mediaConfig.mode, range: `${mediaConfig.range[0]}-${mediaConfig.range[1]}`, timeoutS: mediaConfig.timeoutMs / 1000, ...relay.status(), sdp: mediaHook.counts, ports: mediaPorts === undefined ? null : { ...mediaPorts.counts, ready: mediaPorts.readyCount(), trunk: mediaPorts.trunkAddress() ?? null } });
  const load = new UdpBacklogLoadMonitor();
  load.start();
  // issue 16: in enrolled overlays what is kept for a user is sealed to its certificates (CERTIFICATE_BY_USER)
  const sealing = overlay !== undefined && hasUserCertificates(overlay.config) ? userCertificateSealing(overlay, clock) : undefined;
  // issue 16: a MESSAGE to a user who is away is kept in the overlay and delivered when it registers
  const messages =
    overlay === undefined || overlay.config.kinds.every((k) => k.id !== MESSAGE_KIND_ID)
      ? undefined
      : new MessageStoreService({
          clock,
          random,
          storage: overlay.storage,
          selfNodeId: overlay.node.idBytes,
          wallClock,
          inOverlay: (aor) => isOverlayAor(aor, config.overlay),
          registeredHere: (aor) => location.lookupNow(aor).length > 0,
          originate: (request) => (sip === undefined ? Promise.resolve(createResponse(request, 503, 'Service Unavailable - starting')) : sip.proxy.originate(request)),
          ...(sealing === undefined ? {} : { sealing }),
          logger,
        });
  // issue 16: voicemail — calls to absent, busy or unanswering users are recorded into the overlay;
  // `sip:*98@<overlay>` plays a user's messages (needs the media relay's port pairs)
  const voicemail =
    overlay === undefined || mediaPorts === undefined || overlay.config.kinds.every((k) => k.id !== VOICEMAIL_KIND_ID)
      ? undefined
      : new VoicemailService({
          clock,
          random,
          storage: overlay.storage,
          selfNodeId: overlay.node.idBytes,
          wallClock,
          domain: config.overlay,
          inOverlay: (aor) => isOverlayAor(aor, config.overlay),
          // a call to a name nobody registered goes to voicemail only when the name is a user: the user
          // directory of a closed overlay says so (a Stat of its record: existence only); without one
          // (open overlays) it is a 404 as before; in an enrolled overlay a user is a name with a certificate
          userExists: (aor) => (sealing !== undefined ? sealing.hasUser(aor) : directoryVerifier === undefined ? false : userRecordExists(overlay.storage, aor, config.overlay)),
          ...(sealing === undefined ? {} : { sealing }),
          // users' own greetings (key 8 at *98, PUT /api/voicemail/greeting) where the overlay has their Kind
          greetings: overlay.config.kinds.some((k) => k.id === GREETING_KIND_ID),
          registeredHere: (aor) => location.lookupNow(aor).length > 0,
          openOverlay: verifier === undefined,
          canonicalAor: (uri) => sip?.identity.canonicalAor(uri),
          contactUri: (user, r) => {
            const l = r.tx.inbound.local;
            const h = l.host === '0.0.0.0' || l.host === '::' ? advertisedHost : l.host;
            return `sip:${user}@${h.includes(':') ? `[${h}]` : h}:${l.port}${l.protocol === 'udp' ? '' : `;transport=${l.protocol}`}`;
          },
          mediaAddress: () => mediaConfig.address ?? advertisedHost,
          ports: mediaPorts,
          send: ownRequestSender({ sip: () => sip, advertisedHost, random }).sendInDialog,
          originate: (request) => (sip === undefined ? Promise.resolve(createResponse(request, 503, 'Service Unavailable - starting')) : sip.proxy.originate(request)),
          logger,
        });
  // issue 16: presence — the peer is the presence agent of its users; watchers at any peer
  const presence =
    overlay === undefined || sipUsage === undefined || overlay.config.kinds.every((k) => k.id !== P2PSIP_PRESENCE_KIND_ID)
      ? undefined
      : startPresence({
          clock,
          random,
          storage: overlay.storage,
          selfNodeId: overlay.node.idBytes,
          registeredHere: (aor) => location.lookupNow(aor).length > 0,
          sip: () => sip,
          advertisedHost,
          locate: (nodeId) => sipUsage.locator.locate(nodeId),
          canonicalAor: (uri) => sip?.identity.canonicalAor(uri),
          requireAuth: verifier !== undefined,
          ...(voicemail === undefined ? {} : { messageSummary: voicemail.messageSummary }),
          logger,
        });
  // issue 16: messages and voicemail waiting for a user are told by its storing peer when it registers
  // (waiting-hints.ts): a REGISTER costs no overlay request for what is not there
  const waiting =
    overlay === undefined || sipUsage === undefined || (messages === undefined && voicemail === undefined)
      ? undefined
      : startWaitingHints({
          clock,
          random,
          storage: overlay.storage,
          selfNodeId: overlay.node.idBytes,
          domain: config.overlay,
          kinds: [...(messages === undefined ? [] : [MESSAGE_KIND_ID]), ...(voicemail === undefined ? [] : [VOICEMAIL_KIND_ID])],
          locate: (nodeId) => sipUsage.locator.locate(nodeId),
          send: ownRequestSender({ sip: () => sip, advertisedHost, random }).send,
          localAors: () => location.entries().map(([aor]) => aor),
          onWaiting: (aor) => {
            messages?.onRegistered(aor, true);
            voicemail?.onRegistered(aor, true);
          },
        });
  const unwatchRegistrations = events.on('registration', (e) => {
    if (e.action === 'added') waiting?.registered(e.aor);
    if (e.action !== 'refreshed') presence?.registrationChanged(e.aor);
  });
  const unwatchCalls = presence === undefined ? () => {} : events.on('call', (e) => presence.callChanged(e));
  const services = combineServices([...(waiting === undefined ? [] : [waiting.receiver]), ...(presence?.services ?? []), ...(messages === undefined ? [] : [messages]), ...(voicemail === undefined ? [] : [voicemail])]);
  sip = new SipPeer(
    {
      clock,
      random,
      driver,
      location: sipUsage?.location ?? location,
      resolver: config.outbound.mode === 'dns' ? new DnsTargetResolver() : new NumericOnlyResolver(),
      localHosts: localAddresses(),
      logger,
      load,
      media: mediaHook,
      events,
      ...(services === undefined ? {} : { services }),
      // issue 17: the phones' bindings (under the SIP usage's location service) become `registration` events
      bindings: location,
      ...(sipChannels === undefined ? {} : { isChannel: (source: TransportAddress) => sipChannels.peerAt(source) !== undefined }),
      ...(overlayWork === undefined
        ? {}
        : {
            overlayWork: {
              budget: overlayWork,
              // a REGISTER with the Call-ID of a binding held here is a refresh
              localCallIds: (aor: string) => location.lookupNow(aor).map((b) => b.callId),
              // a request a peer forwarded to our phones (RFC 7904 target, marked) needs no lookup
              servedLocally: (r: SipRequest) => isSipUri(r.uri) && hasParam(r.uri.params, PEER_MARK),
            },
          }),
    },
    {
      domains: [config.overlay, ...config.domains],
      listen,
      outbound: config.outbound,
      advertisedHost,
      ...(config.sipLimits === undefined ? {} : { transport: config.sipLimits }),
      ...(verifier === undefined
        ? {}
        : {
            auth: {
              realm: config.overlay,
              verifier,
              // a request another peer forwarded to its callee's peer (RFC 7904 target, marked) is not
              // challenged: its caller authenticated there — taken as such only over an authenticated
              // SIP channel when channels exist (else anyone could add the mark to skip the challenge)
              fromPeer: (r, source) => isSipUri(r.uri) && hasParam(r.uri.params, PEER_MARK) && (sipChannels === undefined || sipChannels.peerAt(source) !== undefined),
              // any peer of the overlay takes any peer's nonce (a phone knowing only its domain may send
              // its answer to another box than the one that challenged it)
              ...(overlay === undefined ? {} : { nonceKey: { key: overlayNonceKey(overlay.config), wallClock } }),
            },
          }),
    },
  );
  // periodic work runs on the injected clock (the simulator and fake-clock tests see it too)
  location.start();
  let sipAddresses: TransportAddress[];
  try {
    sipAddresses = await sip.start();
    for (const a of sipAddresses) if (a.protocol === 'udp') load.watchPort(a.port);
    // static registrations go into the overlay once the SIP front they lead to is up
    sipUsage?.start();
  } catch (err) {
    unwatchRegistrations();
    unwatchCalls();
    waiting?.stop();
    messages?.stop();
    voicemail?.stop();
    await presence?.close().catch(() => {});
    location.stop();
    load.stop();
    relay.stop();
    await mediaPorts?.stop();
    await sip.stop().catch(() => {});
    await overlay?.leave().catch(() => {});
    await registrations?.close().catch(() => {});
    throw err;
  }
  // issue 15: LAN discovery once the overlay and the SIP front are up (a client does not advertise)
  let discovery: RunningLanDiscovery | undefined;
  if (overlay !== undefined && config.reload?.discovery === true && !overlay.node.options.client && overlay.listen !== undefined && discoveryApplies(overlay.listen.host, logger)) {
    const sipPort = sipAddresses.find((a) => a.protocol === 'udp')?.port;
    try {
      discovery = await startLanDiscovery({
        clock,
        random,
        logger,
        overlay: { config: overlay.config, nodeId: overlay.node.idBytes, overlayHash: overlay.node.overlayHash, port: overlay.listen.port },
        ...(sipPort === undefined ? {} : { sip: { domain: config.overlay, port: sipPort } }),
      });
    } catch (err) {
      // mDNS port taken or no multicast: the peer runs without discovery (--bootstrap still works)
      logger.warn({ err: String(err) }, 'lan discovery: not started');
    }
    // what discovery finds goes to the joining logic: a lone peer joins, two rings merge (issue 15)
    discovery?.setSink(overlay.candidates);
  }
  const startedAt = clock.now();
  let http: RunningHttpServer | undefined;
  let closeRoutes = (): void => {};
  if (config.http && apiToken !== undefined) {
    const h = config.http;
    const src = {
      overlay: config.overlay,
      peer: sip,
      clock,
      startedAt,
      http: `${h.host}:${h.port}`,
      ...(apiToken.file === undefined ? {} : { apiTokenFile: apiToken.file }),
      registrations: () => location.entries(),
      servicesStatus: () => ({ messages: messages?.status() ?? null, presence: presence?.status() ?? null, voicemail: voicemail?.status() ?? null, waitingHints: waiting?.status() ?? null }),
      authStatus: () => ({
        mode: authMode ?? 'none',
        realm: config.overlay,
        ...(verifier === undefined ? {} : { verifier: verifier.stats }),
        ...(sip?.auth === undefined ? {} : { front: sip.auth.stats() }),
        ...(overlay?.directoryGuards === undefined ? {} : { storing: { ...overlay.directoryGuards.stats, ...overlay.directoryGuards.tables() } }),
        ...(users === undefined ? {} : { usersCreatedHere: users.list().length }),
      }),
      mediaStatus: () => mediaStatus(),
      discoveryStatus: () => discovery?.status() ?? { enabled: false },
      ...(overlay === undefined ? {} : { joinStatus: () => overlay.joinStatus() }),
      ...(overlay === undefined
        ? {}
        : { overlayNode: overlay.node, storageSummary: () => overlay.storageSummary(), natStatus: () => natStatusOf(overlay, sipChannels) }),
      ...(sipUsage === undefined
        ? {}
        : {
            describeAor: (aor: string) => sipUsage.describe(aor),
            staticRegistrations: () => sipUsage.statics.status(),
            sipUsageStats: () => ({
              // the 100 most recently used located peers (of at most maxEntries)
              locator: { ...sipUsage.locator.stats, cached: sipUsage.locator.size, peers: sipUsage.locator.entries().slice(-100) },
              location: { ...sipUsage.location.stats },
              ...(registrations === undefined ? {} : { registrationsStore: registrations.stats() }),
            }),
          }),
    };
    const bound: { address?: { host: string; port: number } } = {};
    const peerRoutes = createPeerRoutes({
      clock,
      logger,
      status: src,
      events,
      sip,
      sipAddresses: () => sipAddresses,
      overlay,
      sipUsage,
      domain: config.overlay,
      httpAddress: () => bound.address,
      logTail,
      ...(voicemail === undefined ? {} : { voicemail }),
      ...(presence === undefined ? {} : { presenceRules: presence.rules }),
    });
    closeRoutes = () => peerRoutes.close();
    const api = createHttpApi({ clock, status: src, storage: overlay?.storage, users: createUsersApi(users, authMode ?? 'none'), routes: peerRoutes.routes }, { token: apiToken.token });
    // the greeting upload is the one route that takes a body larger than the default 64 KiB
    http = await startHttpServer(h.host, h.port, (method, url, req) => api.handle(method, url, req), { logger, limits: { uploadPaths: { [GREETING_API_PATH]: MAX_GREETING_WAV_BYTES } } });
    // Host/Origin checks accept the bound address (every local address when it is a wildcard)
    api.bind(http.host, http.port, h.host === '0.0.0.0' || h.host === '::' ? localAddresses() : []);
    src.http = `${http.host}:${http.port}`;
    bound.address = { host: http.host, port: http.port };
  }
  return {
    sip,
    advertisedHost,
    sipAddresses,
    http,
    apiToken,
    overlay,
    sipUsage,
    sipChannels,
    media: { status: mediaStatus },
    discovery,
    events,
    users,
    async stop() {
      // issue 14: every step is bounded, so a stop ends within STOP_DEADLINE_MS whatever the
      // neighbours do (a step past its limit is logged and left behind; the process exits anyway)
      const step = async (name: string, work: () => Promise<void>, limitMs: number): Promise<void> => {
        const t0 = clock.now();
        if (!(await withinMs(Promise.resolve().then(work), limitMs))) logger.warn({ step: name, limitMs, waitedMs: clock.now() - t0 }, 'stop: step not finished in time, left behind');
      };
      unwatchRegistrations();
      unwatchCalls();
      waiting?.stop();
      messages?.stop();
      voicemail?.stop();
      location.stop();
      load.stop();
      unlogReload();
      // issue 15: goodbye (TTL 0) to the LAN, sockets closed
      if (discovery !== undefined) await step('lan discovery', () => discovery.stop(), 1000);
      // issue 16: subscribers told (NOTIFY terminated;reason=deactivated), our presence and watch entries withdrawn
      if (presence !== undefined) await step('presence', () => presence.close(), STOP_LIMITS_MS.presence);
      // RFC 7904: our registrations leave the overlay before we do (bounded: the overlay may be gone)
      // issue 18: the withdraws themselves stop at the step's limit (alone, they never yield to the timer that bounds the wait)
      if (sipUsage !== undefined) {
        const until = clock.now() + STOP_LIMITS_MS.withdrawRegistrations;
        await step('withdraw registrations', () => sipUsage.stop(until), STOP_LIMITS_MS.withdrawRegistrations);
      }
      // RFC 6940 §10.9: hand-off of our data and a clean Leave before the links close
      if (overlay !== undefined) await step('overlay leave', () => overlay.leave(), STOP_LIMITS_MS.overlayLeave);
      closeRoutes();
      if (http !== undefined) await step('http close', () => http.close(), STOP_LIMITS_MS.http);
      await step('sip close', () => sip.stop(), STOP_LIMITS_MS.sip);
      relay.stop();
      await mediaPorts?.stop();
      // issue 14: the bindings stay in <data-dir>/registrations for the next start; what is queued is written
      if (registrations !== undefined) await step('registrations close', () => registrations.close(), STOP_LIMITS_MS.registrations);
    },
  };
}

/** Registrations live in the overlay's storage (SIP-REGISTRATION, RFC 7904). */
function registrationDirectory(overlay: RunningOverlay): RegistrationDirectory {
  return new StorageRegistrationDirectory({ storage: overlay.storage, selfNodeId: overlay.node.idBytes, nodeIdLength: overlay.node.options.nodeIdLength });
}

/**
 * Longest wait of each step of {@link RunningPeer.stop}, ms (issue 14). Their sum is
 * {@link STOP_DEADLINE_MS}; `p2psip up` exits at the latest STOP_DEADLINE_MS + 1 s after SIGTERM.
 * The overlay leave holds the hand-off of our data (at most 2 s, see startOverlay) and the Leave
 * requests (2 s timer each, sent together).
 */
export const STOP_LIMITS_MS = Object.freeze({ presence: 1_000, withdrawRegistrations: 2_500, overlayLeave: 4_000, http: 500, sip: 500, registrations: 250 });

/** The most a clean stop takes, ms: the sum of {@link STOP_LIMITS_MS}. */
export const STOP_DEADLINE_MS = Object.values(STOP_LIMITS_MS).reduce((a, b) => a + b, 0);

/** Resolves true when `p` settles (fulfilled or not) within `ms`, false after `ms`. */
function withinMs(p: Promise<void>, ms: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    p.catch(() => undefined).finally(() => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

/** /api/status `nat`: the overlay UDP port, our candidates and the ICE links (type, candidate pair, set-up time). */
function natStatusOf(overlay: RunningOverlay, sipChannels: SipChannels | undefined): object {
  const g = overlay.gatherer;
  return {
    role: overlay.natRole(),
    behaviour: overlay.natBehaviour() ?? null,
    turn: overlay.turn(),
    udp: overlay.udpCounters(),
    port: overlay.nat?.counters() ?? null,
    candidates: g === undefined ? null : g.candidates().map((c) => ({ type: c.type, address: `${c.address.host}:${c.address.port}`, base: c.base })),
    iceLinks: overlay.iceLinks === undefined ? null : { totals: overlay.iceLinks.totals, links: overlay.iceLinks.describe(), recentFailures: overlay.iceLinks.recentFailures() },
    sipPort: overlay.sipNat(),
    sipChannels: overlay.sipLinks === undefined ? null : { totals: overlay.sipLinks.totals, sip: sipChannels?.stats ?? null, channels: sipChannels?.describe() ?? [], links: overlay.sipLinks.describe(), recentFailures: overlay.sipLinks.recentFailures() },
  };
}
