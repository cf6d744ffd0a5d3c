/**
 * Issue 16 with real softphones: presence through a closed two-peer overlay (built `p2psip up`
 * processes; users alice and bob added through the API; the phones answer the digest challenges).
 *
 * a. baresip's `presence` module at both ends: alice at peer A and bob at peer B, each PUBLISHing
 *    (`;pubint=60`) and watching the other (`;presence=p2p`). Each sees the other go Online, then
 *    Offline when the other says `presence_offline` (a PUBLISH with basic closed), Online again with
 *    `presence_online`, and Offline when the other baresip quits (it withdraws its publication and
 *    unregisters).
 * b. linphonec at A (`friend add "bob" sip:bob@p2psip.local`; it cannot PUBLISH): bob never PUBLISHes,
 *    so his registration is his presence: offline, then online when a baresip bob registers at B,
 *    offline after it unregisters (quits).
 * Every state change is timed from the action to the line the watching phone prints.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { withScope, type ProcessScope } from '../../harness/process-scope.js';
import { requireTools } from '../../harness/require-tools.js';
import { PresenceBaresip } from './helpers/presence-baresip.js';
import { PresenceLinphonec } from './helpers/presence-linphonec.js';
import { startSipCaptureCheck } from './helpers/sip-capture-check.js';
import { startPresencePeers, type PresencePeer } from './helpers/presence-peers.js';

const TEST_TIMEOUT_MS = 150_000;
const STEP_MS = 15_000;
const USERS = { alice: 'alice-secret', bob: 'bob-secret' } as const;

async function baresipAt(scope: ProcessScope, dir: string, user: 'alice' | 'bob', peer: PresencePeer, watch: Array<{ name: string; uri: string }>, pubint: number): Promise<PresenceBaresip> {
  const d = join(dir, `${user}-${Date.now()}`);
  mkdirSync(d);
  const rtp = await scope.port({ span: 8 });
  return PresenceBaresip.start(scope, {
    user,
    dir: d,
    sipPort: await scope.port({ span: 2 }),
    ctrlPort: await scope.port(),
    consPort: await scope.port(),
    rtpPorts: [rtp, rtp + 7],
    registrar: { host: '127.0.0.1', port: peer.port },
    contacts: watch,
    password: USERS[user],
    pubint,
    lifetimeMs: TEST_TIMEOUT_MS,
  });
}

/** ms from `action` to the resolution of `seen`. */
async function timed(action: () => Promise<unknown>, seen: () => Promise<unknown>): Promise<number> {
  const t0 = Date.now();
  await action();
  await seen();
  return Date.now() - t0;
}

