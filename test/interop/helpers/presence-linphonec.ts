/**
 * Issue 16: a headless linphonec (5.1) that watches friends' presence through its peer. The config
 * is helpers/linphonec.ts's plus `reg_route` (the peer as outbound proxy, loose routing): without a
 * route liblinphone sends a friend's SUBSCRIBE to the friend's own domain (it resolved
 * `p2psip.local` by DNS and mDNS and gave up), not through its registrar. `friend add "bob"
 * sip:bob@p2psip.local` then SUBSCRIBEs through the peer; each NOTIFY prints
 * `Friend "bob" <sip:bob@p2psip.local> is Online` (or Offline, ...). linphonec cannot PUBLISH.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BoundedProcess } from '../../../harness/bounded-process.js';
import type { ProcessScope } from '../../../harness/process-scope.js';
import { writeLinphonerc, type LinphonecOptions } from './linphonec.js';

const REGISTER_POLL_MS = 500;

export class PresenceLinphonec {
  private constructor(
    readonly process: BoundedProcess,
    readonly user: string,
  ) {}

  static async start(scope: ProcessScope, opts: LinphonecOptions): Promise<PresenceLinphonec> {
    writeLinphonerc(opts);
    const rc = join(opts.home, '.linphonerc');
    const { host, port } = opts.registrar;
    writeFileSync(rc, readFileSync(rc, 'utf8').replace('[proxy_0]\n', `[proxy_0]\nreg_route=<sip:${host}:${port};transport=udp;lr>\n`));
    const proc = scope.spawn({
      command: 'linphonec',
      args: [],
      name: `linphonec:${opts.user}`,
      cwd: opts.home,
      env: { ...process.env, HOME: opts.home, XDG_DATA_HOME: join(opts.home, '.local', 'share') },
      lifetimeMs: opts.lifetimeMs,
    });
    const phone = new PresenceLinphonec(proc, opts.user);
    const since = proc.lineCount();
    phone.command('soundcard use files');
    await proc.waitForLine(/Using wav files instead of soundcard/, { timeoutMs: 15_000, since });
    return phone;
  }

  command(line: string): void {
    if (/[\r\n]/.test(line)) throw new Error('one command per line');
    this.process.write(`${line}\n`);
  }

  /** Polls `proxy list` until it says "registered: yes". */
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

  /** Waits for `Friend "<name>" <...> is <state>` from line `since`; returns the state. */
  async waitFriend(name: string, state: RegExp, timeoutMs: number, since: number): Promise<string> {
    const line = await this.process.waitForLine(new RegExp(`Friend "?${name}"? .*is ${state.source}`, 'i'), { timeoutMs, since });
    return /is (.+)$/.exec(line)?.[1]?.trim() ?? line;
  }

  /** Every `Friend ... is ...` line so far. */
  friendLines(): string[] {
    return this.process.lines().filter((l) => /Friend .* is /.test(l)).map((l) => l.replace(/^linphonec> /, ''));
  }

  lineCount(): number {
    return this.process.lineCount();
  }

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
