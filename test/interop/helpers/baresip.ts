/**
 * A headless baresip (1.0.0) phone for interop tests: its own config directory, SIP on
 * 127.0.0.1 only, sine-wave audio in and a wav file out, driven over ctrl_tcp (netstring
 * JSON commands, call events) and watched on the cons console socket (incoming MESSAGE
 * text appears only there).
 */
import type { LoopbackHost } from '../../../harness/sipp-runner.js';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import type { BoundedProcess } from '../../../harness/bounded-process.js';
import type { ProcessScope } from '../../../harness/process-scope.js';
import { encodeNetstring, onNetstringFrames } from './netstring-json.js';

export interface BaresipOptions {
  readonly user: string;
  readonly dir: string;
  /** SIP port; baresip's TLS listener takes sipPort+1 (allocate a span of 2). */
  readonly sipPort: number;
  readonly ctrlPort: number;
  readonly consPort: number;
  readonly rtpPorts: readonly [number, number];
  readonly registrar: { readonly host: LoopbackHost; readonly port: number };
  /** Contacts; the first is the "current contact" the `message` command sends to. */
  readonly contacts?: readonly { readonly name: string; readonly uri: string }[];
  /** The account's digest password (`auth_pass`); none: the account has no password. */
  readonly password?: string;
  readonly lifetimeMs: number;
}

/** A ctrl_tcp event, e.g. { type: 'CALL_ESTABLISHED', direction: 'incoming', peeruri: ... }. */
export interface BaresipEvent {
  readonly type: string;
  readonly [key: string]: unknown;
}

export interface BaresipResponse {
  readonly ok: boolean;
  readonly data: string;
}

interface EventWaiter {
  readonly match: (e: BaresipEvent) => boolean;
  readonly resolve: (e: BaresipEvent) => void;
}

const MAX_EVENTS = 1000;
const MAX_CONS_TEXT = 256 * 1024;

export class Baresip {
  readonly process: BoundedProcess;
  readonly user: string;
  readonly #ctrl: Socket;
  readonly #cons: Socket;
  readonly #events: BaresipEvent[] = [];
  #eventWaiters: EventWaiter[] = [];
  readonly #pending = new Map<string, (r: BaresipResponse) => void>();
  #token = 0;
  #consText = '';

  private constructor(proc: BoundedProcess, user: string, ctrl: Socket, cons: Socket) {
    this.process = proc;
    this.user = user;
    this.#ctrl = ctrl;
    this.#cons = cons;
    onNetstringFrames(ctrl, (f) => this.#onFrame(f));
    ctrl.on('error', () => undefined);
    cons.setEncoding('utf8');
    cons.on('data', (text: string) => {
      this.#consText = (this.#consText + text).slice(-MAX_CONS_TEXT);
    });
    cons.on('error', () => undefined);
  }

  /** Writes the config, starts baresip, connects ctrl_tcp and cons. */
  static async start(scope: ProcessScope, opts: BaresipOptions): Promise<Baresip> {
    writeBaresipConfig(opts);
    const proc = scope.spawn({
      command: 'baresip',
      args: ['-f', opts.dir],
      name: `baresip:${opts.user}`,
      cwd: opts.dir,
      lifetimeMs: opts.lifetimeMs,
    });
    await proc.waitForLine(/baresip is ready/, { timeoutMs: 15_000 });
    const ctrl = await connectTcp(opts.ctrlPort);
    const cons = await connectTcp(opts.consPort);
    const phone = new Baresip(proc, opts.user, ctrl, cons);
    scope.defer(() => phone.#close());
    return phone;
  }

  /** Waits for the "<user>@...: ... 200 OK" registration line. */
  async waitRegistered(timeoutMs: number): Promise<void> {
    await this.process.waitForLine(new RegExp(`^${this.user}@.*\\b200 OK\\b`), { timeoutMs });
  }

  /** Sends a ctrl_tcp command (e.g. 'dial', 'hangup', 'message', 'quit'). */
  command(command: string, params?: string, timeoutMs = 10_000): Promise<BaresipResponse> {
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

  /** Resolves with the first event (from index `since`) of this type matching `where`. */
  waitEvent(
    type: string,
    opts: { readonly timeoutMs: number; readonly since?: number; readonly where?: (e: BaresipEvent) => boolean },
  ): Promise<BaresipEvent> {
    const match = (e: BaresipEvent): boolean => e.type === type && (opts.where?.(e) ?? true);
    const found = this.#events.slice(opts.since ?? 0).find(match);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const waiter: EventWaiter = {
        match,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      };
      const timer = setTimeout(() => {
        this.#eventWaiters = this.#eventWaiters.filter((w) => w !== waiter);
        const seen = this.#events.map((e) => e.type).join(', ');
        reject(new Error(`baresip ${this.user}: no ${type} event in ${opts.timeoutMs} ms (events: ${seen})\n${this.process.tail()}`));
      }, opts.timeoutMs);
      this.#eventWaiters.push(waiter);
    });
  }

