/**
 * A real peer process running the overlay service with storage (startOverlay: identity, TLS links,
 * LMDB store) and the /api/storage routes on its own HTTP server, until `p2psip up` mounts them.
 * Run directly (`node --import tsx storage-peer-process.ts --listen … [--config URL --config-ca FILE
 * --user U --password P] [--bootstrap h:p] [--hold-down MS] [--drop-grace MS] [--tls-record-per-message]`) it is the child; it prints
 * `STORAGE-PEER READY <nodeId> <listen> <http>`, or `STORAGE-PEER FAILED <reason>` and exits 1.
 * Its API is guarded like `p2psip up`'s (node/api-guard.ts): POSTs need the token kept in
 * `<data-dir>/api-token` (`apiToken()`), overlay reads without it are rate-limited.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { readyOrAbandon } from './abandon-child.js';
import { tmpdir } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import { startHttpServer } from '../../../src/platform/http-server.js';
import { startOverlay } from '../../../src/node/overlay-service.js';
import { createStorageApi, STORAGE_OVERLAY_ROUTES } from '../../../src/node/storage-api.js';
import { ApiGuard } from '../../../src/node/api-guard.js';
import { loadOrCreateApiToken, API_TOKEN_FILE } from '../../../src/platform/api-token.js';
import { SystemClock } from '../../../src/platform/system-clock.js';

const HERE = fileURLToPath(import.meta.url);
const ROOT = join(dirname(HERE), '..', '..', '..');

export interface StoragePeerProcess {
  child: ChildProcess;
  nodeId: string;
  listen: string;
  http: string;
  dataDir: string;
  /** The API token in `<data-dir>/api-token` (POSTs: `Authorization: Bearer …`). */
  apiToken(): string;
  output(): string;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Additive options of {@link startStoragePeer}. */
export interface StoragePeerOptions {
  /** Extra environment of the child (merged over this process's), e.g. NODE_OPTIONS=--tls-keylog=FILE. */
  env?: Record<string, string>;
}

/** Starts a child; rejects with its output when it fails or is not ready in time. */
export async function startStoragePeer(args: string[], timeoutMs = 60_000, opts: StoragePeerOptions = {}): Promise<StoragePeerProcess> {
  const given = args.indexOf('--data-dir');
  const dataDir = given >= 0 ? args[given + 1]! : mkdtempSync(join(tmpdir(), 'p2psip-storage-'));
  const child = spawn(process.execPath, ['--import', 'tsx', HERE, ...args, ...(given >= 0 ? [] : ['--data-dir', dataDir])], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(opts.env === undefined ? {} : { env: { ...process.env, ...opts.env } }),
  });
  let out = '';
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const started = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`storage peer not ready within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    child.stdout!.on('data', (d: string) => {
      out += d;
      const m = /STORAGE-PEER (READY|FAILED) (.*)/.exec(out);
      if (m) {
        clearTimeout(timer);
        if (m[1] === 'READY') resolve(m[2]!);
        else reject(new Error(`storage peer failed: ${m[2]}`));
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`storage peer exited with ${code} before ready:\n${out}`));
    });
  });
  const line = await readyOrAbandon(started, child, given < 0 ? dataDir : undefined);
  const [nodeId, listen, http] = line.trim().split(' ') as [string, string, string];
  return {
    child,
    nodeId,
    listen,
    http,
    dataDir,
    apiToken: () => readFileSync(join(dataDir, API_TOKEN_FILE), 'utf8').trim(),
    output: () => out,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      if (given < 0) rmSync(dataDir, { recursive: true, force: true });
      return child.exitCode;
    },
  };
}

function arg(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

function hostPort(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
}

async function main(argv: string[]): Promise<void> {
  const overlay = arg(argv, '--overlay') ?? 'storage.test';
  const config = arg(argv, '--config');
  const caFile = arg(argv, '--config-ca');
  const user = arg(argv, '--user');
  const password = arg(argv, '--password');
  const boot = arg(argv, '--bootstrap');
  const holdDown = Number(arg(argv, '--hold-down') ?? 30_000);
  const dropGrace = Number(arg(argv, '--drop-grace') ?? 90_000);
  const recordPerMessage = argv.includes('--tls-record-per-message');
  let running;
  try {
    running = await startOverlay({
      overlay,
      listen: hostPort(arg(argv, '--listen') ?? '127.0.0.1:0'),
      bootstrap: boot === undefined ? [] : boot.split(',').map(hostPort),
      dataDir: arg(argv, '--data-dir')!,
      client: false,
      // issue 15: the zero-configuration overlay open, as before (these tests are about storage)
      open: config === undefined,
      ...(config === undefined ? {} : { configSource: config }),
      ...(caFile === undefined ? {} : { configCa: readFileSync(caFile, 'utf8') }),
      ...(user === undefined || password === undefined ? {} : { credentials: { username: user, password } }),
      storageOptions: { holdDownMs: holdDown, dropGraceMs: dropGrace },
      ...(recordPerMessage ? { coalesceTlsWrites: false } : {}),
      overlayOptions: { updateIntervalMs: 5000 },
    });
  } catch (e) {
    console.log(`STORAGE-PEER FAILED ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  }
  const r = running;
  const api = createStorageApi(r.storage);
  const { token } = await loadOrCreateApiToken(arg(argv, '--data-dir')!);
  const guard = new ApiGuard({ clock: new SystemClock() }, { token, overlayRoutes: new Set(STORAGE_OVERLAY_ROUTES) });
  const http = await startHttpServer('127.0.0.1', 0, async (method, url, req) => {
    const refused = guard.check(method, url, req.headers);
    if (refused) return refused;
    const a = await api(method, url);
    if (a) return a;
    if (url.pathname === '/api/status') {
      const s = r.node.status();
      return { status: 200, contentType: 'application/json', body: JSON.stringify({ ...s, state: r.node.state, storedResources: r.storageSummary().resources }) };
    }
    return { status: 404, contentType: 'application/json', body: '{"error":"no such endpoint"}' };
  });
  guard.bind(http.host, http.port);
  const ep = r.listen!;
  console.log(`STORAGE-PEER READY ${r.node.status().nodeId} ${ep.host}:${ep.port} ${http.host}:${http.port}`);
  const stop = async (): Promise<void> => {
    await r.leave().catch(() => undefined);
    await http.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) void main(process.argv.slice(2));
