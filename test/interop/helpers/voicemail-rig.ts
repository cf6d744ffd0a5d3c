/**
 * What voicemail-softphones.test.ts needs (issue 16): `p2psip up` peers of one CLOSED overlay (the
 * built CLI) with the media relay's port pairs (voicemail takes its RTP ports there: each peer gets a
 * range of its own), and a baresip (1.0.0) that plays a wav file as its microphone and dumps what it
 * decodes, subscribes to message-summary (the `mwi` module), and is driven over ctrl_tcp on loopback.
 *
 * baresip facts used here (1.0.0, read in its sources and seen on this machine):
 * - `mwi` SUBSCRIBEs to `message-summary` for an account with `;mwi=yes` once it registered (Route:
 *   the account's outbound proxy, digest answered); each NOTIFY of that subscription with a body
 *   becomes the ctrl_tcp event `{ type: 'MWI_NOTIFY', class: 'mwi', param: <the body> }`. A NOTIFY
 *   outside a subscription is not shown (libre's sipevent answers it; see the test for what).
 * - the `aufile` source ends the call when its file ends; `sndfile` writes what the phone decoded to
 *   `dump-<time>-dec.wav` in `snd_path` (baresip 1.0's aufile plays nothing);
 * - `sndcode <digits>` sends DTMF (RFC 4733 telephone-event, which baresip offers by default).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import type { BoundedProcess } from '../../../harness/bounded-process.js';
import { waitJoined } from '../../../harness/overlay-peers.js';
import { P2PSIP_CLI } from '../../../harness/paths.js';
import type { ProcessScope } from '../../../harness/process-scope.js';
import { P2PSIP_READY_LINE, type SipServer } from '../../../harness/sip-server.js';
import { encodeNetstring, onNetstringFrames } from './netstring-json.js';

export const VM_OVERLAY = 'p2psip.local';
/** Media relay ports per peer (at least 8: the trunk and the pairs voicemail and the relay take). */
const MEDIA_PORTS_PER_PEER = 16;

export interface VoicemailPeer {
  readonly name: string;
  readonly port: number;
  readonly httpPort: number;
  readonly linkPort: number;
  readonly mediaPorts: readonly [number, number];
  readonly dataDir: string;
  readonly process: BoundedProcess;
}

/** The API token `p2psip up` keeps in its data directory. */
export function apiToken(peer: VoicemailPeer): string {
  return readFileSync(join(peer.dataDir, 'api-token'), 'utf8').trim();
}

/** `http://127.0.0.1:<httpPort><path>`. */
export function apiUrl(peer: VoicemailPeer, path: string): string {
  return `http://127.0.0.1:${peer.httpPort}${path}`;
}

/** GET /api/status, parsed. */
export async function peerStatus(peer: VoicemailPeer): Promise<Record<string, unknown>> {
  const res = await fetch(apiUrl(peer, '/api/status'), { signal: AbortSignal.timeout(5000) });
  return (await res.json()) as Record<string, unknown>;
}

/** The voicemail service's counters (/api/status `services.voicemail`), null when the peer runs none. */
export async function voicemailStatus(peer: VoicemailPeer): Promise<Record<string, unknown> | null> {
  const s = (await peerStatus(peer))['services'] as { voicemail?: Record<string, unknown> | null } | undefined;
  return s?.voicemail ?? null;
}

/** `POST /api/users/add` (what `p2psip user add` does). */
export async function addUser(peer: VoicemailPeer, user: string, password: string): Promise<void> {
  const res = await fetch(apiUrl(peer, `/api/users/add?user=${encodeURIComponent(user)}`), {
    method: 'POST',
    headers: { authorization: `Bearer ${apiToken(peer)}`, 'x-p2psip-password': Buffer.from(password).toString('base64') },
    signal: AbortSignal.timeout(10_000),
  });
  if (res.status !== 200) throw new Error(`${peer.name}: user add ${user}: ${res.status} ${await res.text()}`);
}

/**
 * `count` peers of a closed overlay (the first starts it, the others join through it; no LAN
 * discovery, default `--media auto` with a port range each), joined with successors; the users are
 * added at the first peer (the directory lives in the overlay).
 */