  /** Text the cons console printed so far. */
  consoleText(): string {
    return this.#consText;
  }

  /** Waits until the console text contains `needle`. */
  async waitConsole(needle: string, timeoutMs: number): Promise<void> {
    if (this.#consText.includes(needle)) return;
    await new Promise<void>((resolve, reject) => {
      const onData = (): void => {
        if (this.#consText.includes(needle)) {
          clearTimeout(timer);
          this.#cons.off('data', onData);
          resolve();
        }
      };
      const timer = setTimeout(() => {
        this.#cons.off('data', onData);
        reject(new Error(`baresip ${this.user}: console never showed '${needle}':\n${this.#consText.slice(-2000)}`));
      }, timeoutMs);
      // Registered after the buffering listener, so the text is already appended.
      this.#cons.on('data', onData);
    });
  }

  /** Asks baresip to quit and waits for it to exit. */
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
      const e = { ...m, type: m['type'] } as BaresipEvent;
      if (this.#events.length < MAX_EVENTS) this.#events.push(e);
      const still: EventWaiter[] = [];
      for (const w of this.#eventWaiters) {
        if (w.match(e)) w.resolve(e);
        else still.push(w);
      }
      this.#eventWaiters = still;
    }
  }

  #close(): void {
    this.#ctrl.destroy();
    this.#cons.destroy();
  }
}

/** Writes config, accounts and contacts into opts.dir. */
export function writeBaresipConfig(opts: BaresipOptions): void {
  const config = [
    'poll_method\t\tepoll',
    `sip_listen\t\t127.0.0.1:${opts.sipPort}`,
    'net_interface\t\t127.0.0.1',
    // Never used (numeric addresses only), but keeps baresip off the machine's resolver.
    'dns_server\t\t127.0.0.1:53',
    'call_local_timeout\t60',
    'call_max_calls\t\t4',
    `audio_player\t\taufile,${join(opts.dir, 'received.wav')}`,
    'audio_source\t\tausine,440',
    `audio_alert\t\taufile,${join(opts.dir, 'alert.wav')}`,
    'ausrc_srate\t\t48000',
    'ausrc_channels\t\t2',
    'auplay_srate\t\t48000',
    'auplay_channels\t\t2',
    `rtp_ports\t\t${opts.rtpPorts[0]}-${opts.rtpPorts[1]}`,
    'module_path\t\t/usr/lib/baresip/modules',
    'module\t\t\tg711.so',
    'module\t\t\tausine.so',
    'module\t\t\taufile.so',
    'module\t\t\tcons.so',
    'module_app\t\taccount.so',
    'module_app\t\tmenu.so',
    'module_app\t\tcontact.so',
    'module_app\t\tctrl_tcp.so',
    `cons_listen\t\t127.0.0.1:${opts.consPort}`,
    `ctrl_tcp_listen\t\t127.0.0.1:${opts.ctrlPort}`,
    '',
  ].join('\n');
  writeFileSync(join(opts.dir, 'config'), config);
  const { host, port } = opts.registrar;
  writeFileSync(
    join(opts.dir, 'accounts'),
    `<sip:${opts.user}@${host}:${port};transport=udp>;${opts.password === undefined ? '' : `auth_pass=${opts.password};`}answermode=auto;regint=600\n`,
  );
  writeFileSync(
    join(opts.dir, 'contacts'),
    (opts.contacts ?? []).map((c) => `"${c.name}" <${c.uri}>\n`).join(''),
  );
}

function connectTcp(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port });
    sock.once('connect', () => resolve(sock));
    sock.once('error', reject);
  });
}
