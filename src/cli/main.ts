#!/usr/bin/env node
/**
 * The p2psip command line (the contract of DESIGN.md). Exit codes: 0 clean, 1 runtime failure, 2 usage.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import type { LevelWithSilent } from 'pino';
import { createLogger, isLogFormat, LOG_FORMATS } from '../platform/logger.js';
import { P2psipError } from '../lib/errors.js';
import { ConfigError, DEFAULT_PEER_IDLE_MS, defaultPeerConfig, parseHostPort, type PeerConfig } from '../node/peer-config.js';
import { parseStaticRegistration } from '../usages/sip/parse-static-registration.js';
import { parseSipLimits } from '../node/parse-sip-limits.js';
import { parseNatOptions } from '../node/parse-nat-options.js';
import { parseMediaOptions } from '../node/parse-media-options.js';
import { MAX_STATIC_REGISTRATIONS } from '../usages/sip/static-registrations.js';
import { STOP_DEADLINE_MS, startPeer } from '../node/run-peer.js';
import { API_TOKEN_FILE } from '../platform/api-token.js';
import { parseUri, isSipUri } from '../sip/message/index.js';
import { formatAddress, softphoneHelp } from './messages.js';
import { explainStartError, type BoundAddress } from './start-errors.js';
import { UP_EXAMPLES, packageVersion } from './help-texts.js';
import { registerEnrollServerCommand } from './enroll-server-command.js';
import { simCommand } from './sim-command.js';
import { registerDemoCommand } from './demo-command.js';
import { registerUserCommand } from './user-command.js';
import { createOverlaySimPeerFactory } from '../node/overlay-sim-peer.js';

interface UpOptions {
  overlay: string;
  domain: string[];
  listen: string;
  sip: string;
  sipTls?: string;
  sipWs?: string;
  sipWss?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  http: string | false;
  bootstrap?: string;
  config?: string;
  dataDir?: string;
  client?: boolean;
  standalone?: boolean;
  user?: string;
  passwordFile?: string;
  configCa?: string;
  outbound: string;
  advertise?: string;
  static: string[];
  sipLimit?: string[];
  peerIdle?: string;
  tlsRecordPerMessage?: boolean;
  discovery?: boolean;
  open?: boolean;
  ice?: boolean;
  turnUser: string[];
  turnServer?: string;
  turnCredentials?: string;
  stunServer: string[];
  turnBandwidth?: string;
  turnTotalBandwidth?: string;
  media?: string;
  mediaPorts?: string;
  mediaTimeout?: string;
  mediaAddress?: string;
  logLevel: string;
  logFormat: string;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function buildConfig(o: UpOptions): PeerConfig {
  const c = defaultPeerConfig();
  c.overlay = o.overlay;
  c.domains = o.domain;
  c.sip = parseHostPort(o.sip, '--sip');
  if (o.sipTls) c.sipTls = parseHostPort(o.sipTls, '--sip-tls');
  if (o.sipWs) c.sipWs = parseHostPort(o.sipWs, '--sip-ws');
  if (o.sipWss) c.sipWss = parseHostPort(o.sipWss, '--sip-wss');
  if (o.tlsCert || o.tlsKey) {
    if (!o.tlsCert || !o.tlsKey) throw new ConfigError('--tls-cert and --tls-key go together');
    c.tls = { certFile: o.tlsCert, keyFile: o.tlsKey, ...(o.tlsCa ? { caFile: o.tlsCa } : {}) };
  }
  c.http = o.http === false ? undefined : parseHostPort(o.http, '--http');
  if (o.outbound === 'dns') c.outbound = { mode: 'dns' };
  else if (o.outbound === 'none') c.outbound = { mode: 'none' };
  else {
    let uri;
    try {
      uri = parseUri(o.outbound);
    } catch {
      uri = undefined;
    }
    if (uri === undefined || !isSipUri(uri)) throw new ConfigError(`--outbound: expected dns, none or a sip: URI, got '${o.outbound}'`);
    c.outbound = { mode: 'proxy', uri };
  }
  c.advertisedHost = o.advertise;
  if ((o.sipLimit ?? []).length > 0) c.sipLimits = parseSipLimits(o.sipLimit ?? []);
  c.logLevel = o.logLevel;
  // the HTTP API token lives in the data directory, with or without the overlay
  const dataDir = o.dataDir ?? join(homedir(), '.p2psip', o.overlay);
  c.apiTokenDir = dataDir;
  c.media = parseMediaOptions(o);
  if (o.standalone !== true) {
    const bootstrap = (o.bootstrap ?? '')
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x !== '')
      .map((x) => parseHostPort(x, '--bootstrap'));
    if ((o.user === undefined) !== (o.passwordFile === undefined)) throw new ConfigError('--user and --password-file go together');
    let credentials: { username: string; password: string } | undefined;
    if (o.user !== undefined && o.passwordFile !== undefined) {
      let password: string;
      try {
        password = readFileSync(o.passwordFile, 'utf8').replace(/\r?\n$/, '');
      } catch (e) {
        throw new ConfigError(`--password-file: cannot read ${o.passwordFile} (${(e as Error).message})`);
      }
      credentials = { username: o.user, password };
    }
    let configCa: string | undefined;
    if (o.configCa !== undefined) {
      try {
        configCa = readFileSync(o.configCa, 'utf8');
      } catch (e) {
        throw new ConfigError(`--config-ca: cannot read ${o.configCa} (${(e as Error).message})`);
      }
    }
    const statics = (o.static ?? []).map((text) => {
      const r = parseStaticRegistration(text, o.overlay);
      if (!r.ok) throw new ConfigError(`--static: ${r.error}`);
      return r.value;
    });
    if (statics.length > MAX_STATIC_REGISTRATIONS) throw new ConfigError(`--static: at most ${MAX_STATIC_REGISTRATIONS} static registrations`);
    if (statics.length > 0 && o.client === true) throw new ConfigError('--static needs a peer that stores its registrations (drop --client)');
    let peerIdleMs = DEFAULT_PEER_IDLE_MS;
    if (o.peerIdle !== undefined) {
      const n = Number(o.peerIdle);
      if (!/^\d+$/.test(o.peerIdle) || !Number.isSafeInteger(n) || n < 1 || n > 86_400) {
        throw new ConfigError(`--peer-idle: expected seconds from 1 to 86400, got '${o.peerIdle}'`);
      }
      peerIdleMs = n * 1000;
    }
    // issue 15: open/closed is part of the zero-configuration overlay; a document decides for itself
    if (o.open === true && o.config !== undefined) throw new ConfigError('--open applies to the zero-configuration overlay; with --config the configuration document decides');
    c.reload = {
      listen: parseHostPort(o.listen, '--listen'),
      bootstrap,
      dataDir,
      client: o.client === true,
      open: o.open === true,
      configSource: o.config,
      configCa,
      credentials,
      staticRegistrations: statics,
      peerIdleMs,
      discovery: o.discovery !== false,
      ...(o.tlsRecordPerMessage === true ? { coalesceTlsWrites: false } : {}),
      ...(o.ice === true ? { ice: true } : {}),
      ...parseNatOptions(o),
    };
  } else if (o.bootstrap || o.config || o.client || (o.static ?? []).length > 0 || o.peerIdle !== undefined) {
    throw new ConfigError('--bootstrap, --config, --client, --static and --peer-idle need the overlay (drop --standalone)');
  }
  return c;
}

/** After SIGINT/SIGTERM the process exits at the latest this long after the signal, ms (exit code 0). */
const STOP_EXIT_DEADLINE_MS = STOP_DEADLINE_MS + 1_000;

