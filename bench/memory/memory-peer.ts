/**
 * The peer the memory benchmark measures: a built `p2psip up` on loopback (open overlay, LMDB data
 * directory in a temp dir) started with node's inspector on a loopback port, so that the benchmark
 * can force a garbage collection before it reads memory; and `others` more peers joined to it (a
 * peer signs at most 5,000 resources at any one storing peer — writer-quotas — so its 10,000 AoRs
 * need an overlay of three to be stored).
 */
import { existsSync } from 'node:fs';
import type { ProcessScope } from '../../harness/process-scope.js';
import { P2PSIP_CLI } from '../../harness/paths.js';
import { FOUR_DIGIT_PORTS } from '../../harness/port-allocator.js';
import { P2PSIP_READY_LINE, startP2psip, type SipServer } from '../../harness/sip-server.js';
import { waitJoined } from '../../harness/overlay-peers.js';
import { InspectorClient, INSPECTOR_LINE } from './inspector-client.js';
import { programPid } from './proc-stats.js';

export interface MeasuredPeer {
  readonly server: SipServer;
  /** PID of the node process (not of the `timeout` wrapper). */
  readonly pid: number;
  readonly inspector: InspectorClient;
  /** The other peers of the overlay. */
  readonly others: readonly SipServer[];
}

export async function startMeasuredPeer(scope: ProcessScope, opts: { lifetimeMs: number; others: number }): Promise<MeasuredPeer> {
  if (!existsSync(P2PSIP_CLI)) throw new Error(`${P2PSIP_CLI} does not exist: run \`npm run build\` first`);
  const port = await scope.port({ range: FOUR_DIGIT_PORTS });
  const httpPort = await scope.port();
  const linkPort = await scope.port();
  const dataDir = scope.tempDir('p2psip-memory-peer-');
  const proc = scope.spawn({
    command: process.execPath,
    args: [
      '--inspect=127.0.0.1:0',
      P2PSIP_CLI,
      'up',
      '--sip',
      `127.0.0.1:${port}`,
      '--http',
      `127.0.0.1:${httpPort}`,
      '--listen',
      `127.0.0.1:${linkPort}`,
      '--outbound',
      'none',
      '--data-dir',
      dataDir,
      '--log-level',
      'warn',
      '--open',
    ],
    name: `p2psip-measured:${port}`,
    lifetimeMs: opts.lifetimeMs,
    maxLines: 5000,
  });
  await proc.waitForLine(P2PSIP_READY_LINE, { timeoutMs: 60_000 });
  const line = await proc.waitForLine(INSPECTOR_LINE, { timeoutMs: 5_000 });
  const url = INSPECTOR_LINE.exec(line)?.[1];
  if (url === undefined) throw new Error(`no inspector URL in: ${line}`);
  const server: SipServer = { kind: 'p2psip', host: '127.0.0.1', port, httpPort, process: proc, stop: () => proc.stop('SIGTERM', 12_000) };
  const others: SipServer[] = [];
  for (let i = 0; i < opts.others; i++) {
    others.push(
      await startP2psip(scope, { lifetimeMs: opts.lifetimeMs, logLevel: 'warn', readyTimeoutMs: 60_000, extraArgs: ['--bootstrap', `127.0.0.1:${linkPort}`] }),
    );
  }
  await waitJoined([server, ...others], 1 + opts.others, 60_000);
  const pid = await programPid(proc.pid);
  const inspector = await InspectorClient.connect(url);
  scope.defer(() => inspector.close());
  return { server, pid, inspector, others };
}

/** `process_resident_memory_bytes` and `nodejs_heap_size_used_bytes` from the peer's GET /metrics. */
export async function metricsMemory(peer: SipServer): Promise<{ rssBytes: number | undefined; heapUsedBytes: number | undefined }> {
  const res = await fetch(`http://127.0.0.1:${String(peer.httpPort)}/metrics`, { signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  const value = (name: string): number | undefined => {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)`, 'm').exec(text);
    return m?.[1] === undefined ? undefined : Number(m[1]);
  };
  return { rssBytes: value('process_resident_memory_bytes'), heapUsedBytes: value('nodejs_heap_size_used_bytes') };
}
