/**
 * Issue 18: a peer whose neighbours had just died withdraws its phones' registrations into its own
 * storage at SIGTERM — a chain of promises with no I/O, so the timer meant to bound the stop's
 * withdraw step never fired (8,700 AoRs: 6 s of CPU before the peer could go on). The withdraws
 * now check the step's deadline themselves.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import type { Binding } from '../../../../src/sip/core/location-service.js';
import type { SipRegistration } from '../../../../src/reload/codec/index.js';
import { DEFAULT_REGISTRATION_PUBLISHER_OPTIONS, RegistrationPublisher, type PublisherStats } from '../../../../src/usages/sip/registration-publisher.js';

const AORS = 1_000;
/** CPU one withdraw costs (two signatures and a verification), as the clock sees it. */
const WITHDRAW_COST_MS = 1;

async function publisherHolding(clock: ManualClock): Promise<{ p: RegistrationPublisher; withdrawn: string[]; stats: PublisherStats }> {
  const withdrawn: string[] = [];
  const directory = {
    publish: async (_aor: string, _v: SipRegistration, _l: number) => {},
    // answered by this peer itself: resolves without I/O, time passes only as CPU
    withdraw: async (aor: string) => {
      clock.advance(WITHDRAW_COST_MS);
      withdrawn.push(aor);
    },
    lookup: async () => [],
  };
  const stats: PublisherStats = { published: 0, withdrawn: 0, publishFailures: 0, publishRefused: 0, restored: 0 };
  const bindings = (aor: string): Binding[] => [{ aor, expiresAt: 3_600_000 } as Binding];
  const p = new RegistrationPublisher({ clock, directory, selfNodeId: new Uint8Array(16), bindings, stats });
  for (let i = 0; i < AORS; i++) await p.store(`sip:u${i}@x`, 3_600_000);
  return { p, withdrawn, stats };
}

test('withdrawAll(until) starts no withdraw at or after `until`; the rest end with their lifetime', async () => {
  const clock = new ManualClock();
  const { p, withdrawn, stats } = await publisherHolding(clock);
  const until = clock.now() + 100;
  await p.withdrawAll(until);
  const inFlight = DEFAULT_REGISTRATION_PUBLISHER_OPTIONS.maxConcurrentStores;
  assert.ok(withdrawn.length >= 100 / WITHDRAW_COST_MS, `${withdrawn.length} withdrawn before the deadline`);
  assert.ok(withdrawn.length <= 100 / WITHDRAW_COST_MS + inFlight, `${withdrawn.length} withdrawn: work went on past the deadline`);
  assert.ok(clock.now() <= until + inFlight * WITHDRAW_COST_MS, `ended at ${clock.now()}, deadline ${until}`);
  assert.equal(stats.withdrawn, withdrawn.length);
  // what was not withdrawn is still known as published: its entry ends with its lifetime
  assert.equal(p.publishedAors().length, AORS - withdrawn.length);
});

test('withdrawAll() without a deadline withdraws every entry', async () => {
  const clock = new ManualClock();
  const { p, withdrawn } = await publisherHolding(clock);
  await p.withdrawAll();
  assert.equal(withdrawn.length, AORS);
  assert.equal(p.publishedAors().length, 0);
});
