/**
 * The live dashboard in a real browser (issue 17): headless Debian `chromium` driven by
 * playwright-core against two `p2psip up` peers started from the built package (dist/, as shipped:
 * the page's script and style come from the package, nothing from elsewhere).
 * - What the page shows is checked against /api/status: Node-ID, state, successors and predecessors
 *   (the other peer), registrations count.
 * - A phone registers (a SIP REGISTER sent by the test) and the page shows it without a reload (a
 *   marker set in the page survives); its count matches /api/status again.
 * - An AoR registered at the OTHER peer is looked up through the page's form (the overlay leads to
 *   that peer); a peer is pinged from
 *   its row; a call to an unknown AoR shows in "Why calls failed" with its status and reason.
 * - Bound beyond loopback, the page sends the browser to the login page; a wrong token is refused; the
 *   right one gives an HttpOnly SameSite=Strict session cookie with which the live page (EventSource
 *   included) works.
 * Screenshots are kept under test-output/screenshots/ (looked at by people, never compared).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { requireTools } from '../../harness/require-tools.js';
import { SipPhoneProbe } from '../integration/helpers/sip-phone-probe.js';
import { until } from '../integration/helpers/until.js';
import { CHROMIUM_PATH, keepScreenshot, launchChromium, type RunningChromium } from './helpers/chromium.js';

const MAIN = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');
const DOMAIN = 'p2psip.local';

interface DistPeer {
  child: ChildProcess;
  http: string;
  sipPort: number;
  listen: string;
  nodeId: string;
  dataDir: string;
  output(): string;
  stop(): Promise<void>;
}

/** `node dist/src/cli/main.js up …` on loopback with a fresh data directory; resolves once its ready line is out. */
async function startDistPeer(extra: string[] = []): Promise<DistPeer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'p2psip-dash-'));
  const args = [MAIN, 'up', '--open', '--listen', '127.0.0.1:0', '--sip', '127.0.0.1:0', '--http', '127.0.0.1:0', '--outbound', 'none', '--data-dir', dataDir, ...extra];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 12_000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await until('the peer is ready', 20_000, () => {
      if (child.exitCode !== null) throw new Error(`p2psip up exited ${child.exitCode}:\n${out}`);
      return /SIP front listening on .*dashboard http:\/\//.test(out) ? undefined : 'starting';
    });
  } catch (e) {
    await stop();
    throw e;
  }
  const http = /dashboard http:\/\/([^/\s]+)\//.exec(out)![1]!;
  const sipPort = Number(/udp:127\.0\.0\.1:(\d+)/.exec(out)![1]);
  const ov = /Node-ID ([0-9a-f]+), links on (\S+?),/.exec(out)!;
  return { child, http, sipPort, nodeId: ov[1]!, listen: ov[2]!, dataDir, output: () => out, stop };
}

interface Status {
  nodeId: string;
  state: string;
  successors: string[];
  predecessors: string[];
  localRegistrationsTotal: number;
}

const statusOf = async (p: DistPeer): Promise<Status> => (await (await fetch(`http://${p.http}/api/status`, { signal: AbortSignal.timeout(5000) })).json()) as Status;

const text = async (page: Page, selector: string): Promise<string> => ((await page.textContent(selector)) ?? '').trim();

/** Waits (bounded) until the page's `selector` text satisfies `ok`. */
async function pageUntil(page: Page, what: string, selector: string, ok: (t: string) => boolean, limitMs = 15_000): Promise<string> {
  let last = '';
  await until(what, limitMs, async () => {
    last = await text(page, selector);
    return ok(last) ? undefined : JSON.stringify(last.slice(0, 300));
  }, { intervalMs: 100 });
  return last;
}

