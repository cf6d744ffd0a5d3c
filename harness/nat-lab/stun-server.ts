/**
 * coturn 4.6.1 as the lab's STUN/TURN server with RFC 5780 behaviour discovery: it needs two
 * listening addresses (`-L a -L b`) and pairs them with the primary and alternate ports
 * (3478/3479), so a CHANGE-REQUEST (RFC 5780 §7.2) can be answered from the other address and/or
 * port. TURN is on too (long-term credentials `natlab`/`natlab`, realm `natlab.test`).
 */
import { join } from 'node:path';
import type { BoundedProcess } from '../bounded-process.js';
import type { LabHost } from './lab-host.js';

export interface StunServer {
  readonly host: LabHost;
  /** Address to send to first (RFC 5780 tests start here). */
  readonly primary: string;
  /** The second address (CHANGE-REQUEST "change IP"). */
  readonly alternate: string;
  readonly port: number;
  /** The alternate port (CHANGE-REQUEST "change port"). */
  readonly alternatePort: number;
  readonly turn: { readonly username: string; readonly password: string; readonly realm: string };
  readonly process: BoundedProcess;
}

export interface StunServerOptions {
  /** Directory for the pid file and the (empty) user database. */
  readonly workDir: string;
  /** Upper bound on its lifetime. Default 10 minutes. */
  readonly lifetimeMs?: number;
  /** Default 3478 (the alternate port is port + 1). */
  readonly port?: number;
  readonly readyTimeoutMs?: number;
}

export const TURN_CREDENTIALS = { username: 'natlab', password: 'natlab', realm: 'natlab.test' } as const;

/** Starts turnserver on `host` (which needs two addresses) and waits until all four sockets listen. */
export async function startStunServer(host: LabHost, opts: StunServerOptions): Promise<StunServer> {
  const [primary, alternate] = host.addresses;
  if (primary === undefined || alternate === undefined) {
    throw new Error(`RFC 5780 needs two addresses on ${host.name}; it has ${host.addresses.join(', ')}`);
  }
  const port = opts.port ?? 3478;
  const alternatePort = port + 1;
  const proc = host.spawn({
    command: 'turnserver',
    name: `${host.name}:turnserver`,
    lifetimeMs: opts.lifetimeMs ?? 600_000,
    args: [
      '-n',
      '--listening-ip', primary,
      '--listening-ip', alternate,
      '--listening-port', String(port),
      '--alt-listening-port', String(alternatePort),
      '--no-tls',
      '--no-dtls',
      '--no-cli',
      '--fingerprint',
      '--lt-cred-mech',
      '--user', `${TURN_CREDENTIALS.username}:${TURN_CREDENTIALS.password}`,
      '--realm', TURN_CREDENTIALS.realm,
      '--pidfile', join(opts.workDir, 'turnserver.pid'),
      '--userdb', join(opts.workDir, 'turndb'),
      '--log-file', 'stdout',
      '--simple-log',
    ],
  });
  const want = [primary, alternate].flatMap((a) => [`${a}:${port}`, `${a}:${alternatePort}`]);
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 10_000);
  for (;;) {
    if (proc.exitInfo !== undefined) throw new Error(`turnserver exited before listening:\n${proc.tail()}`);
    const r = await host.tryRun('ss', ['-Hlun']);
    const listening = new Set(r.stdout.split('\n').map((line) => line.trim().split(/\s+/)[3] ?? ''));
    if (want.every((a) => listening.has(a))) break;
    if (Date.now() > deadline) {
      await proc.stop();
      throw new Error(`turnserver not listening on ${want.join(', ')} within the bound:\n${proc.tail()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { host, primary, alternate, port, alternatePort, turn: TURN_CREDENTIALS, process: proc };
}
