import type { TransportProtocol } from '../transport/sip-transport.js';
import type { Lingering } from './linger-queue.js';
import { TimerSlots } from './timer-slots.js';
import type { TransactionContext } from './transaction-context.js';
import { checkTransition, type TransitionTable } from './transition-table.js';
import type { ClientTransactionState, ServerTransactionState } from './transaction-contract.js';

/**
 * What the four transaction state machines of RFC 3261 §17 share: their named timers, whether
 * their transport is reliable (§17.1.1.2: no retransmission timers, zero wait timers), the
 * current retransmission interval, and the one transition function that refuses the arrows
 * their figure does not have. Entering Terminated cancels every timer and lets the layer forget
 * the transaction at once.
 */
export abstract class TransactionMachine<S extends ClientTransactionState | ServerTransactionState, N extends string> implements Lingering {
  protected current: S;
  protected readonly slots: TimerSlots<N>;
  protected readonly reliable: boolean;
  protected interval: number;
  /** The delay of the wait timer this transaction waits out in the layer's LingerQueue, if any. */
  private lingerMs: number | undefined;

  protected constructor(
    protected readonly ctx: TransactionContext,
    protocol: TransportProtocol,
    initial: S,
    private readonly machine: string,
    private readonly table: TransitionTable<S>,
  ) {
    this.current = initial;
    this.slots = new TimerSlots(ctx.clock);
    this.reliable = ctx.transport.isReliable(protocol);
    this.interval = ctx.timers.t1;
  }

  get state(): S {
    return this.current;
  }

  /** Ends the transaction at once (layer close, Timer C, the TU giving up). */
  terminate(): void {
    if (this.current !== 'terminated') this.transition('terminated' as S);
  }

  /** The one transition function: refuses arrows not in the machine's figure. */
  protected transition(to: S): void {
    checkTransition(this.machine, this.table, this.current, to);
    this.current = to;
    if (to === 'terminated') {
      this.slots.cancelAll();
      if (this.lingerMs !== undefined) this.ctx.linger.leave(this, this.lingerMs);
      this.ctx.released(this);
      this.ended();
    } else {
      this.entered(to);
    }
  }

  /** Called after each transition to a state other than Terminated. */
  protected entered(_state: S): void {}

  /**
   * Starts the wait timer `_timer` (D, I, J, K, L or M) that ends the transaction: it waits in the
   * layer's LingerQueue (one clock timer per delay for all transactions, no closure of its own —
   * so nothing in scope here is kept alive for Timer L/M/J's 32 s either).
   */
  protected endAfter(_timer: N, delayMs: number): void {
    if (this.lingerMs !== undefined) this.ctx.linger.leave(this, this.lingerMs);
    this.lingerMs = delayMs;
    this.ctx.linger.add(this, delayMs);
  }

  /** LingerQueue: the wait timer started by endAfter fired. */
  lingerExpired(): void {
    this.lingerMs = undefined;
    if (this.current !== 'terminated') this.transition('terminated' as S);
  }

  /** Called once, after the layer has forgotten the transaction. */
  protected ended(): void {}
}
