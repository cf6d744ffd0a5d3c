import type { TimerHandle } from '../lib/clock.js';
import { ManualClock } from '../lib/manual-clock.js';
import { SeededRandom } from '../lib/random.js';
import type { LinkDriver, LinkEndpoint } from '../reload/link/link-driver.js';
import { ChurnModel } from './churn-model.js';
import { LookupTracker } from './lookup-tracker.js';
import { RingOracle, toHex } from './ring-oracle.js';
import { DEFAULT_SIM_RUN_OPTIONS, type SimProgress, type SimRunDeps, type SimRunOptions } from './sim-run-options.js';
import { SimNetwork } from './sim-network.js';
import { StorageRun } from './storage-run.js';
import type { SimLookupResult, SimPeer, SimPeerFactory } from './sim-peer.js';
import type { SimRunStats } from './sim-stats.js';

interface Slot {
  readonly index: number;
  readonly host: string;
  readonly driver: LinkDriver;
  readonly peer: SimPeer;
  readonly hex: string;
  state: 'joining' | 'joined' | 'gone';
  /** Position in the joined list (swap-remove). */
  pos: number;
  baseBytes: number;
  baseMaint: number;
  departure: TimerHandle | undefined;
}

/**
 * Runs a whole simulation on a fresh network and virtual clock: builds an overlay of
 * `options.nodes` peers made by `factory` (staggered joins, each through a few random joined
 * peers), lets it stabilise, then measures `durationMs` of lookups (Poisson, random Resource-IDs,
 * judged by a ring oracle) under the churn model. Deterministic for a seed (all but memory).
 */
export async function runSimulation(options: Partial<SimRunOptions>, factory: SimPeerFactory, deps: SimRunDeps): Promise<SimRunStats> {
  return new SimRun({ ...DEFAULT_SIM_RUN_OPTIONS, ...options }, factory, deps).run();
}

