import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseContact, parseNameAddr, parseVia, setParam } from '../../../../src/sip/message/index.js';
import { ParseCache } from '../../../../src/sip/message/parse-cache.js';

test('a cached Via result cannot be changed through a copy handed out earlier', () => {
  const value = 'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKcache;rport';
  const first = parseVia(value);
  setParam(first[0]!.params, 'received', '198.51.100.7');
  first[0]!.host = 'changed.example';
  const second = parseVia(value);
  assert.equal(second[0]!.host, '192.0.2.1');
  assert.deepEqual(second[0]!.params.map((p) => p.name), ['branch', 'rport']);
});

test('name-addr and Contact copies are deep (URI params included)', () => {
  const na = parseNameAddr('<sip:alice@example.com;transport=tcp>;tag=1');
  setParam(na.params, 'tag', '2');
  if ('params' in na.uri) na.uri.params.length = 0;
  const again = parseNameAddr('<sip:alice@example.com;transport=tcp>;tag=1');
  assert.equal(again.params[0]!.value, '1');
  assert.ok('params' in again.uri && again.uri.params.length === 1);
  const c = parseContact('<sip:a@192.0.2.1>;expires=60');
  assert.notEqual(c, '*');
  if (c !== '*') c[0]!.params.length = 0;
  const c2 = parseContact('<sip:a@192.0.2.1>;expires=60');
  assert.ok(c2 !== '*' && c2[0]!.params.length === 1);
});

test('failures are never cached: a bad value throws every time', () => {
  for (let i = 0; i < 3; i++) assert.throws(() => parseVia('SIP/2.0/UDP ;branch=x'));
});

test('ParseCache keeps the most recent entries and parses each key once while cached', () => {
  let calls = 0;
  const cache = new ParseCache<{ n: number }>(2, (v) => ({ ...v }));
  const parse = (k: string): { n: number } => {
    calls++;
    return { n: k.length };
  };
  cache.get('a', parse);
  cache.get('a', parse);
  cache.get('bb', parse);
  cache.get('a', parse);
  assert.equal(calls, 2);
  cache.get('ccc', parse); // evicts 'a' (oldest slot)
  cache.get('a', parse);
  assert.equal(calls, 4);
});
