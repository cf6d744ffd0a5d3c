/**
 * A small LAN overlay of built `p2psip up` peers on loopback (self-signed, no --config): the
 * first one listens on a known link port, the others bootstrap through it. Resolves once every
 * peer says it has joined and has a successor (GET /api/status), so that a REGISTER at one and
 * a call from another meet in the overlay.
 */
import type { ProcessScope } from './process-scope.js';
import { startP2psip } from './sip-server.js';
import type { SipServer } from './sip-server.js';

export interface OverlayPeersOptions {
  /** Number of peers (>= 1). */
  readonly count: number;
  /** Overlay name, also its SIP domain. Default p2psip.local. */
  readonly overlay?: string;
  /** `--outbound` of every peer (default none). */
  readonly outbound?: string;
  readonly lifetimeMs: number;
  readonly logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
  /** Bound on the wait for every peer to join. Default 60 s. */
  readonly joinTimeoutMs?: number;
  /** Fixed SIP ports (index = peer); default any free four-digit port. */
  readonly sipPorts?: readonly number[];
}

/** Starts the peers one after the other and waits until all of them have joined. */
export async function startOverlayPeers(scope: ProcessScope, opts: OverlayPeersOptions): Promise<SipServer[]> {
  if (!(opts.count >= 1)) throw new RangeError('count must be >= 1');
  const linkPort = await scope.port();
  const common = [
    '--overlay',
    opts.overlay ?? 'p2psip.local',
    ...(opts.outbound === undefined ? [] : ['--outbound', opts.outbound]),
  ];
  const peers: SipServer[] = [];
  for (let i = 0; i < opts.count; i++) {
    const own = i === 0 ? ['--listen', `127.0.0.1:${linkPort}`] : ['--bootstrap', `127.0.0.1:${linkPort}`];
    const port = opts.sipPorts?.[i];
    peers.push(
      await startP2psip(scope, {
        lifetimeMs: opts.lifetimeMs,
        logLevel: opts.logLevel ?? 'warn',
        readyTimeoutMs: 60_000,
        extraArgs: [...common, ...own],
        ...(port === undefined ? {} : { port }),
      }),
    );
  }
  await waitJoined(peers, opts.count, opts.joinTimeoutMs ?? 60_000);
  return peers;
}

/** Polls every peer's /api/status until each has joined with a successor (bounded). */
export async function waitJoined(peers: readonly SipServer[], count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const states = await Promise.all(peers.map((p) => peerState(p)));
    const waiting = states.filter((s) => s !== 'ok');
    if (waiting.length === 0 || count === 1) return;
    last = waiting.join('; ');
    if (Date.now() > deadline) throw new Error(`overlay did not form within ${timeoutMs} ms: ${last}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function peerState(p: SipServer): Promise<string> {
  try {
    const res = await fetch(`http://127.0.0.1:${String(p.httpPort)}/api/status`, { signal: AbortSignal.timeout(5000) });
    const s = (await res.json()) as { state?: string; successors?: unknown[] };
    if (s.state === 'joined' && (s.successors?.length ?? 0) > 0) return 'ok';
    return `${p.port}: ${String(s.state)}, ${s.successors?.length ?? 0} successors`;
  } catch (err) {
    return `${p.port}: ${(err as Error).message}`;
  }
}