test('the live dashboard in headless Chromium: matches /api/status, updates without reload, looks up, pings, shows failed calls', { timeout: 180_000 }, async (t) => {
  if (!requireTools(t, ['chromium'])) return;
  assert.ok(existsSync(CHROMIUM_PATH), `${CHROMIUM_PATH} (Debian chromium)`);
  assert.ok(existsSync(MAIN), `${MAIN} is missing: run npm run build first (npm run test:interop does)`);
  const cleanups: Array<() => Promise<void>> = [];
  try {
    const a = await startDistPeer();
    cleanups.push(() => a.stop());
    const b = await startDistPeer(['--bootstrap', a.listen]);
    cleanups.push(() => b.stop());
    await until('A and B see each other as neighbours', 20_000, async () => {
      const s = await statusOf(a);
      return s.successors.includes(b.nodeId) && s.predecessors.includes(b.nodeId) ? undefined : JSON.stringify(s.successors);
    });

    const browser: RunningChromium = await launchChromium();
    cleanups.push(() => browser.close());
    const { page } = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
    const outside: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(`http://${a.http}/`)) outside.push(r.url());
    });

    // 1. load: what the page shows matches /api/status
    await page.goto(`http://${a.http}/`, { waitUntil: 'load', timeout: 15_000 });
    await pageUntil(page, 'the live stream is open', '#live', (x) => x === 'live');
    const s0 = await statusOf(a);
    await pageUntil(page, 'the Node-ID is shown', '#node-id', (x) => x === s0.nodeId);
    assert.equal(await text(page, '#state'), s0.state);
    await pageUntil(page, 'the registrations count is shown', '#reg-count', (x) => x === String(s0.localRegistrationsTotal));
    await until('B is listed as successor and predecessor, with its TLS link', 15_000, async () => {
      const row = await page.$(`#links tr[data-node="${b.nodeId}"]`);
      if (row === null) return 'no row for B';
      const roles = (await row.getAttribute('data-roles')) ?? '';
      const cells = ((await row.textContent()) ?? '').toLowerCase();
      return roles.includes('succ') && roles.includes('pred') && cells.includes('tls') ? undefined : `${roles} ${cells}`;
    });
    const summary = await text(page, '#neighbour-summary');
    assert.ok(summary.includes(b.nodeId.slice(0, 12)), summary);
    assert.ok((await page.$$(`#ring circle[data-node="${b.nodeId}"]`)).length === 1, 'B is on the ring picture');
    await keepScreenshot(page, 'dashboard-1-loaded');

    // 2. a phone registers at A: the page changes without a reload
    await page.evaluate(() => {
      (globalThis as unknown as { noReload: number }).noReload = 42;
    });
    const alice = await SipPhoneProbe.open('alice', { host: '127.0.0.1', port: a.sipPort }, DOMAIN);
    cleanups.push(async () => alice.close());
    assert.match(await alice.register(600), /^SIP\/2\.0 200/);
    await page.waitForSelector(`#regs tr[data-aor="sip:alice@${DOMAIN}"]`, { timeout: 10_000 });
    const s1 = await statusOf(a);
    assert.equal(s1.localRegistrationsTotal, 1);
    await pageUntil(page, 'the count follows', '#reg-count', (x) => x === String(s1.localRegistrationsTotal));
    assert.match(await text(page, `#regs tr[data-aor="sip:alice@${DOMAIN}"]`), new RegExp(`sip:alice@127\\.0\\.0\\.1:${alice.udp.port}`));
    assert.equal(await page.evaluate(() => (globalThis as unknown as { noReload?: number }).noReload), 42, 'the page was not reloaded');
    await keepScreenshot(page, 'dashboard-2-registered');

    // 3. look up an AoR registered at the OTHER peer, through the page
    const bob = await SipPhoneProbe.open('bob', { host: '127.0.0.1', port: b.sipPort }, DOMAIN);
    cleanups.push(async () => bob.close());
    assert.match(await bob.register(600), /^SIP\/2\.0 200/);
    await until('bob found through the page', 20_000, async () => {
      await page.fill('#lookup-aor', 'bob');
      await page.click('#lookup-form button[type=submit]');
      const r = await pageUntil(page, 'a lookup answer', '#lookup-result', (x) => x !== '' && !x.startsWith('looking up'), 10_000);
      // the overlay says bob is reached through B (RFC 7904 route registration): B's SIP front, B's Node-ID
      return r.includes(`sip:bob@127.0.0.1:${b.sipPort}`) && r.includes(b.nodeId) ? undefined : r;
    }, { intervalMs: 500 });

    // 4. ping B from its row (a RELOAD Ping through the overlay)
    await page.click(`#links tr[data-node="${b.nodeId}"] button`);
    const ping = await pageUntil(page, 'the ping answer', '#ping-result', (x) => x.startsWith('answered') || x.startsWith('no answer'));
    assert.ok(ping.startsWith(`answered by ${b.nodeId}`), ping);

    // 5. a call to an unknown AoR fails: the page says why
    const callId = alice.send('INVITE', `sip:nobody@${DOMAIN}`);
    const final = await alice.finalFor(callId);
    assert.equal(final.status, 404);
    alice.udp.send(
      [`ACK sip:nobody@${DOMAIN} SIP/2.0`, /^Via: .*$/m.exec(final.text)![0], 'Max-Forwards: 70', /^From: .*$/m.exec(final.text)![0], /^To: .*$/m.exec(final.text)![0], `Call-ID: ${callId}`, `CSeq: ${/^CSeq: (\d+)/m.exec(final.text)![1]} ACK`, 'Content-Length: 0', '', ''].join('\r\n'),
      a.sipPort,
    );
    await page.waitForSelector(`#failures tr[data-call="${callId}"]`, { timeout: 10_000 });
    const failure = await text(page, `#failures tr[data-call="${callId}"]`);
    assert.match(failure, /404/);
    assert.match(failure, new RegExp(`sip:nobody@${DOMAIN.replace('.', '\\.')}`));

    // 6. the graphs fill from the summaries (every 2 s) after the REGISTERs; the log tail has lines
    await until('the SIP graph shows the requests', 15_000, async () => {
      const label = await text(page, '#g-sip-max');
      const points = await page.$eval('#g-sip', (g) => [...g.querySelectorAll('polyline')].reduce((n, p) => n + (p.getAttribute('points') ?? '').split(' ').length, 0));
      return label !== 'max 0' && label.startsWith('max') && points >= 3 ? undefined : `${label}, ${points} points`;
    }, { intervalMs: 250 });
    assert.notEqual(await text(page, '#log'), '');
    await keepScreenshot(page, 'dashboard-3-actions');

    assert.deepEqual(outside, [], 'the page fetched nothing from elsewhere');
    assert.deepEqual(pageErrors, [], 'no error in the page');
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  }
});

