/**
 * Starts `p2psip up` as a real child process (through tsx, no build needed), waits for its
 * ready line and parses the bound addresses. The process is killed when the test ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { readyOrAbandon } from './abandon-child.js';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { cliEntry } from './cli-entry.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export interface PeerProcess {
  child: ChildProcess;
  /** 'udp' | 'tcp' | … → port */
  sip: Map<string, { host: string; port: number }>;
  http: string | undefined;
  /** The overlay's Node-ID and link endpoint (absent with --standalone or a client). */
  nodeId: string | undefined;
  listen: { host: string; port: number } | undefined;
  dataDir: string;
  /** The HTTP API token `p2psip up` keeps in `<data-dir>/api-token` (for POST requests: `Authorization: Bearer …`). */
  apiToken(): string;
  output(): string;
  stop(signal?: NodeJS.Signals, removeDataDir?: boolean): Promise<number | null>;
}

/**
 * Unless the arguments say otherwise, the overlay listens on 127.0.0.1 (any port) and the data
 * directory is a fresh temporary one, removed when the peer is stopped with `removeDataDir`.
 */
export interface PeerProcessOptions {
  /** Options for node itself, before the script (e.g. `--tls-keylog=<file>`). Default none. */
  readonly nodeArgs?: readonly string[];
  /** Issue 15: a closed overlay (users and passwords); default open (`--open` added) unless args give --config. */
  readonly closed?: boolean;
}

export async function startPeerProcess(args: string[], timeoutMs = 20_000, opts: PeerProcessOptions = {}): Promise<PeerProcess> {
  const extra: string[] = [];
  const standalone = args.includes('--standalone');
  if (!standalone && !args.includes('--listen')) extra.push('--listen', '127.0.0.1:0');
  if (!standalone && opts.closed !== true && !args.includes('--config') && !args.includes('--open')) extra.push('--open');
  const given = args.indexOf('--data-dir');
  const dataDir = given >= 0 ? args[given + 1]! : mkdtempSync(join(tmpdir(), 'p2psip-test-'));
  // the data directory also holds the HTTP API token, stand-alone or not
  if (given < 0) extra.push('--data-dir', dataDir);
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), ...cliEntry(), 'up', ...args, ...extra], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    out += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const started = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`peer not ready within ${timeoutMs} ms:\n${out}`)), timeoutMs);
    child.stdout!.on('data', (d: string) => {
      out += d;
      const line = out.split('\n').find((l) => l.includes('SIP front listening on'));
      if (line !== undefined) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`peer exited with ${code} before ready:\n${out}`));
    });
  });
  const ready = await readyOrAbandon(started, child, given < 0 ? dataDir : undefined);
  const sip = new Map<string, { host: string; port: number }>();
  for (const m of ready.matchAll(/(udp|tcp|tls|wss|ws):(\[[^\]]+\]|[0-9.]+):(\d+)/g)) {
    sip.set(m[1]!, { host: m[2]!.replace(/^\[|\]$/g, ''), port: Number(m[3]) });
  }
  const http = /dashboard http:\/\/([^/]+)\//.exec(ready)?.[1];
  const ov = /Node-ID ([0-9a-f]+), (?:links on (\S+):(\d+)|client)/.exec(out);
  return {
    child,
    sip,
    http,
    nodeId: ov?.[1],
    listen: ov?.[2] === undefined ? undefined : { host: ov[2], port: Number(ov[3]) },
    dataDir,
    apiToken: () => readFileSync(join(dataDir, 'api-token'), 'utf8').trim(),
    output: () => out,
    async stop(signal: NodeJS.Signals = 'SIGTERM', removeDataDir = given < 0) {
      const cleanup = (): void => {
        if (removeDataDir) rmSync(dataDir, { recursive: true, force: true });
      };
      if (child.exitCode !== null || child.signalCode !== null) {
        cleanup();
        return child.exitCode;
      }
      child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      const code = await exited;
      clearTimeout(t);
      cleanup();
      return code;
    },
  };
}
