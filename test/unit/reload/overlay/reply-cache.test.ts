/**
 * The reply cache (RFC 6940 §6.2.1) and requests in progress: a retransmission that arrives while the
 * first copy is still being answered is dropped, not handled twice (a Store waiting for its replica
 * was stored twice and answered "data too old" with the same storage time).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { ReplyCache } from '../../../../src/reload/overlay/reply-cache.js';
import { MessageCode } from '../../../../src/reload/codec/index.js';

const answer = { messageCode: MessageCode.store_ans, body: new Uint8Array([1]), extensions: [] };

test('a retransmission of a request being answered is refused; after the answer the cached one serves it', () => {
  const clock = new ManualClock();
  const c = new ReplyCache(clock, 15_000, 100);
  assert.equal(c.begin(7n), true);
  assert.equal(c.begin(7n), false, 'the retransmission while the first copy waits');
  assert.equal(c.inProgress, 1);
  c.set(7n, answer);
  assert.equal(c.inProgress, 0);
  assert.deepEqual(c.get(7n)?.contents, answer);
});

test('a request whose handling failed (end without an answer) is handled again when it comes back', () => {
  const c = new ReplyCache(new ManualClock(), 15_000, 100);
  assert.equal(c.begin(1n), true);
  c.end(1n);
  assert.equal(c.begin(1n), true);
});

test('in progress for longer than the lifetime: a retransmission is handled again', () => {
  const clock = new ManualClock();
  const c = new ReplyCache(clock, 15_000, 100);
  assert.equal(c.begin(9n), true);
  clock.advance(15_001);
  assert.equal(c.begin(9n), true);
});

test('requests in progress are bounded: past the limit the oldest is forgotten', () => {
  const c = new ReplyCache(new ManualClock(), 15_000, 3);
  for (const t of [1n, 2n, 3n, 4n]) assert.equal(c.begin(t), true);
  assert.equal(c.inProgress, 3);
  assert.equal(c.begin(1n), true, 'the oldest was forgotten');
  assert.equal(c.begin(4n), false);
});