test('beyond loopback the dashboard asks for the token: login page, session cookie, then the live page', { timeout: 120_000 }, async (t) => {
  if (!requireTools(t, ['chromium'])) return;
  assert.ok(existsSync(MAIN), `${MAIN} is missing: run npm run build first`);
  const cleanups: Array<() => Promise<void>> = [];
  try {
    // listening on the wildcard (not loopback only) makes every read need credentials; the test still
    // talks to 127.0.0.1 only
    const p = await startDistPeer(['--http', '0.0.0.0:0']);
    cleanups.push(() => p.stop());
    const base = `http://127.0.0.1:${p.http.split(':').at(-1)}`;
    assert.equal((await fetch(`${base}/api/status`)).status, 401, 'no token: 401');
    const token = readFileSync(join(p.dataDir, 'api-token'), 'utf8').trim();
    assert.equal((await fetch(`${base}/api/status`, { headers: { authorization: `Bearer ${token}` } })).status, 200, 'the token opens it');

    const browser = await launchChromium();
    cleanups.push(() => browser.close());
    const { page, context } = await browser.newPage();
    await page.goto(`${base}/`, { waitUntil: 'load', timeout: 15_000 });
    assert.equal(new URL(page.url()).pathname, '/login', 'sent to the login page');
    await page.fill('#token', '0'.repeat(64));
    await page.click('#login-form button[type=submit]');
    await pageUntil(page, 'a wrong token is refused', '#login-result', (x) => x === 'wrong token');
    await keepScreenshot(page, 'dashboard-login');
    await page.fill('#token', token);
    await page.click('#login-form button[type=submit]');
    await page.waitForURL(`${base}/`, { timeout: 10_000 });
    await pageUntil(page, 'the live stream is open (the cookie works for EventSource too)', '#live', (x) => x === 'live');
    await pageUntil(page, 'the Node-ID is shown', '#node-id', (x) => x === p.nodeId);
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'p2psip_session');
    assert.ok(session, 'a session cookie');
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
    assert.equal(await page.evaluate('document.cookie'), '', 'the page script cannot read it');
    await keepScreenshot(page, 'dashboard-after-login');
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  }
});
