import { FinalMark, PackedMessage } from './retained-identity.js';
import type { SipRequest, SipResponse } from '../message/sip-message.js';
import type { InboundMessage, OutboundTarget } from '../transport/sip-transport.js';
import type { TransactionContext } from './transaction-context.js';
import { TransactionMachine } from './transaction-machine.js';
import type { TransitionTable } from './transition-table.js';
import type { ServerTransaction, ServerTransactionState } from './transaction-contract.js';

/** What the INVITE and non-INVITE server transactions share (RFC 3261 §17.2). */
export abstract class ServerTransactionBase<N extends string>
  extends TransactionMachine<ServerTransactionState, N>
  implements Omit<ServerTransaction, 'isInvite' | 'respond'>
{
  onTerminated: (() => void) | undefined = undefined;
  protected lastProvisional: SipResponse | undefined;
  /** The final response while it may be sent again; then only its {@link FinalMark}. */
  private fullFinal: SipResponse | undefined;
  private mark: FinalMark | undefined;
  /** The request until a final response is sent; then its identity, packed. */
  private req: SipRequest | undefined;
  private packed: PackedMessage<SipRequest> | undefined;
  /** Where it came from; `message` is read through `request` once packed. */
  private from: InboundMessage | Omit<InboundMessage, 'message'>;

  protected constructor(
    ctx: TransactionContext,
    readonly id: string,
    request: SipRequest,
    inbound: InboundMessage,
    /** Where responses go (§18.2.2, see responseTarget). */
    readonly target: OutboundTarget,
    initial: ServerTransactionState,
    machine: string,
    table: TransitionTable<ServerTransactionState>,
  ) {
    super(ctx, inbound.source.protocol, initial, machine, table);
    this.req = request;
    this.from = inbound;
  }

  /** The request; once a final response is sent, only its transaction identity (see transactionIdentity), a new object at each read. */
  get request(): SipRequest {
    return this.req ?? this.packed!.unpack();
  }

  get inbound(): InboundMessage {
    return 'message' in this.from ? this.from : { ...this.from, message: this.request };
  }

  protected get final(): SipResponse | undefined {
    return this.fullFinal ?? this.mark?.response();
  }

  protected set final(response: SipResponse | undefined) {
    // in Accepted / Confirmed nothing sends it again: only the mark is kept (a 2xx retransmission in Accepted too)
    if (response !== undefined && (this.current === 'accepted' || this.current === 'confirmed')) {
      this.fullFinal = undefined;
      this.mark = new FinalMark(response);
    } else {
      this.fullFinal = response;
      this.mark = undefined;
    }
  }

  /**
   * Once a final response is sent the transaction only absorbs retransmissions (and, for INVITE,
   * passes ACKs): it keeps the request's identity, not the whole request, for Timer J/L/I. The
   * final response is kept whole only while it may be retransmitted (non-2xx, before an ACK); after
   * that only its status and To header (FinalMark).
   */
  protected override entered(state: ServerTransactionState): void {
    if (state !== 'accepted' && state !== 'completed' && state !== 'confirmed') return;
    if (this.req !== undefined) {
      this.packed = new PackedMessage(this.req);
      this.req = undefined;
      const { source, local, flowId } = this.from;
      this.from = { source, local, flowId };
    }
    if ((state === 'accepted' || state === 'confirmed') && this.fullFinal !== undefined) this.final = this.fullFinal;
  }

  get finalResponse(): SipResponse | undefined {
    return this.final;
  }

  /** The last response sent: what a retransmission gets again, and whose To tag an RFC 2543 ACK carries (§17.2.3). */
  get lastResponse(): SipResponse | undefined {
    return this.final ?? this.lastProvisional;
  }

  /**
   * A retransmission of the request (§17.2.1 with RFC 6026 §7.1, §17.2.2): absorbed; in Proceeding
   * the last provisional response and in Completed the final response is sent again. Nothing is
   * sent in Trying (non-INVITE), Accepted or Confirmed (INVITE).
   */
  receiveRetransmission(): void {
    const s = this.current;
    if (s === 'terminated') return;
    this.ctx.absorbed();
    if (s === 'proceeding' && this.lastProvisional !== undefined) this.ctx.transport.send(this.lastProvisional, this.target);
    else if (s === 'completed' && this.final !== undefined) this.ctx.transport.send(this.final, this.target);
  }

  protected override ended(): void {
    const cb = this.onTerminated;
    if (cb !== undefined) this.ctx.callUser(cb);
  }
}
