/**
 * What an application starts a peer with (issue 17): a configuration object with the defaults of
 * `p2psip up` (DESIGN.md's command-line contract), turned into the node's PeerConfig. Pure.
 */
import { join } from 'node:path';
import { DEFAULT_PEER_IDLE_MS, defaultPeerConfig, parseHostPort, type HostPort, type PeerConfig } from '../node/peer-config.js';
import type { KindDefinition } from '../reload/storage/index.js';
import { isSipUri, parseUri } from '../sip/message/index.js';
import { P2psipApiError } from './api-error.js';

/** An address: `'host:port'` (IPv6 as `'[addr]:port'`) or `{ host, port }`; port 0 = any free port. */
export type Address = string | { host: string; port: number };

/** The access control policies an application Kind may have (RFC 6940 §7.3). */
export type AccessPolicy = 'USER-MATCH' | 'NODE-MATCH' | 'USER-NODE-MATCH' | 'NODE-MULTIPLE';

/** One of the application's own Kinds (a `<kind>` of the overlay configuration, RFC 6940 §11.1): its data and who may write it. */
export interface KindSpec {
  /** Kind-ID, from 0xf0001000 to 0xfffffffe (private use, RFC 6940 §14.6; p2psip keeps 0xf0000000–0xf0000fff). */
  id: number;
  /** Its name in this API (a letter, then letters, digits, '-', '_'; at most 64). */
  name: string;
  /** RFC 6940 §7.2: one value, an array, or a dictionary at each Resource-ID. */
  dataModel: 'single' | 'array' | 'dictionary';
  /**
   * RFC 6940 §7.3: USER-MATCH (Resource Name = the writer's user name), NODE-MATCH (= the writer's
   * Node-ID), USER-NODE-MATCH (dictionary keyed by the writer's Node-ID, Resource Name = its user
   * name; with `anyResource` any Resource Name), NODE-MULTIPLE (= Node-ID ‖ i, i ≤ maxNodeMultiple).
   */
  access: AccessPolicy;
  /** USER-NODE-MATCH only: any Resource Name, each writer still only under its own Node-ID key (p2psip's proxy-peer-writes). */
  anyResource?: boolean;
  /** Values per Resource-ID at most (max-count; 1 for single; default 1 / 32). */
  maxCount?: number;
  /** Bytes of one value at most (max-size; default 1024). */
  maxSize?: number;
  /** NODE-MULTIPLE: the highest i (1–255). */
  maxNodeMultiple?: number;
}

/** Defaults of a {@link KindSpec}: max-count of array and dictionary Kinds, max-size. */
export const DEFAULT_KIND_MAX_COUNT = 32;
export const DEFAULT_KIND_MAX_SIZE = 1_024;

export interface PeerOptions {
  /** Overlay name, also the SIP domain (default `p2psip.local`). */
  overlay?: string;
  /** Overlay link address (default `0.0.0.0:6084`). */
  listen?: Address;
  /** SIP front, UDP and TCP (default `0.0.0.0:5060`). */
  sip?: Address;
  /** Dashboard and JSON API (default `127.0.0.1:8060`); false: none. */
  http?: Address | false;
  /** Peers to join through (their overlay addresses); none and none discovered: a new overlay. */
  bootstrap?: readonly Address[];
  /** Identity, certificates, persisted state (default `~/.p2psip/<overlay>`; `home` is the home directory). */
  dataDir?: string;
  /** Join as a client (RFC 6940 §3.2): use the overlay, never route or store. */
  client?: boolean;
  /** An open overlay (any peer may register any user, phones are not challenged); default closed. */
  open?: boolean;
  /** Overlay configuration document, a file or https URL (enrolled overlays); with it `open` must be unset. */
  config?: string;
  /** PEM text (not a file name) of the trust anchor of the https configuration / enrollment server. */
  configCa?: string;
  /** Enrollment account (RFC 6940 §11.3). */
  credentials?: { username: string; password: string };
  /** LAN discovery, mDNS/DNS-SD and multicast bootstrap (default true, as `p2psip up`). */
  discovery?: boolean;
  /** How to reach AoRs outside the overlay's domain: `dns` (default), `none`, or a sip: URI of a proxy. */
  outbound?: string;
  /** Address put in Via / Record-Route when `sip` is a wildcard. */
  advertise?: string;
  /** Attach with ICE (DTLS-UDP-SR links) where both ends can. */
  ice?: boolean;
  /** The application's own Kinds (every peer of the overlay must be started with the same list). */
  kinds?: readonly KindSpec[];
  /** Log lines of the peer (pino is compatible); default: none. */
  logger?: ApiLogger;
}