export async function startVoicemailPeers(scope: ProcessScope, count: number, users: Readonly<Record<string, string>>, lifetimeMs: number): Promise<VoicemailPeer[]> {
  const root = scope.tempDir('p2psip-voicemail-');
  const peers: VoicemailPeer[] = [];
  for (let i = 0; i < count; i++) {
    const name = String.fromCharCode(65 + i);
    const port = await scope.port();
    const httpPort = await scope.port();
    const linkPort = await scope.port();
    const media = await scope.port({ span: MEDIA_PORTS_PER_PEER });
    const mediaPorts = [media, media + MEDIA_PORTS_PER_PEER - 1] as const;
    const dataDir = join(root, `peer-${name}`);
    mkdirSync(dataDir, { recursive: true });
    const args = [
      P2PSIP_CLI, 'up',
      '--overlay', VM_OVERLAY,
      '--sip', `127.0.0.1:${port}`,
      '--http', `127.0.0.1:${httpPort}`,
      '--listen', `127.0.0.1:${linkPort}`,
      '--outbound', 'none',
      '--no-discovery',
      '--media', 'auto',
      '--media-ports', `${mediaPorts[0]}-${mediaPorts[1]}`,
      '--data-dir', dataDir,
      '--log-level', 'warn',
      ...(i === 0 ? [] : ['--bootstrap', `127.0.0.1:${peers[0]!.linkPort}`]),
    ];
    const proc = scope.spawn({ command: process.execPath, args, name: `p2psip:${name}`, lifetimeMs, maxLines: 5000 });
    await proc.waitForLine(P2PSIP_READY_LINE, { timeoutMs: 30_000 });
    peers.push({ name, port, httpPort, linkPort, mediaPorts, dataDir, process: proc });
  }
  const asServer = (p: VoicemailPeer): SipServer => ({ kind: 'p2psip', host: '127.0.0.1', port: p.port, httpPort: p.httpPort, process: p.process, stop: () => p.process.stop('SIGTERM', 8000) });
  await waitJoined(peers.map(asServer), count, 60_000);
  for (const [user, password] of Object.entries(users)) await addUser(peers[0]!, user, password);
  return peers;
}

export interface AudioBaresipOptions {
  readonly user: string;
  /** Config directory (created). */
  readonly dir: string;
  /** SIP port; baresip's TLS listener takes sipPort+1 (allocate a span of 2). */
  readonly sipPort: number;
  readonly ctrlPort: number;
  readonly consPort: number;
  readonly rtpPorts: readonly [number, number];
  /** The peer's SIP front: registrar and outbound proxy of the AoR sip:<user>@<domain>. */
  readonly proxyPort: number;
  readonly domain: string;
  readonly password: string;
  /** 16-bit PCM mono wav at 8 kHz played as the microphone; at its end baresip hangs up. */
  readonly source: string;
  /** `;mwi=yes`: subscribe to message-summary after registering. */
  readonly mwi: boolean;
  readonly lifetimeMs: number;
}

/** A ctrl_tcp event, e.g. { type: 'CALL_ESTABLISHED', direction: 'outgoing', peeruri: … }. */
export interface AudioBaresipEvent {
  readonly type: string;
  readonly at: number;
  readonly [key: string]: unknown;
}

const MAX_EVENTS = 1000;
const AUDIO_RATE = 8000;

/** A baresip with a wav microphone, a decoded-audio dump and (optionally) MWI, over ctrl_tcp. */
export class AudioBaresip {
  readonly process: BoundedProcess;
  readonly user: string;
  readonly sipPort: number;
  readonly recordDir: string;
  readonly #ctrl: Socket;
  readonly #cons: Socket;
  readonly #events: AudioBaresipEvent[] = [];
  readonly #pending = new Map<string, (r: { ok: boolean; data: string }) => void>();
  #wakers: Array<() => void> = [];
  #token = 0;

