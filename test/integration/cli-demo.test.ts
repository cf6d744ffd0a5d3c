/** `p2psip demo --peers 3`: three peers of one overlay in one process, printed, stopped by SIGINT. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliEntry } from './helpers/cli-entry.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

test('p2psip demo --peers 3 forms one ring and stops cleanly on SIGINT', { timeout: 60_000 }, async () => {
  const child = spawn(process.execPath, [...cliEntry(), 'demo', '--peers', '3', '--base-port', '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    for (let i = 0; i < 300 && !out.includes('Ctrl-C stops every peer'); i++) await new Promise((r) => setTimeout(r, 100));
    const peers = [...out.matchAll(/peer (\d): Node-ID ([0-9a-f]{32}) .* dashboard http:\/\/([^/]+)\//g)].map((m) => ({ id: m[2]!, http: m[3]! }));
    assert.equal(peers.length, 3, out);
    const ids = peers.map((p) => p.id).sort();
    let ok = false;
    for (let t = 0; t < 50 && !ok; t++) {
      const st = await Promise.all(peers.map(async (p) => (await (await fetch(`http://${p.http}/api/status`)).json()) as { nodeId: string; state: string; successors: string[] }));
      ok = st.every((s) => s.state === 'joined' && s.successors[0] === ids[(ids.indexOf(s.nodeId) + 1) % 3]);
      if (!ok) await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(ok, 'the three peers form one ring');
    child.kill('SIGINT');
    assert.equal(await exited, 0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
