/**
 * The HTTP API of a real `p2psip up` (issue 14):
 * - a request target the URL parser rejects once killed the whole peer: now it gets 400 and the
 *   peer still answers SIP OPTIONS and /api/status;
 * - state-changing routes need the token from `<data-dir>/api-token` (0600), and a foreign Host
 *   (DNS rebinding) or Origin is refused;
 * - reads that send overlay traffic are rate-limited (429 with Retry-After);
 * - the token survives a restart with the same data directory.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { startPeerProcess, type PeerProcess } from './helpers/peer-process.js';
import { UdpProbe, statusOf } from './helpers/udp-probe.js';
import { rawHttp as raw, httpStatus } from '../support/raw-http.js';


describe('HTTP API of p2psip up', { timeout: 120_000 }, () => {
  let peer: PeerProcess;
  let port: number;
  let token: string;
  const hostHeader = (): string => `127.0.0.1:${port}`;
  const request = (method: string, path: string, headers: Record<string, string> = {}): string =>
    `${method} ${path} HTTP/1.1\r\nHost: ${headers['Host'] ?? hostHeader()}\r\n` +
    Object.entries(headers)
      .filter(([k]) => k !== 'Host')
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('') +
    `Connection: close\r\n\r\n`;

  before(async () => {
    peer = await startPeerProcess(['--sip', '127.0.0.1:0', '--http', '127.0.0.1:0', '--outbound', 'none', '--log-level', 'warn']);
    port = Number(peer.http!.split(':')[1]);
    token = peer.apiToken();
  });
  after(async () => {
    await peer.stop('SIGKILL', true);
  });

  async function sipOptionsAnswered(): Promise<void> {
    const sip = peer.sip.get('udp')!;
    const probe = await UdpProbe.open('127.0.0.1', 0);
    try {
      probe.send(
        `OPTIONS sip:127.0.0.1:${sip.port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${probe.port};branch=z9hG4bKhttp14;rport\r\n` +
          `Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=p1\r\nTo: <sip:127.0.0.1:${sip.port}>\r\n` +
          `Call-ID: http14-alive\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`,
        sip.port,
      );
      await probe.waitFor((m) => statusOf(m) === 200 && m.includes('Call-ID: http14-alive'), 5000, 'OPTIONS 200');
    } finally {
      probe.close();
    }
  }

  test('the request target that killed the peer gets 400; SIP OPTIONS and /api/status still answer', async () => {
    for (const target of ['//[', 'http://[', '//x:99999']) {
      const a = await raw(port, request('GET', target));
      assert.equal(httpStatus(a), 400, `${target}: ${a.slice(0, 200)}\n${peer.output()}`);
    }
    assert.equal(peer.child.exitCode, null, 'the peer is still running');
    await sipOptionsAnswered();
    const s = await fetch(`http://${peer.http}/api/status`, { signal: AbortSignal.timeout(5000) });
    assert.equal(s.status, 200);
  });

  test('the token: in <data-dir>/api-token, mode 0600, at least 128 bits, printed at start-up', () => {
    const file = join(peer.dataDir, 'api-token');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.match(token, /^[0-9a-f]{32,}$/);
    assert.ok(peer.output().includes(token), 'p2psip up prints the token for the operator');
  });

  test('a state-changing request needs the token and the API own Host and Origin', async () => {
    const store = `/api/storage/store?kind=1&name=sip:mallory@p2psip.local&value=sip:mallory@192.0.2.66`;
    const auth = { Authorization: `Bearer ${token}` };
    assert.equal(httpStatus(await raw(port, request('POST', store))), 401, 'no token');
    assert.equal(httpStatus(await raw(port, request('POST', store, { Authorization: `Bearer ${'0'.repeat(token.length)}` }))), 401, 'wrong token');
    // the request of the issue: a web page elsewhere, reached through DNS rebinding
    assert.equal(httpStatus(await raw(port, request('POST', store, { Host: `evil.example:${port}`, Origin: 'http://evil.example' }))), 421, 'foreign Host');
    assert.equal(httpStatus(await raw(port, request('POST', store, { ...auth, Host: `evil.example:${port}` }))), 421, 'foreign Host, even with the token');
    assert.equal(httpStatus(await raw(port, request('POST', store, { ...auth, Origin: 'http://evil.example' }))), 403, 'foreign Origin');
    assert.equal(httpStatus(await raw(port, request('POST', store, { ...auth, Origin: 'null' }))), 403, 'opaque Origin');
    assert.equal(httpStatus(await raw(port, request('GET', '/api/status', { Host: `evil.example:${port}` }))), 421, 'reads through a rebound name too');
    for (const h of [`localhost:${port}`, `127.0.0.1:${port}`]) {
      assert.equal(httpStatus(await raw(port, request('GET', '/api/status', { Host: h }))), 200, h);
    }
    const own = await raw(port, request('POST', store, { ...auth, Origin: `http://127.0.0.1:${port}` }));
    assert.ok(![401, 403, 421].includes(httpStatus(own)), `with the token: ${own.slice(0, 300)}`);
  });

  test('reads that send overlay traffic are rate-limited: 429 with Retry-After; /api/status is not', async () => {
    const get = (path: string, headers: Record<string, string> = {}): Promise<Response> => fetch(`http://${peer.http}${path}`, { headers, signal: AbortSignal.timeout(10_000) });
    const answers = await Promise.all(Array.from({ length: 80 }, (_, i) => get(`/api/lookup?aor=${encodeURIComponent(`sip:nobody${i}@p2psip.local`)}`)));
    const limited = answers.filter((r) => r.status === 429);
    assert.ok(limited.length > 0, `80 lookups at once: ${answers.map((r) => r.status).join(' ')}`);
    assert.ok(Number(limited[0]!.headers.get('retry-after')) >= 1, 'Retry-After in seconds');
    assert.equal((await get('/api/status')).status, 200, 'status is not limited');
    // the operator's token is not limited
    const withToken = await Promise.all(Array.from({ length: 10 }, () => get('/api/lookup?aor=sip:nobody@p2psip.local', { Authorization: `Bearer ${token}` })));
    assert.deepEqual(withToken.map((r) => r.status), Array(10).fill(200));
  });

  test('/api/status takes ?offset=&limit= and refuses nonsense with 400', async () => {
    const r = await fetch(`http://${peer.http}/api/status?limit=abc`, { signal: AbortSignal.timeout(5000) });
    assert.equal(r.status, 400);
    const s = (await (await fetch(`http://${peer.http}/api/status?limit=5`)).json()) as Record<string, unknown>;
    assert.deepEqual(s['page'], { offset: 0, limit: 5 });
    assert.equal(typeof s['localRegistrationsTotal'], 'number');
  });

  test('the token is kept across a restart with the same data directory', async () => {
    const dataDir = peer.dataDir;
    assert.equal(await peer.stop('SIGINT', false), 0);
    peer = await startPeerProcess(['--sip', '127.0.0.1:0', '--http', '127.0.0.1:0', '--outbound', 'none', '--log-level', 'warn', '--data-dir', dataDir]);
    assert.equal(peer.apiToken(), token);
    await peer.stop('SIGINT', true);
  });
});
