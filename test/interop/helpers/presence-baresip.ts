/**
 * Issue 16: a headless baresip (1.0.0) with its `presence` module, for the presence interop tests.
 * The config is helpers/baresip.ts's (loopback only, ctrl_tcp) plus `module_app presence.so`; the
 * account carries `;pubint=<s>` (baresip then PUBLISHes its own state, RFC 3903) and every contact
 * `;presence=p2p` (baresip SUBSCRIBEs to its presence, RFC 3856). What baresip 1.0.0 shows of a
 * watched contact (seen here):
 * - the `contacts` command (ctrl_tcp) lists each contact with its state, in ANSI colours:
 *   `>     \x1b[32mOnline\x1b[;m bob <sip:bob@127.0.0.1:7000>` (`>` marks the current contact; states
 *   Unknown, Online, Busy, Offline);
 * - a change is printed on stdout, `<sip:bob@127.0.0.1:7000> changed status from Online to Offline`,
 *   but only when the state before was not Unknown: the first NOTIFY (Unknown → Online) prints
 *   nothing, hence {@link PresenceBaresip.waitContact} polls `contacts`.
 * - its own state: `presence: update status of '<aor>' from 'Online' to 'Offline'` after the
 *   `presence_offline` command.
 * baresip 1.0.0 PUBLISHes `<basic>unknown</basic>` (not a PIDF value: RFC 3863 allows open and closed)
 * while its account is not registered yet, and once more when it quits, before its Expires 0 PUBLISH.
 * Commands over ctrl_tcp (netstring JSON): contacts, presence_online, presence_offline, quit.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import type { BoundedProcess } from '../../../harness/bounded-process.js';
import type { ProcessScope } from '../../../harness/process-scope.js';
import { writeBaresipConfig, type BaresipOptions } from './baresip.js';
import { encodeNetstring, onNetstringFrames } from './netstring-json.js';

export interface PresenceBaresipOptions extends BaresipOptions {
  /** PUBLISH interval (the account's `pubint`), s; 0: never PUBLISH. */
  readonly pubint: number;
}

/** A contact's state as baresip names it (contact_presence_str). */
export type BaresipPresence = 'Unknown' | 'Online' | 'Busy' | 'Offline';

const CHANGE_LINE = /<([^>]+)> changed status from (\w+) to (\w+)/;
const ANSI = /\x1b\[[0-9;]*m/g;
const POLL_MS = 100;

export class PresenceBaresip {
  readonly #pending = new Map<string, (ok: boolean, data: string) => void>();
  #token = 0;

  private constructor(
    readonly process: BoundedProcess,
    readonly user: string,
    private readonly ctrl: Socket,
  ) {
    onNetstringFrames(ctrl, (f) => {
      try {
        const m = JSON.parse(f) as Record<string, unknown>;
        if (m['response'] === true && typeof m['token'] === 'string') {
          const done = this.#pending.get(m['token']);
          this.#pending.delete(m['token']);
          done?.(m['ok'] === true, typeof m['data'] === 'string' ? m['data'] : '');
        }
      } catch {
        // not JSON: ignored
      }
    });
    ctrl.on('error', () => undefined);
  }

  static async start(scope: ProcessScope, opts: PresenceBaresipOptions): Promise<PresenceBaresip> {
    writeBaresipConfig(opts);
    appendFileSync(join(opts.dir, 'config'), 'module_app\t\tpresence.so\n');
    const { host, port } = opts.registrar;
    writeFileSync(
      join(opts.dir, 'accounts'),
      `<sip:${opts.user}@${host}:${port};transport=udp>;${opts.password === undefined ? '' : `auth_pass=${opts.password};`}answermode=auto;regint=600;pubint=${opts.pubint}\n`,
    );
    writeFileSync(join(opts.dir, 'contacts'), (opts.contacts ?? []).map((c) => `"${c.name}" <${c.uri}>;presence=p2p\n`).join(''));
    const proc = scope.spawn({ command: 'baresip', args: ['-f', opts.dir], name: `baresip:${opts.user}`, cwd: opts.dir, lifetimeMs: opts.lifetimeMs });
    await proc.waitForLine(/baresip is ready/, { timeoutMs: 15_000 });
    const ctrl = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port: opts.ctrlPort });
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });
    const phone = new PresenceBaresip(proc, opts.user, ctrl);
    scope.defer(() => void ctrl.destroy());
    return phone;
  }

  /** Waits for the "<user>@...: ... 200 OK" registration line. */
  async waitRegistered(timeoutMs: number): Promise<void> {
    await this.process.waitForLine(new RegExp(`^${this.user}@.*\\b200 OK\\b`), { timeoutMs });
  }

  lineCount(): number {
    return this.process.lineCount();
  }

  /** The state baresip shows for the contact whose URI contains `who` (the `contacts` command). */
  async contactState(who: string): Promise<string | undefined> {
    const r = await this.command('contacts');
    for (const line of r.data.replace(ANSI, '').split('\n')) {
      const m = /^[>\s]*(Unknown|Online|Busy|Offline)\b.*<([^>]+)>/.exec(line);
      if (m !== null && m[2]!.includes(who)) return m[1];
    }
    return undefined;
  }

  /** Polls `contacts` until the contact whose URI contains `who` shows `state`. */
  async waitContact(who: string, state: BaresipPresence, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last: string | undefined;
    for (;;) {
      last = await this.contactState(who);
      if (last === state) return;
      if (Date.now() > deadline) throw new Error(`baresip ${this.user}: ${who} still ${String(last)}, not ${state}, after ${timeoutMs} ms\n${this.process.tail()}`);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  /** The changes baresip printed so far (stdout): [uri, from, to]. */
  statusChanges(): Array<[string, string, string]> {
    const out: Array<[string, string, string]> = [];
    for (const l of this.process.lines()) {
      const m = CHANGE_LINE.exec(l.replace(ANSI, ''));
      if (m !== null) out.push([m[1]!, m[2]!, m[3]!]);
    }
    return out;
  }

  /** A ctrl_tcp command; resolves with baresip's answer. */
  command(command: string, params?: string, timeoutMs = 10_000): Promise<{ ok: boolean; data: string }> {
    const token = String(++this.#token);
    const body = JSON.stringify(params === undefined ? { command, token } : { command, params, token });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(token);
        reject(new Error(`baresip ${this.user}: no answer to '${command}' in ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(token, (ok, data) => {
        clearTimeout(timer);
        resolve({ ok, data });
      });
      this.ctrl.write(encodeNetstring(body));
    });
  }

  /** Asks baresip to quit (it unregisters, unpublishes, unsubscribes) and waits for its exit. */
  async quit(timeoutMs = 10_000): Promise<number | null> {
    void this.command('quit').catch(() => undefined);
    const timer = setTimeout(() => this.process.signal('SIGTERM'), timeoutMs);
    try {
      return (await this.process.exited).code;
    } finally {
      clearTimeout(timer);
      this.ctrl.destroy();
    }
  }
}
