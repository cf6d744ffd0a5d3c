/**
 * Small files of a data directory (identity, enrollment state): written atomically — a temp file
 * beside the target, its mode set, then renamed over the target, so a crash leaves either the old
 * file or the new one — and read as absent rather than as an error when they do not exist yet.
 */
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';

/** Writes to one path in flight, by path: the next waits (the last call's data is what stays). */
const writing = new Map<string, Promise<void>>();
let tmpSeq = 0;

/**
 * Writes `data` to `path` through a temp file and a rename; the file gets exactly `mode`. Calls for one
 * path run one after the other, each with a temp file of its own (two at once on one temp name — an
 * enrollment's save and the server's save at close — lost the file under the other's chmod: ENOENT).
 */
export function writeFileAtomic(path: string, data: string, mode: number): Promise<void> {
  const before = writing.get(path) ?? Promise.resolve();
  const mine = before
    .catch(() => undefined)
    .then(async () => {
      const tmp = `${path}.tmp-${process.pid}-${++tmpSeq}`;
      await writeFile(tmp, data, { mode });
      await chmod(tmp, mode); // the umask must not widen nor narrow it
      await rename(tmp, path);
    });
  writing.set(path, mine);
  void mine.then(
    () => {
      if (writing.get(path) === mine) writing.delete(path);
    },
    () => {
      if (writing.get(path) === mine) writing.delete(path);
    },
  );
  return mine;
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
