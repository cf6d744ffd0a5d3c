import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatNameAddr, formatUri, formatVia, parseMessage, parseNameAddr, parseUri, parseVia, serializeMessage, uriEquals } from '../../../../src/sip/message/index.js';
import { anyUri, message, nameAddr, via } from './arbitraries.js';

const RUNS = { numRuns: 400, seed: 4475 };

describe('properties: parse(format(x)) = x', () => {
  test('URIs', () => {
    fc.assert(
      fc.property(anyUri(true), (u) => {
        assert.deepEqual(parseUri(formatUri(u)), u);
        assert.ok(uriEquals(u, parseUri(formatUri(u))));
      }),
      RUNS,
    );
  });

  test('Via', () => {
    fc.assert(fc.property(via, (v) => assert.deepEqual(parseVia(formatVia(v)), [v])), RUNS);
  });

  test('name-addr', () => {
    fc.assert(fc.property(nameAddr(true), (na) => assert.deepEqual(parseNameAddr(formatNameAddr(na)), na)), RUNS);
  });

  test('whole requests and responses, stream and datagram', () => {
    fc.assert(
      fc.property(message, (m) => {
        for (const datagram of [false, true]) {
          const r = parseMessage(serializeMessage(m), { datagram });
          assert.ok(r.ok, r.ok ? '' : `${r.error.message}\n${serializeMessage(m).toString('latin1')}`);
          assert.deepEqual(r.message, { ...m, body: new Uint8Array(m.body) });
        }
      }),
      RUNS,
    );
  });

  test('serialize is stable: serialize(parse(serialize(m))) = serialize(m)', () => {
    fc.assert(
      fc.property(message, (m) => {
        const bytes = serializeMessage(m);
        const r = parseMessage(bytes, { datagram: false });
        assert.ok(r.ok);
        assert.deepEqual(serializeMessage(r.message), bytes);
      }),
      { numRuns: 200, seed: 5118 },
    );
  });
});
