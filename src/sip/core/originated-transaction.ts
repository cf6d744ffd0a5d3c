/**
 * Issue 16: the server side of a request this peer makes itself (ProxyCore.originate): it stands
 * where a phone's server transaction would, so the proxy routes the request as it routes a phone's
 * (location lookup, the overlay, forking, flows), and hands the final response to whoever asked.
 * Nothing goes on the wire from it: provisional responses are dropped, the first final one ends it.
 */
import type { SipRequest, SipResponse } from '../message/sip-message.js';
import type { ServerTransaction, ServerTransactionState } from '../transaction/transaction-contract.js';
import type { InboundMessage, TransportAddress } from '../transport/sip-transport.js';

export class OriginatedTransaction implements ServerTransaction {
  readonly inbound: InboundMessage;
  readonly isInvite: boolean;
  onTerminated: (() => void) | undefined = undefined;
  private current: ServerTransactionState = 'proceeding';
  private final: SipResponse | undefined;

  constructor(
    readonly id: string,
    readonly request: SipRequest,
    local: TransportAddress,
    private readonly done: (response: SipResponse) => void,
  ) {
    this.isInvite = request.method === 'INVITE';
    this.inbound = { message: request, source: local, local, flowId: undefined };
  }

  get state(): ServerTransactionState {
    return this.current;
  }

  get finalResponse(): SipResponse | undefined {
    return this.final;
  }

  respond(response: SipResponse): void {
    if (this.current === 'terminated' || response.status < 200) return;
    this.final = response;
    this.current = 'terminated';
    this.done(response);
    const cb = this.onTerminated;
    this.onTerminated = undefined;
    cb?.();
  }
}
