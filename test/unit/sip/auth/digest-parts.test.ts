import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatChallenge, MAX_PARAMS, parseCredentials } from '../../../../src/sip/auth/digest-header.js';
import { DigestNonces, NONCE_CHARS } from '../../../../src/sip/auth/digest-nonces.js';
import { FailureThrottle } from '../../../../src/sip/auth/failure-throttle.js';
import { NonceCounts } from '../../../../src/sip/auth/nonce-counts.js';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { SeededRandom } from '../../../../src/lib/random.js';

describe('credentials header (RFC 3261 §25.1)', () => {
  test('tokens and quoted strings, names case-insensitive, escapes, folded whitespace', () => {
    const p = parseCredentials('Digest USERNAME="a\\"b", realm="p2psip.local",\r\n nonce="n", uri="sip:p2psip.local", response="00", qop="auth", nc=00000001, algorithm=SHA-256', 4096);
    assert.ok(p.ok);
    assert.equal(p.scheme, 'Digest');
    assert.equal(p.params.get('username'), 'a"b');
    assert.equal(p.params.get('qop'), 'auth');
    assert.equal(p.params.get('nc'), '00000001');
    assert.equal(p.params.get('algorithm'), 'SHA-256');
  });

  test('errors name the problem', () => {
    const bad: Array<[string, RegExp]> = [
      ['Digest username="x', /unterminated quoted value of username/],
      ['Digest username="x", username="y"', /parameter username repeated/],
      ['Digest username', /without a value/],
      ['Digest username="x" realm="y"', /expected ','/],
      ['', /without a scheme/],
      ['Digest a="' + 'x'.repeat(5000) + '"', /longer than 4096/],
      ['Digest ' + Array.from({ length: MAX_PARAMS + 1 }, (_, i) => `p${i}=1`).join(', '), /more than 32 parameters/],
    ];
    for (const [value, problem] of bad) {
      const p = parseCredentials(value, 4096);
      assert.equal(p.ok, false, value);
      if (!p.ok) assert.match(p.problem, problem);
    }
  });

  test('challenge text (RFC 2617 §3.2.1)', () => {
    assert.equal(
      formatChallenge({ realm: 'p2psip.local', nonce: 'abc', algorithm: 'SHA-256', stale: false }),
      'Digest realm="p2psip.local", nonce="abc", algorithm=SHA-256, qop="auth"',
    );
    assert.equal(formatChallenge({ realm: 'r', nonce: 'n', algorithm: 'MD5', stale: true }), 'Digest realm="r", nonce="n", algorithm=MD5, qop="auth", stale=true');
  });
});

describe('stateless nonces', () => {
  test('valid within the lifetime, stale after, invalid when altered or from another instance', () => {
    const clock = new ManualClock(5_000);
    const nonces = new DigestNonces(clock, new SeededRandom(1), 300_000);
    const n = nonces.issue();
    assert.equal(n.length, NONCE_CHARS);
    assert.match(n, /^[A-Za-z0-9_-]+$/);
    assert.deepEqual(nonces.check(n), { verdict: 'valid', issuedAt: 5_000 });
    clock.advance(299_999);
    assert.equal(nonces.check(n).verdict, 'valid');
    clock.advance(1);
    assert.deepEqual(nonces.check(n), { verdict: 'stale', issuedAt: 5_000 });
    // one bit of the time, of the random part, of the MAC
    for (const i of [0, 10, 30]) {
      const c = n[i] === 'A' ? 'B' : 'A';
      assert.equal(nonces.check(n.slice(0, i) + c + n.slice(i + 1)).verdict, 'invalid', `altered at ${i}`);
    }
    const other = new DigestNonces(clock, new SeededRandom(2), 300_000);
    assert.equal(other.check(nonces.issue()).verdict, 'invalid');
    for (const junk of ['', 'x', n + 'A', '!'.repeat(NONCE_CHARS)]) assert.equal(nonces.check(junk).verdict, 'invalid');
  });

  test('shared nonces (issue 15): every peer of the overlay takes every peer\'s nonce; a clock ahead by more than 30 s is not taken; another key is foreign', () => {
    const key = new Uint8Array(32).fill(7);
    const a = new DigestNonces(new ManualClock(1_800_000_000_000), new SeededRandom(1), 300_000, key);
    const b = new DigestNonces(new ManualClock(1_800_000_000_000 - 20_000), // b's wall clock 20 s behind a's
       new SeededRandom(2), 300_000, key);
    const n = a.issue();
    assert.equal(b.check(n).verdict, 'valid', 'a nonce of a, checked at b');
    assert.equal(a.check(b.issue()).verdict, 'valid', 'and the other way');
    const late = new DigestNonces(new ManualClock(1_800_000_000_000 - 35_000), new SeededRandom(4), 300_000, key); // 35 s behind a
    assert.equal(late.check(a.issue()).verdict, 'invalid', 'a nonce 35 s in the future');
    const c = new DigestNonces(new ManualClock(1_800_000_000_000), new SeededRandom(3), 300_000, new Uint8Array(32).fill(8));
    assert.equal(c.check(n).verdict, 'invalid', 'another overlay\'s key');
    assert.throws(() => new DigestNonces(new ManualClock(0), new SeededRandom(1), 1000, new Uint8Array(8)), /16 bytes/);
  });

  test('two nonces differ', () => {
    const nonces = new DigestNonces(new ManualClock(0), new SeededRandom(1), 1000);
    assert.notEqual(nonces.issue(), nonces.issue());
  });
});

