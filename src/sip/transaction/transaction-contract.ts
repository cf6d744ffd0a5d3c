/**
 * The transaction layer contract (RFC 3261 §17, RFC 6026). The layer sits between the
 * transport layer (which calls `receive`) and a transaction user — the registrar/proxy core —
 * which it calls through {@link TransactionUser}.
 *
 * CONTRACT shared by the transaction module and its users.
 */
import type { SipRequest, SipResponse } from '../message/sip-message.js';
import type { InboundMessage, OutboundTarget } from '../transport/sip-transport.js';

export type ServerTransactionState = 'trying' | 'proceeding' | 'completed' | 'confirmed' | 'accepted' | 'terminated';
export type ClientTransactionState = 'calling' | 'trying' | 'proceeding' | 'completed' | 'accepted' | 'terminated';

/** RFC 3261 §17 timer base values, milliseconds. */
export interface TransactionTimers {
  /** RTT estimate, default 500. */
  t1: number;
  /** Maximum retransmit interval for non-INVITE requests and INVITE responses, default 4000. */
  t2: number;
  /** Maximum duration a message remains in the network, default 5000. */
  t4: number;
}

export const DEFAULT_TIMERS: Readonly<TransactionTimers> = Object.freeze({ t1: 500, t2: 4000, t4: 5000 });

export interface ServerTransaction {
  /** Matching key (branch-based, or the RFC 2543 fallback key). */
  readonly id: string;
  readonly request: SipRequest;
  /** The inbound message that created it: where responses go (RFC 3261 §18.2.2). */
  readonly inbound: InboundMessage;
  readonly state: ServerTransactionState;
  readonly isInvite: boolean;
  /** Sends a response through the transaction (retransmitted as §17.2 requires). Ignored once terminated. */
  respond(response: SipResponse): void;
  /**
   * Last final response sent, if any. Once it can no longer be retransmitted by the transaction
   * (a 2xx in Accepted, any final in Confirmed) only its status, reason and To header are kept.
   */
  readonly finalResponse: SipResponse | undefined;
  /** Called once when the transaction terminates. */
  onTerminated: (() => void) | undefined;
}

export interface ClientTransactionUser {
  /** Every provisional and final response; for INVITE in RFC 6026 Accepted state also 2xx retransmissions. */
  onResponse(response: SipResponse, tx: ClientTransaction): void;
  /** Timer B / Timer F fired with no final response (the TU acts as if 408 arrived, §16.7 step 2 / §8.1.3.1). */
  onTimeout(tx: ClientTransaction): void;
  /** The transport reported a failure (§17.1.4): the TU acts as if 503 arrived. */
  onTransportError(tx: ClientTransaction, error: Error): void;
}

export interface ClientTransaction {
  readonly id: string;
  readonly request: SipRequest;
  readonly target: OutboundTarget;
  readonly state: ClientTransactionState;
  readonly isInvite: boolean;
  /** Stops retransmissions and moves to terminated without informing the user. */
  terminate(): void;
}

/** The core above the transaction layer. */
export interface TransactionUser {
  /**
   * A new request with its server transaction: every method except ACK (CANCEL included — the
   * core finds the INVITE it cancels with `TransactionLayer.findCancelTarget`).
   */
  onRequest(tx: ServerTransaction): void;
  /** An ACK that matches no INVITE server transaction (the ACK for a 2xx): proxies forward it statelessly. */
  onAck(inbound: InboundMessage): void;
  /** A response that matches no client transaction (§17.1.3): proxies forward 2xx statelessly (§16.7, RFC 6026). */
  onStrayResponse(inbound: InboundMessage): void;
  /**
   * RFC 3261 §8.2.7 stateless UAS behaviour: when this says true for a new request, no server
   * transaction is made and the request goes to `onStatelessRequest`; the user answers it
   * itself (a retransmission is then simply answered again, so the handling must be idempotent).
   * A registrar answers REGISTER so (like Kamailio's save()), instead of holding a transaction
   * per REGISTER for Timer J's 32 s.
   */
  answersStatelessly?(request: SipRequest): boolean;
  onStatelessRequest?(inbound: InboundMessage): void;
}