  private constructor(proc: BoundedProcess, opts: AudioBaresipOptions, recordDir: string, ctrl: Socket, cons: Socket) {
    this.process = proc;
    this.user = opts.user;
    this.sipPort = opts.sipPort;
    this.recordDir = recordDir;
    this.#ctrl = ctrl;
    this.#cons = cons;
    onNetstringFrames(ctrl, (f) => this.#onFrame(f));
    ctrl.on('error', () => undefined);
    // the console is not read, only kept open (baresip writes its menu output there)
    cons.on('data', () => undefined);
    cons.on('error', () => undefined);
  }

  static async start(scope: ProcessScope, opts: AudioBaresipOptions): Promise<AudioBaresip> {
    const recordDir = join(opts.dir, 'received');
    mkdirSync(recordDir, { recursive: true });
    writeAudioBaresipConfig(opts, recordDir);
    const proc = scope.spawn({ command: 'baresip', args: ['-f', opts.dir], name: `baresip:${opts.user}`, cwd: opts.dir, lifetimeMs: opts.lifetimeMs });
    await proc.waitForLine(/baresip is ready/, { timeoutMs: 15_000 });
    const ctrl = await connectTcp(opts.ctrlPort);
    const cons = await connectTcp(opts.consPort);
    const phone = new AudioBaresip(proc, opts, recordDir, ctrl, cons);
    scope.defer(() => phone.#close());
    return phone;
  }

  /** Waits for baresip's "<user>@…: … 200 OK" registration line (or another final status, returned). */
  waitRegistered(timeoutMs: number): Promise<string> {
    return this.process.waitForLine(new RegExp(`^${this.user}@.*\\b(200 OK|[3-6]\\d\\d [A-Za-z])`), { timeoutMs });
  }

  /** Sends a ctrl_tcp command ('dial', 'hangup', 'sndcode', 'quit', …) and waits for its response. */
  command(command: string, params?: string, timeoutMs = 10_000): Promise<{ ok: boolean; data: string }> {
    const token = String(++this.#token);
    const body = JSON.stringify(params === undefined ? { command, token } : { command, params, token });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(token);
        reject(new Error(`baresip ${this.user}: no answer to '${command}' in ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(token, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      this.#ctrl.write(encodeNetstring(body));
    });
  }

  /** Number of events so far (a cursor for waitEvent). */
  eventCount(): number {
    return this.#events.length;
  }

  events(): readonly AudioBaresipEvent[] {
    return this.#events;
  }

  /** The first event (from index `since`) of this type matching `where`. */
  async waitEvent(type: string, opts: { readonly timeoutMs: number; readonly since?: number; readonly where?: (e: AudioBaresipEvent) => boolean }): Promise<AudioBaresipEvent> {
    const match = (e: AudioBaresipEvent): boolean => e.type === type && (opts.where?.(e) ?? true);
    const deadline = Date.now() + opts.timeoutMs;
    for (;;) {
      const found = this.#events.slice(opts.since ?? 0).find(match);
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`baresip ${this.user}: no ${type} event in ${opts.timeoutMs} ms (events: ${this.#events.map((e) => e.type).join(', ')})\n${this.process.tail(20)}`);
      }
      // the next event (any) wakes us; bounded by the deadline
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.#wakers.push(done);
      });
    }
  }

  /** The decoded-audio dumps (`dump-…-dec.wav`) sndfile wrote so far, oldest first. */
  recordings(): string[] {
    return readdirSync(this.recordDir).filter((f) => /^dump-.*-dec\.wav$/.test(f)).sort().map((f) => join(this.recordDir, f));
  }

  /** Asks baresip to quit and waits for it to exit (SIGTERM after timeoutMs). */
  async quit(timeoutMs = 10_000): Promise<number | null> {
    void this.command('quit').catch(() => undefined);
    const timer = setTimeout(() => this.process.signal('SIGTERM'), timeoutMs);
    try {
      return (await this.process.exited).code;
    } finally {
      clearTimeout(timer);
      this.#close();
    }
  }

  #onFrame(frame: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(frame);
    } catch {
      return;
    }
    if (typeof msg !== 'object' || msg === null) return;
    const m = msg as Record<string, unknown>;
    if (m['response'] === true && typeof m['token'] === 'string') {
      const done = this.#pending.get(m['token']);
      this.#pending.delete(m['token']);
      done?.({ ok: m['ok'] === true, data: typeof m['data'] === 'string' ? m['data'] : '' });
      return;
    }
    if (m['event'] === true && typeof m['type'] === 'string') {
      if (this.#events.length < MAX_EVENTS) this.#events.push({ ...m, type: m['type'], at: Date.now() });
      const wake = this.#wakers;
      this.#wakers = [];
      for (const w of wake) w();
    }
  }

  #close(): void {
    this.#ctrl.destroy();
    this.#cons.destroy();
  }
}

/** Writes config, accounts and an empty contacts file into opts.dir. */
export function writeAudioBaresipConfig(opts: AudioBaresipOptions, recordDir: string): void {
  const config = [
    'poll_method\t\tepoll',
    `sip_listen\t\t127.0.0.1:${opts.sipPort}`,
    'net_interface\t\t127.0.0.1',
    // never asked (numeric addresses, an outbound proxy), but keeps baresip off the machine's resolver
    'dns_server\t\t127.0.0.1:53',
    'call_local_timeout\t60',
    'call_max_calls\t\t4',
    `audio_player\t\taufile,${join(opts.dir, 'received.wav')}`,
    `audio_source\t\taufile,${opts.source}`,
    `audio_alert\t\taufile,${join(opts.dir, 'alert.wav')}`,
    `ausrc_srate\t\t${AUDIO_RATE}`,
    'ausrc_channels\t\t1',
    `auplay_srate\t\t${AUDIO_RATE}`,
    'auplay_channels\t\t1',
    `rtp_ports\t\t${opts.rtpPorts[0]}-${opts.rtpPorts[1]}`,
    'module_path\t\t/usr/lib/baresip/modules',
    'module\t\t\tg711.so',
    'module\t\t\taufile.so',
    'module\t\t\tsndfile.so',
    `snd_path\t\t${recordDir}`,
    'module\t\t\tcons.so',
    'module_app\t\taccount.so',
    'module_app\t\tmenu.so',
    'module_app\t\tcontact.so',
    'module_app\t\tctrl_tcp.so',
    ...(opts.mwi ? ['module_app\t\tmwi.so'] : []),
    `cons_listen\t\t127.0.0.1:${opts.consPort}`,
    `ctrl_tcp_listen\t\t127.0.0.1:${opts.ctrlPort}`,
    '',
  ].join('\n');
  writeFileSync(join(opts.dir, 'config'), config);
  writeFileSync(
    join(opts.dir, 'accounts'),
    `<sip:${opts.user}@${opts.domain};transport=udp>;outbound="sip:127.0.0.1:${opts.proxyPort};transport=udp";auth_pass=${opts.password};` +
      `${opts.mwi ? 'mwi=yes;' : 'mwi=no;'}answermode=manual;regint=600\n`,
  );
  writeFileSync(join(opts.dir, 'contacts'), '');
}

function connectTcp(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port });
    sock.once('connect', () => resolve(sock));
    sock.once('error', reject);
  });
}
