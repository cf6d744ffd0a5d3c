/**
 * The agent's STUN transactions (checks and consent checks): one StunClient per base, each sending
 * through `host.send(base, …)`, with the bookkeeping ICE needs on top — which pair a transaction
 * checks, transmissions per transaction (retransmission counts, Karn's rule for the RTT), and
 * cancelled checks still listened to (RFC 8445 §7.3.1.4: a triggered check replaces an In-Progress
 * one, but a late answer to the old one still counts).
 */
import type { Clock } from '../../lib/clock.js';
import type { Random } from '../../lib/random.js';
import { StunClient } from '../stun/stun-client.js';
import type { StunOutcome, StunRequestOptions, StunTransaction } from '../stun/stun-client.js';
import { StunMethod, transactionKey } from '../stun/stun-message.js';
import type { DecodedStun, StunAddress, StunAttribute } from '../stun/stun-message.js';
import type { IceHost } from './ice-agent-options.js';
import type { CandidatePair } from './ice-check-list.js';
import type { IceRole } from './ice-check-messages.js';

/** One Binding transaction of ours: a check of a pair, or a consent check (no pair). */
export interface IceTransaction {
  readonly key: string;
  readonly pair: CandidatePair | undefined;
  readonly base: string;
  readonly to: StunAddress;
  readonly tx: StunTransaction;
  readonly sentAt: number;
  /** PRIORITY sent: a peer-reflexive local candidate learned from the answer gets it (§7.2.5.3.1). */
  readonly priority: number;
  readonly role: IceRole;
  readonly useCandidate: boolean;
  /** Retransmissions stopped (a triggered check replaced it); a late answer still counts. */
  cancelled: boolean;
}

export interface IceTransactionsDeps {
  clock: Clock;
  random: Random;
  host: IceHost;
  /** Called for each retransmission (counters). */
  retransmitted(): void;
}

/** Cancelled checks of one pair still listened to, at most. */
export const MAX_STALE_CHECKS = 3;

export class IceTransactions {
  private readonly clients = new Map<string, StunClient>();
  private readonly byKey = new Map<string, IceTransaction>();
  private readonly byPair = new Map<CandidatePair, IceTransaction[]>();
  /** Transmissions per transaction key. */
  private readonly sends = new Map<string, number>();

  constructor(
    private readonly deps: IceTransactionsDeps,
    private readonly maxPending: number,
  ) {}

  /** Starts a Binding transaction from `base`; `settled` hears its timeout or refusal (answers come through `receive`). */
  start(
    base: string,
    to: StunAddress,
    attrs: StunAttribute[],
    opts: StunRequestOptions,
    meta: { pair: CandidatePair | undefined; priority: number; role: IceRole; useCandidate: boolean },
    settled: (t: IceTransaction, o: StunOutcome) => void,
  ): IceTransaction {
    const tx = this.client(base).request(StunMethod.Binding, attrs, to, opts);
    const t: IceTransaction = { key: transactionKey(tx.transactionId), base, to, tx, sentAt: this.deps.clock.now(), cancelled: false, ...meta };
    this.byKey.set(t.key, t);
    if (t.pair !== undefined) {
      const l = this.byPair.get(t.pair);
      if (l === undefined) this.byPair.set(t.pair, [t]);
      else l.push(t);
    }
    void tx.outcome.then((o) => {
      if ((o.kind === 'timeout' || o.kind === 'refused') && this.byKey.get(t.key) === t) settled(t, o);
    });
    return t;
  }

  get(tid: Uint8Array): IceTransaction | undefined {
    return this.byKey.get(transactionKey(tid));
  }

  /** Transactions listened to. */
  get size(): number {
    return this.byKey.size;
  }

  /** The RTT of an answer arriving now, when the request went only once (Karn); else undefined. */
  rttOf(t: IceTransaction): number | undefined {
    return this.sends.get(t.key) === 1 ? this.deps.clock.now() - t.sentAt : undefined;
  }

  /** An answer came: the StunClient stops retransmitting (`symmetric`: it settles, else it is cancelled); we stop listening. */
  answered(t: IceTransaction, msg: DecodedStun, from: StunAddress, symmetric: boolean): void {
    if (symmetric) this.clients.get(t.base)?.receive(msg, from);
    else t.tx.cancel();
    this.forget(t);
  }

  /** Stops listening to `t` (it timed out, or it is given up). */
  forget(t: IceTransaction): void {
    t.tx.cancel();
    this.byKey.delete(t.key);
    this.sends.delete(t.key);
    if (t.pair === undefined) return;
    const l = this.byPair.get(t.pair);
    if (l === undefined) return;
    const i = l.indexOf(t);
    if (i >= 0) l.splice(i, 1);
    if (l.length === 0) this.byPair.delete(t.pair);
  }

  /**
   * Stops the retransmissions of a pair's checks. `all`: forgets them too (the pair is settled); else
   * they stay listened to, the oldest dropped past MAX_STALE_CHECKS.
   */
  retire(p: CandidatePair, all: boolean): void {
    const l = this.byPair.get(p);
    if (l === undefined) return;
    for (const t of l) {
      t.cancelled = true;
      t.tx.cancel();
    }
    if (all) {
      for (const t of [...l]) this.forget(t);
      return;
    }
    for (const t of l.slice(0, Math.max(0, l.length - MAX_STALE_CHECKS))) this.forget(t);
  }

  /** Cancels and forgets every transaction; new ones may still start (consent checks). */
  cancelAll(): void {
    for (const t of this.byKey.values()) t.tx.cancel();
    this.byKey.clear();
    this.byPair.clear();
    this.sends.clear();
  }

  /** Cancels everything; no transaction starts any more. */
  stop(): void {
    this.cancelAll();
    for (const c of this.clients.values()) c.stop();
  }

  private client(base: string): StunClient {
    let c = this.clients.get(base);
    if (c === undefined) {
      c = new StunClient(
        {
          clock: this.deps.clock,
          random: this.deps.random,
          send: (d, to) => {
            const key = transactionKey(d.subarray(8, 20));
            const n = (this.sends.get(key) ?? 0) + 1;
            this.sends.set(key, n);
            if (n > 1) this.deps.retransmitted();
            this.deps.host.send(base, d, to);
          },
        },
        { maxPending: this.maxPending },
      );
      this.clients.set(base, c);
    }
    return c;
  }
}