/** The addresses `up` binds with this configuration, and their flags (for start errors). */
function boundAddresses(config: PeerConfig): BoundAddress[] {
  const out: BoundAddress[] = [];
  const hp = '<host:port>';
  if (config.reload !== undefined) out.push({ flag: '--listen', what: 'the overlay links: TLS, and UDP with --ice', port: config.reload.listen.port, argument: hp });
  out.push({ flag: '--sip', what: 'the SIP front, UDP and TCP', port: config.sip.port, argument: hp });
  if (config.sipTls) out.push({ flag: '--sip-tls', what: 'SIP over TLS', port: config.sipTls.port, argument: hp });
  if (config.sipWs) out.push({ flag: '--sip-ws', what: 'SIP over WebSocket', port: config.sipWs.port, argument: hp });
  if (config.sipWss) out.push({ flag: '--sip-wss', what: 'SIP over secure WebSocket', port: config.sipWss.port, argument: hp });
  if (config.http) out.push({ flag: '--http', what: 'the dashboard and JSON API', port: config.http.port, argument: `${hp} (or --no-http)` });
  const media = config.media;
  if (media !== undefined && media.mode !== 'direct') out.push({ flag: '--media-ports', what: 'the media relay', port: media.range[0], lastPort: media.range[1], argument: '<lo-hi>' });
  return out.filter((b) => b.port !== 0);
}

