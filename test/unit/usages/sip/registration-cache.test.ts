import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { RegistrationCache } from '../../../../src/usages/sip/registration-cache.js';

const node = (k: number): { nodeId: Uint8Array; aor: string } => ({ nodeId: new Uint8Array(16).fill(k), aor: `sip:u${k}@p2psip.local` });

describe('RegistrationCache', () => {
  test('off by default: nothing is kept', () => {
    const c = new RegistrationCache(new ManualClock(0));
    c.set('sip:a@p2psip.local', [node(1)]);
    assert.equal(c.get('sip:a@p2psip.local'), undefined);
    assert.equal(c.size, 0);
  });

  test('keeps found registrations for maxAgeMs exactly, never an empty answer', () => {
    const clock = new ManualClock(0);
    const c = new RegistrationCache(clock, { maxAgeMs: 1_000 });
    c.set('sip:a@p2psip.local', [node(1)]);
    c.set('sip:b@p2psip.local', []);
    assert.equal(c.get('sip:b@p2psip.local'), undefined);
    clock.advance(999);
    assert.deepEqual(c.get('sip:a@p2psip.local'), [node(1)]);
    clock.advance(1);
    assert.equal(c.get('sip:a@p2psip.local'), undefined);
    assert.equal(c.size, 0);
    assert.equal(c.hits, 1);
  });

  test('bounded: the least recently used AoR goes first', () => {
    const c = new RegistrationCache(new ManualClock(0), { maxAgeMs: 60_000, maxEntries: 2 });
    c.set('a', [node(1)]);
    c.set('b', [node(2)]);
    assert.ok(c.get('a'));
    c.set('c', [node(3)]);
    assert.equal(c.size, 2);
    assert.ok(c.get('a'));
    assert.equal(c.get('b'), undefined);
    assert.ok(c.get('c'));
  });
});
