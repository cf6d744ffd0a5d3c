/**
 * The HTTP API token (issue 14): state-changing API requests carry it as `Authorization: Bearer`.
 * Made at a peer's first start from node:crypto (256 bits, hex), kept in `<data-dir>/api-token`
 * (mode 0600, directory 0700), created atomically (written to a temporary file, then linked into
 * place: a concurrent start reads the winner's token, never a half-written one) and reused on
 * later starts.
 */
import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { P2psipError } from '../lib/errors.js';
import { readOptionalFile } from './atomic-file.js';

/** File name of the token in the data directory. */
export const API_TOKEN_FILE = 'api-token';
/** Random bytes in a new token (256 bits; at least 128 are required of a kept one). */
export const API_TOKEN_BYTES = 32;
const KEPT_TOKEN = /^[0-9a-f]{32,256}$/;

export interface ApiToken {
  token: string;
  /** Where it is kept; undefined for a token of this run only. */
  file: string | undefined;
  /** Made now (first start) rather than read. */
  created: boolean;
}

/** A new token (hex). */
export function newApiToken(): string {
  return randomBytes(API_TOKEN_BYTES).toString('hex');
}

/** A token of this run only, kept nowhere (a peer with no data directory, e.g. in-process tests). */
export function ephemeralApiToken(): ApiToken {
  return { token: newApiToken(), file: undefined, created: true };
}

async function readKept(file: string): Promise<string | undefined> {
  const text = await readOptionalFile(file).catch((e: Error) => {
    throw new P2psipError('API_TOKEN', `cannot read the API token ${file}: ${e.message}`);
  });
  if (text === undefined) return undefined;
  const token = text.trim();
  if (!KEPT_TOKEN.test(token)) throw new P2psipError('API_TOKEN', `${file} holds no API token (32 to 256 lower-case hex digits); remove it and a new one is made`);
  // readable by others: only the owner may keep it
  if (((await stat(file)).mode & 0o077) !== 0) await chmod(file, 0o600);
  return token;
}

/** Reads `<dir>/api-token`, or makes it when there is none. */
export async function loadOrCreateApiToken(dir: string): Promise<ApiToken> {
  const file = join(dir, API_TOKEN_FILE);
  const kept = await readKept(file);
  if (kept !== undefined) return { token: kept, file, created: false };
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const token = newApiToken();
  const tmp = join(dir, `.${API_TOKEN_FILE}.${process.pid}.${randomBytes(6).toString('hex')}`);
  await writeFile(tmp, `${token}\n`, { mode: 0o600, flag: 'wx' });
  try {
    await chmod(tmp, 0o600); // exactly 0600, whatever the umask
    await link(tmp, file);
    return { token, file, created: true };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new P2psipError('API_TOKEN', `cannot create the API token ${file}: ${(e as Error).message}`);
    // another start made it first: theirs is the token
    const theirs = await readKept(file);
    if (theirs === undefined) throw new P2psipError('API_TOKEN', `${file} vanished while it was being created`);
    return { token: theirs, file, created: false };
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}
