/**
 * Waiting for an overlay of real peer processes to form one ring, through their `/api/status`.
 */
import { until } from './until.js';

/** A peer process as far as the ring check needs it: its Node-ID (hex) and its HTTP address. */
export interface RingMember {
  readonly nodeId: string | undefined;
  readonly http: string | undefined;
}

/**
 * Resolves once every peer says it is joined (when its status has a state) and its first successor
 * and first predecessor are its neighbours on the sorted ring; rejects after `limitMs` with what was seen.
 */
export async function untilWholeRing(peers: readonly RingMember[], limitMs = 60_000): Promise<number> {
  const ids = peers.map((p) => p.nodeId ?? '').sort();
  return until('one whole ring', limitMs, async () => {
    const bad: string[] = [];
    for (const p of peers) {
      const r = await fetch(`http://${p.http ?? ''}/api/status`, { signal: AbortSignal.timeout(10_000) });
      const s = (await r.json()) as { successors?: string[]; predecessors?: string[]; state?: string };
      const i = ids.indexOf(p.nodeId ?? '');
      const succ = ids[(i + 1) % ids.length];
      const pred = ids[(i + ids.length - 1) % ids.length];
      if ((s.state !== undefined && s.state !== 'joined') || s.successors?.[0] !== succ || s.predecessors?.[0] !== pred) {
        bad.push(`${(p.nodeId ?? '?').slice(0, 8)}: ${s.state ?? ''} succ ${s.successors?.[0]?.slice(0, 8)} pred ${s.predecessors?.[0]?.slice(0, 8)}`);
      }
    }
    return bad.length === 0 ? undefined : bad.join('; ');
  }, { intervalMs: 250, retryOnError: true });
}
