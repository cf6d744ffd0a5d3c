import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom } from '../../../../src/lib/random.js';
import { hashPassword, isPasswordHash, parseUserTable, verifyPassword } from '../../../../src/reload/security/index.js';

describe('password hashes and the users file', () => {
  test('scrypt hash verifies the right password only', () => {
    const h = hashPassword('pässword', new SeededRandom(1));
    assert.ok(isPasswordHash(h));
    assert.ok(verifyPassword('pässword', h));
    assert.ok(verifyPassword('pa\u0308ssword', h), 'NFC string preparation');
    assert.ok(!verifyPassword('password', h));
    assert.ok(!verifyPassword('x', 'scrypt$1073741824$8$1$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA=='), 'absurd cost refused');
    assert.ok(!verifyPassword('x', 'plain'));
  });

  test('users file: plain passwords get hashed, hashes kept, errors name the line', () => {
    const h = hashPassword('two', new SeededRandom(2));
    const t = parseUserTable(`# c\n\nalice:one:with:colons\nbob:${h}\n`, new SeededRandom(3));
    assert.ok(verifyPassword('one:with:colons', t.get('alice')!));
    assert.equal(t.get('bob'), h);
    assert.throws(() => parseUserTable('a b:x', new SeededRandom(1)), /line 1: bad account name/);
    assert.throws(() => parseUserTable('\nalice', new SeededRandom(1)), /line 2: no password/);
    assert.throws(() => parseUserTable('a:x\na:y', new SeededRandom(1)), /appears twice/);
  });
});
