/**
 * The TURN Server Usage, server side (RFC 6940 §9): a peer that may act as a TURN server (public
 * address, not behind a NAT — see nat/nat-behaviour.ts) records itself in the overlay turn-density
 * times: for d = 1..turn-density, a signed TurnServer { iteration d, server_address } at
 * Resource-ID H(Node-ID || d), Kind TURN-SERVICE, which NODE-MULTIPLE (§7.3.4) admits.
 *
 * - Values are stored with `lifetimeSec` and stored again once `refreshFraction` of it has passed
 *   (checked every `checkIntervalMs` on the injected clock, PeriodicTask); a failed Store is tried
 *   again at the next check, so a peer that stops refreshing (crash) disappears when they expire.
 * - `withdraw()` (and `stop()` unless `withdrawOnStop` is false) replaces each value with
 *   exists=false (RFC 6940 §7.4.1.1): Find skips it at once (a tombstone is no live value), instead
 *   of leading clients to a dead relay for up to a lifetime.
 * - A lower turn-density (configuration update) withdraws the d values above it; a new address
 *   stores every d again. At most one round of Stores runs at a time; a round is ≤ turn-density
 *   (≤ `maxIteration`, 20 by the Kind's max-node-multiple) Stores.
 */
import type { Clock } from '../../lib/clock.js';
import { PeriodicTask } from '../../lib/lifecycle.js';
import type { Lifecycle } from '../../lib/lifecycle.js';
import type { IpAddressPort, StoredDataValue } from '../../reload/codec/index.js';
import { toIpAddressPort } from '../../reload/overlay/candidates.js';
import { nodeMultipleResourceName, toHex } from '../../reload/storage/index.js';
import { TURN_SERVICE_KIND_ID, encodeTurnServer } from './turn-server-record.js';

type Failure = { ok: false; errorCode: number; info: string };

/** The part of the overlay storage client (OverlayStorage) the publisher uses. */
export interface TurnServiceStore {
  store(kindId: number, ref: { resourceName: Uint8Array }, values: readonly StoredDataValue[], opts?: { lifetime?: number }): Promise<{ ok: true } | Failure>;
}

export interface TurnServicePublisherDeps {
  clock: Clock;
  storage: TurnServiceStore;
  /** The Node-ID we sign with (OverlayStorage.ownNodeId()). */
  selfNodeId: Uint8Array;
  /** The overlay configuration's turn-density, read at every round (0: publish nothing, §9). */
  turnDensity: () => number;
  logger?: { warn(obj: object, msg: string): void };
}

export interface TurnServicePublisherOptions {
  /** Lifetime of each TurnServer value, s (default 1,200). */
  lifetimeSec: number;
  /** A value is stored again once this fraction of its lifetime has passed (default 0.5). */
  refreshFraction: number;
  /** How often the values are looked at (refresh due, failed Stores), ms (default 30,000). */
  checkIntervalMs: number;
  /** Highest d published: the Kind's max-node-multiple (default 20, RFC 6940 §9). */
  maxIteration: number;
  /** stop() withdraws what is published (default true). */
  withdrawOnStop: boolean;
}

export const DEFAULT_TURN_SERVICE_PUBLISHER_OPTIONS: Readonly<TurnServicePublisherOptions> = Object.freeze({
  lifetimeSec: 1200,
  refreshFraction: 0.5,
  checkIntervalMs: 30_000,
  maxIteration: 20,
  withdrawOnStop: true,
});

/** Shortest tombstone lifetime, s: long enough for replicas to learn of the removal. */
const MIN_TOMBSTONE_SEC = 60;

export interface TurnServicePublisherStats {
  /** TurnServer values stored (each d counts). */
  stored: number;
  storeFailures: number;
  /** exists=false values stored. */
  withdrawn: number;
  withdrawFailures: number;
  rounds: number;
  /** The last failure's text, for /api/status. */
  lastError: string | undefined;
}

