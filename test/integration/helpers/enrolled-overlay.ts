/**
 * The enrolled overlay the multi-process tests start from (RFC 6940 §11.3): an enrollment server
 * process for a list of users, whose configuration document names one bootstrap port, and the
 * command-line flags that let a peer enroll as one of those users and take its place in the ring.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startEnrollServerProcess, type EnrollServerProcess } from './enroll-server-process.js';
import { freePort } from './free-port.js';

export interface Enrollment {
  server: EnrollServerProcess;
  /** The port the first peer listens on: the configuration's bootstrap peer. */
  bootstrapPort: number;
  /** The enrollment CA's certificate (PEM), which signs the configuration and every peer certificate. */
  caFile: string;
  /** The password the server accepts for `user`. */
  password(user: string): string;
  /** `p2psip up` flags that enroll as `user`: the configuration URL and its CA, the user, a password file, `<dir>/<user>` as data directory. */
  peerArgs(user: string): string[];
  /** Listen flags of the i-th peer started: the first is the bootstrap peer, the others join through it. */
  placeArgs(i: number): string[];
}

/**
 * Writes the users (and a 0600 password file each) into `dir` and starts the enrollment server there.
 * `bootstrapPort`: the port the configuration names (default: a free one).
 */
export async function startEnrollment(dir: string, overlay: string, users: readonly string[], opts: { bootstrapPort?: number; serverArgs?: readonly string[] } = {}): Promise<Enrollment> {
  const password = (u: string): string => `pw-${u}`;
  await writeFile(join(dir, 'users.txt'), users.map((u) => `${u}:${password(u)}`).join('\n') + '\n');
  for (const u of users) await writeFile(join(dir, `${u}.pw`), `${password(u)}\n`, { mode: 0o600 });
  const bootstrapPort = opts.bootstrapPort ?? (await freePort());
  const server = await startEnrollServerProcess([
    '--overlay', overlay,
    '--listen', '127.0.0.1:0',
    '--data-dir', join(dir, 'ca'),
    '--users', join(dir, 'users.txt'),
    '--bootstrap', `127.0.0.1:${bootstrapPort}`,
    '--key-algorithm', 'ecdsa-p256',
    ...(opts.serverArgs ?? []),
  ]);
  const caFile = join(dir, 'ca', 'ca.pem');
  return {
    server,
    bootstrapPort,
    caFile,
    password,
    peerArgs: (u) => ['--overlay', overlay, '--config', server.configUrl, '--config-ca', caFile, '--user', u, '--password-file', join(dir, `${u}.pw`), '--data-dir', join(dir, u)],
    placeArgs: (i) => (i === 0 ? ['--listen', `127.0.0.1:${bootstrapPort}`] : ['--listen', '127.0.0.1:0', '--bootstrap', `127.0.0.1:${bootstrapPort}`]),
  };
}
