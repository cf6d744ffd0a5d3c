/** The command-line contract (DESIGN.md): exit codes, messages, status/lookup against a running peer. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { startPeerProcess, type PeerProcess } from './helpers/peer-process.js';
import { UdpProbe, statusOf } from './helpers/udp-probe.js';
import { cliEntry } from './helpers/cli-entry.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...cliEntry(), ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('p2psip command line', () => {
  test('a malformed option is a usage error (exit 2) naming the problem', () => {
    const r = cli('up', '--sip', 'nonsense');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--sip: expected <host:port>/);
  });

  test('status --limit that is not a count is a usage error (exit 2)', () => {
    const r = cli('status', '--http', '127.0.0.1:1', '--limit', 'many');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--limit: expected a count/);
  });

  test('an unknown command is a usage error (exit 2)', () => {
    assert.equal(cli('frobnicate').code, 2);
  });

  test('--version prints the package version (exit 0)', () => {
    const r = cli('--version');
    assert.equal(r.code, 0, r.stderr);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(r.stdout.trim(), pkg.version);
  });

  test('a data directory that is a file is a usage error naming --data-dir', () => {
    const dir = mkdtempSync(join(tmpdir(), 'p2psip-cli-'));
    try {
      const file = join(dir, 'not-a-dir');
      writeFileSync(file, 'x');
      const r = cli('up', '--data-dir', file, '--sip', '127.0.0.1:0', '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0');
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /--data-dir .*not-a-dir: not a directory .*choose another with --data-dir <dir>/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('up --help shows examples and what --bootstrap wants', () => {
    const r = cli('up', '--help');
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Examples:/);
    assert.match(r.stdout, /--bootstrap[\s\S]*overlay port/);
  });

  test('status with no peer running is a runtime failure (exit 1) that says so', () => {
    const r = cli('status', '--http', '127.0.0.1:1');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no p2psip peer answers/);
  });

  test('status against a peer whose API listens beyond loopback reads the token from --data-dir', async () => {
    const peer = await startPeerProcess(['--sip', '127.0.0.1:0', '--http', '0.0.0.0:0', '--listen', '127.0.0.1:0', '--outbound', 'none', '--no-discovery']);
    try {
      const port = peer.http!.split(':').at(-1)!;
      const none = cli('status', '--http', `127.0.0.1:${port}`, '--token', 'not-the-token-0000000000000000000000');
      assert.equal(none.code, 1);
      assert.match(none.stderr, /401/);
      const ok = cli('status', '--http', `127.0.0.1:${port}`, '--data-dir', peer.dataDir);
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /overlay p2psip\.local/);
    } finally {
      assert.equal(await peer.stop('SIGINT'), 0);
    }
  });

  describe('against a running peer', () => {
    let peer: PeerProcess;
    before(async () => {
      peer = await startPeerProcess(['--sip', '127.0.0.1:0', '--http', '127.0.0.1:0', '--outbound', 'none']);
    });
    after(async () => {
      assert.equal(await peer.stop('SIGINT'), 0, 'SIGINT is a clean exit');
    });

    test('the ready line names the SIP front and the dashboard; /api/status has the contract fields', async () => {
      assert.ok(peer.sip.get('udp') && peer.sip.get('tcp'));
      assert.equal(peer.sip.get('udp')!.port, peer.sip.get('tcp')!.port, 'UDP and TCP share the port');
      const r = cli('status', '--http', peer.http!, '--json');
      assert.equal(r.code, 0, r.stderr);
      const s = JSON.parse(r.stdout) as Record<string, unknown>;
      for (const k of ['nodeId', 'overlay', 'state', 'listen', 'sip', 'successors', 'predecessors', 'fingers', 'storedResources', 'localRegistrations']) {
        assert.ok(k in s, `status has ${k}`);
      }
      assert.equal(s['overlay'], 'p2psip.local');
    });

    test('lookup tells where a registered AoR is, and exits 1 for an unknown one', async () => {
      const port = peer.sip.get('udp')!.port;
      const phone = await UdpProbe.open('127.0.0.1', 0);
      try {
        phone.send(
          `REGISTER sip:127.0.0.1:${port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${phone.port};branch=z9hG4bKcli1;rport\r\nMax-Forwards: 70\r\n` +
            `From: <sip:carol@127.0.0.1>;tag=1\r\nTo: <sip:carol@127.0.0.1>\r\nCall-ID: cli-reg\r\nCSeq: 1 REGISTER\r\n` +
            `Contact: <sip:carol@127.0.0.1:${phone.port}>\r\nContent-Length: 0\r\n\r\n`,
          port,
        );
        await phone.waitFor((m) => statusOf(m) === 200, 5000, 'REGISTER 200');
      } finally {
        phone.close();
      }
      const found = cli('lookup', 'carol@p2psip.local', '--http', peer.http!);
      assert.equal(found.code, 0, found.stderr);
      assert.match(found.stdout, /sip:carol@p2psip\.local -> <sip:carol@127\.0\.0\.1:\d+>/);
      const missing = cli('lookup', 'sip:nobody@p2psip.local', '--http', peer.http!);
      assert.equal(missing.code, 1);
      assert.match(missing.stdout, /not registered/);
      // a bare user name, as for dialling: the peer's own domain
      const bare = cli('lookup', 'carol', '--http', peer.http!);
      assert.equal(bare.code, 0, bare.stderr);
      assert.match(bare.stdout, /sip:carol@p2psip\.local -> <sip:carol@127\.0\.0\.1:\d+>/);
      const json = cli('lookup', 'carol', '--json', '--http', peer.http!);
      assert.equal((JSON.parse(json.stdout) as { aor: string }).aor, 'sip:carol@p2psip.local');
    });

    test('a port already taken is named with the flag that moves it', () => {
      const dir = mkdtempSync(join(tmpdir(), 'p2psip-cli-'));
      try {
        const sipTaken = cli('up', '--data-dir', dir, '--sip', `127.0.0.1:${peer.sip.get('udp')!.port}`, '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--no-discovery');
        assert.equal(sipTaken.code, 1, sipTaken.stderr);
        assert.match(sipTaken.stderr, /port \d+ \(the SIP front, UDP and TCP\) is already in use .*choose another with --sip <host:port>/);
        const httpTaken = cli('up', '--data-dir', dir, '--sip', '127.0.0.1:0', '--listen', '127.0.0.1:0', '--http', peer.http!, '--no-discovery');
        assert.equal(httpTaken.code, 1, httpTaken.stderr);
        assert.match(httpTaken.stderr, /\(the dashboard and JSON API\) is already in use .*--http <host:port> \(or --no-http\)/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
