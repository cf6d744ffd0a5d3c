/**
 * A headless linphonec (5.1) phone for interop tests: its own HOME with a linphonerc
 * binding SIP and RTP to 127.0.0.1, driven through stdin (EOF makes it quit), watched on
 * its output lines ("registered: yes", "Call N with ... connected.", "... ended (No error).",
 * "Message received from ...").
 */
import type { LoopbackHost } from '../../../harness/sipp-runner.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BoundedProcess } from '../../../harness/bounded-process.js';
import type { ProcessScope } from '../../../harness/process-scope.js';

export interface LinphonecOptions {
  readonly user: string;
  /** Becomes HOME (linphonerc, database). */
  readonly home: string;
  readonly sipPort: number;
  readonly rtpPorts: readonly [number, number];
  readonly registrar: { readonly host: LoopbackHost; readonly port: number };
  /** Answer incoming calls by itself (-a). */
  readonly autoAnswer?: boolean;
  /** The digest password (an [auth_info_0] section for the user); none: no credentials. */
  readonly password?: string;
  readonly lifetimeMs: number;
}

const REGISTER_POLL_MS = 500;

export class Linphonec {
  readonly process: BoundedProcess;
  readonly user: string;

  private constructor(proc: BoundedProcess, user: string) {
    this.process = proc;
    this.user = user;
  }

  static async start(scope: ProcessScope, opts: LinphonecOptions): Promise<Linphonec> {
    writeLinphonerc(opts);
    const proc = scope.spawn({
      command: 'linphonec',
      args: opts.autoAnswer === true ? ['-a'] : [],
      name: `linphonec:${opts.user}`,
      cwd: opts.home,
      env: { ...process.env, HOME: opts.home, XDG_DATA_HOME: join(opts.home, '.local', 'share') },
      lifetimeMs: opts.lifetimeMs,
    });
    const phone = new Linphonec(proc, opts.user);
    const since = proc.lineCount();
    phone.command('soundcard use files');
    await proc.waitForLine(/Using wav files instead of soundcard/, { timeoutMs: 15_000, since });
    return phone;
  }

  /** Writes one command line to linphonec's stdin. */
  command(line: string): void {
    if (/[\r\n]/.test(line)) throw new Error('one command per line');
    this.process.write(`${line}\n`);
  }

  /** Polls `proxy list` until it says "registered: yes" (bounded by timeoutMs). */
  async waitRegistered(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const since = this.process.lineCount();
      this.command('proxy list');
      const line = await this.process.waitForLine(/registered: (yes|no)/, {
        timeoutMs: Math.max(1000, deadline - Date.now()),
        since,
      });
      if (line.includes('registered: yes')) return;
      if (Date.now() > deadline) throw new Error(`linphonec ${this.user} not registered after ${timeoutMs} ms:\n${this.process.tail()}`);
      // The answer said "no": wait for the next output line (or the poll interval) before asking again.
      await this.process
        .waitForLine(/./, { timeoutMs: REGISTER_POLL_MS, since: this.process.lineCount() })
        .catch(() => undefined);
    }
  }

  /** Waits for an output line (from `since`, default: any so far). */
  waitForLine(pattern: RegExp, timeoutMs: number, since?: number): Promise<string> {
    return this.process.waitForLine(pattern, since === undefined ? { timeoutMs } : { timeoutMs, since });
  }

  lineCount(): number {
    return this.process.lineCount();
  }

  /** `quit`, then EOF; waits for exit. */
  async quit(timeoutMs = 10_000): Promise<number | null> {
    this.command('quit');
    this.process.closeStdin();
    const timer = setTimeout(() => this.process.signal('SIGTERM'), timeoutMs);
    try {
      return (await this.process.exited).code;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Writes $HOME/.linphonerc for a loopback-only phone. */
export function writeLinphonerc(opts: LinphonecOptions): void {
  mkdirSync(join(opts.home, '.local', 'share', 'linphone'), { recursive: true });
  const { host, port } = opts.registrar;
  const rc = [
    '[sip]',
    `sip_port=${opts.sipPort}`,
    'bind_address=127.0.0.1',
    'use_ipv6=0',
    'default_proxy=0',
    'register_only_when_network_is_up=0',
    'guess_hostname=1',
    // No IMDN / is-composing: liblinphone deflates those bodies, and Wireshark's SIP
    // dissector flags them ("Trailing stray characters") before any proxy touches them.
    'im_notif_policy=none',
    '',
    '[net]',
    'mtu=1300',
    '',
    '[rtp]',
    `audio_rtp_port=${opts.rtpPorts[0]}-${opts.rtpPorts[1]}`,
    'bind_address=127.0.0.1',
    '',
    '[sound]',
    'echocancellation=0',
    '',
    '[video]',
    'enabled=0',
    'capture=0',
    'display=0',
    '',
    '[misc]',
    'enable_basic_to_client_group_chat_room_migration=0',
    '',
    '[proxy_0]',
    `reg_proxy=<sip:${host}:${port};transport=udp>`,
    `reg_identity=sip:${opts.user}@${host}`,
    'reg_expires=600',
    'reg_sendregister=1',
    'publish=0',
    'dial_escape_plus=0',
    '',
    ...(opts.password === undefined ? [] : ['[auth_info_0]', `username=${opts.user}`, `passwd=${opts.password}`, `domain=${host}`, '']),
  ].join('\n');
  writeFileSync(join(opts.home, '.linphonerc'), rc);
}
