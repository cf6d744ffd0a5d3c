/**
 * Every command line README.md shows (issue 17, "the first five minutes"): the lines of its ```sh
 * blocks and the `npx p2psip …` / `npm …` / `node examples/…` commands quoted in its text are collected from the README
 * and each must be known here — run as written (in a fresh clone, inside a network namespace with
 * no route out, HOME in a temporary directory, npm working from its cache), or named with the test
 * that runs it and why it is not run here. A command added to the README without a way to check it
 * fails this test.
 *
 * @test-lane namespaces (runs beside the loopback lane: everything it starts is in its own namespaces)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { withScope } from '../../harness/process-scope.js';
import { requireTools } from '../../harness/require-tools.js';
import { NatLab } from '../../harness/nat-lab/index.js';
import type { LabHost } from '../../harness/nat-lab/index.js';
import type { BoundedProcess } from '../../harness/bounded-process.js';
import { REPO_ROOT } from '../../harness/paths.js';

const TEST_TIMEOUT_MS = 420_000;

/** Command lines shown by the README: ```sh block lines, and quoted `npx p2psip …` / `npm …` commands. */
export function readmeCommands(readme: string): string[] {
  const out = new Set<string>();
  for (const m of readme.matchAll(/```sh\n([\s\S]*?)```/g)) {
    // a line ending in a backslash continues on the next
    const text = m[1]!.replace(/\\\n\s*/g, '');
    for (const line of text.split('\n')) {
      const l = line.replace(/\s+#.*$/, '').trim();
      if (l !== '') out.add(l);
    }
  }
  const prose = readme.replace(/```[\s\S]*?```/g, '');
  for (const m of prose.matchAll(/`((?:npx p2psip|npm|node examples\/)[^`]+)`/g)) out.add(m[1]!.replace(/\s+/g, ' ').trim());
  return [...out];
}

/** How each README command is checked: a step of the run below, or the test that runs it. */
const ELSEWHERE: ReadonlyArray<[RegExp, string]> = [
  [/^npm ci && npm test$|^npm test$|^npm ci$/, '.ci/run runs it (checked below)'],
  [/^npm start$/, 'readme.test.ts runs it (the softphone steps); `npm ci && npm start` here'],
  [/^npm run fuzz$/, 'a million inputs each, minutes: run by hand; here the same command with --count 300'],
  [/^npm run bench -- (putget|calls|nat|media|sip|overlay|overlay-trade|codec|idle-rss|memory|shutdown|presence|capacity)( --duration [0-9]+)?$/, 'a benchmark, minutes each, run by hand into BENCHMARKS.md; bench-sip/bench-calls.test.ts test its harness'],
  [/^npm pack$/, 'package-api.test.ts and package-install.test.ts pack the package and install it into an empty directory'],
  [/^npm run test:interop$/, '.ci/run runs it (checked below)'],
  [/^npx p2psip up --sip 127\.0\.0\.1:5070 /, 'readme.test.ts runs it (the softphone steps)'],
  [/^npx p2psip lookup bob$/, 'readme.test.ts runs it with bob registered'],
  [
    /^(npm ci && npm pack && sudo npm install -g|command -v p2psip$|sudo cp packaging\/systemd|sudo systemctl |sudo p2psip user add alice --data-dir \/var\/lib\/p2psip$|journalctl )/,
    'the service steps: package-install.test.ts packs, installs and runs the package and checks the unit with systemd-analyze; systemctl and journalctl need systemd as PID 1, which CI containers do not run',
  ],
];

test('README: every command line it shows is run here or by a named test', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  if (!requireTools(t, ['ip', 'nft', 'git', 'curl', 'script', 'npm'], true)) return;
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const commands = readmeCommands(readme);
  const ran = new Set<string>();
  const check = (line: string): string => {
    assert.ok(commands.includes(line), `README.md no longer shows \`${line}\` (update this test with it)`);
    ran.add(line);
    return line;
  };

  // the CI entry point runs exactly the README's test commands
  const ci = readFileSync(join(REPO_ROOT, '.ci', 'run'), 'utf8');
  for (const l of ['npm ci', 'npm test', 'npm run test:interop']) assert.match(ci, new RegExp(`^${l.replace(/ /g, ' ')}\\b`, 'm'), `.ci/run runs ${l}`);

  await withScope(async (scope) => {
    const lab = await NatLab.build(scope, { publicHosts: ['box'], stunHost: false, segment: 'bridge', publicSubnet: '192.0.2.0/24' });
    const box: LabHost = lab.host('box');
    const home = scope.tempDir('p2psip-readme-home-');
    const clone = join(scope.tempDir('p2psip-readme-clone-'), 'p2psip');
    // a fresh clone of what is committed, as a newcomer gets it
    execFileSync('git', ['clone', '-q', REPO_ROOT, clone], { timeout: 60_000 });
    // npm works from the machine's cache (filled by CI's own npm ci); nothing leaves the namespace
    const npmCache = execFileSync('npm', ['config', 'get', 'cache'], { encoding: 'utf8', timeout: 30_000 }).trim();
    const env = { ...process.env, HOME: home, npm_config_cache: npmCache, npm_config_update_notifier: 'false', npm_config_offline: 'true', npm_config_fund: 'false', npm_config_audit: 'false' };
    const sh = (line: string, opts: { input?: string; timeoutMs?: number } = {}) =>
      box.tryRun('sh', ['-c', line], { cwd: clone, env, timeoutMs: opts.timeoutMs ?? 60_000, ...(opts.input === undefined ? {} : { input: opts.input }) });
    const long = (line: string, name: string): BoundedProcess => box.spawn({ command: 'sh', args: ['-c', line], cwd: clone, env, lifetimeMs: TEST_TIMEOUT_MS, name });
    const upLine = async (p: BoundedProcess, what: string, timeoutMs: number): Promise<void> => {
      await p.waitForLine(/^p2psip: SIP front listening/, { timeoutMs }).catch((e: unknown) => {
        throw new Error(`${what} did not come up: ${String(e)}\n${p.tail(40)}`);
      });
    };

    // The two commands: the main job with the embedded defaults
    const t0 = Date.now();
    const peer = long(check('npm ci && npm start'), 'npm ci && npm start');
    await upLine(peer, 'npm ci && npm start', 240_000);
    t.diagnostic(`npm ci && npm start: the peer is up after ${Date.now() - t0} ms (npm ci from the cache, first build)`);
    await peer.waitForLine(/closed overlay: phones register with their user's password/, { timeoutMs: 5_000 });
    const help = await sh(check('npm start -- --help'));
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /Usage: p2psip up/);

    // the users, typed on a terminal (script gives the command a pty)
    for (const user of ['alice', 'bob']) {
      const line = check(`npx p2psip user add ${user}`);
      const r = await box.tryRun('script', ['-qec', line, '/dev/null'], { cwd: clone, env, input: `pw-${user}-readme\r`, timeoutMs: 60_000 });
      assert.equal(r.code, 0, `${line}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, new RegExp(`user added: sip:${user}@p2psip\\.local`));
    }
    // the API with its token: the curl line creates carol
    const curl = commands.find((c) => c.startsWith('curl -X POST ') && c.includes('/api/users/add?user=carol'));
    assert.ok(curl !== undefined, 'README shows the curl line with the API token');
    const created = await sh(check(curl));
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /"aor": "sip:carol@p2psip\.local"/);
    const status = await sh(check('npx p2psip status'));
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /overlay p2psip\.local +state joined/);
    assert.match(status.stdout, /auth: closed/);

    await peer.stop('SIGTERM', 15_000);

    // an open overlay for a lab
    const open = long(check('npm start -- --open'), 'npm start -- --open');
    await upLine(open, 'npm start -- --open', 60_000);
    await open.waitForLine(/open overlay \(--open\)/, { timeoutMs: 5_000 });
    await open.stop('SIGTERM', 15_000);

    // the fuzzer, on a small count (the README's run is a million inputs of each kind)
    const fuzz = await sh('npm run fuzz -- --count 300', { timeoutMs: 180_000 });
    assert.equal(fuzz.code, 0, `npm run fuzz -- --count 300: ${fuzz.stdout.slice(-2000)}${fuzz.stderr.slice(-2000)}`);

    // the browser phone's WebSocket listener
    const ws = long(check('npm start -- --sip-ws 127.0.0.1:5066'), 'npm start -- --sip-ws');
    await upLine(ws, 'npm start -- --sip-ws 127.0.0.1:5066', 60_000);
    const phone = await box.run('curl', ['-sS', '--max-time', '10', 'http://127.0.0.1:8060/phone/config.json']);
    assert.match(phone, /ws:\/\/127\.0\.0\.1:5066/, `the phone page's configuration: ${phone}`);
    await ws.stop('SIGTERM', 15_000);

    // the library example, from the clone (the package refers to itself by name)
    const build = await sh(check('npm run build'), { timeoutMs: 120_000 });
    assert.equal(build.code, 0, build.stderr);
    const bot = await sh(check('node examples/echo-bot.mjs'), { timeoutMs: 90_000 });
    assert.equal(bot.code, 0, `${bot.stdout}${bot.stderr}`);
    assert.match(bot.stdout, /echo-bot: OK/);

    // the demo
    const demo = long(check('npx p2psip demo --peers 3'), 'demo');
    await demo.waitForLine(/5080/, { timeoutMs: 60_000 }).catch((e: unknown) => {
      throw new Error(`the demo did not come up: ${String(e)}\n${demo.tail(40)}`);
    });
    await demo.stop('SIGTERM', 15_000);
  });

  // every command the README shows is accounted for
  const unknown = commands.filter((c) => !ran.has(c) && !ELSEWHERE.some(([re]) => re.test(c)));
  assert.deepEqual(unknown, [], `README commands this test neither runs nor knows a test for: ${unknown.join(' | ')}`);
  for (const c of commands) if (!ran.has(c)) t.diagnostic(`not run here: ${c} — ${ELSEWHERE.find(([re]) => re.test(c))![1]}`);
});
