import type { SipRequest } from '../message/types.js';
import type { OutboundTarget } from '../transport/types.js';
import type { TransactionContext } from './transaction-context.js';
import { TransactionMachine } from './transaction-machine.js';
import type { TransitionTable } from './transition-table.js';
import type { ClientTransactionState, ClientTransactionUser } from './types.js';

/** What the INVITE and non-INVITE client transactions share (RFC 3261 §17.1). */
export abstract class ClientTransactionBase<N extends string> extends TransactionMachine<ClientTransactionState, N> {
  protected constructor(
    ctx: TransactionContext,
    readonly id: string,
    readonly request: SipRequest,
    readonly target: OutboundTarget,
    protected readonly user: ClientTransactionUser,
    initial: ClientTransactionState,
    machine: string,
    table: TransitionTable<ClientTransactionState>,
  ) {
    super(ctx, target.destination.protocol, initial, machine, table);
  }
}
