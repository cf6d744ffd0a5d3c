import type { SipRequest, SipResponse } from '../message/types.js';
import type { InboundMessage, OutboundTarget } from '../transport/types.js';
import type { TransactionContext } from './transaction-context.js';
import { TransactionMachine } from './transaction-machine.js';
import type { TransitionTable } from './transition-table.js';
import type { ServerTransaction, ServerTransactionState } from './types.js';

/** What the INVITE and non-INVITE server transactions share (RFC 3261 §17.2). */
export abstract class ServerTransactionBase<N extends string>
  extends TransactionMachine<ServerTransactionState, N>
  implements Omit<ServerTransaction, 'isInvite' | 'respond'>
{
  onTerminated: (() => void) | undefined = undefined;
  protected lastProvisional: SipResponse | undefined;
  protected final: SipResponse | undefined;

  protected constructor(
    ctx: TransactionContext,
    readonly id: string,
    readonly request: SipRequest,
    readonly inbound: InboundMessage,
    /** Where responses go (§18.2.2, see responseTarget). */
    readonly target: OutboundTarget,
    initial: ServerTransactionState,
    machine: string,
    table: TransitionTable<ServerTransactionState>,
  ) {
    super(ctx, inbound.source.protocol, initial, machine, table);
  }

  get finalResponse(): SipResponse | undefined {
    return this.final;
  }

  /** The last response sent: what a retransmission gets again, and whose To tag an RFC 2543 ACK carries (§17.2.3). */
  get lastResponse(): SipResponse | undefined {
    return this.final ?? this.lastProvisional;
  }

  protected override ended(): void {
    const cb = this.onTerminated;
    if (cb !== undefined) this.ctx.callUser(cb);
  }
}
