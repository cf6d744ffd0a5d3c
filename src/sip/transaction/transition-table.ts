import { TransactionError } from './transaction-error.js';

/** For each state, the states it may move to (the arrows of an RFC 3261 §17 figure). */
export type TransitionTable<S extends string> = Readonly<Record<S, readonly S[]>>;

/**
 * Guards one state change of a transaction state machine: returns when `from → to` is an arrow
 * of `table`, throws `SIP_TX_ILLEGAL_TRANSITION` otherwise (a bug, never caused by network input:
 * event handlers check the state before they ask for a transition).
 */
export function checkTransition<S extends string>(machine: string, table: TransitionTable<S>, from: S, to: S): void {
  if (!table[from].includes(to)) {
    throw new TransactionError('SIP_TX_ILLEGAL_TRANSITION', `${machine}: illegal transition ${from} -> ${to}`);
  }
}
