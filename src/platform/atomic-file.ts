/**
 * Small files of a data directory (identity, enrollment state): written atomically — a temp file
 * beside the target, its mode set, then renamed over the target, so a crash leaves either the old
 * file or the new one — and read as absent rather than as an error when they do not exist yet.
 */
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';

/** Writes `data` to `path` through a temp file and a rename; the file gets exactly `mode`. */
export async function writeFileAtomic(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data, { mode });
  await chmod(tmp, mode); // the umask must not widen nor narrow it
  await rename(tmp, path);
}

/** The file's text, or undefined when it does not exist (other errors are thrown). */
export async function readOptionalFile(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}
