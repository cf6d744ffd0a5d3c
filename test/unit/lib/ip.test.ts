import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalIp, ipFamily, sameIp, sourceNetwork, unbracket } from '../../../src/lib/ip.js';
import { splitFirstValue } from '../../../src/sip/message/index.js';

test('canonical IP text (RFC 5952)', () => {
  assert.equal(canonicalIp('192.0.2.1'), '192.0.2.1');
  assert.equal(canonicalIp('[2001:DB8:0:0:0:0:0:1]'), '2001:db8::1');
  assert.equal(canonicalIp('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
  assert.equal(canonicalIp('::'), '::');
  assert.equal(canonicalIp('::1'), '::1');
  assert.equal(canonicalIp('::ffff:192.0.2.1'), '::ffff:c000:201');
  assert.equal(canonicalIp('1:2:3:4:5:6:7:8'), '1:2:3:4:5:6:7:8');
  for (const bad of ['example.com', '256.1.1.1', '1.2.3', '1:2:3:4:5:6:7:8:9', '1::2::3', ':::', '12345::', '[::1', 'fe80::1%eth0', '']) {
    assert.equal(canonicalIp(bad), undefined, bad);
  }
});

test('families, brackets, equality', () => {
  assert.equal(ipFamily('[::1]'), 6);
  assert.equal(ipFamily('127.0.0.1'), 4);
  assert.equal(ipFamily('localhost'), undefined);
  assert.equal(unbracket('[::1]'), '::1');
  assert.equal(unbracket('::1'), '::1');
  assert.ok(sameIp('[2001:db8::0:1]', '2001:DB8::1'));
  assert.ok(!sameIp('example.com', 'example.com'), 'names are never the same IP');
  assert.ok(!sameIp('192.0.2.1', '::ffff:192.0.2.1'));
});

test('splitFirstValue respects quotes and angle brackets', () => {
  assert.deepEqual(splitFirstValue('a;x="1,2" , b'), ['a;x="1,2"', ', b']);
  assert.deepEqual(splitFirstValue('<sip:a,b>;q=1,c'), ['<sip:a,b>;q=1', ',c']);
  assert.deepEqual(splitFirstValue('only'), ['only', '']);
  assert.deepEqual(splitFirstValue('"esc\\"aped,"'), ['"esc\\"aped,"', '']);
});

test('source network for per-source counts: IPv4 address, IPv6 /64, mapped IPv4 as IPv4', () => {
  assert.equal(sourceNetwork('192.0.2.1'), '192.0.2.1');
  assert.equal(sourceNetwork('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  assert.equal(sourceNetwork('[2001:DB8:1:2:bbbb::9]'), '2001:db8:1:2::/64');
  assert.equal(sourceNetwork('::1'), '::/64');
  assert.equal(sourceNetwork('::ffff:192.0.2.7'), '192.0.2.7');
  assert.equal(sourceNetwork('example.com'), undefined);
});
