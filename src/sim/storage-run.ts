import type { Clock } from '../lib/clock.js';
import type { Random } from '../lib/random.js';
import { toHex } from './ring-oracle.js';
import { StorageWorkload, type WorkloadPeer } from './storage-workload.js';
import type { StorageWorkloadOptions } from './storage-workload-options.js';
import { emptyStorageTraffic, type StorageTrafficCounters } from './storage-traffic.js';
import type { SimStorageRunStats } from './sim-stats.js';

/** A slot of the runner as the storage side of a run needs it. */
export interface StorageRunSlot extends WorkloadPeer {
  readonly state: 'joining' | 'joined' | 'gone';
}

type Replication = { replicaStoresSent: number; handoversSent: number; sendFailures: number; queueOverflows: number };

interface Baseline {
  traffic: StorageTrafficCounters;
  replication: Replication;
}

const zeroReplication = (): Replication => ({ replicaStoresSent: 0, handoversSent: 0, sendFailures: 0, queueOverflows: 0 });

/**
 * The storage side of one simulation run: the workload, and the storage bytes and replication work
 * of every peer in the measured window (baselines per peer, as the runner does for routing bytes).
 */
export class StorageRun<S extends StorageRunSlot> {
  readonly workload: StorageWorkload<S>;
  private readonly base = new Map<number, Baseline>();
  private readonly window = { traffic: emptyStorageTraffic(), replication: zeroReplication() };
  private measuring = false;

  constructor(
    readonly options: StorageWorkloadOptions,
    deps: { clock: Clock; random: Random; joined: () => readonly S[]; responsible: (rid: Uint8Array) => string | undefined },
  ) {
    const pick = (): S | undefined => {
      const j = deps.joined();
      return j.length === 0 ? undefined : j[deps.random.u32() % j.length];
    };
    this.workload = new StorageWorkload<S>(options, {
      clock: deps.clock,
      random: deps.random,
      randomLive: pick,
      isLive: (s) => s.state === 'joined',
      holders: (rid) => {
        const out: Array<{ nodeId: string; replicaNumber: number }> = [];
        for (const s of deps.joined()) {
          const n = s.peer.storage?.replicaNumber(rid);
          if (n !== undefined) out.push({ nodeId: toHex(s.peer.nodeId), replicaNumber: n });
        }
        return out;
      },
      responsible: deps.responsible,
    });
  }

  /** The window starts: every live peer's counters are its baseline. */
  startWindow(live: readonly S[]): void {
    this.measuring = true;
    for (const s of live) this.baseline(s);
    this.workload.startWindow();
  }

  /** A peer joined during the window (or will be accounted from now on). */
  baseline(s: S): void {
    const st = s.peer.storage;
    if (st === undefined) return;
    this.base.set(s.index, { traffic: { ...st.traffic() }, replication: { ...st.replication() } });
  }

  /** Adds what `s` sent since its baseline to the window (at departure and at the end). */
  account(s: S): void {
    const st = s.peer.storage;
    const b = this.base.get(s.index);
    if (st === undefined || b === undefined || !this.measuring) return;
    const t = st.traffic();
    const r = st.replication();
    for (const k of Object.keys(t) as Array<keyof StorageTrafficCounters>) this.window.traffic[k] += t[k] - b.traffic[k];
    for (const k of Object.keys(r) as Array<keyof Replication>) this.window.replication[k] += r[k] - b.replication[k];
    this.baseline(s);
  }

  /** `s` left the overlay (after its last account). */
  departed(s: S): void {
    this.base.delete(s.index);
    this.workload.onDeparted(s);
  }

  endWindow(live: readonly S[]): void {
    for (const s of live) this.account(s);
    this.measuring = false;
    this.workload.endWindow();
  }

  stats(nodeSec: number, live: readonly S[], loadMemoryPerNodeBytes: number): SimStorageRunStats {
    const per = (x: number): number => (nodeSec > 0 ? x / nodeSec : 0);
    let values = 0;
    let max = 0;
    let bytes = 0;
    for (const s of live) {
      const sum = s.peer.storage?.summary();
      if (sum === undefined) continue;
      values += sum.values;
      bytes += sum.bytes;
      max = Math.max(max, sum.values);
    }
    const n = Math.max(1, live.length);
    const w = this.workload.stats();
    return {
      ...w,
      bytesPerSecPerNode: { workloadStore: per(this.window.traffic.workloadStore), replication: per(this.window.traffic.replication), audit: per(this.window.traffic.audit) },
      replication: { ...this.window.replication },
      held: { valuesPerNodeMean: values / n, valuesPerNodeMax: max, bytesPerNodeMean: bytes / n, copiesPerValue: w.values > 0 ? values / w.values : 0 },
      loadMemoryPerNodeBytes,
    };
  }
}
