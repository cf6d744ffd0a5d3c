/**
 * A peer's identity on disk (its data directory): key.pem (mode 0600), cert.pem, node-id (hex),
 * and the overlay configuration document config.xml. Written atomically (temp file + rename).
 */
import { chmod, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { certificateFromPem, certificateToPem, loadNodeIdentity, privateKeyToPem, toHex } from '../reload/security/index.js';
import type { NodeIdentity } from '../reload/security/index.js';
import { readOptionalFile, writeFileAtomic } from './atomic-file.js';

export const KEY_FILE = 'key.pem';
export const CERT_FILE = 'cert.pem';
export const NODE_ID_FILE = 'node-id';
export const CONFIG_FILE = 'config.xml';

/** Creates the data directory (mode 0700) if needed. */
export async function ensureDataDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
}

/**
 * Issue 15: a peer's data directory (it holds key.pem, the API token, users' HA1s in `store/`) that is
 * open to the group or others is narrowed to 0700 — only when it is one (key.pem in it) and not a
 * shared sticky directory such as /tmp. True when it was changed.
 */
export async function narrowDataDir(dir: string): Promise<boolean> {
  const st = await stat(dir).catch(() => undefined);
  if (st === undefined || !st.isDirectory() || (st.mode & 0o1000) !== 0 || (st.mode & 0o077) === 0) return false;
  if ((await stat(join(dir, KEY_FILE)).catch(() => undefined)) === undefined) return false;
  await chmod(dir, 0o700);
  return true;
}

/** Saves key (0600), certificate and Node-ID(s) (one hex per line). */
export async function saveIdentity(dir: string, identity: NodeIdentity): Promise<void> {
  await ensureDataDir(dir);
  await writeFileAtomic(join(dir, KEY_FILE), privateKeyToPem(identity.keys.privateKey), 0o600);
  await writeFileAtomic(join(dir, CERT_FILE), certificateToPem(identity.certificate.der), 0o644);
  await writeFileAtomic(join(dir, NODE_ID_FILE), `${identity.certificate.nodeIds.map(toHex).join('\n')}\n`, 0o644);
}

/** The saved identity, or undefined when there is none; throws when the files are unreadable or do not match. */
export async function loadIdentity(dir: string, options: { nodeIdLength?: number } = {}): Promise<NodeIdentity | undefined> {
  const key = await readOptionalFile(join(dir, KEY_FILE));
  const cert = await readOptionalFile(join(dir, CERT_FILE));
  if (key === undefined && cert === undefined) return undefined;
  if (key === undefined || cert === undefined) throw new Error(`${dir}: ${key === undefined ? KEY_FILE : CERT_FILE} is missing`);
  return loadNodeIdentity(certificateFromPem(cert), key, options);
}

/**
 * The saved identity if there is one that `accept` (default: any) takes, else a new one from
 * `create`, saved. `created` tells which.
 */
export async function loadOrCreateIdentity(
  dir: string,
  create: () => Promise<NodeIdentity>,
  options: { nodeIdLength?: number; accept?: (identity: NodeIdentity) => boolean } = {},
): Promise<{ identity: NodeIdentity; created: boolean }> {
  const existing = await loadIdentity(dir, options.nodeIdLength === undefined ? {} : { nodeIdLength: options.nodeIdLength });
  if (existing !== undefined && (options.accept?.(existing) ?? true)) return { identity: existing, created: false };
  const identity = await create();
  await saveIdentity(dir, identity);
  return { identity, created: true };
}

/** Saves the configuration document as fetched (its signature covers its exact bytes). */
export async function saveConfigurationDocument(dir: string, xml: string): Promise<void> {
  await ensureDataDir(dir);
  await writeFileAtomic(join(dir, CONFIG_FILE), xml, 0o644);
}

export async function loadConfigurationDocument(dir: string): Promise<string | undefined> {
  return readOptionalFile(join(dir, CONFIG_FILE));
}
