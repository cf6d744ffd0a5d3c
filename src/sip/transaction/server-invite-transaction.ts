import type { SipRequest, SipResponse } from '../message/sip-message.js';
import type { InboundMessage, OutboundTarget } from '../transport/sip-transport.js';
import type { TransactionContext } from './transaction-context.js';
import { ServerTransactionBase } from './server-transaction-base.js';
import type { TransitionTable } from './transition-table.js';
import type { ServerTransaction, ServerTransactionState } from './transaction-contract.js';

/** RFC 3261 §17.2.1 Figure 7 as updated by RFC 6026 §7.1 (Accepted): the INVITE server transaction's arrows. */
export const SERVER_INVITE_TRANSITIONS: TransitionTable<ServerTransactionState> = Object.freeze({
  trying: [],
  proceeding: ['completed', 'accepted', 'terminated'],
  completed: ['confirmed', 'terminated'],
  confirmed: ['terminated'],
  accepted: ['terminated'],
  terminated: [],
});

type TimerName = 'G' | 'H' | 'I' | 'L';

/**
 * RFC 3261 §17.2.1 + RFC 6026: the INVITE server transaction. Created and driven by the
 * TransactionLayer. It sends no 100 (Trying) itself: the TU does.
 */
export class ServerInviteTransaction extends ServerTransactionBase<TimerName> implements ServerTransaction {
  readonly isInvite = true;

  constructor(ctx: TransactionContext, id: string, request: SipRequest, inbound: InboundMessage, target: OutboundTarget) {
    super(ctx, id, request, inbound, target, 'proceeding', 'INVITE server transaction', SERVER_INVITE_TRANSITIONS);
  }

  respond(response: SipResponse): void {
    const s = this.current;
    const status = response.status;
    if (!Number.isInteger(status) || status < 100 || status > 699) return;
    if (s === 'proceeding') {
      if (status < 200) {
        // §17.2.1: provisional responses are sent, not retransmitted, no state change.
        this.lastProvisional = response;
      } else if (status < 300) {
        // RFC 6026 §7.1: Accepted, Timer L = 64*T1; 2xx retransmissions are the TU's job.
        this.final = response;
        this.lastProvisional = undefined; // only Proceeding resends it: not kept for Timer L / H
        this.transition('accepted');
        this.endAfter('L', 64 * this.ctx.timers.t1);
      } else {
        // §17.2.1: Completed, Timer G (unreliable only) and Timer H.
        this.final = response;
        this.lastProvisional = undefined; // only Proceeding resends it: not kept for Timer L / H
        this.transition('completed');
        this.interval = this.ctx.timers.t1;
        if (!this.reliable) this.slots.set('G', this.interval, () => this.onTimerG());
        this.slots.set('H', 64 * this.ctx.timers.t1, () => this.onTimerH());
      }
      this.ctx.transport.send(response, this.target);
      return;
    }
    if (s === 'accepted' && status >= 200 && status < 300) {
      // RFC 6026 §7.1: a 2xx (retransmission) from the TU in Accepted is sent.
      this.final = response;
      this.ctx.transport.send(response, this.target);
    }
  }

  /** An ACK matched to this transaction (§17.2.3). */
  receiveAck(inbound: InboundMessage): void {
    const s = this.current;
    if (s === 'completed') {
      // §17.2.1: Confirmed stops retransmissions; Timer I = T4 (zero on reliable transports).
      this.slots.cancel('G');
      this.slots.cancel('H');
      this.transition('confirmed');
      if (this.reliable) this.transition('terminated');
      else this.endAfter('I', this.ctx.timers.t4);
    } else if (s === 'accepted') {
      this.ctx.passAck(inbound); // RFC 6026 §7.1: ACKs for the 2xx go to the TU
    } else if (s !== 'terminated') {
      this.ctx.absorbed(); // Confirmed absorbs ACK retransmissions; an ACK before any final response is dropped
    }
  }

  /** Figure 7: a response could not be sent (Proceeding, Completed) — the transaction gives up. */
  transportError(): void {
    if (this.current === 'proceeding' || this.current === 'completed') this.transition('terminated');
  }

  /** §17.2.1: retransmit the final response, interval doubling up to T2. */
  private onTimerG(): void {
    if (this.current !== 'completed' || this.final === undefined) return;
    this.interval = Math.min(2 * this.interval, this.ctx.timers.t2);
    this.slots.set('G', this.interval, () => this.onTimerG());
    this.ctx.transport.send(this.final, this.target);
  }

  /** §17.2.1: no ACK came — transaction failure (the TU learns it through onTerminated). */
  private onTimerH(): void {
    if (this.current === 'completed') this.transition('terminated');
  }
}
