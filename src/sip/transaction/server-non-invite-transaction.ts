import type { SipRequest, SipResponse } from '../message/types.js';
import type { InboundMessage, OutboundTarget } from '../transport/types.js';
import { TimerSlots } from './timer-slots.js';
import type { TransactionContext } from './transaction-context.js';
import { checkTransition, type TransitionTable } from './transition-table.js';
import type { ServerTransaction, ServerTransactionState } from './types.js';

/** RFC 3261 §17.2.2 Figure 8: the arrows of the non-INVITE server transaction. */
export const SERVER_NON_INVITE_TRANSITIONS: TransitionTable<ServerTransactionState> = Object.freeze({
  trying: ['proceeding', 'completed', 'terminated'],
  proceeding: ['completed', 'terminated'],
  completed: ['terminated'],
  confirmed: [],
  accepted: [],
  terminated: [],
});

/** RFC 3261 §17.2.2: the non-INVITE server transaction. Created and driven by the TransactionLayer. */
export class ServerNonInviteTransaction implements ServerTransaction {
  readonly isInvite = false;
  onTerminated: (() => void) | undefined = undefined;
  private current: ServerTransactionState = 'trying';
  private readonly slots: TimerSlots<'J'>;
  private readonly reliable: boolean;
  private lastProvisional: SipResponse | undefined;
  private final: SipResponse | undefined;

  constructor(
    private readonly ctx: TransactionContext,
    readonly id: string,
    readonly request: SipRequest,
    readonly inbound: InboundMessage,
    /** Where responses go (§18.2.2, see responseTarget). */
    readonly target: OutboundTarget,
  ) {
    this.slots = new TimerSlots(ctx.clock);
    this.reliable = ctx.transport.isReliable(inbound.source.protocol);
  }

  get state(): ServerTransactionState {
    return this.current;
  }

  get finalResponse(): SipResponse | undefined {
    return this.final;
  }

  /** The last response sent (what a request retransmission gets again). */
  get lastResponse(): SipResponse | undefined {
    return this.final ?? this.lastProvisional;
  }

  respond(response: SipResponse): void {
    const s = this.current;
    if (s !== 'trying' && s !== 'proceeding') return; // §17.2.2: other final responses are discarded in Completed
    const status = response.status;
    if (!Number.isInteger(status) || status < 100 || status > 699) return;
    if (status < 200) {
      if (s === 'trying') this.transition('proceeding');
      this.lastProvisional = response;
      this.ctx.transport.send(response, this.target);
      return;
    }
    this.final = response;
    this.lastProvisional = undefined; // only Proceeding resends it: not kept for Timer J
    this.transition('completed');
    // Timer J: 64*T1 on unreliable transports, zero on reliable ones.
    if (!this.reliable) this.slots.set('J', 64 * this.ctx.timers.t1, () => this.transition('terminated'));
    this.ctx.transport.send(response, this.target);
    if (this.reliable && this.current === 'completed') this.transition('terminated');
  }

  /** §17.2.2: a retransmission of the request — nothing in Trying, else the last response again. */
  receiveRetransmission(): void {
    const s = this.current;
    if (s === 'terminated') return;
    this.ctx.absorbed();
    if (s === 'proceeding' && this.lastProvisional !== undefined) this.ctx.transport.send(this.lastProvisional, this.target);
    else if (s === 'completed' && this.final !== undefined) this.ctx.transport.send(this.final, this.target);
  }

  /** Figure 8: a response could not be sent — the transaction gives up. */
  transportError(): void {
    if (this.current !== 'terminated') this.transition('terminated');
  }

  /** Ends the transaction at once (layer close). */
  terminate(): void {
    if (this.current !== 'terminated') this.transition('terminated');
  }

  /** The one transition function: refuses arrows not in Figure 8. */
  private transition(to: ServerTransactionState): void {
    checkTransition('non-INVITE server transaction', SERVER_NON_INVITE_TRANSITIONS, this.current, to);
    this.current = to;
    if (to === 'terminated') {
      this.slots.cancelAll();
      this.ctx.released(this);
      const cb = this.onTerminated;
      if (cb !== undefined) this.ctx.callUser(cb);
    }
  }
}