/** Heap in use after a full collection when node runs with --expose-gc (otherwise garbage included). */
function defaultHeapUsed(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

class SimRun {
  private readonly clock = new ManualClock();
  private readonly master: SeededRandom;
  private readonly net: SimNetwork;
  private readonly lookupRandom: SeededRandom;
  private readonly churn: ChurnModel | undefined;
  private readonly oracle = new RingOracle();
  private readonly tracker: LookupTracker;
  private readonly joined: Slot[] = [];
  private readonly slots: Slot[] = [];
  private phase: SimProgress['phase'] = 'build';
  private measuring = false;
  private pendingJoins = 0;
  private pendingLookups = 0;
  private lookupTimer: TimerHandle | undefined;
  private nextProgress = 0;
  // Measured-window accounting.
  private windowBytes = 0;
  private windowMaint = 0;
  private nodeMs = 0;
  private lastCountAt = 0;
  private readonly pop = { initial: 0, alive: 0, joins: 0, leaves: 0, crashes: 0, joinFailures: 0 };
  private readonly storage: StorageRun<Slot> | undefined;

  constructor(
    private readonly o: SimRunOptions,
    private readonly factory: SimPeerFactory,
    private readonly deps: SimRunDeps,
  ) {
    this.master = new SeededRandom(o.seed);
    this.net = new SimNetwork(this.clock, { crashMode: o.crashMode, ...o.network, seed: this.master.u32() });
    this.lookupRandom = new SeededRandom(this.master.u32());
    const churnRandom = new SeededRandom(this.master.u32());
    this.churn = o.churn === undefined ? undefined : new ChurnModel(o.churn, churnRandom);
    this.tracker = new LookupTracker(this.oracle, o.membershipGraceMs, o.membershipGraceMs + o.lookupTimeoutMs);
    // drawn last, so runs without storage see the same random streams as before
    if (o.storage !== undefined) this.storage = new StorageRun<Slot>(o.storage, { clock: this.clock, random: new SeededRandom(this.master.u32()), joined: () => this.joined, responsible: (rid) => this.oracle.responsible(toHex(rid)) });
  }

  async run(): Promise<SimRunStats> {
    const o = this.o;
    const heap = this.deps.heapUsed ?? defaultHeapUsed;
    const heap0 = heap();
    // Build: the first peer founds the overlay; the others follow at joinRatePerSec.
    this.spawn();
    await this.runUntil(Infinity, () => this.pendingJoins === 0);
    const gap = 1000 / o.joinRatePerSec;
    for (let i = 1; i < o.nodes; i++) this.clock.setTimer(i * gap, () => this.spawn());
    const builtBy = this.clock.now() + o.nodes * gap + o.joinTimeoutMs;
    await this.runUntil(builtBy, () => this.slots.length === o.nodes && this.pendingJoins === 0);
    this.phase = 'stabilize';
    await this.runUntil(this.clock.now() + o.stabilizeMs);
    const heapBuilt = heap();
    const memoryPerNodeBytes = Math.max(0, heapBuilt - heap0) / Math.max(1, o.nodes);
    let loadMemoryPerNodeBytes = 0;
    const storage = this.storage;
    if (storage !== undefined) {
      // Load: the values are stored before churn starts, then replication settles.
      this.phase = 'load';
      const so = storage.options;
      storage.workload.load();
      await this.runUntil(this.clock.now() + (so.values / so.loadRatePerSec) * 1000 + so.requestTimeoutMs + 1, () => storage.workload.loaded);
      await this.runUntil(this.clock.now() + so.requestTimeoutMs);
      loadMemoryPerNodeBytes = Math.max(0, heap() - heapBuilt) / Math.max(1, o.nodes);
    }
    // Measure.
    this.phase = 'measure';
    this.measuring = true;
    const t0 = this.clock.now();
    this.lastCountAt = t0;
    this.pop.initial = this.joined.length;
    for (const s of this.joined) {
      const c = s.peer.counters();
      s.baseBytes = c.bytesSent;
      s.baseMaint = c.maintenanceBytesSent;
      this.scheduleDeparture(s);
    }
    const net0 = this.net.totalCounters().bytesSent;
    storage?.startWindow(this.joined);
    if (storage !== undefined && storage.options.targetedCrashEveryMs > 0) this.scheduleTargetedCrash(storage);
    this.scheduleLookup();
    const tEnd = t0 + o.durationMs;
    await this.runUntil(tEnd);
    this.lookupTimer?.cancel();
    this.countNodeTime();
    this.measuring = false;
    for (const s of this.slots) if (s.state !== 'gone') this.account(s);
    for (const s of this.slots) s.departure?.cancel();
    storage?.endWindow(this.joined);
    const netBytes = this.net.totalCounters().bytesSent - net0;
    this.pop.alive = this.joined.length;
    // Drain: wait for the lookups in flight (each has its own timeout).
    this.phase = 'drain';
    await this.runUntil(this.clock.now() + o.lookupTimeoutMs + 1, () => this.pendingLookups === 0);
    const nodeSec = this.nodeMs / 1000;
    if (storage !== undefined) {
      // Final audit of every value, churn stopped (refreshes go on meanwhile).
      this.phase = 'audit';
      const so = storage.options;
      storage.workload.finalAudit();
      await this.runUntil(this.clock.now() + so.auditSpreadMs + so.fetchAttempts * (so.requestTimeoutMs + so.fetchRetryMs) + 1, () => storage.workload.auditsDone);
      storage.workload.stop();
    }
    return {
      nodes: o.nodes,
      seed: o.seed,
      measuredMs: o.durationMs,
      ...this.tracker.summary(),
      maintenanceBytesPerSecPerNode: nodeSec > 0 ? this.windowMaint / nodeSec : 0,
      totalBytesPerSecPerNode: nodeSec > 0 ? this.windowBytes / nodeSec : 0,
      networkBytesPerSecPerNode: nodeSec > 0 ? netBytes / nodeSec : 0,
      population: { ...this.pop },
      memoryPerNodeBytes,
      events: this.clock.firedCount,
      virtualTotalMs: this.clock.now(),
      ...(storage === undefined ? {} : { storage: storage.stats(nodeSec, this.joined, loadMemoryPerNodeBytes) }),
    };
  }

  /** Advances virtual time to `until`, letting continuations run after each step; stops early when `done()`. */
  private async runUntil(until: number, done?: () => boolean): Promise<void> {
    const { clock, deps } = this;
    const activity = deps.promiseActivity;
    await deps.settle();
    // promise activity seen when the last settle ended: while it has not changed, no continuation
    // can be pending and the next timers fire without a macrotask turn (same order of callbacks)
    let mark = activity?.();
    for (;;) {
      if (done?.()) return;
      if (clock.now() >= this.nextProgress) this.progress();
      const next = clock.nextTimerAt();
      if (next === undefined) {
        if (until !== Infinity) clock.advanceTo(until);
        return;
      }
      if (next > until) break;
      clock.advanceTo(Math.min(until, next + this.o.settleQuantumMs));
      if (mark !== undefined && activity!() === mark) continue;
      await deps.settle();
      mark = activity?.();
    }
    clock.advanceTo(until);
    await deps.settle();
  }

  private progress(): void {
    this.nextProgress = this.clock.now() + this.o.progressEveryMs;
    this.deps.onProgress?.({
      phase: this.phase,
      virtualMs: this.clock.now(),
      joined: this.joined.length,
      lookupsAttempted: this.tracker.attempted,
      lookupsDone: this.tracker.done,
      events: this.clock.firedCount,
    });
  }

  private spawn(): void {
    const index = this.slots.length;
    const host = this.net.addHost();
    const driver = this.net.driverFor(host);
    const random = new SeededRandom(this.master.u32());
    const storage = this.o.storage === undefined ? {} : { storage: { replication: this.o.storage.replication } };
    const peer = this.factory({ index, host, driver, clock: this.clock, random, ...storage });
    const slot: Slot = { index, host, driver, peer, hex: toHex(peer.nodeId), state: 'joining', pos: -1, baseBytes: 0, baseMaint: 0, departure: undefined };
    this.slots.push(slot);
    this.pendingJoins++;
    const bootstrap = this.pickBootstrap();
    let settled = false;
    const timeout = this.clock.setTimer(this.o.joinTimeoutMs, () => finish(false));
    const finish = (ok: boolean): void => {
      if (settled) return;
      settled = true;
      timeout.cancel();
      this.pendingJoins--;
      if (slot.state !== 'joining') return; // departed (churn) while joining
      if (!ok) {
        this.pop.joinFailures++;
        this.depart(slot, 'crash', false);
        return;
      }
      this.countNodeTime();
      slot.state = 'joined';
      slot.pos = this.joined.length;
      this.joined.push(slot);
      this.oracle.add(slot.hex);
      this.tracker.noteChange(this.clock.now(), slot.hex);
      if (this.measuring) {
        this.pop.joins++;
        this.storage?.baseline(slot);
        this.scheduleDeparture(slot);
      }
    };
    let started: Promise<void>;
    try {
      started = peer.start(bootstrap);
    } catch {
      started = Promise.reject(new Error('start threw'));
    }
    started.then(
      () => finish(true),
      () => finish(false),
    );
  }

  private pickBootstrap(): LinkEndpoint[] {
    const n = this.joined.length;
    const k = Math.min(n, this.o.bootstrapPeers);
    const out: LinkEndpoint[] = [];
    const seen = new Set<number>();
    while (out.length < k) {
      const i = this.master.u32() % n;
      if (seen.has(i)) continue;
      seen.add(i);
      out.push(this.joined[i]!.peer.endpoint());
    }
    return out;
  }

  private scheduleDeparture(slot: Slot): void {
    if (this.churn === undefined) return;
    const churn = this.churn;
    slot.departure = this.clock.setTimer(churn.nextSession(), () => {
      slot.departure = undefined;
      if (!this.measuring || slot.state === 'gone') return;
      this.depart(slot, churn.nextDeparture(), true);
      const downtime = churn.nextDowntime();
      if (downtime === 0) this.spawn();
      else this.clock.setTimer(downtime, () => this.measuring && this.spawn());
    });
  }

  /** Removes `slot` from the overlay: a graceful Leave (then its driver shuts down) or a crash. */
  private depart(slot: Slot, how: 'leave' | 'crash', counted: boolean): void {
    if (slot.state === 'gone') return;
    const wasJoined = slot.state === 'joined';
    if (wasJoined) {
      this.countNodeTime();
      const last = this.joined.pop()!;
      if (last !== slot) {
        this.joined[slot.pos] = last;
        last.pos = slot.pos;
      }
      this.oracle.remove(slot.hex);
      this.tracker.noteChange(this.clock.now(), slot.hex);
    }
    if (this.measuring) this.account(slot);
    slot.state = 'gone';
    if (wasJoined) this.storage?.departed(slot);
    if (how === 'leave') {
      if (counted) this.pop.leaves++;
      const shut = (): void => void slot.driver.shutdown();
      const timer = this.clock.setTimer(this.o.leaveTimeoutMs, shut);
      slot.peer.leave().then(
        () => {
          timer.cancel();
          shut();
        },
        () => {
          timer.cancel();
          shut();
        },
      );
    } else {
      if (counted) this.pop.crashes++;
      slot.peer.crash();
      this.net.crashHost(slot.host, this.o.crashMode);
    }
  }

  /**
   * Crashes, at one instant, the live peer responsible for a random stored value and its
   * successor (its first replica), each replaced at once; repeats every targetedCrashEveryMs.
   */
  private scheduleTargetedCrash(storage: StorageRun<Slot>): void {
    this.clock.setTimer(storage.options.targetedCrashEveryMs, () => {
      if (!this.measuring) return;
      const rid = storage.workload.randomStoredResource();
      const owner = rid === undefined ? undefined : this.oracle.responsible(toHex(rid));
      if (owner !== undefined && this.joined.length > 4) {
        const ring = this.joined.map((s) => s.hex).sort();
        const succ = ring[(ring.indexOf(owner) + 1) % ring.length];
        for (const hex of [owner, succ]) {
          const slot = this.joined.find((s) => s.hex === hex);
          if (slot === undefined) continue;
          slot.departure?.cancel();
          this.depart(slot, 'crash', true);
          this.spawn();
        }
        storage.workload.targetedCrashes++;
      }
      this.scheduleTargetedCrash(storage);
    });
  }

  /** Adds what `slot` sent since its baseline to the window totals. */
  private account(slot: Slot): void {
    this.storage?.account(slot);
    const c = slot.peer.counters();
    this.windowBytes += c.bytesSent - slot.baseBytes;
    this.windowMaint += c.maintenanceBytesSent - slot.baseMaint;
    slot.baseBytes = c.bytesSent;
    slot.baseMaint = c.maintenanceBytesSent;
  }

  private countNodeTime(): void {
    const now = this.clock.now();
    if (this.measuring) this.nodeMs += this.joined.length * (now - this.lastCountAt);
    this.lastCountAt = now;
  }

  /** Poisson arrivals: exponential gaps with mean 1/rate. */
  private scheduleLookup(): void {
    const rate = this.o.lookupRatePerSec;
    if (!(rate > 0)) return;
    const gap = (-Math.log(1 - this.lookupRandom.float()) * 1000) / rate;
    this.lookupTimer = this.clock.setTimer(gap, () => {
      this.issueLookup();
      this.scheduleLookup();
    });
  }

  private issueLookup(): void {
    if (this.joined.length === 0) return;
    const origin = this.joined[this.lookupRandom.u32() % this.joined.length]!;
    const key = this.lookupRandom.bytes(this.o.idBytes);
    const keyHex = toHex(key);
    const expected = this.tracker.issue(key);
    const issuedAt = this.clock.now();
    this.pendingLookups++;
    let settled = false;
    const finish = (r: SimLookupResult | 'abandoned'): void => {
      if (settled) return;
      settled = true;
      timeout.cancel();
      this.pendingLookups--;
      if (r === 'abandoned' || (origin.state === 'gone' && !r.ok)) this.tracker.abandon();
      else this.tracker.complete(keyHex, expected, issuedAt, this.clock.now(), r);
    };
    const timeout = this.clock.setTimer(this.o.lookupTimeoutMs, () =>
      finish(origin.state === 'gone' ? 'abandoned' : { ok: false, reason: 'timeout' }),
    );
    let p: Promise<SimLookupResult>;
    try {
      p = origin.peer.lookup(key);
    } catch (err) {
      p = Promise.resolve({ ok: false, reason: `threw: ${err instanceof Error ? err.message : String(err)}` });
    }
    p.then(finish, (err: unknown) => finish({ ok: false, reason: `rejected: ${err instanceof Error ? err.message : String(err)}` }));
  }
}