/** A data directory that cannot be one (a file in the way) is refused before anything starts. */
function checkDataDir(dir: string, flag: string): void {
  if (!existsSync(dir)) return;
  if (!statSync(dir).isDirectory()) throw new ConfigError(`${flag} ${dir}: not a directory (a file is in the way); choose another with ${flag} <dir>`);
}

async function up(o: UpOptions): Promise<void> {
  const config = buildConfig(o);
  const dataDir = config.reload?.dataDir ?? config.apiTokenDir;
  if (dataDir !== undefined) checkDataDir(dataDir, o.dataDir === undefined ? '--data-dir (default ~/.p2psip/<overlay>)' : '--data-dir');
  if (!isLogFormat(o.logFormat)) throw new ConfigError(`--log-format: expected ${LOG_FORMATS.join(', ')}, got '${o.logFormat}'`);
  // issue 17: readable lines on a terminal, JSON lines when piped (or as asked)
  const logger = createLogger({ level: config.logLevel as LevelWithSilent, format: o.logFormat }); // --log-level has choices
  let peer: Awaited<ReturnType<typeof startPeer>>;
  try {
    peer = await startPeer(config, logger);
  } catch (err) {
    const explained = explainStartError(err, boundAddresses(config), dataDir === undefined ? undefined : { flag: '--data-dir', path: dataDir });
    if (explained !== undefined) throw new P2psipError('START', explained);
    throw err;
  }
  if (peer.overlay) {
    const st = peer.overlay.node.status();
    const l = peer.overlay.listen;
    process.stdout.write(
      `p2psip: overlay ${config.overlay}, Node-ID ${st.nodeId}, ${peer.overlay.node.options.client ? 'client' : `links on ${l ? `${l.host}:${l.port}` : '?'}`}, ${peer.overlay.node.state}` +
        ` (${peer.overlay.joinStatus().state === 'joined' ? 'joined through a bootstrap peer' : config.reload && config.reload.bootstrap.length > 0 ? 'alone: no bootstrap peer answered, still trying' : 'a new overlay'}; identity ${peer.overlay.prepared.source})\n`,
    );
  }
  const udp = peer.sipAddresses.find((a) => a.protocol === 'udp');
  if (peer.http && peer.apiToken) {
    // issue 14: state-changing API requests need this token; reads stay open on loopback (issue 17:
    // an API bound beyond loopback wants it for every request, or the dashboard's login)
    const loopback = /^(127\.|::1$|localhost$)/.test(peer.http.host);
    process.stderr.write(
      `p2psip: API token for http://${peer.http.host}:${peer.http.port}/ (${loopback ? 'POST requests' : 'every request, or the login page'}: Authorization: Bearer <token>): ${peer.apiToken.token}` +
        (peer.apiToken.file === undefined ? '\n' : ` (kept in ${peer.apiToken.file})\n`),
    );
  }
  process.stdout.write(
    `p2psip: SIP front listening on ${peer.sipAddresses.map(formatAddress).join(', ')}` +
      (peer.http ? `; dashboard http://${peer.http.host}:${peer.http.port}/` : '') +
      `\n`,
  );
  if (udp) process.stdout.write(softphoneHelp(config.overlay, udp, peer.advertisedHost, peer.sip.auth !== undefined));
  // issue 15: say how phones get in
  if (peer.overlay !== undefined) {
    process.stdout.write(
      peer.sip.auth !== undefined && peer.overlay.config.sipDigestVerifier !== undefined
        ? `p2psip: phones register with the password of their user at the enrollment server\n`
        : peer.sip.auth !== undefined
        ? `p2psip: closed overlay: phones register with their user's password (create users with \`npx p2psip user add <name>\` in the source tree, \`p2psip user add <name>\` when installed; \`--open\` for a lab without passwords)\n`
        : `p2psip: open overlay (--open): any phone may register any user of ${config.overlay}\n`,
    );
  }
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      // not cut short: process.exit() while the data directory's LMDB environments are being closed
      // crashed the process (SIGSEGV) or hung it in the interop tests; the stop is bounded anyway
      logger.warn({ signal, deadlineMs: STOP_EXIT_DEADLINE_MS }, 'signal while stopping: the stop goes on (bounded)');
      return;
    }
    stopping = true;
    logger.info({ signal }, 'stopping');
    // issue 14: the process ends within STOP_DEADLINE_MS + 1 s whatever the neighbours do; the stop's
    // steps are bounded themselves (and log what they left), this catches anything that still hangs
    setTimeout(() => {
      logger.warn({ signal, deadlineMs: STOP_EXIT_DEADLINE_MS }, 'stop not finished by its deadline: exiting anyway');
      process.exit(0);
    }, STOP_EXIT_DEADLINE_MS);
    peer.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // issue 15: nothing a running peer uses can be re-read (its flags and the overlay configuration
  // hold for its life); a terminal's hang-up or `systemctl kill -s HUP` must not end it
  process.on('SIGHUP', () => logger.warn({ signal: 'SIGHUP' }, 'SIGHUP ignored: nothing is re-read while running; restart the peer to change its flags'));
}

