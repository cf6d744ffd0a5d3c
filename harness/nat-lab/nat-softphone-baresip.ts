/**
 * A headless baresip (1.0.0) on a NAT lab host: its own config directory, SIP on the host's address,
 * its LAN's p2psip peer as registrar and outbound proxy (`;outbound=`), the overlay's domain as its
 * AoR's domain; sine audio in, a wav file out — or, with `audio`, a wav file as the microphone (the
 * aufile source: baresip hangs up when it ends) and what it decoded dumped to a wav by the sndfile
 * filter (baresip 1.0's aufile has no player), with rtcpsummary's RTP counts printed when a call
 * closes. ctrl_tcp and cons listen on the namespace's loopback and reach the test through
 * nat-softphone-ctrl.ts, run beside it in the namespace.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BoundedProcess } from '../bounded-process.js';
import { REPO_ROOT } from '../paths.js';
import type { LabHost } from './lab-host.js';

const CTRL_RELAY = join(REPO_ROOT, 'harness', 'nat-lab', 'nat-softphone-ctrl.ts');

export interface LabBaresipOptions {
  readonly user: string;
  /** The AoR's domain (the overlay name). */
  readonly domain: string;
  /** Config directory (created). */
  readonly dir: string;
  /** SIP port on the host's address; baresip's TLS listener takes sipPort+1. */
  readonly sipPort: number;
  /** ctrl_tcp and cons ports on the namespace's 127.0.0.1. */
  readonly ctrlPort: number;
  readonly consPort: number;
  readonly rtpPorts: readonly [number, number];
  /**
   * The local peer's SIP front, host:port (registrar and outbound proxy). Absent: the phone knows only
   * its AoR; its resolver asks the mDNS group (legacy unicast DNS to 224.0.0.251:5353, NAPTR → SRV →
   * A) for the domain, which the peers answer (issue 15) — the host needs a route for 224.0.0.0/4.
   */
  readonly proxy?: string;
  /** Digest password (closed overlays). */
  readonly password?: string;
  readonly lifetimeMs: number;
  /** Contacts; the first is the "current contact" the `message` command sends to. */
  readonly contacts?: readonly { readonly name: string; readonly uri: string }[];
  /** Real audio instead of the 440 Hz sine (nat-media.test.ts). */
  readonly audio?: LabBaresipAudio;
  /**
   * The whole line of the accounts file, as a user writes it (the README's softphone line); replaces
   * the one made from proxy/password (which then only choose the DNS setting).
   */
  readonly accountLine?: string;
}

export interface LabBaresipAudio {
  /** 16-bit PCM wav played as the microphone (aufile); at its end baresip hangs the call up. */
  readonly source: string;
  /** The file's sample rate and channels (ausrc_srate / ausrc_channels; auplay_* and the dump follow). */
  readonly sampleRate: number;
  readonly channels: number;
  /** Where the sndfile filter writes each call's decoded (`dump-<time>-dec.wav`) and encoded (`-enc.wav`) audio. */
  readonly recordDir: string;
}

/** rtcpsummary's line at a call's end (`EX=BareSip;…;PR=<received>;PS=<sent>;PL=<lost rx,tx>;…`). */
export interface LabBaresipRtpSummary {
  readonly received: number;
  readonly sent: number;
  /** Packets lost as RTCP reports them: ours (rx), the far end's (tx). */
  readonly lost: readonly [number, number];
  /** Interarrival jitter, ms (rx, tx). */
  readonly jitterMs: readonly [number, number];
  readonly line: string;
}

/** A ctrl_tcp event, e.g. { type: 'CALL_ESTABLISHED', direction: 'incoming', peeruri: … }. */
export interface LabBaresipEvent {
  readonly type: string;
  readonly [key: string]: unknown;
}

const MAX_EVENTS = 1000;

export class LabBaresip {
  readonly process: BoundedProcess;
  readonly relay: BoundedProcess;
  readonly user: string;
  readonly #events: LabBaresipEvent[] = [];
  readonly #pending = new Map<string, (r: { ok: boolean; data: string }) => void>();
  #token = 0;

  readonly #recordDir: string | undefined;

