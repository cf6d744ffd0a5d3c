/**
 * Digest authentication with two independent softphones: baresip (alice) and linphonec (bob) register
 * with their passwords at an in-process SipPeer on loopback whose SIP front authenticates with a table
 * of passwords (PasswordTableVerifier), with our default offer (MD5); then alice calls bob: her INVITE
 * is challenged (407) and her answer lets it through. A third phone (baresip, carol) with a wrong
 * password is refused (403) and never registered. Then linphonec alone against SHA-256 then MD5: it
 * answers SHA-256. (baresip 1.0.0 cannot register when any challenge is SHA-256, seen here:
 * "Register: Function not implemented" — why SHA-256 is opt-in.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { withScope } from '../../harness/process-scope.js';
import { requireTools } from '../../harness/require-tools.js';
import { PasswordTableVerifier } from '../support/sip/password-table-verifier.js';
import { Baresip } from './helpers/baresip.js';
import { digestSipPeer } from './helpers/digest-sip-peer.js';
import { Linphonec } from './helpers/linphonec.js';

const TEST_TIMEOUT_MS = 120_000;
const STEP_MS = 20_000;


test('baresip and linphonec authenticate (digest) at p2psip, register and call; a wrong password is refused', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  if (!requireTools(t, ['baresip', 'linphonec'])) return;
  await withScope(async (scope) => {
    const dir = scope.tempDir();
    const port = await scope.port();
    const verifier = new PasswordTableVerifier({ alice: 'wonderland', bob: 'builder', carol: 'right' });
    const peer = digestSipPeer(port, verifier);
    await peer.start();
    scope.defer(() => peer.stop());
    const registrar = { host: '127.0.0.1' as const, port };
    const bobUri = `sip:bob@127.0.0.1:${port}`;

    const phoneDir = (name: string): string => {
      const d = join(dir, name);
      mkdirSync(d);
      return d;
    };
    const aliceRtp = await scope.port({ span: 8 });
    const alice = await Baresip.start(scope, {
      user: 'alice',
      dir: phoneDir('alice'),
      sipPort: await scope.port({ span: 2 }),
      ctrlPort: await scope.port(),
      consPort: await scope.port(),
      rtpPorts: [aliceRtp, aliceRtp + 7],
      registrar,
      contacts: [{ name: 'bob', uri: bobUri }],
      password: 'wonderland',
      lifetimeMs: TEST_TIMEOUT_MS,
    });
    const bobRtp = await scope.port({ span: 8 });
    const bob = await Linphonec.start(scope, {
      user: 'bob',
      home: phoneDir('bob'),
      sipPort: await scope.port(),
      rtpPorts: [bobRtp, bobRtp + 7],
      registrar,
      autoAnswer: true,
      password: 'builder',
      lifetimeMs: TEST_TIMEOUT_MS,
    });
    await alice.waitRegistered(STEP_MS);
    await bob.waitRegistered(STEP_MS);
    const algorithmOf = (user: string): string[] => [...new Set(verifier.calls.filter((c) => c.username === user).map((c) => `${c.algorithm}/${c.qop ?? 'no-qop'}`))];
    t.diagnostic(`baresip answered with ${algorithmOf('alice').join(', ')}; linphonec with ${algorithmOf('bob').join(', ')}`);
    assert.equal((await peer.location.lookup('sip:alice@p2psip.local')).length, 1);
    assert.equal((await peer.location.lookup('sip:bob@p2psip.local')).length, 1);

    // alice calls bob: the INVITE is challenged with 407 and answered
    const ev = alice.eventCount();
    const line = bob.lineCount();
    const dial = await alice.command('dial', bobUri);
    assert.ok(dial.ok, `baresip dial failed: ${dial.data}`);
    await alice.waitEvent('CALL_ESTABLISHED', { timeoutMs: STEP_MS, since: ev });
    t.diagnostic(`bob: ${await bob.waitForLine(/Call \d+ with .*connected\./, STEP_MS, line)}`);
    assert.ok(verifier.calls.some((c) => c.username === 'alice' && c.method === 'INVITE'), 'the INVITE was authenticated');
    bob.command('terminate');
    await alice.waitEvent('CALL_CLOSED', { timeoutMs: STEP_MS, since: ev });

    // carol, with a wrong password: 403, never registered
    const carolRtp = await scope.port({ span: 8 });
    const carol = await Baresip.start(scope, {
      user: 'carol',
      dir: phoneDir('carol'),
      sipPort: await scope.port({ span: 2 }),
      ctrlPort: await scope.port(),
      consPort: await scope.port(),
      rtpPorts: [carolRtp, carolRtp + 7],
      registrar,
      password: 'wrong',
      lifetimeMs: TEST_TIMEOUT_MS,
    });
    t.diagnostic(`carol: ${await carol.process.waitForLine(/reg: sip:carol@.*\b403\b/, { timeoutMs: STEP_MS })}`);
    assert.equal((await peer.location.lookup('sip:carol@p2psip.local')).length, 0);
    const s = peer.auth!.stats();
    t.diagnostic(JSON.stringify(s));
    assert.ok(s.failures.badResponse >= 1);
    assert.ok(s.successes >= 3);
    assert.equal(await bob.quit(), 0, `linphonec exit:\n${bob.process.tail()}`);
    assert.equal(await alice.quit(), 0, `baresip exit:\n${alice.process.tail()}`);
  });
});

test('linphonec answers a SHA-256 challenge (offered: SHA-256, MD5)', { timeout: 60_000 }, async (t) => {
  if (!requireTools(t, ['linphonec'])) return;
  await withScope(async (scope) => {
    const dir = scope.tempDir();
    const port = await scope.port();
    const verifier = new PasswordTableVerifier({ bob: 'builder' });
    const peer = digestSipPeer(port, verifier, ['SHA-256', 'MD5']);
    await peer.start();
    scope.defer(() => peer.stop());
    const rtp = await scope.port({ span: 8 });
    const bob = await Linphonec.start(scope, {
      user: 'bob',
      home: dir,
      sipPort: await scope.port(),
      rtpPorts: [rtp, rtp + 7],
      registrar: { host: '127.0.0.1', port },
      password: 'builder',
      lifetimeMs: 60_000,
    });
    await bob.waitRegistered(STEP_MS);
    assert.deepEqual([...new Set(verifier.calls.map((c) => c.algorithm))], ['SHA-256']);
    assert.equal((await peer.location.lookup('sip:bob@p2psip.local')).length, 1);
    assert.equal(await bob.quit(), 0, `linphonec exit:\n${bob.process.tail()}`);
  });
});