/** Where a read command finds the API token when the peer asks for one (its API bound beyond loopback). */
interface ReadAuth {
  token?: string;
  dataDir?: string;
}

/** The API token for reads: --token, else the api-token file of --data-dir, else of the default data directory. */
function readToken(auth: ReadAuth): string {
  if (auth.token !== undefined) return auth.token;
  const file = join(auth.dataDir ?? join(homedir(), '.p2psip', 'p2psip.local'), API_TOKEN_FILE);
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (e) {
    throw new ConfigError(`the peer wants its API token (its API listens beyond loopback) and ${file} cannot be read (${(e as Error).message}); give --token or --data-dir`);
  }
}

async function getJson(http: string, path: string, auth: ReadAuth = {}): Promise<unknown> {
  const hp = parseHostPort(http, '--http');
  const host = hp.host.includes(':') ? `[${hp.host}]` : hp.host;
  const get = async (token: string | undefined): Promise<Response> => {
    try {
      return await fetch(`http://${host}:${hp.port}${path}`, { signal: AbortSignal.timeout(5000), ...(token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } }) });
    } catch (err) {
      throw new P2psipError('UNREACHABLE', `no p2psip peer answers at http://${host}:${hp.port} (${(err as Error).message}); is it running? (--http)`);
    }
  };
  // on loopback reads need no token; a peer whose API is bound beyond it answers 401 without one
  let res = await get(auth.token);
  if (res.status === 401 && auth.token === undefined) res = await get(readToken(auth));
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    throw new P2psipError('API', `http://${host}:${hp.port}${path} answered ${res.status} without JSON: is that a p2psip peer? (--http)`);
  }
  if (!res.ok) {
    const error = typeof (body as { error?: unknown } | null)?.error === 'string' ? (body as { error: string }).error : JSON.stringify(body);
    throw new P2psipError('API', `the peer answered ${res.status}: ${error}`);
  }
  return body;
}

