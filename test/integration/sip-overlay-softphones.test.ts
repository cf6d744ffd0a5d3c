/**
 * Unmodified softphones on different peers of one overlay (issue 6): baresip registered at peer A
 * (as alice) calls linphonec registered at peer B (as bob) through the overlay; linphonec answers
 * and hangs up; then a MESSAGE from alice to bob. Enrolled overlay, one user per certificate (see
 * sip-overlay-enrolled.test.ts). Skipped without baresip and linphonec.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Baresip } from '../interop/helpers/baresip.js';
import { ProcessScope } from '../../harness/process-scope.js';
import { Linphonec } from '../interop/helpers/linphonec.js';
import { findInPath } from '../../harness/require-tools.js';
import type { EnrollServerProcess } from './helpers/enroll-server-process.js';
import { startEnrollment } from './helpers/enrolled-overlay.js';
import { startPeerProcess, type PeerProcess } from './helpers/peer-process.js';

const OVERLAY = 'phones.test';
const STEP_MS = 20_000;
const LIFETIME_MS = 150_000;
const missing = ['baresip', 'linphonec'].filter((p) => findInPath(p) === undefined);

describe('SIP usage: baresip at peer A calls linphonec at peer B', { timeout: 200_000, skip: missing.length > 0 ? `missing ${missing.join(', ')}` : false }, () => {
  let dir: string;
  let server: EnrollServerProcess | undefined;
  const peers: PeerProcess[] = [];
  const scope = new ProcessScope();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'p2psip-phones-'));
    // carol's peer is the third ring member (the AoRs may be stored there)
    const users = ['carol', 'alice', 'bob'];
    const e = await startEnrollment(dir, OVERLAY, users);
    server = e.server;
    for (const [i, u] of users.entries()) peers.push(await startPeerProcess([...e.peerArgs(u), '--sip', '127.0.0.1:0', '--http', '127.0.0.1:0', '--outbound', 'none', '--log-level', 'warn', ...e.placeArgs(i)], 60_000));
  });

  after(async () => {
    await scope.dispose();
    for (const p of peers) await p.stop('SIGKILL', false);
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('call answered and hung up cleanly; MESSAGE delivered', async (t) => {
    const a = peers[1]!.sip.get('udp')!;
    const b = peers[2]!.sip.get('udp')!;
    const aliceDir = join(dir, 'alice-phone');
    const bobHome = join(dir, 'bob-phone');
    mkdirSync(aliceDir);
    mkdirSync(bobHome);
    const aliceSip = await scope.port({ span: 2 });
    const aliceRtp = await scope.port({ span: 8 });
    const bobRtp = await scope.port({ span: 8 });
    // The AoR is written with the caller's own peer as host: that peer folds it into bob@<overlay>.
    const bobUri = `sip:bob@127.0.0.1:${a.port}`;
    const alice = await Baresip.start(scope, {
      user: 'alice',
      dir: aliceDir,
      sipPort: aliceSip,
      ctrlPort: await scope.port(),
      consPort: await scope.port(),
      rtpPorts: [aliceRtp, aliceRtp + 7],
      registrar: { host: '127.0.0.1', port: a.port },
      contacts: [{ name: 'bob', uri: bobUri }],
      lifetimeMs: LIFETIME_MS,
    });
    const bob = await Linphonec.start(scope, {
      user: 'bob',
      home: bobHome,
      sipPort: await scope.port(),
      rtpPorts: [bobRtp, bobRtp + 7],
      registrar: { host: '127.0.0.1', port: b.port },
      autoAnswer: true,
      lifetimeMs: LIFETIME_MS,
    });
    await alice.waitRegistered(STEP_MS);
    await bob.waitRegistered(STEP_MS);
    // bob's Store runs behind his REGISTER; give the overlay a moment (bounded retries below)
    let ev = alice.eventCount();
    let line = bob.lineCount();
    let established = false;
    for (let attempt = 0; attempt < 5 && !established; attempt++) {
      ev = alice.eventCount();
      line = bob.lineCount();
      const dial = await alice.command('dial', bobUri);
      assert.ok(dial.ok, `baresip dial failed: ${dial.data}`);
      const r = await Promise.race([
        alice.waitEvent('CALL_ESTABLISHED', { timeoutMs: STEP_MS, since: ev }).then(() => 'up'),
        alice.waitEvent('CALL_CLOSED', { timeoutMs: STEP_MS, since: ev }).then((e) => `closed ${JSON.stringify(e)}`),
      ]);
      t.diagnostic(`attempt ${attempt + 1}: ${r}`);
      established = r === 'up';
      if (!established) await new Promise((res) => setTimeout(res, 1000));
    }
    assert.ok(established, 'the call was never established');
    t.diagnostic(`bob: ${await bob.waitForLine(/Call \d+ with .*connected\./, STEP_MS, line)}`);
    line = bob.lineCount();
    bob.command('terminate');
    const closed = await alice.waitEvent('CALL_CLOSED', { timeoutMs: STEP_MS, since: ev });
    t.diagnostic(`alice: ${JSON.stringify(closed)}`);
    t.diagnostic(`bob: ${await bob.waitForLine(/Call \d+ with .*ended \(No error\)/, STEP_MS, line)}`);

    line = bob.lineCount();
    const sent = await alice.command('message', 'hello-bob-across-the-overlay');
    assert.ok(sent.ok, `baresip message failed: ${sent.data}`);
    await bob.waitForLine(/hello-bob-across-the-overlay/, STEP_MS, line);

    assert.equal(await bob.quit(), 0, `linphonec exit:\n${bob.process.tail()}`);
    assert.equal(await alice.quit(), 0, `baresip exit:\n${alice.process.tail()}`);
  });
});
