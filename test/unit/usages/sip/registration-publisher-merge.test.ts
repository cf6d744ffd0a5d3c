import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import type { Binding } from '../../../../src/sip/core/location-service.js';
import type { SipRegistration } from '../../../../src/reload/codec/index.js';
import { RegistrationPublisher, type PublisherStats } from '../../../../src/usages/sip/registration-publisher.js';

test('issue 15: after a ring merge every AoR with bindings here is stored again, once each; none after stop', async () => {
  const clock = new ManualClock();
  const stores: string[] = [];
  const directory = {
    publish: async (aor: string, _v: SipRegistration, _l: number) => void stores.push(aor),
    withdraw: async () => {},
    lookup: async () => [],
  };
  const bindings = new Map<string, Binding[]>();
  const bind = (aor: string, expiresAt: number): void => void bindings.set(aor, [{ aor, expiresAt } as Binding]);
  let merged: (() => void) | undefined;
  const stats: PublisherStats = { published: 0, withdrawn: 0, publishFailures: 0, publishRefused: 0, restored: 0 };
  const p = new RegistrationPublisher({
    clock,
    directory,
    selfNodeId: new Uint8Array(16),
    bindings: (aor) => bindings.get(aor) ?? [],
    stats,
    ringMerges: {
      onRingMerged: (l) => {
        merged = l;
        return () => {
          merged = undefined;
        };
      },
    },
  });
  bind('sip:a@x', 600_000);
  bind('sip:b@x', 600_000);
  bind('sip:gone@x', 600_000);
  for (const aor of ['sip:a@x', 'sip:b@x', 'sip:gone@x']) await p.store(aor, 600_000);
  bindings.delete('sip:gone@x'); // its bindings ended here: not stored again
  stores.length = 0;
  merged!();
  merged!(); // a second merge before the first round ran: still one Store per AoR queued
  await p.idle();
  assert.deepEqual(stores.sort(), ['sip:a@x', 'sip:b@x']);
  assert.equal(stats.republishedAfterMerge, 4);
  await p.withdrawAll();
  assert.equal(merged, undefined, 'unsubscribed at stop');
});
