import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/lib/manual-clock.js';
import { TurnRelayKeeper } from '../../../src/nat/turn/turn-relay-keeper.js';
import type { KeptRelay } from '../../../src/nat/turn/turn-relay-keeper.js';
import { settle } from '../../support/settle.js';

class FakeRelay implements KeptRelay {
  stopped = false;
  private lost: Array<(r: string) => void> = [];
  onLost(fn: (reason: string) => void): void {
    this.lost.push(fn);
  }
  lose(reason: string): void {
    for (const f of this.lost) f(reason);
  }
  async stop(): Promise<void> {
    this.stopped = true;
  }
}

async function advance(clock: ManualClock, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 1000) {
    clock.advance(Math.min(1000, ms - t));
    await settle();
  }
}

describe('TurnRelayKeeper', () => {
  test('retries after 5 s, 30 s, then every 60 s until a relay is had; says why meanwhile', async () => {
    const clock = new ManualClock(0);
    const times: number[] = [];
    let give: FakeRelay | undefined;
    const k = new TurnRelayKeeper<FakeRelay>(clock, async (fail) => {
      times.push(clock.now());
      if (give !== undefined) return give;
      fail('no TURN peer');
      return undefined;
    });
    await k.start();
    assert.equal(k.current, undefined);
    assert.deepEqual(k.stats(), { attempts: 1, allocations: 0, losses: 0, problem: 'no TURN peer', nextAttemptInMs: 5000 });
    await advance(clock, 5000 + 30_000 + 60_000 + 60_000);
    assert.deepEqual(times, [0, 5000, 35_000, 95_000, 155_000]);
    give = new FakeRelay();
    await advance(clock, 60_000);
    assert.equal(k.current, give);
    assert.equal(k.stats().problem, null);
    assert.equal(k.stats().nextAttemptInMs, null);
    assert.equal(clock.pendingTimers, 0, 'nothing scheduled while the relay holds');
  });

  test('a lost relay is replaced; the back-off starts over; stop() releases the relay and ends the retries', async () => {
    const clock = new ManualClock(0);
    const relays: FakeRelay[] = [];
    let failNext = 0;
    const k = new TurnRelayKeeper<FakeRelay>(
      clock,
      async (fail) => {
        if (failNext > 0) {
          failNext--;
          fail('refused');
          return undefined;
        }
        const r = new FakeRelay();
        relays.push(r);
        return r;
      },
      { retryMs: [1000, 2000] },
    );
    await k.start();
    assert.equal(relays.length, 1);
    failNext = 2;
    relays[0]!.lose('connection closed');
    assert.equal(k.current, undefined);
    assert.equal(k.stats().problem, 'relay lost: connection closed');
    await advance(clock, 1000); // fails
    await advance(clock, 2000); // fails
    assert.equal(relays.length, 1);
    await advance(clock, 2000); // succeeds
    assert.equal(relays.length, 2);
    assert.equal(k.current, relays[1]);
    assert.deepEqual({ ...k.stats(), problem: k.stats().problem }, { attempts: 4, allocations: 2, losses: 1, problem: null, nextAttemptInMs: null });
    await k.stop();
    assert.ok(relays[1]!.stopped);
    relays[1]!.lose('late');
    assert.equal(clock.pendingTimers, 0);
  });

  test('stop() during an attempt: what the attempt gets is released', async () => {
    const clock = new ManualClock(0);
    const r = new FakeRelay();
    let release!: () => void;
    const k = new TurnRelayKeeper<FakeRelay>(clock, () => new Promise((resolve) => (release = () => resolve(r))));
    const started = k.start();
    const stopping = k.stop();
    release();
    await started;
    await stopping;
    assert.ok(r.stopped);
    assert.equal(k.current, undefined);
  });

  test('an attempt that throws counts as a failure with its message', async () => {
    const clock = new ManualClock(0);
    const k = new TurnRelayKeeper<FakeRelay>(clock, async () => {
      throw new Error('boom');
    });
    await k.start();
    assert.equal(k.stats().problem, 'boom');
    assert.throws(() => new TurnRelayKeeper(clock, async () => undefined, { retryMs: [] }), RangeError);
  });
});
