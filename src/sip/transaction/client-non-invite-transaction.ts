import type { SipRequest, SipResponse } from '../message/sip-message.js';
import type { OutboundTarget } from '../transport/sip-transport.js';
import type { TransactionContext } from './transaction-context.js';
import { ClientTransactionBase } from './client-transaction-base.js';
import type { TransitionTable } from './transition-table.js';
import type { ClientTransaction, ClientTransactionState, ClientTransactionUser } from './transaction-contract.js';

/** RFC 3261 §17.1.2.2 Figure 6: the arrows of the non-INVITE client transaction. */
export const CLIENT_NON_INVITE_TRANSITIONS: TransitionTable<ClientTransactionState> = Object.freeze({
  calling: [],
  trying: ['proceeding', 'completed', 'terminated'],
  proceeding: ['completed', 'terminated'],
  completed: ['terminated'],
  accepted: [],
  terminated: [],
});

type TimerName = 'E' | 'F' | 'K';

/** RFC 3261 §17.1.2: the non-INVITE client transaction. Created and driven by the TransactionLayer. */
export class ClientNonInviteTransaction extends ClientTransactionBase<TimerName> implements ClientTransaction {
  readonly isInvite = false;

  constructor(ctx: TransactionContext, id: string, request: SipRequest, target: OutboundTarget, user: ClientTransactionUser) {
    super(ctx, id, request, target, user, 'trying', 'non-INVITE client transaction', CLIENT_NON_INVITE_TRANSITIONS);
  }

  /** §17.1.2.2: enter Trying — Timer F (64*T1), send, Timer E (T1) on unreliable transports. */
  start(): void {
    const { t1 } = this.ctx.timers;
    this.slots.set('F', 64 * t1, () => this.onTimerF());
    if (!this.reliable) this.slots.set('E', t1, () => this.onTimerE());
    this.ctx.transport.send(this.request, this.target);
  }

  /** A response matched to this transaction (§17.1.3). */
  receiveResponse(response: SipResponse): void {
    const s = this.current;
    if (s === 'completed') {
      this.ctx.absorbed(); // §17.1.2.2: Completed buffers response retransmissions
      return;
    }
    if (s !== 'trying' && s !== 'proceeding') return;
    if (response.status < 200) {
      if (s === 'trying') this.transition('proceeding');
      this.ctx.callUser(() => this.user.onResponse(response, this));
      return;
    }
    this.slots.cancel('E');
    this.slots.cancel('F');
    this.transition('completed');
    if (!this.reliable) this.endAfter('K', this.ctx.timers.t4);
    this.ctx.callUser(() => this.user.onResponse(response, this));
    // Timer K is zero on reliable transports.
    if (this.reliable && this.current === 'completed') this.transition('terminated');
  }

  /** §17.1.4: the transport failed to send the request. */
  transportError(error: Error): void {
    if (this.current !== 'trying' && this.current !== 'proceeding') return;
    this.transition('terminated');
    this.ctx.callUser(() => this.user.onTransportError(this, error));
  }

  /** §17.1.2.2: retransmit; the interval doubles up to T2 in Trying and is T2 in Proceeding. */
  private onTimerE(): void {
    if (this.current !== 'trying' && this.current !== 'proceeding') return;
    const { t2 } = this.ctx.timers;
    this.interval = this.current === 'proceeding' ? t2 : Math.min(2 * this.interval, t2);
    this.slots.set('E', this.interval, () => this.onTimerE());
    this.ctx.transport.send(this.request, this.target);
  }

  private onTimerF(): void {
    if (this.current !== 'trying' && this.current !== 'proceeding') return;
    this.transition('terminated');
    this.ctx.callUser(() => this.user.onTimeout(this));
  }
}
