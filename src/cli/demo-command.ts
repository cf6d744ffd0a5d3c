/**
 * `p2psip demo --peers N`: a local overlay of N peers in one process, each with its own SIP port,
 * overlay port, dashboard and data directory (removed on exit), and how to add a phone to each.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import pino from 'pino';
import { ConfigError, defaultPeerConfig } from '../node/peer-config.js';
import type { PeerConfig } from '../node/peer-config.js';
import { startPeer } from '../node/run-peer.js';
import type { RunningPeer } from '../node/run-peer.js';
import { formatAddress } from './messages.js';

export interface DemoOptions {
  peers: string;
  host: string;
  basePort: string;
  overlay: string;
}

/** Peer i uses SIP basePort+10·i, overlay links basePort+1024+i, dashboard basePort+3000+i (all 0 when basePort is 0). */
export function demoPorts(basePort: number, i: number): { sip: number; listen: number; http: number } {
  if (basePort === 0) return { sip: 0, listen: 0, http: 0 };
  return { sip: basePort + 10 * i, listen: basePort + 1024 + i, http: basePort + 3000 + i };
}

export function registerDemoCommand(program: Command): Command {
  return program
    .command('demo')
    .description('a local overlay of N peers with their dashboards; says how to add a phone')
    .option('--peers <n>', 'number of peers (1..20)', '3')
    .option('--host <ip>', 'address every peer listens on', '127.0.0.1')
    .option('--base-port <port>', 'SIP port of the first peer (others +10, +20, …); 0 = any free ports', '5060')
    .option('--overlay <name>', 'overlay name, also the SIP domain', 'p2psip.local')
    .action(async (o: DemoOptions) => runDemo(o));
}

async function runDemo(o: DemoOptions): Promise<void> {
  const n = Number(o.peers);
  if (!Number.isInteger(n) || n < 1 || n > 20) throw new ConfigError(`--peers: expected 1..20, got '${o.peers}'`);
  const base = Number(o.basePort);
  if (!Number.isInteger(base) || base < 0 || base + 3000 + n > 65535) throw new ConfigError(`--base-port: expected 0 or a port leaving room for ${n} peers, got '${o.basePort}'`);
  const logger = pino({ level: 'warn', base: undefined }, pino.destination(2));
  const peers: RunningPeer[] = [];
  const dirs: string[] = [];
  const removeDirs = (): void => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  };
  const cleanup = async (): Promise<void> => {
    await Promise.all(peers.map((p) => p.stop().catch(() => undefined)));
    removeDirs();
  };
  try {
    for (let i = 0; i < n; i++) {
      const ports = demoPorts(base, i);
      const dir = mkdtempSync(join(tmpdir(), `p2psip-demo-${i}-`));
      dirs.push(dir);
      const first = peers[0]?.overlay?.listen;
      const c: PeerConfig = {
        ...defaultPeerConfig(),
        overlay: o.overlay,
        sip: { host: o.host, port: ports.sip },
        http: { host: o.host, port: ports.http },
        outbound: { mode: 'none' },
        logLevel: 'warn',
        reload: {
          listen: { host: o.host, port: ports.listen },
          bootstrap: first === undefined ? [] : [{ host: first.host, port: first.port }],
          dataDir: dir,
          client: false,
          open: true,
          configSource: undefined,
          configCa: undefined,
          credentials: undefined,
        },
      };
      peers.push(await startPeer(c, logger));
    }
  } catch (e) {
    await cleanup();
    throw e;
  }
  const lines = [`p2psip demo: overlay ${o.overlay} with ${n} peer(s)`];
  peers.forEach((p, i) => {
    const udp = p.sipAddresses.find((a) => a.protocol === 'udp');
    lines.push(
      `  peer ${i}: Node-ID ${p.overlay?.node.status().nodeId ?? '?'}  SIP ${p.sipAddresses.map(formatAddress).join(', ')}` +
        `  dashboard http://${p.http?.host ?? '?'}:${p.http?.port ?? '?'}/` +
        (udp ? `  (phone: registrar/proxy ${udp.host}:${udp.port})` : ''),
    );
  });
  lines.push(
    '',
    `Point a softphone at any peer's SIP address as registrar and outbound proxy: account alice, domain ${o.overlay},`,
    'no password. Register bob at another peer and call him: the call crosses the overlay. Ctrl-C stops every peer.',
    '',
  );
  process.stdout.write(lines.join('\n'));
  // issue 14: state-changing API requests (POST /api/…) need each peer's token
  process.stderr.write(
    peers.map((p, i) => `p2psip demo: peer ${i} API token (Authorization: Bearer <token>): ${p.apiToken?.token ?? 'none (no dashboard)'}\n`).join(''),
  );
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    // peers that do not stop within 8 s are left to the exit, but their data directories are not left behind
    const force = setTimeout(() => {
      removeDirs();
      process.exit(1);
    }, 8000);
    force.unref();
    cleanup().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
