/**
 * The overlay work budget (issue 14): the registration directory's Stores and Fetches are counted
 * while in flight; at the budget the SIP front's admission refuses new REGISTERs (503 +
 * Retry-After) while refreshes pass, and admits them again once the overlay has caught up.
 */
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SipRegistration } from '../../../../src/reload/codec/index.js';
import type { Binding, BindingChange, BindingUpdateResult, LocationService } from '../../../../src/sip/core/location-service.js';
import { MemoryLocationService } from '../../../../src/sip/core/memory-location-service.js';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { DEFAULT_OVERLAY_WORK_BUDGET, OverlayWorkBudget } from '../../../../src/usages/sip/overlay-work-budget.js';
import type { RegistrationDirectory } from '../../../../src/usages/sip/registration-directory.js';
import { SipWorld } from '../../sip/core/sip-test-network.js';

/** A directory whose operations wait until released (a slow overlay). */
class GatedDirectory implements RegistrationDirectory {
  private waiting: Array<() => void> = [];
  published: string[] = [];
  publish(aor: string): Promise<void> {
    return this.gate().then(() => void this.published.push(aor));
  }
  withdraw(): Promise<void> {
    return this.gate();
  }
  lookup(): Promise<[]> {
    return this.gate().then(() => []);
  }
  release(): void {
    const w = this.waiting;
    this.waiting = [];
    for (const r of w) r();
  }
  private gate(): Promise<void> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }
}

const VALUE: SipRegistration = { type: 'uri', uri: new TextEncoder().encode('sip:x@y') };

/** Like the SIP usage: a binding kept here, a Store in the overlay for an AoR not yet published. */
class PublishingLocation implements LocationService {
  private readonly stored = new Set<string>();
  constructor(
    private readonly inner: MemoryLocationService,
    private readonly directory: RegistrationDirectory,
  ) {}
  async update(aor: string, change: BindingChange): Promise<BindingUpdateResult> {
    const r = await this.inner.update(aor, change);
    if (r.ok && r.bindings.length > 0 && !this.stored.has(aor)) {
      this.stored.add(aor);
      void this.directory.publish(aor, VALUE, 3600);
    }
    return r;
  }
  lookup(aor: string): Promise<Binding[]> {
    return this.inner.lookup(aor);
  }
  size(): number {
    return this.inner.size();
  }
}

describe('OverlayWorkBudget', () => {
  test('counts directory operations while they run, successes and failures alike; saturated at the budget', async () => {
    const budget = new OverlayWorkBudget({ maxInFlight: 2 });
    const gated = new GatedDirectory();
    const dir = budget.directory(gated);
    const a = dir.publish('sip:a@p2psip.local', VALUE, 60);
    assert.equal(budget.inFlight, 1);
    assert.equal(budget.saturated(), false);
    const b = dir.lookup('sip:b@p2psip.local');
    assert.equal(budget.saturated(), true);
    const c = dir.withdraw('sip:c@p2psip.local');
    assert.equal(budget.inFlight, 3, 'admitted work is never refused by the count itself');
    gated.release();
    await Promise.all([a, b, c]);
    assert.equal(budget.inFlight, 0);
    assert.equal(budget.saturated(), false);
    const failing = budget.directory({ publish: () => Promise.reject(new Error('x')), withdraw: () => Promise.resolve(), lookup: () => Promise.resolve([]) });
    await assert.rejects(failing.publish('sip:d@p2psip.local', VALUE, 60));
    await assert.rejects(budget.track(() => {
      throw new Error('sync');
    }));
    assert.equal(budget.inFlight, 0);
    assert.deepEqual(budget.stats(), { inFlight: 0, peak: 3, started: 5, refusedLate: 0, refusedCount: 1 });
  });

  test('the default budget is explicit: 2,000 operations in flight', () => {
    assert.equal(DEFAULT_OVERLAY_WORK_BUDGET.maxInFlight, 2_000);
    assert.equal(new OverlayWorkBudget().maxInFlight, 2_000);
    assert.throws(() => new OverlayWorkBudget({ maxInFlight: 0 }));
  });
});

