import type { SipRequest, SipResponse } from '../message/sip-message.js';
import type { InboundMessage, OutboundTarget } from '../transport/sip-transport.js';
import type { TransactionContext } from './transaction-context.js';
import { ServerTransactionBase } from './server-transaction-base.js';
import type { TransitionTable } from './transition-table.js';
import type { ServerTransaction, ServerTransactionState } from './transaction-contract.js';

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
export class ServerNonInviteTransaction extends ServerTransactionBase<'J'> implements ServerTransaction {
  readonly isInvite = false;

  constructor(ctx: TransactionContext, id: string, request: SipRequest, inbound: InboundMessage, target: OutboundTarget) {
    super(ctx, id, request, inbound, target, 'trying', 'non-INVITE server transaction', SERVER_NON_INVITE_TRANSITIONS);
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
    if (!this.reliable) this.endAfter('J', 64 * this.ctx.timers.t1);
    this.ctx.transport.send(response, this.target);
    if (this.reliable && this.current === 'completed') this.transition('terminated');
  }

  /** Figure 8: a response could not be sent — the transaction gives up. */
  transportError(): void {
    if (this.current !== 'terminated') this.transition('terminated');
  }
}