describe('nonce counts (replay)', () => {
  test('nc must grow per nonce', () => {
    const t = new NonceCounts(10, 300_000);
    assert.equal(t.use('a', 1, 0, 0), 'fresh');
    assert.equal(t.use('a', 1, 0, 0), 'replay');
    assert.equal(t.use('a', 3, 0, 0), 'fresh');
    assert.equal(t.use('a', 2, 0, 0), 'replay');
    assert.equal(t.use('b', 1, 0, 0), 'fresh');
  });

  test('bounded: the least recently used is forgotten; a forgotten live nonce is refused, not replayable', () => {
    const t = new NonceCounts(3, 300_000);
    for (const [i, n] of ['a', 'b', 'c'].entries()) assert.equal(t.use(n, 1, i, 10), 'fresh');
    assert.equal(t.use('a', 2, 0, 10), 'fresh'); // a is now the most recent
    assert.equal(t.use('d', 1, 3, 10), 'fresh'); // b (issued at 1) forgotten
    assert.equal(t.size, 3);
    assert.equal(t.evictions, 1);
    assert.equal(t.use('b', 1, 1, 10), 'forgotten');
    // a nonce issued after the newest forgotten one is still taken at first use
    assert.equal(t.use('e', 1, 5, 10), 'fresh');
    assert.equal(t.size, 3);
  });

  test('forgetting an expired nonce raises no bar', () => {
    const t = new NonceCounts(1, 1000);
    assert.equal(t.use('a', 1, 0, 0), 'fresh');
    assert.equal(t.use('b', 1, 4500, 5000), 'fresh'); // a, expired, forgotten: no bar
    assert.equal(t.use('c', 1, 4600, 5000), 'fresh'); // b was live: from now on nonces issued at <= 4500 are refused
    assert.equal(t.use('d', 1, 4500, 5000), 'forgotten');
    assert.equal(t.use('e', 1, 4501, 5000), 'fresh');
  });
});

describe('failures per source', () => {
  test('blocked after maxFailures within the window, free after it; IPv6 counted per /64', () => {
    const f = new FailureThrottle({ maxFailures: 3, windowMs: 60_000, maxSources: 10 });
    for (let i = 0; i < 3; i++) {
      assert.equal(f.blocked('192.0.2.1', 0), false);
      f.fail('192.0.2.1', 0);
    }
    assert.equal(f.blocked('192.0.2.1', 59_999), true);
    assert.equal(f.blocked('192.0.2.2', 0), false);
    assert.equal(f.blocked('192.0.2.1', 60_000), false);
    for (let i = 0; i < 3; i++) f.fail(`2001:db8::${i + 1}`, 0);
    assert.equal(f.blocked('2001:db8::ffff', 1), true);
  });

  test('bounded: the oldest window is forgotten', () => {
    const f = new FailureThrottle({ maxFailures: 1, windowMs: 60_000, maxSources: 2 });
    f.fail('192.0.2.1', 0);
    f.fail('192.0.2.2', 1);
    f.fail('192.0.2.3', 2);
    assert.equal(f.size, 2);
    assert.equal(f.blocked('192.0.2.1', 3), false);
    assert.equal(f.blocked('192.0.2.2', 3), true);
    assert.equal(f.blocked('192.0.2.3', 3), true);
  });
});
