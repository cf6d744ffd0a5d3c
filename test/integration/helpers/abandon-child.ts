import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

/**
 * Waits for a child process to say it is ready. When it never does, nobody gets a handle to stop it:
 * it is killed here and the data directory made for it (if any) removed, then the error goes on.
 */
export async function readyOrAbandon<T>(ready: Promise<T>, child: ChildProcess, madeDataDir: string | undefined): Promise<T> {
  try {
    return await ready;
  } catch (e) {
    child.kill('SIGKILL');
    if (madeDataDir !== undefined) rmSync(madeDataDir, { recursive: true, force: true });
    throw e;
  }
}
