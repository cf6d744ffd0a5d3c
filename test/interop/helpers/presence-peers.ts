/**
 * Issue 16 interop tests: `p2psip up` peers of one CLOSED overlay as real processes (the built CLI),
 * with ports and data directories the test knows, so that a peer can be killed (`kill -9`) and
 * started again on its own data directory with the same addresses. Users are added through the
 * peer's HTTP API (`POST /api/users/add`, the API token of its data directory), like `p2psip user add`.
 * No LAN discovery (`--no-discovery`): these peers only ever meet each other.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BoundedProcess } from '../../../harness/bounded-process.js';
import { waitJoined } from '../../../harness/overlay-peers.js';
import { P2PSIP_CLI } from '../../../harness/paths.js';
import { FOUR_DIGIT_PORTS } from '../../../harness/port-allocator.js';
import type { ProcessScope } from '../../../harness/process-scope.js';
import { P2PSIP_READY_LINE, type SipServer } from '../../../harness/sip-server.js';

export const OVERLAY = 'p2psip.local';

export interface PresencePeerSpec {
  readonly name: string;
  /** SIP front, UDP and TCP, on 127.0.0.1. */
  readonly port: number;
  readonly httpPort: number;
  /** Overlay link port (TLS) on 127.0.0.1. */
  readonly linkPort: number;
  readonly dataDir: string;
  /** Another peer's link port to join through; none: this peer starts the overlay. */
  readonly bootstrap?: number;
}

export class PresencePeer {
  #proc: BoundedProcess;

  private constructor(
    private readonly scope: ProcessScope,
    readonly spec: PresencePeerSpec,
    proc: BoundedProcess,
    private readonly lifetimeMs: number,
  ) {
    this.#proc = proc;
  }

  get name(): string {
    return this.spec.name;
  }
  get port(): number {
    return this.spec.port;
  }
  get process(): BoundedProcess {
    return this.#proc;
  }

  /** Starts a peer and waits for its SIP front. */
  static async start(scope: ProcessScope, spec: PresencePeerSpec, lifetimeMs: number): Promise<PresencePeer> {
    const proc = await spawnPeer(scope, spec, lifetimeMs);
    return new PresencePeer(scope, spec, proc, lifetimeMs);
  }

  /** The API token `p2psip up` keeps in its data directory. */
  apiToken(): string {
    return readFileSync(join(this.spec.dataDir, 'api-token'), 'utf8').trim();
  }

  /** The shape waitJoined() and other harness code take. */
  asSipServer(): SipServer {
    const proc = this.#proc;
    return { kind: 'p2psip', host: '127.0.0.1', port: this.spec.port, httpPort: this.spec.httpPort, process: proc, stop: () => proc.stop('SIGTERM', 8000) };
  }

  /** `POST /api/users/add` (what `p2psip user add` does). */
  async addUser(user: string, password: string): Promise<void> {
    const res = await fetch(`http://127.0.0.1:${this.spec.httpPort}/api/users/add?user=${encodeURIComponent(user)}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.apiToken()}`, 'x-p2psip-password': Buffer.from(password).toString('base64') },
      signal: AbortSignal.timeout(10_000),
    });
    if (res.status !== 200) throw new Error(`${this.name}: user add ${user}: ${res.status} ${await res.text()}`);
  }

  /** GET /api/status, parsed. */
  async status(): Promise<Record<string, unknown>> {
    const res = await fetch(`http://127.0.0.1:${this.spec.httpPort}/api/status`, { signal: AbortSignal.timeout(5000) });
    return (await res.json()) as Record<string, unknown>;
  }

  /** SIGKILL to the peer's process group: no goodbye, no NOTIFY, nothing withdrawn. */
  async kill9(): Promise<void> {
    this.#proc.signal('SIGKILL');
    await this.#proc.exited;
  }

  /** Starts the peer again on the same data directory and addresses (after kill9 or stop). */
  async restart(): Promise<void> {
    if (this.#proc.exitInfo === undefined) throw new Error(`${this.name} still runs`);
    this.#proc = await spawnPeer(this.scope, this.spec, this.lifetimeMs);
  }
}

async function spawnPeer(scope: ProcessScope, spec: PresencePeerSpec, lifetimeMs: number): Promise<BoundedProcess> {
  mkdirSync(spec.dataDir, { recursive: true });
  const args = [
    P2PSIP_CLI,
    'up',
    '--overlay',
    OVERLAY,
    '--sip',
    `127.0.0.1:${spec.port}`,
    '--http',
    `127.0.0.1:${spec.httpPort}`,
    '--listen',
    `127.0.0.1:${spec.linkPort}`,
    '--outbound',
    'none',
    '--no-discovery',
    '--media',
    'direct',
    '--data-dir',
    spec.dataDir,
    '--log-level',
    'warn',
    ...(spec.bootstrap === undefined ? [] : ['--bootstrap', `127.0.0.1:${spec.bootstrap}`]),
  ];
  const proc = scope.spawn({ command: process.execPath, args, name: `p2psip:${spec.name}`, lifetimeMs, maxLines: 5000 });
  await proc.waitForLine(P2PSIP_READY_LINE, { timeoutMs: 30_000 });
  return proc;
}

/**
 * `count` peers of a closed overlay (the first starts it, the others join through it), joined with
 * successors, and the users added (at the first peer; the directory is in the overlay).
 */
export async function startPresencePeers(scope: ProcessScope, count: number, users: Readonly<Record<string, string>>, lifetimeMs: number): Promise<PresencePeer[]> {
  const root = scope.tempDir('p2psip-presence-');
  const peers: PresencePeer[] = [];
  for (let i = 0; i < count; i++) {
    const spec: PresencePeerSpec = {
      name: String.fromCharCode(65 + i),
      port: await scope.port({ range: FOUR_DIGIT_PORTS }),
      httpPort: await scope.port(),
      linkPort: await scope.port(),
      dataDir: join(root, `peer-${i}`),
      ...(i === 0 ? {} : { bootstrap: peers[0]!.spec.linkPort }),
    };
    peers.push(await PresencePeer.start(scope, spec, lifetimeMs));
  }
  await waitJoined(
    peers.map((p) => p.asSipServer()),
    count,
    60_000,
  );
  for (const [user, password] of Object.entries(users)) await peers[0]!.addUser(user, password);
  return peers;
}
