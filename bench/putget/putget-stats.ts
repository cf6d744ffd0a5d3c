/** Latency statistics of the putget benchmark. */
export interface LatencyStats {
  n: number;
  median: number;
  p95: number;
  p99: number;
  mean: number;
  max: number;
}

/** Nearest-rank percentiles (ms, 2 decimals) of `samples`. */
export function latencyStats(samples: readonly number[]): LatencyStats {
  const s = [...samples].sort((a, b) => a - b);
  const at = (p: number): number => (s.length === 0 ? 0 : s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!);
  const r = (x: number): number => Math.round(x * 100) / 100;
  return { n: s.length, median: r(at(0.5)), p95: r(at(0.95)), p99: r(at(0.99)), mean: r(s.reduce((a, b) => a + b, 0) / Math.max(1, s.length)), max: r(s[s.length - 1] ?? 0) };
}

/** RSS in bytes after a full collection when the process runs with --expose-gc. */
export async function settledRss(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 50));
  }
  return process.memoryUsage().rss;
}

/** JS heap in use + external memory (Buffers, TLS) in bytes. */
export function heapBytes(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

/** What one system measured, in the shape of a PutGetRun (shared by both systems' runners). */
export interface RunMeasurements {
  system: string;
  nodes: number;
  ops: number;
  valueBytes: number;
  joinSeconds: number;
  put: readonly number[];
  get: readonly number[];
  failures: number;
  /** RSS and heap before the peers started and after they all joined. */
  memory: { rss0: number; rss1: number; heap0: number; heap1: number };
  notes: string;
}

const perPeerMB = (before: number, after: number, n: number): number => Math.round(((after - before) / n / 1048576) * 100) / 100;

export function summariseRun(m: RunMeasurements): {
  system: string; nodes: number; ops: number; valueBytes: number; joinSeconds: number;
  put: LatencyStats; get: LatencyStats; failures: number; rssPerPeerMB: number; heapPerPeerMB: number; notes: string;
} {
  return {
    system: m.system,
    nodes: m.nodes,
    ops: m.ops,
    valueBytes: m.valueBytes,
    joinSeconds: Math.round(m.joinSeconds * 10) / 10,
    put: latencyStats(m.put),
    get: latencyStats(m.get),
    failures: m.failures,
    rssPerPeerMB: perPeerMB(m.memory.rss0, m.memory.rss1, m.nodes),
    heapPerPeerMB: perPeerMB(m.memory.heap0, m.memory.heap1, m.nodes),
    notes: m.notes,
  };
}
