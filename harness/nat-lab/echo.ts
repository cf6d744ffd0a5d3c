/**
 * Reachability across the lab: an echo server in one namespace, a probe from another; the answer
 * says which source address:port the server saw (the NAT mapping, or the private address when no
 * NAT is in between) and the round-trip time. Runs harness/nat-lab/net-agent.ts with tsx.
 */
import { fileURLToPath } from 'node:url';
import type { BoundedProcess } from '../bounded-process.js';
import { REPO_ROOT } from '../paths.js';
import type { LabHost } from './lab-host.js';

/** The agent script, run as `node --import tsx <path>` inside a namespace. */
export const NET_AGENT_PATH = fileURLToPath(new URL('./net-agent.ts', import.meta.url));

export type EchoProto = 'udp' | 'tcp';

export interface EchoServer {
  readonly host: LabHost;
  /** The address it is bound to (the host's address unless told otherwise). */
  readonly address: string;
  readonly udpPort: number | undefined;
  readonly tcpPort: number | undefined;
  readonly process: BoundedProcess;
  stop(): Promise<void>;
}

export interface EchoServerOptions {
  /** UDP port (0 = any); omit for no UDP. */
  readonly udpPort?: number;
  /** TCP port (0 = any); omit for no TCP. */
  readonly tcpPort?: number;
  /** Bind address. Default 0.0.0.0 (reported address: the host's first address). */
  readonly bind?: string;
  /** Default 5 minutes. */
  readonly lifetimeMs?: number;
}

/** Starts the echo agent on `host` and waits until it listens. */
export async function startEchoServer(host: LabHost, opts: EchoServerOptions): Promise<EchoServer> {
  if (opts.udpPort === undefined && opts.tcpPort === undefined) throw new RangeError('give udpPort and/or tcpPort');
  const proc = host.spawn({
    command: process.execPath,
    name: `${host.name}:echo`,
    args: ['--import', 'tsx', NET_AGENT_PATH, 'serve', opts.bind ?? '0.0.0.0', portArg(opts.udpPort), portArg(opts.tcpPort)],
    cwd: REPO_ROOT,
    lifetimeMs: opts.lifetimeMs ?? 300_000,
  });
  const line = await proc.waitForLine(/^listening udp=\S+ tcp=\S+$/, { timeoutMs: 15_000 });
  const m = /udp=(\S+) tcp=(\S+)/.exec(line);
  const num = (s: string | undefined): number | undefined => (s === undefined || s === '-' ? undefined : Number(s));
  return {
    host,
    address: opts.bind === undefined || opts.bind === '0.0.0.0' ? host.address : opts.bind,
    udpPort: num(m?.[1]),
    tcpPort: num(m?.[2]),
    process: proc,
    stop: async () => {
      await proc.stop('SIGTERM', 2000);
    },
  };
}

export interface EchoTarget {
  readonly proto: EchoProto;
  readonly address: string;
  readonly port: number;
}

export interface EchoResult {
  readonly ok: boolean;
  readonly proto: EchoProto;
  /** The source address:port the server saw. */
  readonly seenAs?: { readonly address: string; readonly port: number };
  /** Round-trip time of the answered request (TCP: connect included). */
  readonly rttMs?: number;
  /** The prober's local address:port. */
  readonly local?: string;
  /** Why not ok: 'timeout', 'ECONNREFUSED', ... */
  readonly error?: string;
}

export interface EchoProbeOptions {
  /** Default 2 s (UDP retransmits every 200 ms until then). */
  readonly timeoutMs?: number;
  /** Local port to send from (default any). */
  readonly localPort?: number;
}

/** Sends one request from `from` to `target` and reports the answer (never throws on no answer). */
export async function echoProbe(from: LabHost, target: EchoTarget | EchoServer, proto?: EchoProto, opts: EchoProbeOptions = {}): Promise<EchoResult> {
  const t = 'proto' in target ? target : toTarget(target, proto);
  const timeoutMs = opts.timeoutMs ?? 2000;
  const out = await from.run(
    process.execPath,
    ['--import', 'tsx', NET_AGENT_PATH, 'send', t.proto, t.address, String(t.port), String(timeoutMs), String(opts.localPort ?? 0)],
    { cwd: REPO_ROOT, timeoutMs: timeoutMs + 10_000 },
  );
  const last = out.trim().split('\n').pop() ?? '';
  const raw = JSON.parse(last) as { ok: boolean; seenAs?: string; rttMs?: number; local?: string; error?: string };
  const seen = raw.seenAs === undefined ? undefined : splitHostPort(raw.seenAs);
  return {
    ok: raw.ok,
    proto: t.proto,
    ...(seen === undefined ? {} : { seenAs: seen }),
    ...(raw.rttMs === undefined ? {} : { rttMs: raw.rttMs }),
    ...(raw.local === undefined ? {} : { local: raw.local }),
    ...(raw.error === undefined ? {} : { error: raw.error }),
  };
}

function toTarget(server: EchoServer, proto: EchoProto | undefined): EchoTarget {
  const p = proto ?? (server.udpPort !== undefined ? 'udp' : 'tcp');
  const port = p === 'udp' ? server.udpPort : server.tcpPort;
  if (port === undefined) throw new RangeError(`echo server on ${server.host.name} has no ${p} port`);
  return { proto: p, address: server.address, port };
}

function splitHostPort(text: string): { address: string; port: number } {
  const i = text.lastIndexOf(':');
  return { address: text.slice(0, i), port: Number(text.slice(i + 1)) };
}

function portArg(p: number | undefined): string {
  return p === undefined ? '-' : String(p);
}
