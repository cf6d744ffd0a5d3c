/**
 * p2psip peers inside the NAT lab: `startLabPeer` runs the built CLI (`p2psip up`) in a host's
 * namespace — overlay on <address>:6084 (TLS and the overlay UDP port; `overlayPort` changes it),
 * SIP on <address>:5060, the
 * HTTP API on the namespace's own 127.0.0.1:8060 — bounded in time and killed with the lab's scope;
 * `status()` and `fetchRandom()` ask its API from inside the namespace (lab-api-client.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BoundedProcess } from '../bounded-process.js';
import { P2PSIP_CLI, REPO_ROOT } from '../paths.js';
import type { LabHost } from './lab-host.js';

export const LAB_OVERLAY_PORT = 6084;
export const LAB_SIP_PORT = 5060;
const CLIENT = join(REPO_ROOT, 'harness', 'nat-lab', 'lab-api-client.ts');

export interface LabPeerOptions {
  bootstrap?: string;
  ice?: boolean;
  lifetimeMs?: number;
  extraArgs?: readonly string[];
  /** Issue 15: a closed overlay (phones need users and passwords); default open (`--open`). */
  closed?: boolean;
  /** How long to wait for the peer to say it is up (default 60 s). */
  startTimeoutMs?: number;
  /**
   * Overlay port (TLS and UDP) instead of 6084, e.g. for a peer restarted behind a NAT that must not
   * reuse its previous incarnation's NAT mapping (and so its TURN 5-tuple).
   */
  overlayPort?: number;
  /** Variables added to the peer's environment (e.g. SSLKEYLOGFILE for its DTLS key log); the rest is inherited. */
  env?: Readonly<Record<string, string>>;
}

export interface LabPeer {
  readonly host: LabHost;
  readonly proc: BoundedProcess;
  readonly dataDir: string;
  /** `<address>:6084` */
  readonly overlayAddress: string;
  status(): Promise<Record<string, unknown>>;
  fetchRandom(count: number, seed: string): Promise<{ ok: number; failed: number; errors: string[]; medianMs: number; maxMs: number }>;
}

export async function startLabPeer(host: LabHost, opts: LabPeerOptions = {}): Promise<LabPeer> {
  const dataDir = mkdtempSync(join(tmpdir(), `p2psip-lab-${host.name}-`));
  const args = [
    P2PSIP_CLI,
    'up',
    '--listen',
    `${host.address}:${opts.overlayPort ?? LAB_OVERLAY_PORT}`,
    '--sip',
    `${host.address}:${LAB_SIP_PORT}`,
    '--http',
    `127.0.0.1:8060`,
    '--data-dir',
    dataDir,
    ...(opts.bootstrap === undefined ? [] : ['--bootstrap', opts.bootstrap]),
    ...(opts.ice === false ? [] : ['--ice']),
    ...(opts.closed === true || (opts.extraArgs ?? []).includes('--open') ? [] : ['--open']),
    ...(opts.extraArgs ?? []),
  ];
  const proc = host.spawn({ command: process.execPath, args, cwd: REPO_ROOT, lifetimeMs: opts.lifetimeMs ?? 600_000, name: `p2psip@${host.name}`, ...(opts.env === undefined ? {} : { env: { ...process.env, ...opts.env } }) });
  // the data directory lives as long as the peer (a peer killed with -9 included)
  void proc.exited.then(() => rmSync(dataDir, { recursive: true, force: true }));
  await proc.waitForLine(/^p2psip: overlay /, { timeoutMs: opts.startTimeoutMs ?? 60_000 });
  const client = async (mode: string, ...rest: string[]): Promise<string> => {
    const r = await host.run(process.execPath, ['--import', 'tsx', CLIENT, mode, '127.0.0.1:8060', ...rest], { cwd: REPO_ROOT, timeoutMs: 120_000 });
    return r.trim().split('\n').at(-1) ?? '';
  };
  return {
    host,
    proc,
    dataDir,
    overlayAddress: `${host.address}:${opts.overlayPort ?? LAB_OVERLAY_PORT}`,
    status: async () => JSON.parse(await client('status')) as Record<string, unknown>,
    fetchRandom: async (count, seed) => JSON.parse(await client('fetch-random', String(count), seed)) as { ok: number; failed: number; errors: string[]; medianMs: number; maxMs: number },
  };
}