  private constructor(proc: BoundedProcess, relay: BoundedProcess, user: string, recordDir: string | undefined) {
    this.process = proc;
    this.relay = relay;
    this.user = user;
    this.#recordDir = recordDir;
    relay.onLine((line) => this.#onRelayLine(line));
  }

  /** Writes the config, starts baresip and its relay in the host's namespace. */
  static async start(host: LabHost, opts: LabBaresipOptions): Promise<LabBaresip> {
    writeLabBaresipConfig(host, opts);
    const proc = host.spawn({ command: 'baresip', args: ['-f', opts.dir], name: `baresip:${opts.user}@${host.name}`, cwd: opts.dir, lifetimeMs: opts.lifetimeMs });
    await proc.waitForLine(/baresip is ready/, { timeoutMs: 15_000 });
    const relay = host.spawn({
      command: process.execPath,
      args: ['--import', 'tsx', CTRL_RELAY, String(opts.ctrlPort), String(opts.consPort)],
      cwd: REPO_ROOT,
      name: `baresip-ctrl:${opts.user}@${host.name}`,
      lifetimeMs: opts.lifetimeMs,
    });
    await relay.waitForLine(/^ready$/, { timeoutMs: 20_000 });
    return new LabBaresip(proc, relay, opts.user, opts.audio?.recordDir);
  }

  /** The decoded-audio dumps (`…-dec.wav`) the sndfile filter wrote so far, oldest first (with `audio`). */
  recordings(): string[] {
    const dir = this.#recordDir;
    if (dir === undefined) return [];
    return readdirSync(dir).filter((f) => /^dump-.*-dec\.wav$/.test(f)).sort().map((f) => join(dir, f));
  }

  /** Waits for rtcpsummary's line of the next call to close (from output line `since`; with `audio`). */
  async rtpSummary(timeoutMs: number, since = 0): Promise<LabBaresipRtpSummary> {
    const line = await this.process.waitForLine(/EX=BareSip;/, { timeoutMs, since });
    const field = (name: string): number[] => (new RegExp(`;${name}=([-\\d.,]+);`).exec(line)?.[1] ?? '').split(',').map(Number);
    const [received = NaN] = field('PR');
    const [sent = NaN] = field('PS');
    const [lostRx = NaN, lostTx = NaN] = field('PL');
    const [jitterRx = NaN, jitterTx = NaN] = field('JI');
    return { received, sent, lost: [lostRx, lostTx], jitterMs: [jitterRx, jitterTx], line: line.slice(line.indexOf('EX=')) };
  }

  /** Waits for baresip's "<user>@…: … 200 OK" registration line. */
  async waitRegistered(timeoutMs: number): Promise<string> {
    return this.process.waitForLine(new RegExp(`^${this.user}@.*\\b(200 OK|\\d{3} [A-Za-z])`), { timeoutMs });
  }

  /** Sends a ctrl_tcp command ('dial', 'hangup', 'message', 'quit', …) and waits for its response. */
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
      this.relay.write(`${body}\n`);
    });
  }

  /** Number of events so far (a cursor for waitEvent). */
  eventCount(): number {
    return this.#events.length;
  }

  events(): readonly LabBaresipEvent[] {
    return this.#events;
  }

  /** The first event (from index `since`) of this type matching `where`. */
  async waitEvent(type: string, opts: { readonly timeoutMs: number; readonly since?: number; readonly where?: (e: LabBaresipEvent) => boolean }): Promise<LabBaresipEvent> {
    const match = (e: LabBaresipEvent): boolean => e.type === type && (opts.where?.(e) ?? true);
    const deadline = Date.now() + opts.timeoutMs;
    for (;;) {
      const found = this.#events.slice(opts.since ?? 0).find(match);
      if (found !== undefined) return found;
      if (Date.now() > deadline) {
        throw new Error(`baresip ${this.user}: no ${type} event in ${opts.timeoutMs} ms (events: ${this.#events.map((e) => e.type).join(', ')})\n${this.process.tail(20)}`);
      }
      // the relay's next line (any) wakes us; bounded by the deadline
      await this.relay.waitForLine(/./, { timeoutMs: Math.max(1, Math.min(500, deadline - Date.now())), since: this.relay.lineCount() }).catch(() => undefined);
    }
  }

  /** Waits until the cons console printed a line containing `needle`. */
  waitConsole(needle: string, timeoutMs: number): Promise<string> {
    return this.relay.waitForLine(new RegExp(`^cons .*${needle.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), { timeoutMs });
  }

  /** Asks baresip to quit and waits for both processes (SIGTERM after timeoutMs). */
  async quit(timeoutMs = 10_000): Promise<number | null> {
    void this.command('quit').catch(() => undefined);
    const timer = setTimeout(() => this.process.signal('SIGTERM'), timeoutMs);
    try {
      return (await this.process.exited).code;
    } finally {
      clearTimeout(timer);
      this.relay.closeStdin();
      await this.relay.stop('SIGTERM', 2000);
    }
  }

  #onRelayLine(line: string): void {
    if (!line.startsWith('ctrl ')) return;
    let msg: unknown;
    try {
      msg = JSON.parse(line.slice(5));
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
    if (m['event'] === true && typeof m['type'] === 'string' && this.#events.length < MAX_EVENTS) {
      this.#events.push({ ...m, type: m['type'] });
    }
  }
}

/** Writes config, accounts and contacts into opts.dir for a phone on `host`. */
export function writeLabBaresipConfig(host: LabHost, opts: LabBaresipOptions): void {
  mkdirSync(opts.dir, { recursive: true });
  const a = opts.audio;
  if (a !== undefined) mkdirSync(a.recordDir, { recursive: true });
  const config = [
    'poll_method\t\tepoll',
    `sip_listen\t\t${host.address}:${opts.sipPort}`,
    `net_interface\t\t${host.interfaceName}`,
    // with a proxy never asked (numeric addresses only); without, the mDNS group answers the domain
    `dns_server\t\t${opts.proxy === undefined ? '224.0.0.251:5353' : '127.0.0.1:53'}`,
    'call_local_timeout\t60',
    'call_max_calls\t\t4',
    `audio_player\t\taufile,${join(opts.dir, 'received.wav')}`,
    `audio_source\t\t${a === undefined ? 'ausine,440' : `aufile,${a.source}`}`,
    `audio_alert\t\taufile,${join(opts.dir, 'alert.wav')}`,
    `ausrc_srate\t\t${a?.sampleRate ?? 48000}`,
    `ausrc_channels\t\t${a?.channels ?? 2}`,
    `auplay_srate\t\t${a?.sampleRate ?? 48000}`,
    `auplay_channels\t\t${a?.channels ?? 2}`,
    `rtp_ports\t\t${opts.rtpPorts[0]}-${opts.rtpPorts[1]}`,
    'module_path\t\t/usr/lib/baresip/modules',
    'module\t\t\tg711.so',
    'module\t\t\tausine.so',
    'module\t\t\taufile.so',
    ...(a === undefined ? [] : ['module\t\t\tsndfile.so', `snd_path\t\t${a.recordDir}`]),
    'module\t\t\tcons.so',
    'module_app\t\taccount.so',
    'module_app\t\tmenu.so',
    'module_app\t\tcontact.so',
    'module_app\t\tctrl_tcp.so',
    ...(a === undefined ? [] : ['module_app\t\trtcpsummary.so']),
    `cons_listen\t\t127.0.0.1:${opts.consPort}`,
    `ctrl_tcp_listen\t\t127.0.0.1:${opts.ctrlPort}`,
    '',
  ].join('\n');
  writeFileSync(join(opts.dir, 'config'), config);
  writeFileSync(
    join(opts.dir, 'accounts'),
    opts.accountLine !== undefined
      ? `${opts.accountLine}\n`
      : `<sip:${opts.user}@${opts.domain};transport=udp>${opts.proxy === undefined ? '' : `;outbound="sip:${opts.proxy};transport=udp"`}` +
        `${opts.password === undefined ? '' : `;auth_pass=${opts.password}`};answermode=auto;regint=600\n`,
  );
  writeFileSync(join(opts.dir, 'contacts'), (opts.contacts ?? []).map((c) => `"${c.name}" <${c.uri}>\n`).join(''));
}
