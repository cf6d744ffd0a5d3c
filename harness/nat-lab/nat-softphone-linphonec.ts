/**
 * A headless linphonec (5.1) on a NAT lab host: its own HOME with a linphonerc binding SIP and RTP to
 * the host's address, its LAN's p2psip peer as registrar and outbound proxy (reg_proxy and
 * reg_route), the overlay's domain as its AoR's domain. Driven through stdin (EOF makes it quit),
 * watched on its output lines ("registered: yes", "Call N with … connected.", "… ended (No error).",
 * "Message received from …"). With `soundcard use files` (always) a call plays `playFile` as the
 * microphone (looped) and writes what it decoded to `recordFile` (the `play` / `record` commands).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BoundedProcess } from '../bounded-process.js';
import type { LabHost } from './lab-host.js';

export interface LabLinphonecOptions {
  readonly user: string;
  /** The AoR's domain (the overlay name). */
  readonly domain: string;
  /** Becomes HOME (linphonerc, database); created. */
  readonly home: string;
  readonly sipPort: number;
  readonly rtpPorts: readonly [number, number];
  /** The local peer's SIP front, host:port. */
  readonly proxy: string;
  /** Answer incoming calls by itself (-a). */
  readonly autoAnswer?: boolean;
  readonly lifetimeMs: number;
  /** 16-bit PCM wav a call sends as its audio (`play`; linphone loops it). */
  readonly playFile?: string;
  /** wav file a call writes its decoded audio to (`record`; complete once the call ended). */
  readonly recordFile?: string;
}

const REGISTER_POLL_MS = 500;

export class LabLinphonec {
  readonly process: BoundedProcess;
  readonly user: string;

  private constructor(proc: BoundedProcess, user: string) {
    this.process = proc;
    this.user = user;
  }

  static async start(host: LabHost, opts: LabLinphonecOptions): Promise<LabLinphonec> {
    writeLabLinphonerc(host, opts);
    const proc = host.spawn({
      command: 'linphonec',
      args: opts.autoAnswer === true ? ['-a'] : [],
      name: `linphonec:${opts.user}@${host.name}`,
      cwd: opts.home,
      env: { ...process.env, HOME: opts.home, XDG_DATA_HOME: join(opts.home, '.local', 'share') },
      lifetimeMs: opts.lifetimeMs,
    });
    const phone = new LabLinphonec(proc, opts.user);
    const since = proc.lineCount();
    phone.command('soundcard use files');
    await proc.waitForLine(/Using wav files instead of soundcard/, { timeoutMs: 15_000, since });
    // stdin is read in order: these take effect before any later command (waitRegistered's `proxy list`)
    if (opts.playFile !== undefined) phone.command(`play ${opts.playFile}`);
    if (opts.recordFile !== undefined) phone.command(`record ${opts.recordFile}`);
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
      const line = await this.process.waitForLine(/registered: (yes|no)/, { timeoutMs: Math.max(1000, deadline - Date.now()), since });
      if (line.includes('registered: yes')) return;
      if (Date.now() > deadline) throw new Error(`linphonec ${this.user} not registered after ${timeoutMs} ms:\n${this.process.tail()}`);
      await this.process.waitForLine(/./, { timeoutMs: REGISTER_POLL_MS, since: this.process.lineCount() }).catch(() => undefined);
    }
  }

  /** Waits for an output line (from `since`, default: any so far). */
  waitForLine(pattern: RegExp, timeoutMs: number, since?: number): Promise<string> {
    return this.process.waitForLine(pattern, since === undefined ? { timeoutMs } : { timeoutMs, since });
  }

  lineCount(): number {
    return this.process.lineCount();
  }

  /** `quit`, then EOF; waits for exit (SIGTERM after timeoutMs). */
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

/** Writes $HOME/.linphonerc for a phone on `host`. */
export function writeLabLinphonerc(host: LabHost, opts: LabLinphonecOptions): void {
  mkdirSync(join(opts.home, '.local', 'share', 'linphone'), { recursive: true });
  const proxy = `sip:${opts.proxy};transport=udp`;
  const rc = [
    '[sip]',
    `sip_port=${opts.sipPort}`,
    `bind_address=${host.address}`,
    'use_ipv6=0',
    'default_proxy=0',
    'register_only_when_network_is_up=0',
    'guess_hostname=1',
    // no IMDN / is-composing bodies
    'im_notif_policy=none',
    '',
    '[net]',
    'mtu=1300',
    'firewall_policy=0',
    '',
    '[rtp]',
    `audio_rtp_port=${opts.rtpPorts[0]}-${opts.rtpPorts[1]}`,
    `bind_address=${host.address}`,
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
    `reg_proxy=<${proxy}>`,
    `reg_route=<${proxy};lr>`,
    `reg_identity=sip:${opts.user}@${opts.domain}`,
    'reg_expires=600',
    'reg_sendregister=1',
    'publish=0',
    'dial_escape_plus=0',
    '',
  ].join('\n');
  writeFileSync(join(opts.home, '.linphonerc'), rc);
}
