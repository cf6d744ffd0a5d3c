/**
 * A short-lived cache of what a Fetch said about an AoR (the Node-IDs it is registered at), so a
 * burst of requests to one AoR (an IM conversation, a retried call) costs one Fetch. Off by
 * default (maxAgeMs 0). Only non-empty answers are kept: an AoR just registered anywhere is seen
 * at once (no cached "not found"). Staleness, bounded by maxAgeMs: an un-REGISTER is still seen
 * at once — the request goes to the peer, which answers 404 (a request marked as coming from a
 * peer is only delivered to that peer's own bindings) — but a phone that registers at another
 * peer is found there only once the entry is older than maxAgeMs.
 */
import type { Clock } from '../../lib/clock.js';

export interface RegisteredNode {
  nodeId: Uint8Array;
  /** The AoR the node registered (differs from the asked one after a sip_registration_uri). */
  aor: string;
}

export interface RegistrationCacheOptions {
  /** How long a Fetch's answer is reused, ms (default 0 = not cached). */
  maxAgeMs: number;
  /** Most AoRs kept (default 1,024; least recently used dropped). */
  maxEntries: number;
}

export const DEFAULT_REGISTRATION_CACHE_OPTIONS: Readonly<RegistrationCacheOptions> = Object.freeze({ maxAgeMs: 0, maxEntries: 1_024 });

export class RegistrationCache {
  private readonly options: RegistrationCacheOptions;
  private readonly entries = new Map<string, { nodes: RegisteredNode[]; storedAt: number }>();
  hits = 0;

  constructor(
    private readonly clock: Clock,
    options: Partial<RegistrationCacheOptions> = {},
  ) {
    this.options = { ...DEFAULT_REGISTRATION_CACHE_OPTIONS, ...options };
  }

  get(aor: string): RegisteredNode[] | undefined {
    const e = this.entries.get(aor);
    if (e === undefined) return undefined;
    this.entries.delete(aor);
    if (this.clock.now() - e.storedAt >= this.options.maxAgeMs) return undefined;
    this.entries.set(aor, e);
    this.hits++;
    return e.nodes;
  }

  /** Like get, without counting a hit or touching the order. */
  peek(aor: string): RegisteredNode[] | undefined {
    const e = this.entries.get(aor);
    return e === undefined || this.clock.now() - e.storedAt >= this.options.maxAgeMs ? undefined : e.nodes;
  }

  set(aor: string, nodes: RegisteredNode[]): void {
    this.entries.delete(aor);
    if (this.options.maxAgeMs <= 0 || nodes.length === 0) return;
    while (this.entries.size >= Math.max(1, this.options.maxEntries)) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(aor, { nodes, storedAt: this.clock.now() });
  }

  delete(aor: string): void {
    this.entries.delete(aor);
  }

  get size(): number {
    return this.entries.size;
  }
}
