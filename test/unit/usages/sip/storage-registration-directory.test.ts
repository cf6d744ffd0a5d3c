import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { StorageWorld, STORAGE_OVERLAY } from '../../reload/overlay/support/storage-world.js';
import { aorResourceId, aorResourceName } from '../../../../src/usages/sip/aor-resource-id.js';
import { MAX_TOMBSTONE_SEC, StorageRegistrationDirectory, type SipRegistrationStorage } from '../../../../src/usages/sip/storage-registration-directory.js';
import { SipUsageError } from '../../../../src/usages/sip/sip-usage-error.js';
import type { SipRegistration } from '../../../../src/reload/codec/index.js';

async function world(users: string[]): Promise<StorageWorld> {
  const w = new StorageWorld(5);
  for (const u of users) await w.add(u);
  await w.run(3000);
  return w;
}

function directory(w: StorageWorld, i: number): StorageRegistrationDirectory {
  const p = w.peers[i]!;
  return new StorageRegistrationDirectory({ storage: p.storage, selfNodeId: p.node.idBytes, nodeIdLength: 16 });
}

describe('StorageRegistrationDirectory over OverlayStorage (RFC 7904 on RFC 6940 §7)', () => {
  test('the Resource-ID of an AoR is the overlay hash of user@domain', async () => {
    const w = await world([`x@${STORAGE_OVERLAY}`]);
    const aor = `sip:alice@${STORAGE_OVERLAY}`;
    assert.deepEqual(w.peers[0]!.storage.resourceId({ resourceName: aorResourceName(aor) }), aorResourceId(aor));
  });

  test('a peer whose certificate names the AoR stores it (USER-NODE-MATCH); others fetch it; withdraw removes it', async () => {
    const users = ['u0', 'alice', 'u2', 'u3', 'u4', 'u5'].map((u) => `${u}@${STORAGE_OVERLAY}`);
    const w = await world(users);
    const aor = `sip:alice@${STORAGE_OVERLAY}`;
    const alice = w.peers[1]!;
    const value: SipRegistration = { type: 'route', contactPrefs: new Uint8Array(0), destinationList: [{ type: 'node', nodeId: alice.node.idBytes }] };
    await w.settle(directory(w, 1).publish(aor, value, 600));
    const found = await w.settle(directory(w, 4).lookup(aor));
    assert.equal(found.length, 1);
    assert.deepEqual(found[0]!.nodeId, alice.node.idBytes);
    assert.deepEqual(found[0]!.value, value);
    assert.deepEqual(await w.settle(directory(w, 4).lookup(`sip:nobody@${STORAGE_OVERLAY}`)), []);
    w.clock.advance(1000);
    await w.settle(directory(w, 1).withdraw(aor));
    assert.deepEqual(await w.settle(directory(w, 3).lookup(aor)), []);
  });

  test('a proxy peer (certificate peer@overlay) may not store another user AoR under USER-NODE-MATCH', async () => {
    const w = await world(['a', 'peer', 'c', 'd'].map((u) => `${u}@${STORAGE_OVERLAY}`));
    const p = w.peers[1]!;
    const value: SipRegistration = { type: 'route', contactPrefs: new Uint8Array(0), destinationList: [{ type: 'node', nodeId: p.node.idBytes }] };
    await assert.rejects(w.settle(directory(w, 1).publish(`sip:bob@${STORAGE_OVERLAY}`, value, 600)), (e: unknown) => e instanceof SipUsageError && /USER-NODE-MATCH/.test(e.message));
  });

  test('a withdraw tombstone outlives what is left of the stored value (RFC 6940 §7.4.1.1), at least 60 s, at most a day', async () => {
    const lifetimes: number[] = [];
    const storage: SipRegistrationStorage = {
      store: (_k, _r, values, opts) => {
        assert.equal(values[0]!.model === 'dictionary' && values[0]!.value.exists, false);
        lifetimes.push(opts?.lifetime ?? -1);
        return Promise.resolve({ ok: true });
      },
      fetch: () => Promise.resolve({ ok: true, values: [] }),
    };
    const d = new StorageRegistrationDirectory({ storage, selfNodeId: new Uint8Array(16), nodeIdLength: 16 });
    const aor = `sip:alice@${STORAGE_OVERLAY}`;
    await d.withdraw(aor);
    await d.withdraw(aor, 10);
    await d.withdraw(aor, 3_599.2);
    await d.withdraw(aor, 1e9);
    await d.withdraw(aor, Number.NaN);
    assert.deepEqual(lifetimes, [60, 60, 3_600, MAX_TOMBSTONE_SEC, 60]);
  });
});
