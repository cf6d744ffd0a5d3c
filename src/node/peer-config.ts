/**
 * Everything a peer is built from, with the defaults of the command-line contract (DESIGN.md).
 */
import { P2psipError } from '../lib/errors.js';
import type { OutboundPolicy } from '../sip/core/proxy-core.js';
import type { StaticRegistration } from '../usages/sip/parse-static-registration.js';

export interface HostPort {
  host: string;
  port: number;
}

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  caFile?: string;
}

export interface PeerConfig {
  /** Overlay name; also the SIP domain the peer serves (default p2psip.local). */
  overlay: string;
  /** Extra SIP domains served as local. */
  domains: string[];
  /** SIP front on UDP and TCP (default 0.0.0.0:5060). */
  sip: HostPort;
  /** SIP over TLS (needs tls). */
  sipTls: HostPort | undefined;
  /** SIP over WebSocket (RFC 7118), plain. */
  sipWs: HostPort | undefined;
  /** SIP over secure WebSocket (needs tls). */
  sipWss: HostPort | undefined;
  tls: TlsFiles | undefined;
  /** Dashboard / JSON API (default 127.0.0.1:8060); undefined = off. */
  http: HostPort | undefined;
  /**
   * Where the HTTP API token (`api-token`, issue 14) is kept: the peer's data directory. Default
   * reload.dataDir; with neither, a token of this run only (RunningPeer.apiToken).
   */
  apiTokenDir?: string;
  /** How to reach AoRs outside our domains. */
  outbound: OutboundPolicy;
  /** Host advertised in Via / Record-Route when listening on a wildcard address. */
  advertisedHost: string | undefined;
  /** Caps and deadlines of the SIP front's TCP/TLS/WS connections (`--sip-limit`, issue 14); unset: DEFAULT_TRANSPORT_OPTIONS. */
  sipLimits?: import('../sip/transport/transport-layer-options.js').TransportLayerOptions;
  /** The budget of overlay work in flight (issue 14, DEFAULT_OVERLAY_WORK_BUDGET: 2,000); unset: the default. */
  overlayWork?: Partial<import('../usages/sip/overlay-work-budget.js').OverlayWorkBudgetOptions>;
  logLevel: string;
  /** The media relay (issue 13); unset: DEFAULT_MEDIA_CONFIG. */
  media?: MediaConfig;
  /** The RELOAD overlay (undefined: a stand-alone SIP front, for tests of the SIP stack alone). */
  reload: ReloadConfig | undefined;
}

export interface ReloadConfig {
  /** Overlay link address (default 0.0.0.0:6084; port 0 = any). */
  listen: HostPort;
  bootstrap: HostPort[];
  /** Identity, certificates, persisted state (default ~/.p2psip/<overlay>). */
  dataDir: string;
  client: boolean;
  /**
   * Issue 15, required (every caller decides): true = an open overlay (`--open`: any peer may
   * register any user of the domain, no digest at the SIP front — labs, demos, tests that are not
   * about auth); false = closed (the default of `p2psip up`): registrations need the user's
   * password, proven to the user's storing peers. Part of the zero-configuration overlay's
   * configuration, so open and closed boxes are different overlays; with a configuration document
   * (`--config`) the document decides and this must be false.
   */
  open: boolean;
  /** Configuration document: a file or https URL (enrolled overlays). */
  configSource: string | undefined;
  configCa: string | undefined;
  credentials: { username: string; password: string } | undefined;
  /** Permanent AoR → contact bindings stored in the overlay (`--static`, issue 6). */
  staticRegistrations?: StaticRegistration[];
  /** A peer located by AppAttach and unused this long is forgotten, ms (`--peer-idle`, default 600,000). */
  peerIdleMs?: number;
  /** Overlay links write each turn's frames as one TLS record (default true); false for Wireshark captures. */
  coalesceTlsWrites?: boolean;
  /** LAN discovery (issue 15: mDNS/DNS-SD and multicast bootstrap); `p2psip up` turns it on unless `--no-discovery`; unset: off. */
  discovery?: boolean;
  /** Attach negotiates ICE links (DTLS-UDP-SR over the overlay UDP port) where both ends can (`--ice`). */
  ice?: boolean;
  /** Users our TURN relay accepts besides overlay members (`--turn-user user:password`, repeatable). */
  turnUsers?: Record<string, string>;
  /**
   * An operator's TURN server to take relays from (`--turn-server host:port --turn-credentials
   * user:password`): a peer behind a NAT takes them there first, the overlay's TURN peers are the fallback.
   */
  turnServer?: { host: string; port: number; username: string; password: string };
  /** Operator's STUN servers asked with the bootstrap peers for our reflexive address (`--stun-server`, at most 4). */
  stunServers?: HostPort[];
  /**
   * Bandwidth of the relay this peer offers when public, bytes/s each direction (`--turn-bandwidth`,
   * `--turn-total-bandwidth`; defaults 512,000 per allocation, 4,000,000 in all).
   */
  turnBandwidth?: { perAllocationBytesPerS?: number; totalBytesPerS?: number };
  /** Issue 17: the application's own Kinds (library API `kinds`; node/application-kinds.ts); unset: none. */
  kinds?: readonly import('../reload/storage/kind.js').KindDefinition[];
}

/** The media relay's settings (`--media`, `--media-ports`, `--media-timeout`, `--media-address`). */
export interface MediaConfig {
  /** auto: relay only where the phones cannot reach each other directly; relay: always; direct: never. */
  mode: 'auto' | 'relay' | 'direct';
  /** UDP ports of the relay (the first is the trunk between peers without ICE). */
  range: [number, number];
  /** A call with no media and no SIP for this long is released, ms. */
  timeoutMs: number;
  /** The address phones are told to send media to (default: the SIP front's advertised address). */
  address?: string;
  /** Packets per second a phone may send into one leg (default 2,000, bursts of twice that). */
  maxPacketsPerSecond?: number;
}

export const DEFAULT_MEDIA_CONFIG: Readonly<MediaConfig> = Object.freeze({ mode: 'auto', range: [20000, 29999] as [number, number], timeoutMs: 60_000 });

/** Default of ReloadConfig.peerIdleMs: 10 minutes. */
export const DEFAULT_PEER_IDLE_MS = 600_000;

export function parseHostPort(text: string, what: string): HostPort {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:[\]]+):(\d{1,5})$/.exec(text);
  if (m === null) throw new ConfigError(`${what}: expected <host:port> (IPv6 as [addr]:port), got '${text}'`);
  const port = Number(m[2]);
  if (port > 65535) throw new ConfigError(`${what}: port ${port} is out of range`);
  return { host: m[1]!, port };
}

/** A configuration or command-line value that cannot be used (CLI exit code 2). */
export class ConfigError extends P2psipError {
  constructor(message: string) {
    super('CONFIG', message);
    this.name = 'ConfigError';
  }
}

export function defaultPeerConfig(): PeerConfig {
  return {
    overlay: 'p2psip.local',
    domains: [],
    sip: { host: '0.0.0.0', port: 5060 },
    sipTls: undefined,
    sipWs: undefined,
    sipWss: undefined,
    tls: undefined,
    http: { host: '127.0.0.1', port: 8060 },
    outbound: { mode: 'dns' },
    advertisedHost: undefined,
    logLevel: 'info',
    reload: undefined,
  };
}
