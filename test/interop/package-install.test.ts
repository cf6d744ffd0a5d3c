/**
 * Issue 15, "running as a service", tried as an administrator would:
 * a. `npm pack` in the repository (its `prepack` builds), the tarball installed into an empty directory
 *    (`npm install <tarball>`: dependencies from the npm cache or registry, as for any user), then
 *    `npx p2psip up --help`, then the installed `p2psip up` with only a data directory and loopback ports: the overlay is up (/api/status),
 *    the SIP front answers OPTIONS, the data directory is 0700 and the key 0600, SIGHUP is logged and
 *    ignored (nothing is re-read), SIGTERM stops it with exit code 0.
 * b. the systemd unit in packaging/systemd passes `systemd-analyze verify` with its ExecStart pointed
 *    at the installed command, and with no warning at all (unknown keys are only warnings there).
 *
 * @test-lane alone (`npm pack` rebuilds dist/, which the other lanes run from)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { withScope } from '../../harness/process-scope.js';
import { REPO_ROOT } from '../../harness/paths.js';
import { requireTools } from '../../harness/require-tools.js';
import { sipOptionsPing } from '../../harness/sip-probe.js';
import { apiGet } from '../../harness/nat-lab/api-get.js';

const run = promisify(execFile);
const TEST_TIMEOUT_MS = 240_000;
const UNIT = join(REPO_ROOT, 'packaging', 'systemd', 'p2psip.service');

interface StatusView {
  readonly state: string;
  readonly overlay: string;
}

test('npm pack → install into an empty directory → npx p2psip up works; the systemd unit verifies', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  if (!requireTools(t, ['npm', 'systemd-analyze'], true)) return;
  await withScope(async (scope) => {
    const dir = scope.tempDir('p2psip-pack-');
    const packed = await run('npm', ['pack', '--pack-destination', dir], { cwd: REPO_ROOT, timeout: 120_000, maxBuffer: 16 << 20 });
    const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'));
    assert.ok(tgz !== undefined, `npm pack left no tarball: ${packed.stdout.slice(-400)}`);
    t.diagnostic(`packed ${tgz}: ${(statSync(join(dir, tgz)).size / 1024).toFixed(0)} KiB`);

    const app = join(dir, 'app');
    await run('mkdir', [app]);
    writeFileSync(join(app, 'package.json'), '{ "name": "p2psip-install-check", "private": true }\n');
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(dir, tgz)], { cwd: app, timeout: 180_000, maxBuffer: 16 << 20 });
    const bin = join(app, 'node_modules', '.bin', 'p2psip');
    assert.ok(statSync(bin).mode & 0o111, 'the package installs an executable p2psip command');

    const help = await run('npx', ['--no-install', 'p2psip', 'up', '--help'], { cwd: app, timeout: 30_000 });
    assert.match(help.stdout, /--data-dir/);

    const [overlayPort, sipPort, httpPort] = [await scope.port(), await scope.port(), await scope.port()];
    const data = join(app, 'data');
    const peer = scope.spawn({
      name: 'installed-peer',
      // the installed command itself, as the systemd unit runs it (npx would stand between the peer
      // and the signals below, and npm reports a signalled child its own way)
      command: bin,
      args: ['up', '--data-dir', data, '--listen', `127.0.0.1:${overlayPort}`, '--sip', `127.0.0.1:${sipPort}`, '--http', `127.0.0.1:${httpPort}`],
      cwd: app,
      lifetimeMs: 90_000,
    });
    await peer.waitForLine(/SIP front listening/, { timeoutMs: 30_000 });
    const got = await apiGet(`127.0.0.1:${httpPort}`, '/api/status');
    assert.equal(got.status, 200);
    const st = got.body as StatusView;
    assert.equal(st.state, 'joined', 'a lone first peer is the overlay');
    assert.equal(st.overlay, 'p2psip.local');
    assert.ok((await sipOptionsPing('127.0.0.1', sipPort, 5000)) !== undefined, 'the SIP front answers OPTIONS');
    assert.equal(statSync(data).mode & 0o777, 0o700, 'data directory 0700');
    assert.equal(statSync(join(data, 'key.pem')).mode & 0o777, 0o600, 'private key 0600');

    peer.signal('SIGHUP');
    await peer.waitForLine(/SIGHUP/, { timeoutMs: 5000 });
    assert.ok((await sipOptionsPing('127.0.0.1', sipPort, 5000)) !== undefined, 'still answering after SIGHUP');
    assert.equal(peer.exitInfo, undefined, 'SIGHUP did not end the peer');
    const exit = await peer.stop('SIGTERM', 10_000);
    assert.equal(exit.code, 0, `clean stop: ${peer.tail(10)}`);

    // b. the unit, with ExecStart at the command just installed
    const unitDir = scope.tempDir('p2psip-unit-');
    const unit = readFileSync(UNIT, 'utf8');
    assert.match(unit, /^ExecStart=\/usr\/local\/bin\/p2psip up --data-dir \/var\/lib\/p2psip$/m);
    assert.match(unit, /^Restart=on-failure$/m);
    assert.match(unit, /^StateDirectory=p2psip$/m);
    writeFileSync(join(unitDir, 'p2psip.service'), unit.replace(/^ExecStart=\/usr\/local\/bin\/p2psip /m, `ExecStart=${bin} `));
    const verified = await run('systemd-analyze', ['verify', join(unitDir, 'p2psip.service')], { timeout: 60_000 }).catch((err: { stdout?: string; stderr?: string; code?: number }) => {
      assert.fail(`systemd-analyze verify failed (${err.code}): ${err.stderr ?? ''}${err.stdout ?? ''}`);
    });
    const said = `${verified.stdout}${verified.stderr}`.trim();
    assert.equal(said, '', `systemd-analyze verify printed warnings: ${said}`);
  });
});
