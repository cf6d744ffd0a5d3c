/**
 * The README's softphone instructions, followed literally (issue 17, "the first five minutes"): the
 * peer commands, `user add` typed on a terminal, and the two baresip account lines are read out of
 * README.md (never copied into this test), so the README cannot drift from what works. Everything
 * runs inside one network namespace (a documentation address, nothing routed out) with HOME in a
 * temporary directory, as a new user on a fresh machine would run it: `npm start`, then the second
 * peer, the users, two baresips; alice calls `bob` and sends a MESSAGE to sip:bob@p2psip.local.
 *
 * @test-lane namespaces (runs beside the loopback lane: everything it starts is in its own namespaces)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { withScope } from '../../harness/process-scope.js';
import { requireTools } from '../../harness/require-tools.js';
import { NatLab } from '../../harness/nat-lab/index.js';
import type { LabHost } from '../../harness/nat-lab/index.js';
import { REPO_ROOT } from '../../harness/paths.js';
import { LabBaresip } from '../../harness/nat-lab/nat-softphone-baresip.js';

const TEST_TIMEOUT_MS = 240_000;
const STEP_MS = 30_000;

/** The `Try it with real softphones` section of README.md. */
function softphoneSection(): string {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('## Try it with real softphones');
  assert.ok(start >= 0, 'README.md has no "Try it with real softphones" section');
  const end = readme.indexOf('\n## ', start + 5);
  return readme.slice(start, end < 0 ? undefined : end);
}

/** The command lines of the section's ```sh blocks, in order. */
function shellLines(section: string): string[] {
  const out: string[] = [];
  for (const m of section.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of m[1]!.split('\n')) if (line.trim() !== '') out.push(line.trim());
  }
  return out;
}

/** The baresip account line for `user` in the section, and its password placeholder. */
function accountLine(section: string, user: string): { line: string; placeholder: string; proxyPort: number } {
  const m = new RegExp(`^\\s*(<sip:${user}@p2psip\\.local>;auth_pass=([A-Z]+-PASSWORD);outbound="sip:127\\.0\\.0\\.1:(\\d+)";regint=\\d+)\\s*$`, 'm').exec(section);
  assert.ok(m !== null, `README.md shows no baresip account line for ${user}`);
  return { line: m[1]!, placeholder: m[2]!, proxyPort: Number(m[3]) };
}

