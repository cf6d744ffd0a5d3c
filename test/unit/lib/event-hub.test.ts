import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventHub } from '../../../src/lib/event-hub.js';
import { PeriodicTask } from '../../../src/lib/lifecycle.js';
import { ManualClock } from '../../../src/lib/manual-clock.js';

interface Events {
  tick: number;
  name: string;
}

describe('EventHub', () => {
  test('every listener gets each event in subscription order; a second listener does not replace the first', () => {
    const hub = new EventHub<Events>();
    const seen: string[] = [];
    hub.on('tick', (n) => seen.push(`a${n}`));
    hub.on('tick', (n) => seen.push(`b${n}`));
    hub.on('name', (s) => seen.push(s));
    hub.emit('tick', 1);
    hub.emit('name', 'x');
    assert.deepEqual(seen, ['a1', 'b1', 'x']);
  });

  test('unsubscribe removes only that listener, is idempotent, and a publish in progress keeps its list', () => {
    const hub = new EventHub<Events>();
    const seen: string[] = [];
    let offB: () => void = () => undefined;
    const offA = hub.on('tick', () => {
      seen.push('a');
      offB();
    });
    offB = hub.on('tick', () => seen.push('b'));
    hub.emit('tick', 1);
    hub.emit('tick', 2);
    assert.deepEqual(seen, ['a', 'b', 'a']);
    offA();
    offA();
    assert.equal(hub.hasListeners('tick'), false);
    hub.emit('tick', 3);
    assert.deepEqual(seen, ['a', 'b', 'a']);
  });

  test('a listener that throws never reaches the publisher; the others still run and the error is reported', () => {
    const errors: string[] = [];
    const hub = new EventHub<Events>({ onListenerError: (event, e) => errors.push(`${event}: ${(e as Error).message}`) });
    const seen: number[] = [];
    hub.on('tick', () => {
      throw new Error('boom');
    });
    hub.on('tick', (n) => seen.push(n));
    hub.emit('tick', 7);
    assert.deepEqual(seen, [7]);
    assert.deepEqual(errors, ['tick: boom']);
  });

  test('listeners per event are bounded', () => {
    const hub = new EventHub<Events>({ maxListeners: 2 });
    hub.on('tick', () => undefined);
    const off = hub.on('tick', () => undefined);
    assert.throws(() => hub.on('tick', () => undefined), /limit/);
    off();
    hub.on('tick', () => undefined);
    assert.equal(hub.listenerCount('tick'), 2);
  });
});

describe('PeriodicTask', () => {
  test('runs on the injected clock between start and stop', () => {
    const clock = new ManualClock();
    let runs = 0;
    const t = new PeriodicTask(clock, 1000, () => void runs++);
    clock.advance(5000);
    assert.equal(runs, 0);
    t.start();
    t.start();
    clock.advance(3500);
    assert.equal(runs, 3);
    t.stop();
    clock.advance(5000);
    assert.equal(runs, 3);
  });

  test('a throwing task is reported and the schedule goes on; an async task is not run twice at once', async () => {
    const clock = new ManualClock();
    const errors: unknown[] = [];
    let runs = 0;
    const t = new PeriodicTask(clock, 100, () => {
      runs++;
      throw new Error('x');
    }, (e) => errors.push(e));
    t.start();
    clock.advance(300);
    assert.equal(runs, 3);
    assert.equal(errors.length, 3);
    t.stop();
    let release: () => void = () => undefined;
    let started = 0;
    const slow = new PeriodicTask(clock, 100, () => {
      started++;
      return new Promise<void>((r) => (release = r));
    });
    slow.start();
    clock.advance(350);
    assert.equal(started, 1);
    release();
    await new Promise((r) => setImmediate(r));
    clock.advance(100);
    assert.equal(started, 2);
    slow.stop();
    assert.throws(() => new PeriodicTask(clock, 0, () => undefined), RangeError);
  });
});
