import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { SeededRandom } from '../../../../src/lib/random.js';
import { parsePidf } from '../../../../src/usages/presence/pidf.js';
import { DEFAULT_PUBLICATION_LIMITS, PublicationStore, type PublishOutcome } from '../../../../src/usages/presence/publications.js';
import { simplePidf } from './presence-fixtures.js';

const AOR = 'sip:alice@p2psip.local';

function doc(basic: 'open' | 'closed', id = 'd1') {
  const r = parsePidf(simplePidf(basic, id));
  assert.ok(r.ok);
  return r.document;
}

function made(limits: Partial<typeof DEFAULT_PUBLICATION_LIMITS> = {}) {
  const clock = new ManualClock();
  const expired: string[] = [];
  const store = new PublicationStore({ clock, random: new SeededRandom(1), onExpired: (aor) => expired.push(aor) }, limits);
  return { clock, store, expired };
}

function etagOf(o: PublishOutcome): string {
  assert.equal(o.status, 200);
  return o.status === 200 ? o.etag : '';
}

describe('publications (RFC 3903 event state compositor)', () => {
  test('initial, refresh, modify, remove: each answer a new entity-tag', () => {
    const { store } = made();
    const first = store.handle({ aor: AOR, etag: undefined, expires: 600, document: doc('open') });
    assert.deepEqual({ ...first, etag: 'x' }, { status: 200, etag: 'x', expires: 600, changed: true });
    const e1 = etagOf(first);
    assert.equal(store.state(AOR).tuples[0]!.basic, 'open');

    // refresh: no body, same state, new tag; the old tag is gone
    const refreshed = store.handle({ aor: AOR, etag: e1, expires: 600, document: undefined });
    const e2 = etagOf(refreshed);
    assert.notEqual(e2, e1);
    assert.equal(refreshed.status === 200 && refreshed.changed, false);
    assert.equal(store.handle({ aor: AOR, etag: e1, expires: 600, document: undefined }).status, 412);
    assert.equal(store.state(AOR).tuples[0]!.basic, 'open');

    // modify: body with SIP-If-Match
    const modified = store.handle({ aor: AOR, etag: e2, expires: 600, document: doc('closed') });
    const e3 = etagOf(modified);
    assert.equal(modified.status === 200 && modified.changed, true);
    assert.equal(store.state(AOR).tuples[0]!.basic, 'closed');
    assert.equal(store.size, 1);

    // remove: SIP-If-Match, Expires 0
    const removed = store.handle({ aor: AOR, etag: e3, expires: 0, document: undefined });
    assert.deepEqual(removed, { status: 200, etag: '', expires: 0, changed: true });
    assert.equal(store.size, 0);
    assert.deepEqual(store.state(AOR).tuples, []);
    assert.deepEqual(store.aors(), []);
  });

  test('unknown entity-tag: 412; an entity-tag of another AoR: 412', () => {
    const { store } = made();
    assert.equal(store.handle({ aor: AOR, etag: 'nope', expires: 600, document: undefined }).status, 412);
    const e = etagOf(store.handle({ aor: AOR, etag: undefined, expires: 600, document: doc('open') }));
    assert.equal(store.handle({ aor: 'sip:eve@p2psip.local', etag: e, expires: 0, document: undefined }).status, 412);
    assert.equal(store.size, 1);
  });

  test('Expires: 423 below the minimum, clamped above the maximum, the default when absent', () => {
    const { store } = made({ minExpires: 60, maxExpires: 3600, defaultExpires: 1800 });
    assert.deepEqual(store.handle({ aor: AOR, etag: undefined, expires: 59, document: doc('open') }), { status: 423, minExpires: 60 });
    const clamped = store.handle({ aor: AOR, etag: undefined, expires: 100_000, document: doc('open', 'a') });
    assert.equal(clamped.status === 200 && clamped.expires, 3600);
    const dflt = store.handle({ aor: AOR, etag: undefined, expires: undefined, document: doc('open', 'b') });
    assert.equal(dflt.status === 200 && dflt.expires, 1800);
  });

  test('bad requests: no body without SIP-If-Match, Expires 0 without SIP-If-Match', () => {
    const { store } = made();
    assert.equal(store.handle({ aor: AOR, etag: undefined, expires: 600, document: undefined }).status, 400);
    assert.equal(store.handle({ aor: AOR, etag: undefined, expires: 0, document: doc('open') }).status, 400);
    assert.equal(store.size, 0);
  });

  test('expiry on the clock removes the publication and reports the change; a refresh pushes it back', () => {
    const { store, clock, expired } = made();
    const e = etagOf(store.handle({ aor: AOR, etag: undefined, expires: 120, document: doc('open') }));
    clock.advance(100_000);
    const e2 = etagOf(store.handle({ aor: AOR, etag: e, expires: 120, document: undefined }));
    clock.advance(100_000); // 200 s after the start: the first expiry (120 s) was cancelled by the refresh
    assert.deepEqual(expired, []);
    assert.equal(store.size, 1);
    clock.advance(20_001);
    assert.deepEqual(expired, [AOR]);
    assert.equal(store.size, 0);
    assert.equal(store.handle({ aor: AOR, etag: e2, expires: 120, document: undefined }).status, 412);
    assert.equal(clock.pendingTimers, 0);
  });

  test('limits: publications per AoR and in all → 503 with Retry-After; refreshes still pass', () => {
    const { store } = made({ maxPerAor: 2, maxTotal: 3, retryAfter: 30 });
    const a1 = etagOf(store.handle({ aor: AOR, etag: undefined, expires: 600, document: doc('open', 'a') }));
    etagOf(store.handle({ aor: AOR, etag: undefined, expires: 600, document: doc('open', 'b') }));
    const over = store.handle({ aor: AOR, etag: undefined, expires: 600, document: doc('open', 'c') });
    assert.equal(over.status, 503);
    assert.equal(over.status === 503 && over.retryAfter, 30);
    assert.equal(store.handle({ aor: AOR, etag: a1, expires: 600, document: undefined }).status, 200, 'a refresh is not a new publication');
    etagOf(store.handle({ aor: 'sip:bob@p2psip.local', etag: undefined, expires: 600, document: doc('open') }));
    const full = store.handle({ aor: 'sip:carol@p2psip.local', etag: undefined, expires: 600, document: doc('open') });
    assert.equal(full.status, 503);
    assert.equal(store.size, 3);
  });

  test('the state lists the newest publication first; a refresh keeps its place', () => {
    const { store } = made();
    const a = etagOf(store.handle({ aor: AOR, etag: undefined, expires: 600, document: doc('open', 'a') }));
    store.handle({ aor: AOR, etag: undefined, expires: 600, document: doc('closed', 'b') });
    assert.deepEqual(store.state(AOR).tuples.map((t) => t.id), ['b', 'a']);
    store.handle({ aor: AOR, etag: a, expires: 600, document: undefined });
    assert.deepEqual(store.state(AOR).tuples.map((t) => t.id), ['b', 'a']);
  });

  test('clear() forgets everything and cancels the timers', () => {
    const { store, clock, expired } = made();
    store.handle({ aor: AOR, etag: undefined, expires: 600, document: doc('open') });
    store.clear();
    assert.equal(store.size, 0);
    clock.advance(10_000_000);
    assert.deepEqual(expired, []);
  });
});
