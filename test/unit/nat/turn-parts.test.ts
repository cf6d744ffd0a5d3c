import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ManualClock } from '../../../src/lib/manual-clock.js';
import { SeededRandom } from '../../../src/lib/random.js';
import { longTermKey } from '../../../src/nat/stun/stun-message.js';
import { CHANNEL_MAX, CHANNEL_MIN, decodeChannelData, encodeChannelData, isChannelData, isValidChannel } from '../../../src/nat/turn/turn-channel-data.js';
import { firstKey, staticTurnUsers } from '../../../src/nat/turn/turn-credentials.js';
import { TurnNonces } from '../../../src/nat/turn/turn-nonce.js';
import { forbiddenPeerReason } from '../../../src/nat/turn/turn-peer-policy.js';
import { TokenBucket } from '../../../src/nat/turn/turn-token-bucket.js';

describe('TURN ChannelData (RFC 8656 §12.4)', () => {
  test('encode pads to 4 bytes; decode takes the length and ignores the padding', () => {
    const b = encodeChannelData(0x4001, Uint8Array.of(1, 2, 3, 4, 5));
    assert.deepEqual([...b], [0x40, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5, 0, 0, 0]);
    assert.deepEqual(decodeChannelData(b), { channel: 0x4001, data: Uint8Array.of(1, 2, 3, 4, 5) });
    assert.equal(encodeChannelData(0x4001, Uint8Array.of(1), false).length, 5);
  });

  test('a length past the end, a short datagram or a first byte outside 0x40–0x4F is refused', () => {
    assert.equal(decodeChannelData(Uint8Array.of(0x40, 0x01, 0x00, 0x09, 1, 2)), undefined);
    assert.equal(decodeChannelData(Uint8Array.of(0x40, 0x01, 0x00)), undefined);
    assert.equal(isChannelData(Uint8Array.of(0x50, 0, 0, 0)), false);
    assert.equal(isChannelData(Uint8Array.of(0x50, 0, 0, 0), true), true, 'RFC 5766 range');
    assert.equal(isChannelData(Uint8Array.of(0x01, 0x01, 0, 0)), false, 'a STUN message');
  });

  test('channel numbers: 0x4000–0x4FFF (0x4000–0x7FFF with RFC 5766)', () => {
    assert.ok(isValidChannel(CHANNEL_MIN) && isValidChannel(CHANNEL_MAX));
    assert.ok(!isValidChannel(0x3fff) && !isValidChannel(0x5000));
    assert.ok(isValidChannel(0x7b92, true) && !isValidChannel(0x8000, true));
    assert.throws(() => encodeChannelData(0x8000, new Uint8Array(1)), RangeError);
  });

  test('decode never throws and round-trips what encode makes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        decodeChannelData(bytes);
        decodeChannelData(bytes, true);
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: CHANNEL_MIN, max: CHANNEL_MAX }), fc.uint8Array({ maxLength: 300 }), fc.boolean(), (ch, data, pad) => {
        assert.deepEqual(decodeChannelData(encodeChannelData(ch, data, pad)), { channel: ch, data });
      }),
    );
  });
});

describe('TURN stateless nonces', () => {
  test('valid until their lifetime, then stale; another IP or a forged one is invalid', () => {
    const clock = new ManualClock(0);
    const n = new TurnNonces(clock, new SeededRandom(1), 10_000);
    const nonce = n.issue('198.51.100.1');
    assert.match(nonce, /^[0-9a-f]{36}$/);
    assert.equal(n.check(nonce, '198.51.100.1'), 'valid');
    assert.equal(n.check(nonce, '198.51.100.2'), 'invalid');
    assert.equal(n.check(nonce.slice(0, -1) + (nonce.endsWith('0') ? '1' : '0'), '198.51.100.1'), 'invalid');
    assert.equal(n.check('obMatJos2xyz', '198.51.100.1'), 'invalid');
    clock.advance(10_000);
    assert.equal(n.check(nonce, '198.51.100.1'), 'stale');
    const other = new TurnNonces(clock, new SeededRandom(2), 10_000);
    assert.equal(other.check(n.issue('198.51.100.1'), '198.51.100.1'), 'invalid', 'another server instance');
  });
});

describe('TURN token bucket', () => {
  test('passes a burst, refuses beyond it, refills with time', () => {
    const b = new TokenBucket(1000, 500, 0);
    assert.ok(b.take(500, 0));
    assert.ok(!b.take(1, 0));
    assert.ok(b.take(100, 100));
    assert.ok(!b.take(1, 100));
    assert.ok(b.take(500, 10_000), 'refilled, capped at the burst');
    assert.ok(!b.take(1, 10_000));
  });
});

describe('TURN peer policy and credentials', () => {
  test('forbidden peers', () => {
    assert.equal(forbiddenPeerReason({ host: '203.0.113.1', port: 0 }), 'port 0');
    assert.equal(forbiddenPeerReason({ host: '::', port: 1 }), 'unspecified address');
    assert.equal(forbiddenPeerReason({ host: '::1', port: 1 }), 'loopback address');
    assert.equal(forbiddenPeerReason({ host: '::1', port: 1 }, { allowLoopback: true }), undefined);
    assert.equal(forbiddenPeerReason({ host: 'ff02::1', port: 1 }), 'multicast address');
    assert.equal(forbiddenPeerReason({ host: '255.255.255.255', port: 1 }), 'reserved or broadcast address');
    assert.equal(forbiddenPeerReason({ host: '192.168.1.2', port: 1 }), undefined, 'private peers allowed by default');
    assert.equal(forbiddenPeerReason({ host: 'fe80::1', port: 1 }, { forbidPrivate: true }), 'link-local address');
    assert.equal(forbiddenPeerReason({ host: '203.0.113.1', port: 1 }, { allow: () => false }), 'refused by policy');
    assert.equal(forbiddenPeerReason({ host: '2001:db8::5', port: 9 }), undefined);
  });

  test('static users and composed lookups give MD5(user:realm:pass)', () => {
    const statics = staticTurnUsers('r', { u: 'p' });
    assert.deepEqual(statics('u', 'r'), longTermKey('u', 'r', 'p'));
    assert.equal(statics('u', 'other'), undefined);
    assert.equal(statics('x', 'r'), undefined);
    const overlay = (u: string, r: string): Uint8Array | undefined => (u.startsWith('peer-') ? longTermKey(u, r, 'issued') : undefined);
    const both = firstKey(statics, overlay);
    assert.deepEqual(both('peer-1', 'r'), longTermKey('peer-1', 'r', 'issued'));
    assert.deepEqual(both('u', 'r'), longTermKey('u', 'r', 'p'));
  });
});
