/**
 * The SIP servers the interop tests and the benchmark put under test: a `p2psip up` peer
 * (registrar + record-routing stateful proxy on its SIP front) and, for comparison,
 * Kamailio with bench/kamailio/kamailio.cfg (the same role). Both listen on UDP and TCP of
 * one loopback port and are stopped by their PID (process group).
 */
import type { LoopbackHost } from './sipp-runner.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { BoundedProcess, ExitInfo } from './bounded-process.js';
import { describeExit } from './bounded-process.js';
import type { ProcessScope } from './process-scope.js';
import { FOUR_DIGIT_PORTS } from './port-allocator.js';
import { KAMAILIO_CFG, P2PSIP_CLI } from './paths.js';
import { sipOptionsPing } from './sip-probe.js';

export type SutKind = 'p2psip' | 'kamailio';

export interface SipServer {
  readonly kind: SutKind;
  readonly host: LoopbackHost;
  /** SIP port, UDP and TCP. */
  readonly port: number;
  /** p2psip's dashboard / JSON API port. */
  readonly httpPort?: number;
  readonly process: BoundedProcess;
  /** SIGTERM (then SIGKILL after a grace period); resolves with the exit status. */
  stop(): Promise<ExitInfo>;
}

export interface SipServerOptions {
  /** SIP port; default: a free four-digit port (sipsak can only address those). */
  readonly port?: number;
  /** Upper bound on the server's lifetime. */
  readonly lifetimeMs: number;
  /** How long to wait for it to be ready. Default 20 s. */
  readonly readyTimeoutMs?: number;
}

export interface P2psipOptions extends SipServerOptions {
  readonly httpPort?: number;
  /** Loopback address of the SIP front (default 127.0.0.1; '::1' for IPv6 tests). */
  readonly host?: LoopbackHost;
  readonly logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
  readonly extraArgs?: readonly string[];
  /** Issue 15: a closed overlay (phones need users and passwords); default open (`--open`). */
  readonly closed?: boolean;
}

export interface KamailioOptions extends SipServerOptions {
  /** UDP worker processes. Default 4. */
  readonly workers?: number;
  /** Shared memory in MiB. Default 128. */
  readonly sharedMemoryMb?: number;
  readonly configPath?: string;
  /** More config pre-processor defines (-A NAME=value; quote string values: '"kam.test"'). */
  readonly defines?: Readonly<Record<string, string>>;
}

/** Line the p2psip CLI prints once its SIP front is ready. */
export const P2PSIP_READY_LINE = /SIP front listening/;

/** Which server the interop tests target: P2PSIP_INTEROP_SUT=kamailio validates the harness itself. */
export function interopSutKind(env: NodeJS.ProcessEnv = process.env): SutKind {
  const v = env['P2PSIP_INTEROP_SUT'];
  if (v === undefined || v === '' || v === 'p2psip') return 'p2psip';
  if (v === 'kamailio') return 'kamailio';
  throw new Error(`P2PSIP_INTEROP_SUT must be p2psip or kamailio, not '${v}'`);
}

/** Starts the server of the given kind. */
export function startSipServer(
  scope: ProcessScope,
  kind: SutKind,
  opts: SipServerOptions & P2psipOptions & KamailioOptions,
): Promise<SipServer> {
  return kind === 'p2psip' ? startP2psip(scope, opts) : startKamailio(scope, opts);
}

/** Starts `node dist/src/cli/main.js up ...` and waits for its ready line. */
export async function startP2psip(scope: ProcessScope, opts: P2psipOptions): Promise<SipServer> {
  if (!existsSync(P2PSIP_CLI)) {
    throw new Error(`${P2PSIP_CLI} does not exist: run \`npm run build\` first (npm run test:interop does)`);
  }
  const host: LoopbackHost = opts.host ?? '127.0.0.1';
  const port = opts.port ?? (await scope.port({ range: FOUR_DIGIT_PORTS, host }));
  const httpPort = opts.httpPort ?? (await scope.port());
  const dataDir = scope.tempDir('p2psip-peer-');
  const args = [
    P2PSIP_CLI,
    'up',
    '--sip',
    host === '::1' ? `[::1]:${port}` : `127.0.0.1:${port}`,
    '--http',
    `127.0.0.1:${httpPort}`,
    '--outbound',
    'none',
    '--listen',
    '127.0.0.1:0',
    '--data-dir',
    dataDir,
    '--log-level',
    opts.logLevel ?? 'warn',
    ...(opts.closed === true || (opts.extraArgs ?? []).includes('--open') ? [] : ['--open']),
    ...(opts.extraArgs ?? []),
  ];
  const proc = scope.spawn({
    command: process.execPath,
    args,
    name: `p2psip:${port}`,
    lifetimeMs: opts.lifetimeMs,
    maxLines: 5000,
  });
  await proc.waitForLine(P2PSIP_READY_LINE, { timeoutMs: opts.readyTimeoutMs ?? 20_000 });
  return {
    kind: 'p2psip',
    host,
    port,
    httpPort,
    process: proc,
    stop: () => proc.stop('SIGTERM', 8000),
  };
}

/** Starts Kamailio in the foreground (-DD -E) and waits until it answers an OPTIONS. */
export async function startKamailio(scope: ProcessScope, opts: KamailioOptions): Promise<SipServer> {
  const port = opts.port ?? (await scope.port({ range: FOUR_DIGIT_PORTS }));
  const dir = scope.tempDir('kamailio-');
  const args = [
    '-f',
    opts.configPath ?? KAMAILIO_CFG,
    '-DD',
    '-E',
    '-m',
    String(opts.sharedMemoryMb ?? 128),
    '-M',
    '8',
    '-A',
    `WORKERS=${opts.workers ?? 4}`,
    ...Object.entries(opts.defines ?? {}).flatMap(([k, v]) => ['-A', `${k}=${v}`]),
    '-l',
    `udp:127.0.0.1:${port}`,
    '-l',
    `tcp:127.0.0.1:${port}`,
    '-P',
    join(dir, 'kamailio.pid'),
    '-w',
    dir,
  ];
  const proc = scope.spawn({ command: 'kamailio', args, name: `kamailio:${port}`, lifetimeMs: opts.lifetimeMs });
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 20_000);
  for (;;) {
    if (proc.exitInfo !== undefined) {
      throw new Error(`kamailio exited (${describeExit(proc.exitInfo)}) while starting:\n${proc.tail()}`);
    }
    const status = await sipOptionsPing('127.0.0.1', port, 500);
    if (status !== undefined) break;
    if (Date.now() > deadline) {
      await proc.stop();
      throw new Error(`kamailio did not answer OPTIONS on 127.0.0.1:${port}:\n${proc.tail()}`);
    }
  }
  return {
    kind: 'kamailio',
    host: '127.0.0.1',
    port,
    process: proc,
    stop: () => proc.stop('SIGTERM', 5000),
  };
}
