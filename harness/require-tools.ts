/**
 * Tool presence check for interop tests. A missing program SKIPS the test with a clear
 * message when we are not root (a developer machine without the packages); as root (CI,
 * where .ci/install-interop.sh should have run) a missing program is a FAILURE.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The part of node:test's TestContext this needs. */
export interface SkippableContext {
  skip(message?: string): void;
}

/** Absolute path of `program` in PATH, or undefined. */
export function findInPath(program: string, pathEnv: string = process.env['PATH'] ?? ''): string | undefined {
  for (const dir of pathEnv.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Programs of `programs` not found in PATH (also looks in the sbin dirs). */
export function missingTools(programs: readonly string[]): string[] {
  const pathEnv = [process.env['PATH'] ?? '', '/usr/sbin', '/sbin', '/usr/local/sbin'].join(delimiter);
  return programs.filter((p) => findInPath(p, pathEnv) === undefined);
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/**
 * Returns true when every program is present. Otherwise skips the test (not root) and
 * returns false, or throws (root). Callers: `if (!requireTools(t, ['sipp'])) return;`
 */
export function requireTools(t: SkippableContext, programs: readonly string[], root: boolean = isRoot()): boolean {
  const missing = missingTools(programs);
  if (missing.length === 0) return true;
  const message = `missing program(s): ${missing.join(', ')} — install them with .ci/install-interop.sh (as root)`;
  if (root) throw new Error(`${message}; running as root, so this is a failure, not a skip`);
  t.skip(message);
  return false;
}