describe('a peer whose overlay is slow: REGISTERs past the budget', () => {
  let w: SipWorld;
  let gated: GatedDirectory;
  let budget: OverlayWorkBudget;
  beforeEach(async () => {
    gated = new GatedDirectory();
    budget = new OverlayWorkBudget({ maxInFlight: 2 });
    w = new SipWorld(undefined, { mode: 'none' }, (clock) => {
      const inner = new MemoryLocationService(clock);
      return {
        location: new PublishingLocation(inner, budget.directory(gated)),
        overlayWork: { budget, localCallIds: (aor) => inner.lookupNow(aor).map((b) => b.callId) },
      };
    });
    await w.start();
  });
  afterEach(async () => {
    gated.release();
    await w.stop();
  });

  test('get 503 + Retry-After while the Stores are in flight; refreshes pass; admitted again once they are done', async () => {
    const phones = await Promise.all(['p1', 'p2', 'p3'].map((n) => w.phone(n)));
    phones[0]!.register();
    phones[1]!.register();
    await w.settle();
    assert.equal(budget.inFlight, 2, 'two Stores in flight');
    phones[2]!.register();
    await w.settle();
    const refused = phones[2]!.responses(503)[0];
    assert.ok(refused, 'the third REGISTER is refused');
    const retry = Number(refused.headers.get('retry-after'));
    assert.ok(retry >= 1 && retry <= 4, `Retry-After ${retry}`);
    phones[0]!.register();
    await w.settle();
    assert.equal(phones[0]!.responses(200).length, 2, 'a refresh passes while the budget is full');
    gated.release();
    await w.settle();
    assert.equal(budget.inFlight, 0);
    phones[2]!.register();
    await w.settle();
    assert.equal(phones[2]!.responses(200).length, 1, 'admitted once the overlay caught up');
  });
});

describe('OverlayWorkBudget: the queueing delay (issue 18, no collapse under overload)', () => {
  test('new work is refused once maxLate operations waited past maxDelayMs; a few slow ones do not stop it; caught up, it is admitted again', async () => {
    const clock = new ManualClock(0);
    const budget = new OverlayWorkBudget({ maxInFlight: 10_000, maxDelayMs: 500, maxLate: 32 }, clock);
    const gates: Array<() => void> = [];
    const op = (): Promise<void> => budget.track(() => new Promise<void>((r) => gates.push(r)));
    // five slow operations (a Store to a peer that just died) from long ago
    const slow = Array.from({ length: 5 }, () => op());
    clock.advance(10_000);
    assert.equal(budget.saturated(), false, '5 late operations are not a backlog');
    const burst = Array.from({ length: 40 }, () => op());
    clock.advance(400);
    assert.equal(budget.saturated(), false, 'waiting 400 ms: not late yet');
    clock.advance(200);
    assert.equal(budget.saturated(), true, '45 operations past 500 ms');
    // the oldest 20 finish (5 slow + 15 of the burst): 25 late left, under 32
    for (const g of gates.splice(0, 20)) g();
    await Promise.all([...slow, ...burst.slice(0, 15)]);
    assert.equal(budget.inFlight, 25);
    assert.equal(budget.saturated(), false);
    const s = budget.stats();
    assert.equal(s.refusedLate, 1);
    assert.equal(s.refusedCount, 0);
    for (const g of gates.splice(0)) g();
    await Promise.all(burst);
    assert.equal(budget.inFlight, 0);
  });

  test('without a clock only the count applies; options are checked', () => {
    const b = new OverlayWorkBudget({ maxInFlight: 1 });
    void b.track(() => new Promise<void>(() => {}));
    assert.equal(b.saturated(), true);
    assert.equal(b.stats().refusedCount, 1);
    assert.throws(() => new OverlayWorkBudget({ maxDelayMs: 5 }), /maxDelayMs/);
    assert.throws(() => new OverlayWorkBudget({ maxLate: 0 }), /maxLate/);
    assert.deepEqual(DEFAULT_OVERLAY_WORK_BUDGET, { maxInFlight: 2_000, maxDelayMs: 300, maxLate: 64 });
  });
});
