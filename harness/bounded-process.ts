/**
 * A child process with a bounded lifetime: it runs under coreutils `timeout` in its own
 * process group, so it dies after `lifetimeMs` even if this test process is killed, and
 * `stop()` signals the whole group (the program and anything it forked).
 * Output is kept line by line (bounded) so tests can wait for a line instead of sleeping.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';

export interface SpawnBoundedOptions {
  /** Program to run (looked up in PATH). */
  readonly command: string;
  readonly args: readonly string[];
  /** Short name for error messages and logs. Default: the command. */
  readonly name?: string;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Hard upper bound on the lifetime; `timeout` sends SIGTERM then, SIGKILL 2 s later. */
  readonly lifetimeMs: number;
  /** Most output lines kept (oldest dropped first). Default 20,000. */
  readonly maxLines?: number;
  /** Longest line kept; longer lines are truncated. Default 8 KiB. */
  readonly maxLineLength?: number;
}

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface WaitForLineOptions {
  readonly timeoutMs: number;
  /** Only lines with an index >= since count (see `lineCount`). Default 0: any line so far. */
  readonly since?: number;
}

/** Exit status `timeout` uses when the lifetime ran out. */
export const LIFETIME_EXCEEDED_EXIT = 124;

const DEFAULT_MAX_LINES = 20_000;
const DEFAULT_MAX_LINE_LENGTH = 8192;
const KILL_GRACE_S = 2;

interface LineWaiter {
  readonly pattern: RegExp;
  readonly since: number;
  readonly resolve: (line: string) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * Splits a stream into lines in arrival order, across chunks. A line longer than `maxLineLength`
 * keeps its first `maxLineLength` characters; the rest of it is dropped up to its newline. (Before,
 * an over-long partial line was pushed ahead of the complete lines of the same chunk and its
 * remainder came out as further "lines": a long tshark PDML line then broke the nesting a test parsed.)
 */
export class LineSplitter {
  #partial = '';
  #hasPartial = false;

  constructor(private readonly maxLineLength: number) {}

  /** The lines `chunk` completes. */
  push(chunk: string): string[] {
    const out: string[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf('\n', start);
      const piece = nl === -1 ? chunk.slice(start) : chunk.slice(start, nl);
      const room = this.maxLineLength - this.#partial.length;
      if (room > 0) this.#partial += piece.length > room ? piece.slice(0, room) : piece;
      if (nl === -1) {
        this.#hasPartial ||= piece.length > 0;
        return out;
      }
      const line = this.#partial;
      this.#partial = '';
      this.#hasPartial = false;
      out.push(line.endsWith('\r') ? line.slice(0, -1) : line);
      start = nl + 1;
    }
  }

  /** The last line when the stream ended without a newline. */
  end(): string | undefined {
    const rest = this.#hasPartial ? this.#partial : undefined;
    this.#partial = '';
    this.#hasPartial = false;
    return rest;
  }
}

export class BoundedProcess {
  readonly name: string;
  readonly pid: number;
  /** Resolves once the process has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;

  readonly #child: ChildProcessWithoutNullStreams;
  readonly #lines: string[] = [];
  #dropped = 0;
  readonly #maxLines: number;
  readonly #maxLineLength: number;
  readonly #splitters: { stdout: LineSplitter; stderr: LineSplitter };
  #waiters: LineWaiter[] = [];
  #exit: ExitInfo | undefined;
  readonly #listeners = new Set<(line: string) => void>();

  constructor(opts: SpawnBoundedOptions) {
    this.name = opts.name ?? opts.command;
    this.#maxLines = opts.maxLines ?? DEFAULT_MAX_LINES;
    this.#maxLineLength = opts.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
    this.#splitters = { stdout: new LineSplitter(this.#maxLineLength), stderr: new LineSplitter(this.#maxLineLength) };
    const lifetimeS = Math.max(1, Math.ceil(opts.lifetimeMs / 1000));
    const child = spawn(
      'timeout',
      [`--kill-after=${KILL_GRACE_S}`, String(lifetimeS), opts.command, ...opts.args],
      {
        cwd: opts.cwd,
        env: opts.env ?? process.env,
        // Own session and process group: stop() signals the group, and nothing here
        // ever reads this terminal.
        detached: true,
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    if (child.pid === undefined) {
      throw new Error(`${this.name}: spawn failed`);
    }
    this.pid = child.pid;
    this.#child = child;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => this.#onData('stdout', chunk));
    child.stderr.on('data', (chunk: string) => this.#onData('stderr', chunk));
    // A closed stdin pipe (process gone) must not crash the test process.
    child.stdin.on('error', () => undefined);
    this.exited = new Promise<ExitInfo>((resolve) => {
      child.on('error', (err) => {
        this.#pushLine(`[spawn error] ${err.message}`);
        this.#settleExit({ code: null, signal: null });
        resolve({ code: null, signal: null });
      });
      child.on('close', (code, signal) => {
        this.#flushPartial();
        const info: ExitInfo = { code, signal };
        this.#settleExit(info);
        resolve(info);
      });
    });
  }

  /** Exit status once exited, else undefined. */
  get exitInfo(): ExitInfo | undefined {
    return this.#exit;
  }

