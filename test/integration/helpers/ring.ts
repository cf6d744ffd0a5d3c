/**
 * Waiting for an overlay of real peer processes to form one ring, through their `/api/status`.
 */
import { until } from './until.js';

/** A peer process as far as the ring check needs it: its Node-ID (hex) and its HTTP address. */
export interface RingMember {
  readonly nodeId: string | undefined;
  readonly http: string | undefined;
}

/** A peer's `/api/status` as far as the ring check reads it. */
export interface RingStatusView {
  readonly nodeId?: string;
  readonly state?: string;
  readonly successors?: readonly string[];
  readonly predecessors?: readonly string[];
}

/**
 * What keeps these peers from being one ring: for each peer (its `label`) that is not joined (when its
 * status has a state) or whose first successor or predecessor is not its neighbour on the sorted ring
 * of `ids`, one line. Empty: one whole ring.
 */
export function ringMismatches(ids: readonly string[], views: ReadonlyArray<{ readonly label: string; readonly id: string; readonly status: RingStatusView }>): string[] {
  const sorted = [...ids].sort();
  const bad: string[] = [];
  for (const { label, id, status: s } of views) {
    const i = sorted.indexOf(id);
    const succ = sorted[(i + 1) % sorted.length];
    const pred = sorted[(i + sorted.length - 1) % sorted.length];
    if ((s.state !== undefined && s.state !== 'joined') || s.successors?.[0] !== succ || s.predecessors?.[0] !== pred) {
      bad.push(`${label}: ${s.state ?? ''} succ ${s.successors?.[0]?.slice(0, 8) ?? '-'} pred ${s.predecessors?.[0]?.slice(0, 8) ?? '-'}`);
    }
  }
  return bad;
}

/**
 * Resolves once every peer says it is joined (when its status has a state) and its first successor
 * and first predecessor are its neighbours on the sorted ring; rejects after `limitMs` with what was seen.
 */
export async function untilWholeRing(peers: readonly RingMember[], limitMs = 60_000): Promise<number> {
  const ids = peers.map((p) => p.nodeId ?? '');
  return until('one whole ring', limitMs, async () => {
    const views = [];
    for (const p of peers) {
      const r = await fetch(`http://${p.http ?? ''}/api/status`, { signal: AbortSignal.timeout(10_000) });
      views.push({ label: (p.nodeId ?? '?').slice(0, 8), id: p.nodeId ?? '', status: (await r.json()) as RingStatusView });
    }
    const bad = ringMismatches(ids, views);
    return bad.length === 0 ? undefined : bad.join('; ');
  }, { intervalMs: 250, retryOnError: true });
}
