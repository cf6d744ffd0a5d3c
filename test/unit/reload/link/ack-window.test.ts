import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AckWindow } from '../../../../src/reload/link/ack-window.js';

test('received bitmask: bit N-M-1 for each of the previous 32 sequence numbers received (RFC 6940 §6.6.2)', () => {
  const w = new AckWindow();
  assert.equal(w.receive(0), 0);
  assert.equal(w.receive(1), 0b1); // 0 received: bit 0 = N-1
  assert.equal(w.receive(2), 0b11);
  assert.equal(w.receive(5), 0b11100); // 2,1,0 → bits 2,3,4; 3 and 4 missing
});

test('only the 32 most recent arrivals count, and sequence numbers wrap', () => {
  const w = new AckWindow();
  for (let s = 0; s < 40; s++) w.receive(s);
  assert.equal(w.receive(40), 0xffffffff); // 39..8 all received
  const v = new AckWindow();
  v.receive(0xfffffffe);
  v.receive(0xffffffff);
  assert.equal(v.receive(0), 0b11);
  const far = new AckWindow();
  far.receive(10);
  assert.equal(far.receive(100), 0); // more than 32 back
  assert.equal(far.receive(50), 0); // an older number: N-M is not in 1..32
});