test('baresip <-> baresip through two peers: PUBLISH and SUBSCRIBE, online / offline each way', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  if (!requireTools(t, ['baresip'])) return;
  await withScope(async (scope) => {
    const dir = scope.tempDir();
    const [a, b] = await startPresencePeers(scope, 2, USERS, TEST_TIMEOUT_MS);
    assert.ok(a !== undefined && b !== undefined);
    const capture = await startSipCaptureCheck(t, scope, { dir, name: 'presence-baresip', ports: [a.port, b.port], lifetimeMs: TEST_TIMEOUT_MS });
    const ms: Record<string, number> = {};
    const t0 = Date.now();
    // each watches the other at its own peer (the contact names its own peer's address)
    const alice = await baresipAt(scope, dir, 'alice', a, [{ name: 'bob', uri: `sip:bob@127.0.0.1:${a.port}` }], 60);
    const bob = await baresipAt(scope, dir, 'bob', b, [{ name: 'alice', uri: `sip:alice@127.0.0.1:${b.port}` }], 60);
    await alice.waitRegistered(STEP_MS);
    await bob.waitRegistered(STEP_MS);
    await alice.waitContact('bob', 'Online', STEP_MS);
    await bob.waitContact('alice', 'Online', STEP_MS);
    ms['both online after start'] = Date.now() - t0;

    // bob says offline (PUBLISH closed): alice sees Offline; online again: Online
    ms['bob offline'] = await timed(() => bob.command('presence_offline'), () => alice.waitContact('bob', 'Offline', STEP_MS));
    ms['bob online'] = await timed(() => bob.command('presence_online'), () => alice.waitContact('bob', 'Online', STEP_MS));
    // and the other way round
    ms['alice offline'] = await timed(() => alice.command('presence_offline'), () => bob.waitContact('alice', 'Offline', STEP_MS));
    ms['alice online'] = await timed(() => alice.command('presence_online'), () => bob.waitContact('alice', 'Online', STEP_MS));

    // bob quits (unpublishes, unregisters, unsubscribes): alice sees him Offline
    ms['bob quits'] = await timed(() => bob.quit(), () => alice.waitContact('bob', 'Offline', STEP_MS));
    t.diagnostic(`state changes seen by alice: ${JSON.stringify(alice.statusChanges())}`);
    t.diagnostic(`ms from the action to the watcher's line: ${JSON.stringify(ms)}`);
    for (const [what, v] of Object.entries(ms)) if (what !== 'both online after start') assert.ok(v < 5_000, `${what}: ${v} ms`);
    assert.equal(await alice.quit(), 0, `baresip alice exit:\n${alice.process.tail()}`);
    await capture.finish(20);
  });
});

test('linphonec watches bob (friend add): offline, online when bob registers at the other peer, offline when he leaves', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  if (!requireTools(t, ['baresip', 'linphonec'])) return;
  await withScope(async (scope) => {
    const dir = scope.tempDir();
    const [a, b] = await startPresencePeers(scope, 2, USERS, TEST_TIMEOUT_MS);
    assert.ok(a !== undefined && b !== undefined);
    const capture = await startSipCaptureCheck(t, scope, { dir, name: 'presence-linphonec', ports: [a.port, b.port], lifetimeMs: TEST_TIMEOUT_MS });
    const home = join(dir, 'alice-linphonec');
    mkdirSync(home);
    const rtp = await scope.port({ span: 8 });
    const alice = await PresenceLinphonec.start(scope, {
      user: 'alice',
      home,
      sipPort: await scope.port(),
      rtpPorts: [rtp, rtp + 7],
      registrar: { host: '127.0.0.1', port: a.port },
      password: USERS.alice,
      lifetimeMs: TEST_TIMEOUT_MS,
    });
    await alice.waitRegistered(STEP_MS);
    let since = alice.lineCount();
    alice.command('friend add "bob" sip:bob@p2psip.local');
    // bob is registered nowhere: the first NOTIFY says closed
    assert.equal(await alice.waitFriend('bob', /offline/, STEP_MS, since), 'Offline');
    const ms: Record<string, number> = {};
    since = alice.lineCount();
    // bob (baresip: no PUBLISH, watches nobody) registers at B: his registration is his presence
    let bob: PresenceBaresip | undefined;
    ms['bob registers'] = await timed(
      async () => {
        bob = await baresipAt(scope, dir, 'bob', b, [], 0);
        await bob.waitRegistered(STEP_MS);
      },
      () => alice.waitFriend('bob', /online/, STEP_MS, since),
    );
    since = alice.lineCount();
    ms['bob unregisters'] = await timed(() => bob!.quit(), () => alice.waitFriend('bob', /offline/, STEP_MS, since));
    t.diagnostic(`linphonec: ${alice.friendLines().join(' | ')}`);
    t.diagnostic(`ms from the action to linphonec's line: ${JSON.stringify(ms)}`);
    for (const [what, v] of Object.entries(ms)) assert.ok(v < 8_000, `${what}: ${v} ms`);
    assert.equal(await alice.quit(), 0, `linphonec exit:\n${alice.process.tail()}`);
    await capture.finish(10);
  });
});