export function program(): Command {
  const p = new Command('p2psip').description('peer-to-peer SIP: a RELOAD overlay instead of a registrar and proxy');
  p.exitOverride();
  p.version(packageVersion(), '-V, --version', 'print the version of p2psip');
  p.command('up')
    .description('run a peer in the foreground; SIGINT/SIGTERM stop it cleanly')
    .option('--overlay <name>', 'overlay name, also the SIP domain served', 'p2psip.local')
    .option('--domain <name>', 'another SIP domain served as local (repeatable)', collect, [])
    .option('--listen <host:port>', 'overlay link address (TLS); port 0 = any free port', '0.0.0.0:6084')
    .option('--sip <host:port>', 'SIP front, UDP and TCP', '0.0.0.0:5060')
    .option('--sip-tls <host:port>', 'SIP over TLS (needs --tls-cert/--tls-key)')
    .option('--sip-ws <host:port>', 'SIP over WebSocket (RFC 7118)')
    .option('--sip-wss <host:port>', 'SIP over secure WebSocket (needs --tls-cert/--tls-key)')
    .option('--tls-cert <file>', 'PEM certificate for TLS/WSS')
    .option('--tls-key <file>', 'PEM private key for TLS/WSS')
    .option('--tls-ca <file>', 'PEM CA bundle to verify TLS peers')
    .option('--http <host:port>', 'dashboard and JSON API', '127.0.0.1:8060')
    .option('--no-http', 'no dashboard / JSON API')
    .option('--bootstrap <host:port,...>', "join through these peers: each one's overlay port (its --listen, 6084 by default); none: LAN discovery, else a new overlay")
    .option('--open', 'an open overlay: any peer may register any user of the domain, phones are not challenged (labs, demos); default: closed — users need `p2psip user add` and phones their password')
    .option('--no-discovery', 'no LAN discovery (mDNS/DNS-SD advertisement and browsing, answers for a .local SIP domain, multicast bootstrap)')
    .option('--config <file|url>', 'overlay configuration document (enrolled overlays); default: self-signed LAN overlay')
    .option('--config-ca <file>', 'PEM trust anchor of the https configuration / enrollment server')
    .option('--user <name>', 'enrollment account (with --password-file)')
    .option('--password-file <file>', 'file holding the enrollment password')
    .option('--data-dir <dir>', 'identity, certificates, the HTTP API token, persisted state (default ~/.p2psip/<overlay>)')
    .option('--client', 'join as a client: use the overlay, never route or store')
    .option('--ice', 'Attach with ICE: DTLS-UDP-SR links over the overlay UDP port, across NATs (TLS stays for bootstrap and as fallback)')
    .option('--turn-user <user:password>', 'a user our TURN relay accepts besides overlay members (repeatable; public peers with --ice relay)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--turn-server <ip:port>', "an operator's TURN server (e.g. coturn), with --turn-credentials: a peer behind a NAT takes its relays there first; the overlay's TURN peers are the fallback when it fails")
    .option('--turn-credentials <user:password>', 'long-term credentials for --turn-server')
    .option('--stun-server <ip:port>', "an operator's STUN server, asked with the bootstrap peers for our public address (repeatable, at most 4; optional: every peer is a STUN server)", collect, [])
    .option('--turn-bandwidth <bytes-per-second>', 'the relay this peer offers when public: bytes/s per allocation, each direction (default 512000)')
    .option('--turn-total-bandwidth <bytes-per-second>', 'the relay this peer offers when public: bytes/s of all allocations together, each direction (default 4000000)')
    .addOption(new Option('--media <mode>', 'media relay: auto (relay only where the phones cannot reach each other), relay (always), direct (never)').choices(['auto', 'relay', 'direct']).default('auto'))
    .option('--media-ports <lo-hi>', 'UDP ports of the media relay (the first is the trunk between peers without --ice)', '20000-29999')
    .option('--media-timeout <seconds>', 'release a call with no media and no SIP for this long', '60')
    .option('--media-address <ip>', 'the address phones send media to (default: the SIP address, or --advertise)')
    .option('--standalone', 'SIP front only, no RELOAD overlay (a plain registrar and proxy)')
    .option('--outbound <dns|none|sip-uri>', 'how to reach AoRs outside our domains', 'dns')
    .option('--advertise <host>', 'address to put in Via/Record-Route when --sip is a wildcard')
    .option('--static <aor=contact-uri>', 'a permanent registration stored in the overlay, e.g. sip:voicemail@<overlay>=sip:vm@127.0.0.1:5090 (repeatable)', collect, [])
    .option('--sip-limit <name=value>', 'a connection cap or deadline of the SIP front (TCP/TLS/WS), e.g. connections-per-source=64 or header-timeout=10 (seconds); repeatable; names and defaults in docs/architecture.md', collect, [])
    .option('--peer-idle <seconds>', 'forget a peer located by AppAttach after this long without calls (default 600)')
    .option('--tls-record-per-message', 'one TLS record per RELOAD frame on overlay links, no write coalescing (for Wireshark, which dissects only the first frame of a record)')
    .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'))
    .addOption(new Option('--log-format <format>', 'log lines on stderr: readable on a terminal and JSON otherwise (auto), or always json / pretty').choices([...LOG_FORMATS]).default('auto'))
    .addHelpText('after', UP_EXAMPLES)
    .action(async (o: UpOptions) => up(o));
  registerEnrollServerCommand(p);
  registerDemoCommand(p);
  registerUserCommand(p);
  // the simulator drives the real overlay code (src/node/overlay-sim-peer.ts)
  const sim: Command = simCommand(p, () => {
    const o = sim.opts<{ fingersPerRange: string; fingerDensity: string; maxFingers: string; routeCache: boolean; neighbours: string; updateInterval: string }>();
    return createOverlaySimPeerFactory({
      overlay: {
        fingersPerRange: positiveInt(o.fingersPerRange, '--fingers-per-range'),
        fingerDensity: fraction(o.fingerDensity, '--finger-density'),
        maxFingers: positiveInt(o.maxFingers, '--max-fingers'),
        routeCache: o.routeCache,
        neighbourCount: positiveInt(o.neighbours, '--neighbours'),
        updateIntervalMs: positiveInt(o.updateInterval, '--update-interval') * 1000,
      },
    });
  });
  sim
    .option('--fingers-per-range <n>', 'peers kept per finger range at least (RFC 6940 §10.7.4.2)', '1')
    .option('--finger-density <d>', 'share of the overlay kept as fingers, spread over the ring (0 = Chord; 0.15: median 2 hops up to ~1,300 peers)', '0')
    .option('--max-fingers <n>', 'fingers kept for the density at most', '192')
    .option('--no-route-cache', 'route through neighbours and fingers only (plain CHORD-RELOAD)')
    .option('--neighbours <n>', 'successors and predecessors kept', '5')
    .option('--update-interval <s>', 'chord-update-interval in seconds', '60');
  p.command('status')
    .description("a running peer's state (same data as GET /api/status)")
    .option('--http <host:port>', 'the peer API address', '127.0.0.1:8060')
    .option('--json', 'print the raw JSON')
    .option('--offset <n>', 'first registration listed (the lists are paged)')
    .option('--limit <n>', 'registrations listed (default 100, at most 1000)')
    .option('--data-dir <dir>', "the peer's data directory, for its API token when its API listens beyond loopback (default ~/.p2psip/p2psip.local)")
    .option('--token <token>', 'the API token (default: read from the data directory when the peer asks for it)')
    .action(async (o: { http: string; json?: boolean; offset?: string; limit?: string } & ReadAuth) => {
      const q = new URLSearchParams();
      for (const [name, v] of [['offset', o.offset], ['limit', o.limit]] as const) {
        if (v === undefined) continue;
        if (!/^\d{1,9}$/.test(v)) throw new ConfigError(`--${name}: expected a count, got '${v}'`);
        q.set(name, v);
      }
      const s = (await getJson(o.http, `/api/status${q.toString() === '' ? '' : `?${q.toString()}`}`, o)) as Record<string, unknown>;
      if (o.json) {
        process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
        return;
      }
      const regs = (s['localRegistrations'] as Array<{ aor: string; contacts: Array<{ contact: string; expiresIn: number }> }>) ?? [];
      // localRegistrations is one page (issue 14); the total is beside it
      const total = typeof s['localRegistrationsTotal'] === 'number' ? s['localRegistrationsTotal'] : regs.length;
      const page = s['page'] as { offset: number } | undefined;
      const shown = regs.length < total ? ` (${regs.length === 0 ? 'none' : `${(page?.offset ?? 0) + 1}–${(page?.offset ?? 0) + regs.length}`} listed; --offset/--limit for others)` : '';
      process.stdout.write(
        `overlay ${String(s['overlay'])}  state ${String(s['state'])}\nSIP ${(s['sip'] as string[]).join(', ')}\n` +
          // issue 15: closed (passwords) or open (--open)
          (typeof (s['auth'] as { mode?: unknown } | null)?.mode === 'string' ? `auth: ${String((s['auth'] as { mode: string }).mode)}\n` : '') +
          // issue 15: alone / joining / joined, and why
          (typeof (s['join'] as { state?: unknown } | null)?.state === 'string' ? `join: ${String((s['join'] as { state: string }).state)} (${String((s['join'] as { reason?: string }).reason ?? '')})\n` : '') +
          `registrations: ${total}${shown}\n` +
          regs.map((r) => `  ${r.aor}  ${r.contacts.map((c) => `${c.contact} (${c.expiresIn}s)`).join(', ')}\n`).join(''),
      );
    });
  p.command('lookup <aor>')
    .description('where the peer says an AoR can be reached: "bob", "bob@p2psip.local" or "sip:bob@p2psip.local"')
    .option('--http <host:port>', 'the peer API address', '127.0.0.1:8060')
    .option('--json', 'print the raw JSON')
    .option('--data-dir <dir>', "the peer's data directory, for its API token when its API listens beyond loopback (default ~/.p2psip/p2psip.local)")
    .option('--token <token>', 'the API token (default: read from the data directory when the peer asks for it)')
    .action(async (given: string, o: { http: string; json?: boolean } & ReadAuth) => {
      // "bob" works for dialling, so it works here: the user at the peer's own domain
      let aor = given.trim();
      if (!/^sips?:/i.test(aor)) {
        if (!aor.includes('@')) {
          const s = (await getJson(o.http, '/api/status', o)) as { overlay?: unknown };
          if (typeof s.overlay !== 'string') throw new P2psipError('API', 'the peer did not say its domain; give the whole AoR, e.g. sip:bob@p2psip.local');
          aor = `${aor}@${s.overlay}`;
        }
        aor = `sip:${aor}`;
      }
      const r = (await getJson(o.http, `/api/lookup?aor=${encodeURIComponent(aor)}`, o)) as {
        aor: string;
        contacts: Array<{ contact: string; expiresIn: number; source: string }>;
        overlay?: { resourceId?: string; registrations?: Array<{ nodeId: string; type: string; sip?: string; uri?: string; error?: string }>; error?: string } | null;
      };
      if (o.json) {
        process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        return;
      }
      const regs = r.overlay?.registrations ?? [];
      for (const c of r.contacts) process.stdout.write(`${r.aor} -> ${c.contact} via ${c.source} (expires in ${c.expiresIn}s)\n`);
      if (r.overlay?.resourceId !== undefined) process.stdout.write(`${r.aor}: Resource-ID ${r.overlay.resourceId}\n`);
      if (r.overlay?.error !== undefined) process.stdout.write(`${r.aor}: overlay lookup failed: ${r.overlay.error}\n`);
      for (const g of regs) {
        const where = g.sip ?? g.uri ?? g.error ?? g.type;
        process.stdout.write(`${r.aor} -> registered at peer ${g.nodeId} (${g.type}): ${where}\n`);
      }
      if (r.contacts.length === 0 && regs.length === 0) {
        process.stdout.write(`${r.aor}: not registered\n`);
        process.exitCode = 1;
      }
    });
  return p;
}

function positiveInt(v: string, what: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`${what}: expected a positive integer, got '${v}'`);
  return n;
}

function fraction(v: string, what: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new ConfigError(`${what}: expected a number from 0 to 1, got '${v}'`);
  return n;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`p2psip: ${err.message}\n`);
      return 2;
    }
    const msg = err instanceof P2psipError || err instanceof Error ? err.message : String(err);
    process.stderr.write(`p2psip: ${msg}\n`);
    return 1;
  }
}

const code = await main(process.argv);
if (code !== 0) process.exit(code);
