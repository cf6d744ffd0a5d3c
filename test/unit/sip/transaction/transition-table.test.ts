import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CLIENT_INVITE_TRANSITIONS } from '../../../../src/sip/transaction/client-invite-transaction.js';
import { CLIENT_NON_INVITE_TRANSITIONS } from '../../../../src/sip/transaction/client-non-invite-transaction.js';
import { SERVER_INVITE_TRANSITIONS } from '../../../../src/sip/transaction/server-invite-transaction.js';
import { SERVER_NON_INVITE_TRANSITIONS } from '../../../../src/sip/transaction/server-non-invite-transaction.js';
import { TransactionError } from '../../../../src/sip/transaction/transaction-error.js';
import { checkTransition, type TransitionTable } from '../../../../src/sip/transaction/transition-table.js';
import { ClientInviteTransaction } from '../../../../src/sip/transaction/client-invite-transaction.js';
import { ClientNonInviteTransaction } from '../../../../src/sip/transaction/client-non-invite-transaction.js';
import { ServerInviteTransaction } from '../../../../src/sip/transaction/server-invite-transaction.js';
import { ServerNonInviteTransaction } from '../../../../src/sip/transaction/server-non-invite-transaction.js';
import type { TransactionContext } from '../../../../src/sip/transaction/transaction-context.js';
import { DEFAULT_TIMERS } from '../../../../src/sip/transaction/transaction-contract.js';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { LingerQueue } from '../../../../src/sip/transaction/linger-queue.js';
import { FakeTransport, inbound, recordingClientUser, request, target } from './tx-test-kit.js';

function arrows<S extends string>(table: TransitionTable<S>): string[] {
  const out: string[] = [];
  for (const [from, tos] of Object.entries(table) as [S, readonly S[]][]) for (const to of tos) out.push(`${from}>${to}`);
  return out.sort();
}

/** Every (from, to) pair not listed is refused with SIP_TX_ILLEGAL_TRANSITION. */
function assertOnlyArrows<S extends string>(name: string, table: TransitionTable<S>, expected: string[]): void {
  assert.deepEqual(arrows(table), [...expected].sort(), `${name}: arrows`);
  const states = Object.keys(table) as S[];
  for (const from of states) {
    for (const to of states) {
      const legal = expected.includes(`${from}>${to}`);
      if (legal) assert.doesNotThrow(() => checkTransition(name, table, from, to));
      else
        assert.throws(
          () => checkTransition(name, table, from, to),
          (e: unknown) => e instanceof TransactionError && e.code === 'SIP_TX_ILLEGAL_TRANSITION' && e.message.includes(`${from} -> ${to}`),
          `${name}: ${from} -> ${to} must be refused`,
        );
    }
  }
}

describe('transaction state machines refuse illegal transitions', () => {
  test('INVITE client: RFC 3261 Figure 5 with RFC 6026 Accepted', () => {
    assertOnlyArrows('INVITE client', CLIENT_INVITE_TRANSITIONS, [
      'calling>proceeding',
      'calling>completed',
      'calling>accepted',
      'calling>terminated',
      'proceeding>completed',
      'proceeding>accepted',
      'proceeding>terminated',
      'completed>terminated',
      'accepted>terminated',
    ]);
  });

  test('non-INVITE client: Figure 6', () => {
    assertOnlyArrows('non-INVITE client', CLIENT_NON_INVITE_TRANSITIONS, [
      'trying>proceeding',
      'trying>completed',
      'trying>terminated',
      'proceeding>completed',
      'proceeding>terminated',
      'completed>terminated',
    ]);
  });

  test('INVITE server: Figure 7 with RFC 6026 Accepted', () => {
    assertOnlyArrows('INVITE server', SERVER_INVITE_TRANSITIONS, [
      'proceeding>completed',
      'proceeding>accepted',
      'proceeding>terminated',
      'completed>confirmed',
      'completed>terminated',
      'confirmed>terminated',
      'accepted>terminated',
    ]);
  });

  test('non-INVITE server: Figure 8', () => {
    assertOnlyArrows('non-INVITE server', SERVER_NON_INVITE_TRANSITIONS, [
      'trying>proceeding',
      'trying>completed',
      'trying>terminated',
      'proceeding>completed',
      'proceeding>terminated',
      'completed>terminated',
    ]);
  });

  test('the tables are frozen', () => {
    assert.ok(Object.isFrozen(CLIENT_INVITE_TRANSITIONS));
    assert.ok(Object.isFrozen(SERVER_NON_INVITE_TRANSITIONS));
  });
});

/** Reaches the private transition function of a transaction, to show it is guarded. */
function forceTransition(tx: object, to: string): void {
  (tx as unknown as { transition(to: string): void }).transition(to);
}

describe('each transaction class goes through its guarded transition function', () => {
  const clock = new ManualClock();
  const ctx: TransactionContext = {
    clock,
    transport: new FakeTransport(clock),
    timers: DEFAULT_TIMERS,
    linger: new LingerQueue(clock),
    released: () => {},
    absorbed: () => {},
    passAck: () => {},
    callUser: (fn) => fn(),
  };
  const illegal = (e: unknown) => e instanceof TransactionError && e.code === 'SIP_TX_ILLEGAL_TRANSITION';

  test('client transactions', () => {
    const inv = new ClientInviteTransaction(ctx, 'a', request(), target(), recordingClientUser(clock));
    assert.throws(() => forceTransition(inv, 'confirmed'), illegal);
    assert.throws(() => forceTransition(inv, 'trying'), illegal);
    forceTransition(inv, 'completed');
    assert.throws(() => forceTransition(inv, 'accepted'), illegal);
    assert.equal(inv.state, 'completed');
    const nict = new ClientNonInviteTransaction(ctx, 'b', request({ method: 'OPTIONS' }), target(), recordingClientUser(clock));
    assert.throws(() => forceTransition(nict, 'accepted'), illegal);
    nict.terminate();
    assert.throws(() => forceTransition(nict, 'trying'), illegal);
  });

  test('server transactions', () => {
    const r = request();
    const ist = new ServerInviteTransaction(ctx, 'c', r, inbound(r), target());
    assert.throws(() => forceTransition(ist, 'confirmed'), illegal, 'Proceeding cannot be confirmed without a final response');
    forceTransition(ist, 'accepted');
    assert.throws(() => forceTransition(ist, 'completed'), illegal);
    const o = request({ method: 'OPTIONS' });
    const nist = new ServerNonInviteTransaction(ctx, 'd', o, inbound(o), target());
    assert.throws(() => forceTransition(nist, 'accepted'), illegal);
    assert.throws(() => forceTransition(nist, 'confirmed'), illegal);
    assert.equal(nist.state, 'trying');
  });
});
