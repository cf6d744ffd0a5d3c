import { PackedMessage } from './retained-identity.js';
import type { SipRequest } from '../message/sip-message.js';
import type { OutboundTarget } from '../transport/sip-transport.js';
import type { TransactionContext } from './transaction-context.js';
import { TransactionMachine } from './transaction-machine.js';
import type { TransitionTable } from './transition-table.js';
import type { ClientTransactionState, ClientTransactionUser } from './transaction-contract.js';

/** What the INVITE and non-INVITE client transactions share (RFC 3261 §17.1). */
export abstract class ClientTransactionBase<N extends string> extends TransactionMachine<ClientTransactionState, N> {
  /** The request until a final response arrives; then its identity, packed. */
  private req: SipRequest | undefined;
  private packed: PackedMessage<SipRequest> | undefined;

  protected constructor(
    ctx: TransactionContext,
    readonly id: string,
    request: SipRequest,
    readonly target: OutboundTarget,
    protected readonly user: ClientTransactionUser,
    initial: ClientTransactionState,
    machine: string,
    table: TransitionTable<ClientTransactionState>,
  ) {
    super(ctx, target.destination.protocol, initial, machine, table);
    this.req = request;
  }

  /** The request; once a final response arrived, only its transaction identity (see transactionIdentity), a new object at each read. */
  get request(): SipRequest {
    return this.req ?? this.packed!.unpack();
  }

  /** Accepted / Completed only absorb retransmissions (an INVITE's ACK is built before, from the whole request). */
  protected override entered(state: ClientTransactionState): void {
    if ((state === 'accepted' || state === 'completed') && this.req !== undefined) {
      this.packed = new PackedMessage(this.req);
      this.req = undefined;
    }
  }
}
