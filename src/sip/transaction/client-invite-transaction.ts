import type { SipRequest, SipResponse } from '../message/sip-message.js';
import type { OutboundTarget } from '../transport/sip-transport.js';
import { buildAck } from './build-ack.js';
import type { TransactionContext } from './transaction-context.js';
import { ClientTransactionBase } from './client-transaction-base.js';
import type { TransitionTable } from './transition-table.js';
import type { ClientTransaction, ClientTransactionState, ClientTransactionUser } from './transaction-contract.js';

/** RFC 3261 §17.1.1.2 Figure 5 as updated by RFC 6026 §7.2 (Accepted): the INVITE client transaction's arrows. */
export const CLIENT_INVITE_TRANSITIONS: TransitionTable<ClientTransactionState> = Object.freeze({
  calling: ['proceeding', 'completed', 'accepted', 'terminated'],
  trying: [],
  proceeding: ['completed', 'accepted', 'terminated'],
  completed: ['terminated'],
  accepted: ['terminated'],
  terminated: [],
});

type TimerName = 'A' | 'B' | 'D' | 'M';

/** Timer D: at least 32 s on unreliable transports (§17.1.1.2), whatever T1 is. */
const TIMER_D_MIN_MS = 32_000;

/** RFC 3261 §17.1.1 + RFC 6026: the INVITE client transaction. Created and driven by the TransactionLayer. */
export class ClientInviteTransaction extends ClientTransactionBase<TimerName> implements ClientTransaction {
  readonly isInvite = true;
  private ack: SipRequest | undefined;

  constructor(ctx: TransactionContext, id: string, request: SipRequest, target: OutboundTarget, user: ClientTransactionUser) {
    super(ctx, id, request, target, user, 'calling', 'INVITE client transaction', CLIENT_INVITE_TRANSITIONS);
  }

  /** §17.1.1.2: enter Calling — Timer B (64*T1), send, Timer A (T1) on unreliable transports. */
  start(): void {
    const { t1 } = this.ctx.timers;
    this.slots.set('B', 64 * t1, () => this.onTimerB());
    if (!this.reliable) this.slots.set('A', t1, () => this.onTimerA());
    this.ctx.transport.send(this.request, this.target);
  }

  /** A response matched to this transaction (§17.1.3). */
  receiveResponse(response: SipResponse): void {
    const s = this.current;
    const status = response.status;
    if (s === 'calling' || s === 'proceeding') {
      // §17.1.1.2: no retransmission after any response; Timer B only matters in Calling.
      this.slots.cancel('A');
      this.slots.cancel('B');
      let ack: SipRequest | undefined;
      if (status < 200) {
        if (s === 'calling') this.transition('proceeding');
      } else if (status < 300) {
        // RFC 6026 §7.2: Accepted, Timer M = 64*T1; the TU (UAC core or proxy) handles the ACK.
        this.transition('accepted');
        this.endAfter('M', 64 * this.ctx.timers.t1);
      } else {
        // §17.1.1.2: Completed, ACK sent (even on reliable transports), Timer D. The ACK is built
        // while the whole request is at hand (Completed keeps only its identity, packed).
        ack = buildAck(this.request, response);
        this.transition('completed');
        this.ack = ack;
        if (!this.reliable) this.endAfter('D', Math.max(TIMER_D_MIN_MS, 64 * this.ctx.timers.t1));
      }
      this.ctx.callUser(() => this.user.onResponse(response, this));
      if (ack !== undefined) {
        this.ctx.transport.send(ack, this.target);
        // Timer D is zero on reliable transports.
        if (this.reliable && this.current === 'completed') this.transition('terminated');
      }
      return;
    }
    if (s === 'completed') {
      // §17.1.1.2: a retransmitted final response is answered with the ACK again, not passed up.
      if (status >= 300 && this.ack !== undefined) this.ctx.transport.send(this.ack, this.target);
      this.ctx.absorbed();
      return;
    }
    if (s === 'accepted') {
      // RFC 6026 §7.2: every further 2xx (retransmission or another fork) goes to the TU.
      if (status >= 200 && status < 300) this.ctx.callUser(() => this.user.onResponse(response, this));
      else this.ctx.absorbed();
    }
  }

  /** §17.1.4, Figure 5: a failed send of the INVITE (Calling) or of the ACK (Completed). */
  transportError(error: Error): void {
    if (this.current !== 'calling' && this.current !== 'completed') return;
    this.transition('terminated');
    this.ctx.callUser(() => this.user.onTransportError(this, error));
  }

  /** §17.1.1.2: retransmit with a doubling interval (no cap for INVITE) while in Calling. */
  private onTimerA(): void {
    if (this.current !== 'calling') return;
    this.interval *= 2;
    this.slots.set('A', this.interval, () => this.onTimerA());
    this.ctx.transport.send(this.request, this.target);
  }

  private onTimerB(): void {
    if (this.current !== 'calling') return;
    this.transition('terminated');
    this.ctx.callUser(() => this.user.onTimeout(this));
  }

  protected override ended(): void {
    this.ack = undefined;
  }
}
