import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createResponse } from '../../../../src/sip/message/index.js';
import type { ClientTransaction } from '../../../../src/sip/transaction/transaction-contract.js';
import { TransactionError } from '../../../../src/sip/transaction/transaction-error.js';
import type { TransportProtocol } from '../../../../src/sip/transport/sip-transport.js';
import { harness, inbound, recordingClientUser, request, response, target } from './tx-test-kit.js';

const METHODS = ['INVITE', 'OPTIONS', 'ACK', 'CANCEL', 'BYE'] as const;
const STATUSES = [100, 180, 200, 404, 486, 500] as const;
const OUR_VIA = 'SIP/2.0/UDP 127.0.0.1:5060';

const protocol = fc.constantFrom<TransportProtocol>('udp', 'tcp');
const action = fc.oneof(
  fc.record({
    kind: fc.constant('in-request' as const),
    method: fc.constantFrom(...METHODS),
    branch: fc.integer({ min: 0, max: 3 }),
    cookie: fc.boolean(),
    toTag: fc.constantFrom(undefined, 'a', 'b'),
    protocol,
  }),
  fc.record({
    kind: fc.constant('in-response' as const),
    status: fc.constantFrom(...STATUSES),
    method: fc.constantFrom('INVITE', 'OPTIONS', 'CANCEL'),
    branch: fc.integer({ min: 0, max: 3 }),
  }),
  fc.record({ kind: fc.constant('send' as const), method: fc.constantFrom('INVITE', 'OPTIONS', 'CANCEL'), branch: fc.integer({ min: 0, max: 3 }), protocol }),
  fc.record({ kind: fc.constant('respond' as const), tx: fc.nat(), status: fc.constantFrom(...STATUSES) }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 40_000 }) }),
  fc.record({ kind: fc.constant('send-error' as const), sent: fc.nat() }),
  fc.record({ kind: fc.constant('garbage' as const) }),
);

describe('TransactionLayer under random event sequences', () => {
  test('never throws, honours the cap, and leaves no transaction or timer behind once everything ends', () => {
    fc.assert(
      fc.property(fc.array(action, { maxLength: 40 }), fc.integer({ min: 1, max: 6 }), (actions, max) => {
        const h = harness({ maxTransactions: max });
        const clients: ClientTransaction[] = [];
        const u = recordingClientUser(h.clock);
        for (const a of actions) {
          switch (a.kind) {
            case 'in-request': {
              const via = `SIP/2.0/${a.protocol.toUpperCase()} 192.0.2.10:5070`;
              const branch = a.cookie ? `z9hG4bKp${a.branch}` : `old${a.branch}`;
              h.layer.receive(inbound(request({ method: a.method, branch, via, ...(a.toTag ? { toTag: a.toTag } : {}) }), a.protocol));
              break;
            }
            case 'in-response':
              h.layer.receive(inbound(response({ status: a.status, method: a.method, branch: `z9hG4bKc${a.branch}`, via: OUR_VIA, toTag: 't' })));
              break;
            case 'send':
              try {
                clients.push(h.layer.sendRequest(request({ method: a.method, branch: `z9hG4bKc${a.branch}`, via: OUR_VIA }), target(a.protocol), u));
              } catch (e) {
                assert.ok(e instanceof TransactionError && e.code === 'SIP_TX_DUPLICATE');
              }
              break;
            case 'respond': {
              const tx = h.user.requests[a.tx % Math.max(1, h.user.requests.length)];
              tx?.respond(createResponse(tx.request, a.status, undefined, { toTag: 'srv' }));
              break;
            }
            case 'advance':
              h.clock.advance(a.ms);
              break;
            case 'send-error': {
              const s = h.transport.sent[a.sent % Math.max(1, h.transport.sent.length)];
              if (s) h.layer.onSendError(s.target, s.message, new Error('x'));
              break;
            }
            case 'garbage': {
              const r = request();
              r.headers.remove('via');
              h.layer.receive(inbound(r));
              break;
            }
          }
          const st = h.layer.stats();
          assert.ok(st.serverTransactions + st.clientTransactions <= max, 'cap');
        }
        // Wind down: final responses everywhere, then let every timer run out.
        for (const tx of h.user.requests) tx.respond(createResponse(tx.request, 500, undefined, { toTag: 'srv' }));
        for (const tx of clients) {
          if (tx.state !== 'proceeding') continue;
          const method = tx.request.method;
          const branch = tx.id.split('|')[0]!;
          h.layer.receive(inbound(response({ status: 500, method, branch, via: OUR_VIA, toTag: 't' })));
        }
        h.clock.advance(100_000);
        assert.deepEqual(
          { s: h.layer.stats().serverTransactions, c: h.layer.stats().clientTransactions },
          { s: 0, c: 0 },
        );
        assert.equal(h.clock.pendingTimers, 0);
      }),
      { numRuns: 300, seed: 20240611 },
    );
  });
});