/** Splits a README command line into argv (plain words only: the README's lines need no quoting). */
function argv(line: string): string[] {
  assert.ok(!/["'$`|;&<>\\]/.test(line.replace(/ && /g, ' ')), `README command needs a shell: ${line}`);
  return line.split(/\s+/);
}

test('README: the softphone instructions as written — two peers, users, two baresips; alice calls bob and sends a MESSAGE', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  if (!requireTools(t, ['ip', 'nft', 'baresip', 'script', 'npm'], true)) return;
  const section = softphoneSection();
  const lines = shellLines(section);
  const startLine = lines.find((l) => l === 'npm start');
  const secondPeer = lines.find((l) => l.startsWith('npx p2psip up '));
  const addUsers = lines.filter((l) => /^npx p2psip user add \w+$/.test(l));
  assert.ok(startLine !== undefined && secondPeer !== undefined, `README's softphone section lost its peer commands: ${lines.join(' | ')}`);
  assert.deepEqual(addUsers, ['npx p2psip user add alice', 'npx p2psip user add bob']);
  const alice = accountLine(section, 'alice');
  const bob = accountLine(section, 'bob');

  // the README's second peer keeps its data in a fixed directory (--data-dir /tmp/peer2): emptied before
  // and after, so no run depends on what an earlier one left there
  const dataDirArg = secondPeer.split(/\s+/).indexOf('--data-dir');
  const peer2Dir = dataDirArg < 0 ? undefined : secondPeer.split(/\s+/)[dataDirArg + 1];
  assert.ok(peer2Dir !== undefined && peer2Dir.startsWith('/tmp/'), `the second peer's --data-dir is under /tmp: ${secondPeer}`);
  rmSync(peer2Dir, { recursive: true, force: true });
  t.after(() => rmSync(peer2Dir, { recursive: true, force: true }));
  await withScope(async (scope) => {
    const lab = await NatLab.build(scope, { publicHosts: ['desk'], stunHost: false, segment: 'bridge', publicSubnet: '192.0.2.0/24' });
    const desk: LabHost = lab.host('desk');
    const home = scope.tempDir('p2psip-readme-home-');
    const env = { ...process.env, HOME: home, npm_config_update_notifier: 'false', npm_config_offline: 'true', npm_config_fund: 'false', npm_config_audit: 'false' };
    const [cmd1, ...args1] = argv(startLine);
    const peer1 = desk.spawn({ command: cmd1!, args: args1, cwd: REPO_ROOT, env, lifetimeMs: TEST_TIMEOUT_MS, name: 'npm start' });
    await peer1.waitForLine(/^p2psip: SIP front listening/, { timeoutMs: 60_000 }).catch((e: unknown) => {
      throw new Error(`npm start did not come up: ${String(e)}\n${peer1.tail(40)}`);
    });
    // what `npm start` prints for phones is what the README says
    await peer1.waitForLine(/outbound="sip:[\d.]+:5060";regint=600/, { timeoutMs: 5_000 });
    const [cmd2, ...args2] = argv(secondPeer);
    const peer2 = desk.spawn({ command: cmd2!, args: args2, cwd: REPO_ROOT, env, lifetimeMs: TEST_TIMEOUT_MS, name: 'second peer' });
    await peer2.waitForLine(/^p2psip: SIP front listening/, { timeoutMs: 60_000 }).catch((e: unknown) => {
      throw new Error(`the second peer did not come up: ${String(e)}\n${peer2.tail(40)}`);
    });
    await peer2.waitForLine(/^p2psip: overlay .*joined through a bootstrap peer/, { timeoutMs: 5_000 });

    // `npx p2psip user add <name>` asks for the password on a terminal: typed through a pty (script)
    const passwords = new Map([
      ['alice', 'alice-pw-4711'],
      ['bob', 'bob-pw-0815'],
    ]);
    for (const line of addUsers) {
      const user = line.split(' ').at(-1)!;
      const r = await desk.tryRun('script', ['-qec', line, '/dev/null'], { cwd: REPO_ROOT, env, input: `${passwords.get(user)!}\r`, timeoutMs: 30_000 });
      assert.equal(r.code, 0, `${line}: exit ${String(r.code)}\n${r.stdout}\n${r.stderr}`);
      t.diagnostic(`${line}: ${r.stdout.replace(/\s+/g, ' ').trim()}`);
    }

    const phone = async (user: 'alice' | 'bob', account: typeof alice, sipPort: number, ctrl: number): Promise<LabBaresip> => {
      const dir = join(home, `baresip-${user}`);
      mkdirSync(dir, { recursive: true });
      return LabBaresip.start(desk, {
        user,
        domain: 'p2psip.local',
        dir,
        sipPort,
        ctrlPort: ctrl,
        consPort: ctrl + 1,
        rtpPorts: [sipPort + 1000, sipPort + 1019],
        proxy: `127.0.0.1:${account.proxyPort}`,
        accountLine: account.line.replace(account.placeholder, passwords.get(user)!),
        lifetimeMs: TEST_TIMEOUT_MS,
        contacts: user === 'alice' ? [{ name: 'bob', uri: 'sip:bob@p2psip.local' }] : [],
      });
    };
    const a = await phone('alice', alice, 5062, 4440);
    const b = await phone('bob', bob, 5064, 4450);
    t.diagnostic(`alice: ${await a.waitRegistered(STEP_MS)}`);
    t.diagnostic(`bob: ${await b.waitRegistered(STEP_MS)}`);

    // alice dials "bob", as the README says; bob answers
    const evA = a.eventCount();
    const evB = b.eventCount();
    const dial = await a.command('dial', 'bob');
    assert.ok(dial.ok, `alice's dial failed: ${dial.data}`);
    await b.waitEvent('CALL_INCOMING', { timeoutMs: STEP_MS, since: evB });
    const accept = await b.command('accept');
    assert.ok(accept.ok, `bob's accept failed: ${accept.data}`);
    await a.waitEvent('CALL_ESTABLISHED', { timeoutMs: STEP_MS, since: evA });
    await b.waitEvent('CALL_ESTABLISHED', { timeoutMs: STEP_MS, since: evB });
    const hangup = await a.command('hangup');
    assert.ok(hangup.ok, `alice's hangup failed: ${hangup.data}`);
    await b.waitEvent('CALL_CLOSED', { timeoutMs: STEP_MS, since: evB });
    t.diagnostic('alice → bob: established through the two peers, then closed');

    // a MESSAGE to sip:bob@p2psip.local (alice's current contact)
    const sent = await a.command('message', 'hello-bob-from-the-readme');
    assert.ok(sent.ok, `alice's message failed: ${sent.data}`);
    t.diagnostic(`bob's console: ${await b.waitConsole('hello-bob-from-the-readme', STEP_MS)}`);

    // the status and lookup lines the README shows answer
    const st = await desk.tryRun('npx', ['p2psip', 'status'], { cwd: REPO_ROOT, env, timeoutMs: 30_000 });
    assert.equal(st.code, 0, `npx p2psip status: ${st.stdout}${st.stderr}`);
    assert.match(st.stdout, /sip:alice@p2psip\.local/);
    const lk = await desk.tryRun('npx', ['p2psip', 'lookup', 'bob'], { cwd: REPO_ROOT, env, timeoutMs: 30_000 });
    assert.equal(lk.code, 0, `npx p2psip lookup bob: ${lk.stdout}${lk.stderr}`);
    assert.match(lk.stdout, /sip:bob@p2psip\.local -> registered at peer/);
    t.diagnostic(`npx p2psip lookup bob: ${lk.stdout.trim()}`);

    assert.equal(await a.quit(), 0, `alice's baresip exit:\n${a.process.tail()}`);
    assert.equal(await b.quit(), 0, `bob's baresip exit:\n${b.process.tail()}`);
    await peer2.stop('SIGTERM', 12_000);
    await peer1.stop('SIGTERM', 12_000);
  });
});