  /** Number of lines seen so far (a cursor for `waitForLine({ since })`). */
  lineCount(): number {
    return this.#dropped + this.#lines.length;
  }

  /** All kept output lines (stdout and stderr interleaved as they arrived). */
  lines(): readonly string[] {
    return this.#lines;
  }

  /** The last `n` lines, joined, for error messages. */
  tail(n = 40): string {
    return this.#lines.slice(-n).join('\n');
  }

  /** Calls `fn` for every later line; returns an unsubscribe function. */
  onLine(fn: (line: string) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /**
   * Resolves with the first line (at index >= since) matching `pattern`; rejects when the
   * timeout passes or the process exits first.
   */
  waitForLine(pattern: RegExp | string, opts: WaitForLineOptions): Promise<string> {
    const re = typeof pattern === 'string' ? new RegExp(escapeRegExp(pattern)) : pattern;
    const since = opts.since ?? 0;
    const found = this.#findLine(re, since);
    if (found !== undefined) return Promise.resolve(found);
    if (this.#exit !== undefined) {
      return Promise.reject(this.#error(`exited (${describeExit(this.#exit)}) before printing ${re}`));
    }
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w.timer !== timer);
        reject(this.#error(`no line matching ${re} within ${opts.timeoutMs} ms`));
      }, opts.timeoutMs);
      this.#waiters.push({ pattern: re, since, resolve, reject, timer });
    });
  }

  /** Writes to the process's stdin (ignored once it has exited). */
  write(data: string): void {
    if (this.#exit === undefined && this.#child.stdin.writable) this.#child.stdin.write(data);
  }

  /** Closes stdin (EOF). */
  closeStdin(): void {
    if (this.#child.stdin.writable) this.#child.stdin.end();
  }

  /** Sends a signal to the whole process group. */
  signal(sig: NodeJS.Signals): void {
    if (this.#exit !== undefined) return;
    try {
      process.kill(-this.pid, sig);
    } catch {
      try {
        process.kill(this.pid, sig);
      } catch {
        // already gone
      }
    }
  }

  /**
   * Stops the process: `sig` to its group, SIGKILL after `graceMs` if still alive.
   * Resolves with its exit status.
   */
  async stop(sig: NodeJS.Signals = 'SIGTERM', graceMs = 3000): Promise<ExitInfo> {
    if (this.#exit !== undefined) return this.#exit;
    this.signal(sig);
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Synchronous last-resort kill (for process 'exit' handlers). */
  killNow(): void {
    this.signal('SIGKILL');
  }

  #onData(stream: 'stdout' | 'stderr', chunk: string): void {
    for (const line of this.#splitters[stream].push(chunk)) this.#pushLine(line);
  }

  #flushPartial(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      const rest = this.#splitters[stream].end();
      if (rest !== undefined) this.#pushLine(rest);
    }
  }

  #pushLine(raw: string): void {
    // eslint-disable-next-line no-control-regex
    const line = raw.replace(/\x1b\[[0-9;]*m/g, '').slice(0, this.#maxLineLength);
    this.#lines.push(line);
    if (this.#lines.length > this.#maxLines) {
      this.#lines.shift();
      this.#dropped++;
    }
    const index = this.lineCount() - 1;
    for (const fn of this.#listeners) fn(line);
    const still: LineWaiter[] = [];
    for (const w of this.#waiters) {
      if (index >= w.since && w.pattern.test(line)) {
        clearTimeout(w.timer);
        w.resolve(line);
      } else {
        still.push(w);
      }
    }
    this.#waiters = still;
  }

  #findLine(re: RegExp, since: number): string | undefined {
    const start = Math.max(0, since - this.#dropped);
    for (let i = start; i < this.#lines.length; i++) {
      const line = this.#lines[i];
      if (line !== undefined && re.test(line)) return line;
    }
    return undefined;
  }

  #settleExit(info: ExitInfo): void {
    if (this.#exit !== undefined) return;
    this.#exit = info;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) {
      clearTimeout(w.timer);
      w.reject(this.#error(`exited (${describeExit(info)}) before printing ${w.pattern}`));
    }
  }

  #error(message: string): Error {
    return new Error(`${this.name} (pid ${this.pid}): ${message}\n--- last output ---\n${this.tail()}`);
  }
}

/** Human-readable exit status. */
export function describeExit(info: ExitInfo): string {
  if (info.code === LIFETIME_EXCEEDED_EXIT) return 'lifetime exceeded, killed by timeout';
  if (info.signal !== null) return `signal ${info.signal}`;
  return `exit code ${String(info.code)}`;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
