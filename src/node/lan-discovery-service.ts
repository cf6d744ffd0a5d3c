/**
 * Starts LAN discovery for a running peer (issue 15): the sans-I/O core (node/discovery) on the
 * platform sockets (platform/lan-discovery.ts). What is advertised comes from the overlay: its name,
 * the fingerprint of the configuration it uses, our Node-ID and overlay port; the SIP domain (when it
 * ends in .local) and the SIP port come from the SIP front.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../lib/clock.js';
import type { Random } from '../lib/random.js';
import { addressScope } from '../nat/address-scope.js';
import { serializeOverlayConfiguration, type OverlayConfiguration } from '../reload/config/index.js';
import { allLinkAddresses, linkAddressesFor, openLanSockets, type LanSockets, type MdnsWirePacket, type MdnsWireRecord } from '../platform/lan-discovery.js';
import type { BootstrapCandidateSink } from './bootstrap-candidate.js';
import { mdnsSipDomain, type Advertisement } from './discovery/dns-sd-service.js';
import { LanDiscovery, discoveryOptions, type MdnsOutgoing } from './discovery/lan-discovery-core.js';
import type { MdnsRecord } from './discovery/mdns-model.js';
import { MAX_BOOTSTRAP_DATAGRAM, type BootstrapSelf } from './discovery/multicast-bootstrap.js';
import { ProblemLog } from './discovery/problem-log.js';

/** First 16 hex digits of SHA-256 of the configuration element we use: boxes with another configuration ignore us. */
export function configFingerprint(config: OverlayConfiguration): string {
  return createHash('sha256').update(serializeOverlayConfiguration(config), 'utf8').digest('hex').slice(0, 16);
}

/**
 * The digest nonce key every peer of an overlay derives from its configuration (issue 15: a phone
 * that resolves its domain per request may answer another peer than the one that challenged it; see
 * sip/auth/digest-nonces.ts for why a key any member knows is enough).
 */
export function overlayNonceKey(config: OverlayConfiguration): Uint8Array {
  return createHash('sha256').update('p2psip digest nonces\0', 'utf8').update(serializeOverlayConfiguration(config), 'utf8').digest();
}

/**
 * Whether a peer whose overlay link listens on `listenHost` takes part in LAN discovery: not when it
 * listens on loopback only (nobody on the LAN could reach it; and peers of tests on one machine stay
 * apart) — said once in the log.
 */
export function discoveryApplies(listenHost: string, logger: { info(obj: object, msg: string): void }): boolean {
  if (addressScope(listenHost) !== 'loopback') return true;
  logger.info({ listen: listenHost }, 'lan discovery: off (the overlay listens on loopback only)');
  return false;
}

export interface LanDiscoveryServiceConfig {
  clock: Clock;
  random: Random;
  logger: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  overlay: { config: OverlayConfiguration; nodeId: Uint8Array; overlayHash: number; port: number };
  sip?: { domain: string; port: number };
  sink?: BootstrapCandidateSink;
  /** mDNS port (tests); default 5353. */
  mdnsPort?: number;
}

export interface RunningLanDiscovery {
  status(): object;
  setSink(sink: BootstrapCandidateSink | undefined): void;
  stop(): Promise<void>;
}

function wireRecord(r: MdnsRecord): MdnsWireRecord {
  if (r.type === 'TXT') return { type: 'TXT', name: r.name, ttl: r.ttl, class: 'IN', flush: r.flush, data: r.data.map((b) => Buffer.from(b)) };
  if (r.type === 'SRV') return { type: 'SRV', name: r.name, ttl: r.ttl, class: 'IN', flush: r.flush, data: { ...r.data } };
  if (r.type === 'NAPTR') return { type: 'NAPTR', name: r.name, ttl: r.ttl, class: 'IN', flush: r.flush, data: { ...r.data } };
  return { type: r.type, name: r.name, ttl: r.ttl, class: 'IN', flush: r.flush, data: r.data };
}

/** Our packet model in the shape the `multicast-dns` package encodes. */
export function wirePacket(p: MdnsOutgoing): MdnsWirePacket {
  const questions = p.questions.filter((q) => q.type !== 'OTHER').map((q) => ({ name: q.name, type: q.type as MdnsWirePacket['questions'][number]['type'], class: 'IN' as const }));
  if (p.kind === 'query') return { type: 'query', id: 0, questions, answers: [], additionals: [] };
  return { type: 'response', id: p.id, questions, answers: p.answers.map(wireRecord), additionals: p.additionals.map(wireRecord) };
}

export async function startLanDiscovery(c: LanDiscoveryServiceConfig): Promise<RunningLanDiscovery> {
  const fingerprint = configFingerprint(c.overlay.config);
  const nodeIdHex = Buffer.from(c.overlay.nodeId).toString('hex');
  const sipDomain = c.sip === undefined ? undefined : mdnsSipDomain(c.sip.domain);
  const ad: Advertisement = {
    overlay: c.overlay.config.instanceName,
    fingerprint,
    nodeId: nodeIdHex,
    overlayPort: c.overlay.port,
    ...(c.sip === undefined ? {} : { sipPort: c.sip.port }),
    ...(sipDomain === undefined ? {} : { sipDomain }),
  };
  const group = (c.overlay.config.multicastBootstrap ?? []).find((g) => /^\d+\.\d+\.\d+\.\d+$/.test(g.address));
  const bootstrap: BootstrapSelf | undefined =
    group === undefined
      ? undefined
      : { overlayHash: c.overlay.overlayHash, configurationSequence: c.overlay.config.sequence, nodeId: c.overlay.nodeId, overlayPort: c.overlay.port, fingerprint: Buffer.from(fingerprint, 'hex') };
  let core: LanDiscovery | undefined;
  const socketProblems = new ProblemLog(c.logger, 'lan discovery sockets');
  const sockets: LanSockets = await openLanSockets(
    { ...(c.mdnsPort === undefined ? {} : { mdnsPort: c.mdnsPort }), ...(group === undefined ? {} : { bootstrapGroup: { host: group.address, port: group.port } }), maxBootstrapBytes: MAX_BOOTSTRAP_DATAGRAM },
    {
      mdns: (packet, size, from) => core?.receiveMdns(packet, size, from),
      bootstrap: (bytes, from, via) => core?.receiveBootstrap(bytes, from, via),
      problem: (kind, detail) => socketProblems.note(kind, detail),
    },
  );
  core = new LanDiscovery(
    {
      clock: c.clock,
      random: c.random,
      transport: {
        sendMdns: (p, to) => sockets.sendMdns(wirePacket(p), to),
        sendBootstrap: (bytes, to) => sockets.sendBootstrap(bytes, to),
      },
      ...(c.sink === undefined ? {} : { sink: c.sink }),
      log: c.logger,
      linkAddresses: linkAddressesFor,
      allAddresses: allLinkAddresses,
    },
    discoveryOptions(ad, bootstrap),
  );
  core.start();
  c.logger.info({ instance: `${nodeIdHex.slice(0, 12)}._p2psip._tcp.local`, sipDomain: sipDomain ?? null, fingerprint, multicastBootstrap: group === undefined ? null : `${group.address}:${group.port}` }, 'lan discovery: advertising and browsing');
  const running = core;
  return {
    status: () => ({ ...running.status(), multicastBootstrap: group === undefined ? null : `${group.address}:${group.port}`, socketProblems: socketProblems.counters() }),
    setSink: (sink) => running.setSink(sink),
    async stop() {
      running.stop();
      await sockets.close();
    },
  };
}