/** Where log lines go: `info` and `warn` at least (a pino logger fits). */
export interface ApiLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug?(obj: object, msg: string): void;
  trace?(obj: object, msg: string): void;
  isLevelEnabled?(level: string): boolean;
}

const OVERLAY_NAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/;

function address(a: Address | undefined, dflt: HostPort, what: string): HostPort {
  if (a === undefined) return { ...dflt };
  if (typeof a === 'string') {
    try {
      return parseHostPort(a, what);
    } catch (e) {
      throw new P2psipApiError('config', e instanceof Error ? e.message : String(e));
    }
  }
  if (typeof a !== 'object' || a === null || typeof a.host !== 'string' || a.host === '' || !Number.isInteger(a.port) || a.port < 0 || a.port > 65535) {
    throw new P2psipApiError('config', `${what}: expected 'host:port' or { host, port } with a port from 0 to 65535`);
  }
  return { host: a.host.replace(/^\[(.*)\]$/, '$1'), port: a.port };
}

/** The node's KindDefinition of a {@link KindSpec} (its checks are node/application-kinds.ts's, at start). */
export function kindDefinition(k: KindSpec): KindDefinition {
  if (typeof k !== 'object' || k === null) throw new P2psipApiError('config', 'kinds: each Kind is an object { id, name, dataModel, access }');
  return {
    id: k.id,
    name: k.name,
    dataModel: k.dataModel,
    accessControl: k.access,
    maxCount: k.maxCount ?? (k.dataModel === 'single' ? 1 : DEFAULT_KIND_MAX_COUNT),
    maxSize: k.maxSize ?? DEFAULT_KIND_MAX_SIZE,
    ...(k.anyResource === true ? { proxyPeerWrites: true } : {}),
    ...(k.maxNodeMultiple === undefined ? {} : { maxNodeMultiple: k.maxNodeMultiple }),
  };
}

/** The PeerConfig of `o`, with `p2psip up`'s defaults; `home` is the user's home directory. Throws `config`. */
export function peerConfigOf(o: PeerOptions, home: string): PeerConfig {
  if (typeof o !== 'object' || o === null) throw new P2psipApiError('config', 'startPeer takes an options object');
  const c = defaultPeerConfig();
  const overlay = o.overlay ?? 'p2psip.local';
  if (typeof overlay !== 'string' || overlay.length > 253 || !OVERLAY_NAME.test(overlay)) throw new P2psipApiError('config', `overlay: not a domain name: ${JSON.stringify(String(overlay)).slice(0, 80)}`);
  c.overlay = overlay;
  c.sip = address(o.sip, c.sip, 'sip');
  c.http = o.http === false ? undefined : address(o.http, { host: '127.0.0.1', port: 8060 }, 'http');
  const outbound = o.outbound ?? 'dns';
  if (outbound === 'dns' || outbound === 'none') c.outbound = { mode: outbound };
  else {
    let uri;
    try {
      uri = parseUri(outbound);
    } catch {
      uri = undefined;
    }
    if (uri === undefined || !isSipUri(uri)) throw new P2psipApiError('config', `outbound: expected dns, none or a sip: URI, got ${JSON.stringify(outbound).slice(0, 80)}`);
    c.outbound = { mode: 'proxy', uri };
  }
  c.advertisedHost = o.advertise;
  c.logLevel = 'info';
  const dataDir = o.dataDir ?? join(home, '.p2psip', overlay);
  if (typeof dataDir !== 'string' || dataDir === '') throw new P2psipApiError('config', 'dataDir: a directory path');
  c.apiTokenDir = dataDir;
  if (o.open === true && o.config !== undefined) throw new P2psipApiError('config', 'open applies to the zero-configuration overlay; with config the configuration document decides');
  if (o.bootstrap !== undefined && !Array.isArray(o.bootstrap)) throw new P2psipApiError('config', 'bootstrap: a list of addresses');
  const kinds = (o.kinds ?? []).map(kindDefinition);
  c.reload = {
    listen: address(o.listen, { host: '0.0.0.0', port: 6084 }, 'listen'),
    bootstrap: (o.bootstrap ?? []).map((b, i) => address(b, { host: '', port: 0 }, `bootstrap[${i}]`)),
    dataDir,
    client: o.client === true,
    open: o.open === true,
    configSource: o.config,
    configCa: o.configCa,
    credentials: o.credentials,
    staticRegistrations: [],
    peerIdleMs: DEFAULT_PEER_IDLE_MS,
    discovery: o.discovery !== false,
    ...(o.ice === true ? { ice: true } : {}),
    ...(kinds.length === 0 ? {} : { kinds }),
  };
  return c;
}
