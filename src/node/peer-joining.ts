/**
 * Wiring of the joining logic of a real peer (issue 15): the candidate table and bootstrap manager
 * (pure, bootstrap-manager.ts) on the node, the peer cache of the data directory
 * (platform/peer-cache.ts) feeding it at start and recording the peers we link to.
 */
import { join } from 'node:path';
import type { Clock } from '../lib/clock.js';
import type { Random } from '../lib/random.js';
import type { LinkEndpoint } from '../reload/link/link-driver.js';
import type { OverlayNode } from '../reload/overlay/overlay-node.js';
import { PEER_CACHE_FILE, PeerCache } from '../platform/peer-cache.js';
import { BootstrapManager } from './bootstrap-manager.js';
import { CandidateTable } from './candidate-table.js';

/** How long a starting peer waits for a candidate before it starts alone (default 3 s). */
export const DEFAULT_ALONE_AFTER_MS = 3_000;
/** Candidates handed to the node's start (configured first, then the most recent cached). */
const START_CANDIDATES = 16;
/** ICE links (DTLS-UDP-SR) are named with this prefix: their remote is a UDP port, not the overlay TLS port. */
const ICE_PREFIX = 'ice:';

export interface JoiningConfig {
  dataDir: string;
  peerCache?: boolean;
  log?: (line: string) => void;
}

export interface PeerJoining {
  readonly manager: BootstrapManager;
  /** Configured endpoints first, then cached ones (each once), for OverlayNode.start. */
  startCandidates(configured: readonly LinkEndpoint[]): LinkEndpoint[];
  started(result: 'joined' | 'alone'): void;
  onMerged(listener: (via: string) => void): () => void;
  stop(): void;
  /** Writes the peer cache (at stop). */
  flush(): Promise<void>;
}

export async function prepareJoining(c: JoiningConfig, node: OverlayNode, clock: Clock, random: Random, client: boolean): Promise<PeerJoining> {
  const table = new CandidateTable(() => clock.now(), random);
  const listeners = new Set<(via: string) => void>();
  const manager = new BootstrapManager({
    clock,
    table,
    tryCandidate: (ep) => (client ? Promise.resolve('same-ring' as const) : node.mergeThrough(ep)),
    hasNeighbours: () => node.neighbours().successors.length > 0 || client,
    neighbourIds: () => {
      const n = node.neighbours();
      return [...n.successors, ...n.predecessors].map(String);
    },
    onMerged: (via) => {
      for (const l of listeners) l(via);
    },
    onState: (state, reason) => c.log?.(`join: ${state} (${reason})`),
  });
  const cache = c.peerCache === false ? undefined : new PeerCache({ path: join(c.dataDir, PEER_CACHE_FILE), clock, wallClock: () => Date.now(), ...(c.log === undefined ? {} : { log: c.log }) });
  const cached = (await cache?.load()) ?? [];
  const offs: (() => void)[] = [];
  if (cache !== undefined) {
    offs.push(
      node.events.on('link-up', (l) => {
        // an outbound TLS link's remote is the peer's overlay port (an inbound one's is ephemeral)
        if (!l.outbound || l.linkId.startsWith(ICE_PREFIX)) return;
        cache.seen(node.ring.hex(l.nodeId), l.remote.host, l.remote.port);
      }),
      // the overlay address a peer gave in its Attach (it may have linked to us: inbound links only)
      node.events.on('peer-address', (p) => cache.seen(node.ring.hex(p.nodeId), p.endpoint.host, p.endpoint.port)),
    );
  }
  offs.push(node.onNeighboursChanged(() => manager.neighboursChanged()));
  let configuredEps: LinkEndpoint[] = [];
  return {
    manager,
    startCandidates(configured) {
      configuredEps = [...configured];
      const out: LinkEndpoint[] = [];
      const add = (ep: LinkEndpoint): void => {
        if (out.length < START_CANDIDATES && !out.some((x) => x.host === ep.host && x.port === ep.port)) out.push({ host: ep.host, port: ep.port });
      };
      for (const ep of configured) add(ep);
      // a client needs an admitting peer it was told of; its cache only helps a peer
      if (!client) for (const p of cached) add({ host: p.host, port: p.port });
      return out;
    },
    started(result) {
      for (const ep of configuredEps) manager.offer({ host: ep.host, port: ep.port, source: 'configured' });
      for (const p of [...cached].reverse()) manager.offer({ host: p.host, port: p.port, source: 'cache', nodeId: p.nodeId });
      const why =
        result === 'joined'
          ? 'admitted through a bootstrap candidate'
          : configuredEps.length + cached.length === 0
            ? 'no bootstrap peer configured, cached or discovered yet: a new overlay'
            : 'no configured or cached peer answered: serving alone, still trying';
      manager.start(result, why);
    },
    onMerged(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stop() {
      manager.stop();
      for (const off of offs) off();
    },
    async flush() {
      await cache?.stop();
    },
  };
}
