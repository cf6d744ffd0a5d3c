/**
 * Owns everything one interop test or benchmark run creates: child processes, temp directories,
 * ports and other cleanups. `dispose()` (and, as a last resort, this process's 'exit' event) kills
 * every process still running and removes every temp directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BoundedProcess } from './bounded-process.js';
import type { SpawnBoundedOptions } from './bounded-process.js';
import { PortAllocator } from './port-allocator.js';
import type { PortRequest } from './port-allocator.js';

export class ProcessScope {
  readonly #processes = new Set<BoundedProcess>();
  readonly #dirs: string[] = [];
  readonly #cleanups: Array<() => void | Promise<void>> = [];
  readonly #ports = new PortAllocator();
  readonly #onExit = (): void => this.#killAllNow();
  #disposed = false;

  constructor() {
    process.once('exit', this.#onExit);
  }

  /** Starts a bounded process owned by this scope. */
  spawn(opts: SpawnBoundedOptions): BoundedProcess {
    this.#assertLive();
    const proc = new BoundedProcess(opts);
    this.#processes.add(proc);
    void proc.exited.then(() => this.#processes.delete(proc));
    return proc;
  }

  /** A new empty directory under the OS temp dir, removed by dispose(). */
  tempDir(prefix = 'p2psip-interop-'): string {
    this.#assertLive();
    const dir = mkdtempSync(join(tmpdir(), prefix));
    this.#dirs.push(dir);
    return dir;
  }

  /** A port on 127.0.0.1 free for UDP and TCP (see PortAllocator). */
  port(req: PortRequest = {}): Promise<number> {
    this.#assertLive();
    return this.#ports.allocate(req);
  }

  /** Registers a cleanup run by dispose() (last registered runs first). */
  defer(fn: () => void | Promise<void>): void {
    this.#cleanups.push(fn);
  }

  /** Stops every process (SIGTERM, then SIGKILL), runs cleanups, removes temp dirs. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    const errors: unknown[] = [];
    for (const fn of this.#cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        errors.push(err);
      }
    }
    await Promise.all([...this.#processes].map((p) => p.stop('SIGTERM', 2000)));
    if (process.env['P2PSIP_INTEROP_KEEP_TMP'] === '1') {
      // Debugging aid: keep logs, stats and pcaps.
      for (const dir of this.#dirs) process.stderr.write(`kept ${dir}\n`);
    } else {
      for (const dir of this.#dirs) rmSync(dir, { recursive: true, force: true });
    }
    process.removeListener('exit', this.#onExit);
    if (errors.length > 0) throw new AggregateError(errors, 'process scope cleanup failed');
  }

  #killAllNow(): void {
    for (const p of this.#processes) p.killNow();
    for (const dir of this.#dirs) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // best effort at exit
      }
    }
  }

  #assertLive(): void {
    if (this.#disposed) throw new Error('process scope already disposed');
  }
}

/** Runs `fn` with a fresh scope and always disposes it. */
export async function withScope<T>(fn: (scope: ProcessScope) => Promise<T>): Promise<T> {
  const scope = new ProcessScope();
  try {
    return await fn(scope);
  } finally {
    await scope.dispose();
  }
}
