/** `p2psip up` NAT options (issue 12): --stun-server, --turn-server precedence inputs, --turn-bandwidth caps. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_TURN_BANDWIDTH_BYTES_PER_S, MIN_TURN_BANDWIDTH_BYTES_PER_S, parseNatOptions } from '../../../src/node/parse-nat-options.js';
import { ConfigError } from '../../../src/node/peer-config.js';

const fails = (o: Parameters<typeof parseNatOptions>[0], message: RegExp): void => {
  assert.throws(
    () => parseNatOptions(o),
    (e: unknown) => e instanceof ConfigError && message.test(e.message),
  );
};

describe('parseNatOptions', () => {
  test('nothing given: nothing set', () => {
    assert.deepEqual(parseNatOptions({ ice: true }), {});
    assert.deepEqual(parseNatOptions({ ice: true, stunServer: [], turnUser: [] }), {});
  });

  test('--stun-server: repeatable, IP literals (IPv6 in brackets), duplicates once, at most 4', () => {
    assert.deepEqual(parseNatOptions({ ice: true, stunServer: ['203.0.113.2:3478', '[2001:db8::1]:3478', '203.0.113.2:3478'] }), {
      stunServers: [
        { host: '203.0.113.2', port: 3478 },
        { host: '2001:db8::1', port: 3478 },
      ],
    });
    const five = ['192.0.2.1:1', '192.0.2.1:2', '192.0.2.1:3', '192.0.2.1:4', '192.0.2.1:5'];
    fails({ ice: true, stunServer: five }, /--stun-server: at most 4 STUN servers, got 5/);
    parseNatOptions({ ice: true, stunServer: five.slice(0, 4) });
  });

  test('--stun-server: bad values name the problem', () => {
    fails({ ice: true, stunServer: ['stun.example.org:3478'] }, /--stun-server: give an IP address, got 'stun.example.org'/);
    fails({ ice: true, stunServer: ['203.0.113.2'] }, /--stun-server: expected <host:port>/);
    fails({ ice: true, stunServer: ['203.0.113.2:70000'] }, /--stun-server: port 70000 is out of range/);
    fails({ ice: true, stunServer: ['203.0.113.2:0'] }, /--stun-server: port 0 is not a server's port/);
    fails({ stunServer: ['203.0.113.2:3478'] }, /--stun-server needs --ice/);
  });

  test('--turn-server with --turn-credentials; each alone, a name or port 0 is refused', () => {
    assert.deepEqual(parseNatOptions({ ice: true, turnServer: '203.0.113.3:3478', turnCredentials: 'op:s3cret:x' }), {
      turnServer: { host: '203.0.113.3', port: 3478, username: 'op', password: 's3cret:x' },
    });
    fails({ ice: true, turnServer: '203.0.113.3:3478' }, /--turn-server and --turn-credentials go together/);
    fails({ ice: true, turnCredentials: 'a:b' }, /go together/);
    fails({ ice: true, turnServer: 'turn.example.org:3478', turnCredentials: 'a:b' }, /--turn-server: give an IP address/);
    fails({ ice: true, turnServer: '203.0.113.3:0', turnCredentials: 'a:b' }, /--turn-server: port 0/);
    fails({ ice: true, turnServer: '203.0.113.3:3478', turnCredentials: 'nopassword' }, /--turn-credentials: expected <user:password>/);
    fails({ turnServer: '203.0.113.3:3478', turnCredentials: 'a:b' }, /--turn-server needs --ice/);
  });

  test('--turn-user: user:password pairs, needs --ice', () => {
    assert.deepEqual(parseNatOptions({ ice: true, turnUser: ['a:1', 'b:2'] }), { turnUsers: { a: '1', b: '2' } });
    fails({ turnUser: ['a:1'] }, /--turn-user needs --ice/);
    fails({ ice: true, turnUser: [':1'] }, /--turn-user: expected <user:password>/);
  });

  test('--turn-bandwidth / --turn-total-bandwidth: whole bytes per second within the bounds, per allocation ≤ total', () => {
    assert.deepEqual(parseNatOptions({ ice: true, turnBandwidth: '256000' }), { turnBandwidth: { perAllocationBytesPerS: 256_000 } });
    assert.deepEqual(parseNatOptions({ ice: true, turnTotalBandwidth: '10000000' }), { turnBandwidth: { totalBytesPerS: 10_000_000 } });
    assert.deepEqual(parseNatOptions({ ice: true, turnBandwidth: '6000000', turnTotalBandwidth: '6000000' }), { turnBandwidth: { perAllocationBytesPerS: 6_000_000, totalBytesPerS: 6_000_000 } });
    assert.deepEqual(parseNatOptions({ ice: true, turnBandwidth: String(MIN_TURN_BANDWIDTH_BYTES_PER_S), turnTotalBandwidth: String(MIN_TURN_BANDWIDTH_BYTES_PER_S) }).turnBandwidth, {
      perAllocationBytesPerS: 8_000,
      totalBytesPerS: 8_000,
    });
    fails({ ice: true, turnBandwidth: '7999' }, /--turn-bandwidth: expected bytes per second from 8000 to 1000000000, got '7999'/);
    fails({ ice: true, turnTotalBandwidth: String(MAX_TURN_BANDWIDTH_BYTES_PER_S + 1) }, /--turn-total-bandwidth: expected bytes per second/);
    fails({ ice: true, turnBandwidth: '512k' }, /--turn-bandwidth: expected bytes per second/);
    fails({ ice: true, turnBandwidth: '1e6' }, /--turn-bandwidth: expected bytes per second/);
    fails({ ice: true, turnBandwidth: '5000000' }, /--turn-bandwidth 5000000 is above the relay's total of 4000000 bytes\/s \(raise --turn-total-bandwidth too\)/);
    fails({ ice: true, turnTotalBandwidth: '100000' }, /--turn-total-bandwidth 100000 is below the per-allocation 512000 bytes\/s \(the --turn-bandwidth default\)/);
    fails({ ice: true, turnBandwidth: '200000', turnTotalBandwidth: '100000' }, /--turn-total-bandwidth 100000 is below the per-allocation 200000/);
    fails({ turnBandwidth: '256000' }, /--turn-bandwidth needs --ice/);
  });
});