/** One d as published. */
export interface PublishedTurnValue {
  iteration: number;
  /** When it was last stored (clock ms); undefined: never stored yet (or its Store failed). */
  storedAt: number | undefined;
  /** When the stored value expires at the storing peer (clock ms), as far as we know. */
  expiresAt: number | undefined;
}

interface Slot {
  storedAt: number | undefined;
  expiresAt: number | undefined;
  /** Encoded TurnServer this slot holds (or was last tried with). */
  address: string | undefined;
}

export class TurnServicePublisher implements Lifecycle {
  readonly stats: TurnServicePublisherStats = { stored: 0, storeFailures: 0, withdrawn: 0, withdrawFailures: 0, rounds: 0, lastError: undefined };
  private readonly options: TurnServicePublisherOptions;
  private readonly task: PeriodicTask;
  private address: IpAddressPort | undefined;
  private readonly slots = new Map<number, Slot>();
  /** The tail of the work (rounds and withdraws run one at a time). */
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly deps: TurnServicePublisherDeps,
    options: Partial<TurnServicePublisherOptions> = {},
  ) {
    this.options = { ...DEFAULT_TURN_SERVICE_PUBLISHER_OPTIONS, ...options };
    const o = this.options;
    if (!(o.lifetimeSec >= 1) || !(o.refreshFraction > 0 && o.refreshFraction < 1) || !(o.checkIntervalMs > 0)) {
      throw new RangeError('TurnServicePublisher: lifetimeSec >= 1, 0 < refreshFraction < 1, checkIntervalMs > 0');
    }
    if (!Number.isInteger(o.maxIteration) || o.maxIteration < 1 || o.maxIteration > 255) throw new RangeError('TurnServicePublisher: maxIteration must be 1..255');
    this.task = new PeriodicTask(deps.clock, o.checkIntervalMs, () => this.round(), (e) => this.warn(e, 'TURN-SERVICE refresh failed'));
  }

  /** The address being advertised, or undefined when we are not a TURN server candidate. */
  get advertised(): IpAddressPort | undefined {
    return this.address;
  }

  /** Starts the periodic checks (nothing is stored before `offer`). */
  start(): void {
    this.stopped = false;
    this.task.start();
  }

  /**
   * We are a TURN server candidate reachable at `address` (RFC 6940 §9; a UDP endpoint
   * `{host, port}` or an IpAddressPort): stores every d now (again, when the address changed).
   * Resolves when that round is over; false when the address is not an IP literal.
   */
  async offer(address: IpAddressPort | { host: string; port: number }): Promise<boolean> {
    const a = 'type' in address ? address : toIpAddressPort(address);
    if (a === undefined || a.type === 'unknown') return false;
    this.address = a;
    await this.round();
    return true;
  }

  /** We are no longer a candidate: each published d is replaced with exists=false. Idempotent. */
  withdraw(): Promise<void> {
    this.address = undefined;
    return this.enqueue(() => this.removeAbove(0));
  }

  /**
   * One round now: stores the d values that are missing, failed, due for refresh or hold another
   * address; withdraws those above the current turn-density. The PeriodicTask calls it.
   */
  round(): Promise<void> {
    return this.enqueue(async () => {
      if (this.stopped || this.address === undefined) return;
      this.stats.rounds++;
      const address = this.address;
      const density = this.density();
      const now = this.deps.clock.now();
      const refreshAfter = this.options.lifetimeSec * 1000 * this.options.refreshFraction;
      const work: Array<Promise<void>> = [];
      for (let d = 1; d <= density; d++) {
        const value = encodeTurnServer({ iteration: d, serverAddress: address });
        const key = toHex(value);
        const slot = this.slots.get(d);
        if (slot?.storedAt !== undefined && slot.address === key && now - slot.storedAt < refreshAfter) continue;
        work.push(this.put(d, value, key));
      }
      await Promise.all(work);
      await this.removeAbove(density);
    });
  }

  /** What is published, by d (for status pages). */
  published(): PublishedTurnValue[] {
    return [...this.slots.entries()].sort((a, b) => a[0] - b[0]).map(([iteration, s]) => ({ iteration, storedAt: s.storedAt, expiresAt: s.expiresAt }));
  }

  /** Stops the checks; withdraws what is published unless `withdrawOnStop` is false (Lifecycle). */
  async stop(): Promise<void> {
    if (this.stopped) return this.chain;
    this.stopped = true;
    this.task.stop();
    if (this.options.withdrawOnStop && this.address !== undefined) {
      this.address = undefined;
      return this.enqueue(() => this.removeAbove(0));
    }
    this.address = undefined;
    return this.chain;
  }

  private density(): number {
    const n = Math.floor(this.deps.turnDensity());
    return Number.isFinite(n) ? Math.max(0, Math.min(n, this.options.maxIteration)) : 0;
  }

  private enqueue(fn: () => Promise<void>): Promise<void> {
    const run = this.chain.then(fn);
    this.chain = run.catch((e: unknown) => this.warn(e, 'TURN-SERVICE work failed'));
    return this.chain;
  }

  private async put(d: number, value: Uint8Array, key: string): Promise<void> {
    const now = this.deps.clock.now();
    const lifetime = this.options.lifetimeSec;
    const r = await this.storeAt(d, { exists: true, value }, lifetime);
    if (r.ok) {
      this.stats.stored++;
      this.slots.set(d, { storedAt: now, expiresAt: now + lifetime * 1000, address: key });
      return;
    }
    this.stats.storeFailures++;
    this.stats.lastError = `Store of TURN-SERVICE d=${d} failed: ${r.info} (${r.errorCode})`;
    // keep what an earlier Store left (it may still live); retried at the next check. With no
    // answer at all (errorCode 0) the Store may have landed: withdraw() will cover it.
    const old = this.slots.get(d)?.expiresAt;
    const maybe = r.errorCode === 0 ? now + lifetime * 1000 : undefined;
    const expiresAt = old === undefined ? maybe : maybe === undefined ? old : Math.max(old, maybe);
    this.slots.set(d, { storedAt: undefined, expiresAt, address: key });
  }

  /** Withdraws (exists=false) every slot above `density` whose value may still live. */
  private async removeAbove(density: number): Promise<void> {
    const now = this.deps.clock.now();
    const work: Array<Promise<void>> = [];
    for (const [d, slot] of this.slots) {
      if (d <= density) continue;
      this.slots.delete(d);
      if (slot.expiresAt === undefined || slot.expiresAt <= now) continue;
      // RFC 6940 §7.4.1.1: the tombstone outlives what is left of the value it replaces
      const lifetime = Math.max(MIN_TOMBSTONE_SEC, Math.ceil((slot.expiresAt - now) / 1000));
      work.push(
        this.storeAt(d, { exists: false, value: new Uint8Array(0) }, lifetime).then((r) => {
          if (r.ok) this.stats.withdrawn++;
          else {
            this.stats.withdrawFailures++;
            this.stats.lastError = `withdraw of TURN-SERVICE d=${d} failed: ${r.info} (${r.errorCode})`;
          }
        }),
      );
    }
    await Promise.all(work);
  }

  private async storeAt(d: number, value: { exists: boolean; value: Uint8Array }, lifetime: number): Promise<{ ok: true } | Failure> {
    const entry: StoredDataValue = { model: 'single', value };
    try {
      return await this.deps.storage.store(TURN_SERVICE_KIND_ID, { resourceName: nodeMultipleResourceName(this.deps.selfNodeId, d) }, [entry], { lifetime });
    } catch (e) {
      return { ok: false, errorCode: 0, info: e instanceof Error ? e.message : String(e) };
    }
  }

  private warn(e: unknown, msg: string): void {
    this.stats.lastError = e instanceof Error ? e.message : String(e);
    this.deps.logger?.warn({ err: this.stats.lastError }, msg);
  }
}
