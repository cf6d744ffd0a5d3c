/** The command-line contract (DESIGN.md): exit codes, messages, status/lookup against a running peer. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { startPeerProcess, type PeerProcess } from './helpers/peer-process.js';
import { UdpProbe, statusOf } from './helpers/udp-probe.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], { encoding: 'utf8', timeout: 30_000 });
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

  test('status with no peer running is a runtime failure (exit 1) that says so', () => {
    const r = cli('status', '--http', '127.0.0.1:1');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no p2psip peer answers/);
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
    });
  });
});
