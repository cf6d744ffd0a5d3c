/**
 * Issue 15: `p2psip user add|passwd|remove|list` as a user runs them, against a running closed
 * `p2psip up` (one process; the API token read from the data directory, passwords from stdin);
 * and `p2psip up --open` reporting an open overlay with no user directory.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPeerProcess, type PeerProcess } from './helpers/peer-process.js';
import { cliEntry } from './helpers/cli-entry.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function cli(args: string[], stdin = ''): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...cliEntry(), ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.stdin.end(stdin);
    child.once('exit', (code) => resolve({ code, out, err }));
  });
}

describe('p2psip user (CLI)', { timeout: 120_000 }, () => {
  const procs: PeerProcess[] = [];
  after(async () => {
    for (const p of procs) await p.stop('SIGTERM', true).catch(() => {});
  });

  test('add, add again, passwd, list, remove on a closed peer; an open peer has no directory', async () => {
    const peer = await startPeerProcess(['--sip', '127.0.0.1:0', '--http', '127.0.0.1:0', '--outbound', 'none', '--no-discovery'], 30_000, { closed: true });
    procs.push(peer);
    const at = ['--http', peer.http!, '--data-dir', peer.dataDir];
    // no --data-dir: the running peer says where its token is (/api/status apiTokenFile)
    const add = await cli(['user', 'add', 'alice', '--http', peer.http!, '--password-stdin'], 'pw1\n');
    assert.equal(add.code, 0, add.err);
    assert.match(add.out, /user added: sip:alice@p2psip\.local \(version 1\)/);
    const again = await cli(['user', 'add', 'alice', ...at, '--password', 'x']);
    assert.equal(again.code, 1);
    assert.match(again.err, /refused \(409\).*user-exists/);
    const bad = await cli(['user', 'passwd', 'alice', ...at, '--current', 'nope', '--password', 'pw2']);
    // this peer is the record's owner, but a wrong current password is still refused
    assert.equal(bad.code, 1, bad.out);
    const pw = await cli(['user', 'passwd', 'alice', ...at, '--password-stdin'], 'pw1\npw2\n');
    assert.equal(pw.code, 0, pw.err);
    assert.match(pw.out, /password changed: .*version 2/);
    const list = await cli(['user', 'list', '--http', peer.http!]);
    assert.match(list.out, /alice@p2psip\.local {2}version 2/);
    assert.match(list.out, /not enumerable/);
    const rm = await cli(['user', 'remove', 'alice', ...at, '--current', 'pw2']);
    assert.equal(rm.code, 0, rm.err);
    const noToken = await cli(['user', 'add', 'bob', '--http', peer.http!, '--token', 'f'.repeat(64), '--password', 'x']);
    assert.match(noToken.err, /refused \(401\)/);

    const open = await startPeerProcess(['--sip', '127.0.0.1:0', '--http', '127.0.0.1:0', '--outbound', 'none', '--no-discovery'], 30_000);
    procs.push(open);
    const st = (await (await fetch(`http://${open.http!}/api/status`)).json()) as { auth: { mode: string } };
    assert.equal(st.auth.mode, 'open');
    const none = await cli(['user', 'add', 'alice', '--http', open.http!, '--data-dir', open.dataDir, '--password', 'x']);
    assert.match(none.err, /refused \(409\).*open/);
  });
});
