/**
 * Issue 17, the library API as a user imports it: `npm pack` in the repository (its `prepack` builds),
 * the tarball installed into an empty directory (`npm install <tarball>`: dependencies from the npm
 * cache or registry, as for any user, like package-install.test.ts), then
 * - the two examples copied there and run with node — `conference.mjs` (three participants find each
 *   other by AoR and exchange SDP offer/answer through a real overlay they start in-process) and
 *   `echo-bot.mjs` (a bot answering MESSAGEs) — each must exit 0;
 * - `import('p2psip')` gives the API (startPeer, P2psipApiError, the limits) and nothing internal, and
 *   an internal module (`p2psip/dist/src/node/run-peer.js`) is NOT importable through the exports;
 * - a TypeScript file importing the API's types compiles against the installed package (`types`).
 *
 * @test-lane alone (`npm pack` rebuilds dist/, which the other lanes run from)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { withScope } from '../../harness/process-scope.js';
import { REPO_ROOT } from '../../harness/paths.js';
import { requireTools } from '../../harness/require-tools.js';

const run = promisify(execFile);
const TEST_TIMEOUT_MS = 420_000;
/** Each example ends itself within its own deadline (90 s and 60 s); this bounds it from outside too. */
const EXAMPLE_LIFETIME_MS = 120_000;

test('npm pack → install → the examples run against a real overlay; only the API is exported', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  if (!requireTools(t, ['npm'], true)) return;
  await withScope(async (scope) => {
    const dir = scope.tempDir('p2psip-api-pack-');
    await run('npm', ['pack', '--pack-destination', dir], { cwd: REPO_ROOT, timeout: 180_000, maxBuffer: 16 << 20 });
    const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'));
    assert.ok(tgz !== undefined, 'npm pack left no tarball');
    const app = join(dir, 'app');
    await run('mkdir', [app]);
    writeFileSync(join(app, 'package.json'), '{ "name": "p2psip-api-check", "private": true, "type": "module" }\n');
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(dir, tgz)], { cwd: app, timeout: 180_000, maxBuffer: 16 << 20 });

    // the API, and nothing internal
    const probe = [
      "const api = await import('p2psip');",
      "const names = Object.keys(api).sort();",
      "let internal = 'importable';",
      "try { await import('p2psip/dist/src/node/run-peer.js'); } catch (e) { internal = e.code; }",
      'console.log(JSON.stringify({ names, internal, startPeer: typeof api.startPeer }));',
    ].join('\n');
    writeFileSync(join(app, 'probe.mjs'), probe);
    const seen = JSON.parse((await run('node', ['probe.mjs'], { cwd: app, timeout: 30_000 })).stdout) as { names: string[]; internal: string; startPeer: string };
    assert.equal(seen.startPeer, 'function');
    assert.ok(seen.names.includes('P2psipApiError') && seen.names.includes('MAX_USERS'), seen.names.join(', '));
    for (const internalName of ['SipPeer', 'OverlayNode', 'OverlayStorage', 'AppUserAgent', 'PeerFacade', 'main']) assert.ok(!seen.names.includes(internalName), `${internalName} is not exported`);
    assert.equal(seen.internal, 'ERR_PACKAGE_PATH_NOT_EXPORTED', 'internal modules are not reachable through the package exports');

    // the types, as a TypeScript user compiles against them
    writeFileSync(
      join(app, 'check.ts'),
      [
        "import { startPeer, P2psipApiError, type Peer, type KindSpec, type SipResult, type IncomingRequest } from 'p2psip';",
        "const kind: KindSpec = { id: 0xf0001001, name: 'ROOM', dataModel: 'dictionary', access: 'USER-NODE-MATCH', anyResource: true };",
        'export async function demo(): Promise<SipResult> {',
        "  const peer: Peer = await startPeer({ listen: '127.0.0.1:0', sip: '127.0.0.1:0', http: false, kinds: [kind] });",
        "  peer.onRequest((r: IncomingRequest) => (r.method === 'MESSAGE' ? 200 : undefined));",
        "  try { return await peer.message('bob', 'hi'); } catch (e) { if (e instanceof P2psipApiError) console.log(e.code); throw e; } finally { await peer.stop(); }",
        '}',
        '',
      ].join('\n'),
    );
    const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    await run('node', [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', '--typeRoots', join(REPO_ROOT, 'node_modules', '@types'), 'check.ts'], { cwd: app, timeout: 120_000 }).catch(
      (err: { stdout?: string; stderr?: string }) => assert.fail(`the API's types do not compile for a user: ${err.stdout ?? ''}${err.stderr ?? ''}`),
    );

    // the examples, as a user runs them: plain node, importing 'p2psip' from node_modules
    for (const example of ['conference.mjs', 'echo-bot.mjs']) {
      copyFileSync(join(REPO_ROOT, 'examples', example), join(app, example));
      const t0 = Date.now();
      const p = scope.spawn({ name: example, command: process.execPath, args: [example], cwd: app, lifetimeMs: EXAMPLE_LIFETIME_MS });
      const exit = await p.exited;
      t.diagnostic(`${example}: exit ${exit.code} after ${Date.now() - t0} ms; last line: ${p.lines().at(-1) ?? ''}`);
      assert.equal(exit.code, 0, `${example} failed:\n${p.tail(30)}`);
      assert.match(p.lines().join('\n'), /: OK \(/);
    }
  });
});
