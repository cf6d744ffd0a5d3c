import type { Clock } from '../../lib/clock.js';
import type { InboundMessage, SipTransport } from '../transport/sip-transport.js';
import type { LingerQueue } from './linger-queue.js';
import type { TransactionTimers } from './transaction-contract.js';

/** What a transaction needs from the layer that owns it (internal to this folder). */
export interface TransactionContext {
  readonly clock: Clock;
  readonly transport: SipTransport;
  readonly timers: Readonly<TransactionTimers>;
  /** The wait timers (D, I, J, K, L, M) of every transaction of the layer. */
  readonly linger: LingerQueue;
  /** Called exactly once when a transaction enters Terminated: the layer forgets it (§17: destroyed at once). */
  released(tx: object): void;
  /** A retransmitted request or response was absorbed by a transaction. */
  absorbed(): void;
  /** RFC 6026 §7.1: an ACK matching an INVITE server transaction in Accepted goes to the TU. */
  passAck(inbound: InboundMessage): void;
  /** Runs a transaction-user callback; an exception thrown by it never breaks a state machine. */
  callUser(fn: () => void): void;
}
