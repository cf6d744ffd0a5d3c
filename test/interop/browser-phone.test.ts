/**
 * Issue 17, the browser phone: two `p2psip up` peers as real processes, each with a SIP WebSocket
 * listener (`--sip-ws`, RFC 7118), in a closed overlay (users made with `p2psip user add`); two
 * headless Chromiums (Debian `chromium` through playwright-core) open each peer's /phone page.
 * Browser A registers alice at peer 1, browser B bob at peer 2 (digest challenge answered by JsSIP);
 * A calls bob, so the INVITE goes peer 1 → overlay lookup → peer 2 → B; B answers. Then, read from
 * `RTCPeerConnection.getStats()` in both pages: audio bytes sent (outbound-rtp) and received
 * (inbound-rtp) on both sides, growing between two readings. A MESSAGE each way arrives; A hangs up
 * and both pages show the call ended. Screenshots are kept under test-output/screenshots/.
 *
 * Media: the peers leave WebRTC SDP alone (src/media/sdp-media-hook.ts), so the two browsers' ICE
 * connects them directly and DTLS-SRTP runs end to end; /api/status `media.sdp.webrtc` counts those
 * SDPs at each peer.
 *
 * What makes WebRTC work between two Chromiums on one machine (seen here, Chromium 1xx on Debian 12):
 * - the pages get the microphone without a prompt (`--use-fake-ui-for-media-stream` plus the
 *   context's `microphone` permission); a page holding a granted microphone gets its real host
 *   candidates instead of mDNS `.local` names (which headless Chromium would have to resolve with
 *   multicast DNS);
 * - `--allow-loopback-in-peer-connection`: Chromium leaves out loopback addresses when gathering
 *   candidates unless told (a machine with loopback only would have no candidate at all). Where the
 *   machine has other interfaces Chromium gathers them too and ICE may nominate one of them (here
 *   it chose the eth0 IPv6 address on both sides): no flag restricts WebRTC to loopback.
 * - no STUN/TURN server is configured by the page (`iceServers: []`), so every candidate is a host
 *   candidate of this machine and every ICE check and media packet goes from one of its own addresses
 *   to another (the kernel delivers them locally, nothing leaves the machine): the test checks that
 *   the selected pair's addresses are this machine's own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { withScope, type ProcessScope } from '../../harness/process-scope.js';
import { requireTools } from '../../harness/require-tools.js';
import { startPeerProcess, type PeerProcess } from '../integration/helpers/peer-process.js';
import { untilWholeRing } from '../integration/helpers/ring.js';
import { until } from '../integration/helpers/until.js';
import { Baresip } from './helpers/baresip.js';
import { keepScreenshot, launchChromium, type RunningChromium } from './helpers/chromium.js';
import { cliEntry } from '../integration/helpers/cli-entry.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TEST_TIMEOUT_MS = 180_000;
const STEP_MS = 30_000;
/** Chromium flags of this test (see the header). */
export const WEBRTC_LOOPBACK_ARGS = ['--allow-loopback-in-peer-connection'] as const;
/** Bytes of audio each way that count as "flowing" (Opus at ~32 kbit/s sends ~4 kB/s). */
const MIN_AUDIO_BYTES = 4_000;

/** Addresses of this machine (loopback and its interfaces): where the browsers' host candidates are. */
const OWN_ADDRESSES = new Set(Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address)));

/** `p2psip <args>` as a user runs it (password on stdin). */
function cli(args: string[], stdin = ''): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...cliEntry(), ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), STEP_MS);
    child.stdin.end(stdin);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

interface Snapshot {
  registration: string;
  call: string;
  inCall: boolean;
  messages: string[];
}

interface AudioStats {
  sent: number;
  received: number;
  packetsSent: number;
  packetsReceived: number;
  /** The ICE pair the transport selected, `local → remote` addresses. */
  pair: string;
}

const snapshot = (page: Page): Promise<Snapshot> => page.evaluate<Snapshot>('self.p2psipPhone.snapshot()');

/**
 * Audio counters and the selected candidate pair, read in the page from the call's
 * RTCPeerConnection.getStats() (browser code as text: this project's TypeScript has no DOM types).
 */
const AUDIO_STATS_JS = `(async () => {
  const pc = self.p2psipPhone.peerConnection();
  if (pc === null) return null;
  const report = await pc.getStats();
  const out = { sent: 0, received: 0, packetsSent: 0, packetsReceived: 0, pair: '' };
  report.forEach((s) => {
    if (s.type === 'outbound-rtp' && s.kind === 'audio') { out.sent += s.bytesSent; out.packetsSent += s.packetsSent; }
    if (s.type === 'inbound-rtp' && s.kind === 'audio') { out.received += s.bytesReceived; out.packetsReceived += s.packetsReceived; }
    if (s.type === 'transport' && s.selectedCandidatePairId) {
      const p = report.get(s.selectedCandidatePairId);
      const l = report.get(p.localCandidateId);
      const r = report.get(p.remoteCandidateId);
      out.pair = l.address + ':' + l.port + ' → ' + r.address + ':' + r.port;
    }
  });
  return out;
})()`;

const audioStats = (page: Page): Promise<AudioStats | null> => page.evaluate<AudioStats | null>(AUDIO_STATS_JS);

/** Errors and warnings the pages wrote to their consoles (shown when a step fails). */
const consoleLines: string[] = [];

async function waitState(page: Page, id: string, state: string, text: RegExp, timeoutMs = STEP_MS): Promise<string> {
  const el = page.locator(`#${id}`);
  try {
    await until(`#${id} ${state} ${text}`, timeoutMs, async () => {
      const s = await el.getAttribute('data-state');
      const t = (await el.textContent()) ?? '';
      return s === state && text.test(t) ? undefined : `${s}: ${t}`;
    }, { intervalMs: 200 });
  } catch (err) {
    // what the page listed under "Errors and events" says why
    throw new Error(`${String(err)}\npage log:\n${(await page.locator('#log li').allTextContents()).join('\n')}\nconsoles:\n${consoleLines.slice(-30).join('\n')}`);
  }
  return (await el.textContent()) ?? '';
}

async function openPhone(browser: RunningChromium, peer: PeerProcess, user: string, password: string): Promise<Page> {
  const { page } = await browser.newPage({ grantMedia: true });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') consoleLines.push(`${user}: ${m.text()}`);
  });
  await page.goto(`http://${peer.http!}/phone`);
  // polled from here: page.waitForFunction re-evaluates its predicate with eval() inside the page, which the
  // phone's strict CSP (no 'unsafe-eval') refuses whenever the first check is not already true
  const wsUrl = page.locator('#ws-url');
  await until('#ws-url names the WebSocket', STEP_MS, async () => {
    const t = (await wsUrl.textContent()) ?? '';
    return t.startsWith('WebSocket:') ? undefined : t;
  }, { intervalMs: 100 });
  assert.deepEqual(errors, [], 'no script error on the page');
  await page.fill('#user', user);
  await page.fill('#password', password);
  await page.click('#register');
  await waitState(page, 'reg-state', 'ok', new RegExp(`registered as sip:${user}@p2psip\\.local`));
  return page;
}

/**
 * Two `p2psip up` peers of one closed overlay, each with a SIP WebSocket listener on loopback, and the
 * given users added (`p2psip user add`, password on stdin): the first at peer 1, the second at peer 2.
 */
async function twoPeers(scope: ProcessScope, users: readonly [readonly [string, string], readonly [string, string]]): Promise<[PeerProcess, PeerProcess]> {
  const common = ['--sip', '127.0.0.1:0', '--http', '127.0.0.1:0', '--outbound', 'none', '--no-discovery', '--media', 'auto'];
  const peer1 = await startPeerProcess([...common, '--sip-ws', `127.0.0.1:${await scope.port()}`], 30_000, { closed: true });
  scope.defer(async () => void (await peer1.stop('SIGTERM', true)));
  const peer2 = await startPeerProcess([...common, '--sip-ws', `127.0.0.1:${await scope.port()}`, '--bootstrap', `127.0.0.1:${peer1.listen!.port}`], 30_000, { closed: true });
  scope.defer(async () => void (await peer2.stop('SIGTERM', true)));
  await untilWholeRing([peer1, peer2]);
  for (const [peer, [user, pw]] of [[peer1, users[0]], [peer2, users[1]]] as const) {
    const r = await cli(['user', 'add', user, '--http', peer.http!, '--data-dir', peer.dataDir, '--password-stdin'], `${pw}\n`);
    assert.equal(r.code, 0, `user add ${user}: ${r.err}`);
  }
  return [peer1, peer2];
}

test('two browsers at two peers: register (digest), call through the overlay, audio both ways (WebRTC stats), MESSAGE each way, hang up', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  if (!requireTools(t, ['chromium'])) return;
  await withScope(async (scope) => {
    const [peer1, peer2] = await twoPeers(scope, [['alice', 'alice-secret'], ['bob', 'bob-secret']]);

    const chromeA = await launchChromium({ args: WEBRTC_LOOPBACK_ARGS });
    scope.defer(() => chromeA.close());
    const chromeB = await launchChromium({ args: WEBRTC_LOOPBACK_ARGS });
    scope.defer(() => chromeB.close());
    const a = await openPhone(chromeA, peer1, 'alice', 'alice-secret');
    const b = await openPhone(chromeB, peer2, 'bob', 'bob-secret');
    await keepScreenshot(a, 'browser-phone-a-registered');

    // A calls bob: peer 1 finds bob in the overlay and forwards to peer 2, which rings B's WebSocket
    await a.fill('#target', 'bob');
    await a.click('#dial');
    await b.locator('#incoming').waitFor({ state: 'visible', timeout: STEP_MS });
    t.diagnostic(`B: ${(await b.locator('#incoming-from').textContent()) ?? ''}`);
    await keepScreenshot(b, 'browser-phone-b-ringing');
    await b.click('#answer');
    t.diagnostic(`A: ${await waitState(a, 'call-state', 'ok', /in call with sip:bob@p2psip\.local/)}`);
    t.diagnostic(`B: ${await waitState(b, 'call-state', 'ok', /in call with sip:alice@p2psip\.local/)}`);

    // audio both ways, from each page's RTCPeerConnection.getStats()
    const flowing = async (page: Page, label: string): Promise<AudioStats> => {
      let last: AudioStats | null = null;
      await until(`${label}: audio both ways`, STEP_MS, async () => {
        last = await audioStats(page);
        return last !== null && last.sent >= MIN_AUDIO_BYTES && last.received >= MIN_AUDIO_BYTES ? undefined : JSON.stringify(last);
      }, { intervalMs: 500 });
      return last!;
    };
    const a1 = await flowing(a, 'A');
    const b1 = await flowing(b, 'B');
    // a second reading two seconds later: the counters keep growing (media flows, not a burst at setup)
    await new Promise((r) => setTimeout(r, 2_000));
    const a2 = (await audioStats(a))!;
    const b2 = (await audioStats(b))!;
    t.diagnostic(`A: sent ${a1.sent} → ${a2.sent} B (${a2.packetsSent} packets), received ${a1.received} → ${a2.received} B (${a2.packetsReceived} packets), ICE pair ${a2.pair}`);
    t.diagnostic(`B: sent ${b1.sent} → ${b2.sent} B (${b2.packetsSent} packets), received ${b1.received} → ${b2.received} B (${b2.packetsReceived} packets), ICE pair ${b2.pair}`);
    for (const [label, s1, s2] of [['A', a1, a2], ['B', b1, b2]] as const) {
      assert.ok(s2.sent > s1.sent, `${label}: bytesSent grows`);
      assert.ok(s2.received > s1.received, `${label}: bytesReceived grows`);
      const ends = /^(.+):\d+ → (.+):\d+$/.exec(s2.pair);
      assert.ok(ends !== null, `${label}: a selected ICE pair (${s2.pair})`);
      assert.ok(OWN_ADDRESSES.has(ends[1]!) && OWN_ADDRESSES.has(ends[2]!), `${label}: the ICE pair ${s2.pair} joins two of this machine's own addresses`);
    }
    await keepScreenshot(a, 'browser-phone-a-in-call');
    await keepScreenshot(b, 'browser-phone-b-in-call');

    // the peers saw WebRTC SDP and left it alone (no relay session for this call)
    for (const [label, peer] of [['peer 1', peer1], ['peer 2', peer2]] as const) {
      const st = (await (await fetch(`http://${peer.http!}/api/status`)).json()) as { media: { sdp: Record<string, number>; sessions?: number } };
      t.diagnostic(`${label} media: ${JSON.stringify(st.media.sdp)}`);
      assert.ok((st.media.sdp['webrtc'] ?? 0) >= 2, `${label} passed the offer and the answer as WebRTC SDP`);
    }

    // a MESSAGE each way, while in the call
    await a.fill('#msg-to', 'bob');
    await a.fill('#msg-text', 'hello bob, from the browser at peer 1');
    await a.click('#msg-send');
    await until('B receives alice’s MESSAGE', STEP_MS, async () => ((await snapshot(b)).messages.some((m) => /from sip:alice@p2psip\.local: hello bob, from the browser at peer 1$/.test(m)) ? undefined : JSON.stringify((await snapshot(b)).messages)));
    await until('A sees it delivered', STEP_MS, async () => ((await snapshot(a)).messages.some((m) => / — delivered \(200\)$/.test(m)) ? undefined : JSON.stringify((await snapshot(a)).messages)));
    await b.fill('#msg-to', 'alice');
    await b.fill('#msg-text', 'hello alice, from the browser at peer 2');
    await b.click('#msg-send');
    await until('A receives bob’s MESSAGE', STEP_MS, async () => ((await snapshot(a)).messages.some((m) => /from sip:bob@p2psip\.local: hello alice, from the browser at peer 2$/.test(m)) ? undefined : JSON.stringify((await snapshot(a)).messages)));
    await keepScreenshot(b, 'browser-phone-b-messages');

    // A hangs up: both pages show the call ended
    await a.click('#hangup');
    t.diagnostic(`A: ${await waitState(a, 'call-state', 'idle', /^ended: you hung up$/)}`);
    t.diagnostic(`B: ${await waitState(b, 'call-state', 'idle', /^ended: sip:alice@p2psip\.local hung up$/)}`);
    assert.equal((await snapshot(a)).inCall, false);
    assert.equal((await snapshot(b)).inCall, false);
    assert.equal(await a.evaluate<boolean>('self.p2psipPhone.peerConnection() === null'), true);
    await keepScreenshot(a, 'browser-phone-a-ended');
  });
});

/**
 * A browser and a plain-RTP phone (baresip 1.0.0: RTP/AVP, G.711, no ICE, no DTLS-SRTP) cannot call
 * each other yet: one side needs ICE + DTLS-SRTP, the other plain RTP, and neither the peers' media
 * relay nor anything else converts between them (see docs/architecture.md, "Browser phone"). What
 * the test pins down is that both directions fail at once and say why, instead of ringing into a
 * silent call:
 * - browser → baresip: baresip cannot take the UDP/TLS/RTP/SAVPF offer and refuses it (488); the
 *   page shows the refusal and the explanation;
 * - baresip → browser: the page sees a plain-RTP offer, refuses it with 488 and a Warning saying
 *   why (no ringing, no "Answer"), and shows it; baresip's call closes with that 488.
 */
test('browser ↔ baresip (plain RTP): refused with 488 both ways and explained on the page', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  if (!requireTools(t, ['chromium', 'baresip'])) return;
  await withScope(async (scope) => {
    const [peer1, peer2] = await twoPeers(scope, [['alice', 'alice-secret'], ['carol', 'carol-secret']]);
    const chrome = await launchChromium({ args: WEBRTC_LOOPBACK_ARGS });
    scope.defer(() => chrome.close());
    const a = await openPhone(chrome, peer1, 'alice', 'alice-secret');
    const rtp = await scope.port({ span: 8 });
    const dir = join(scope.tempDir(), 'carol');
    mkdirSync(dir);
    const carol = await Baresip.start(scope, {
      user: 'carol',
      dir,
      sipPort: await scope.port({ span: 2 }),
      ctrlPort: await scope.port(),
      consPort: await scope.port(),
      rtpPorts: [rtp, rtp + 7],
      registrar: { host: '127.0.0.1', port: peer2.sip.get('udp')!.port },
      password: 'carol-secret',
      lifetimeMs: TEST_TIMEOUT_MS,
    });
    await carol.waitRegistered(STEP_MS);

    // browser → baresip
    await a.fill('#target', 'carol');
    await a.click('#dial');
    const out = await waitState(a, 'call-state', 'error', /^failed: /);
    t.diagnostic(`A calling carol: ${out}`);
    assert.match(out, /\(488\)/);
    assert.match(out, /does not take WebRTC media/);
    await keepScreenshot(a, 'browser-phone-to-baresip-refused');

    // baresip → browser
    const ev = carol.eventCount();
    const dial = await carol.command('dial', `sip:alice@127.0.0.1:${peer2.sip.get('udp')!.port}`);
    assert.ok(dial.ok, `baresip dial: ${dial.data}`);
    const closed = await carol.waitEvent('CALL_CLOSED', { timeoutMs: STEP_MS, since: ev });
    t.diagnostic(`carol's call closed: ${JSON.stringify(closed)}`);
    assert.match(String(closed['param'] ?? ''), /488/);
    const inbound = await waitState(a, 'call-state', 'error', /^refused a call from sip:carol@/);
    t.diagnostic(`A: ${inbound}`);
    assert.match(inbound, /plain RTP/);
    assert.equal((await snapshot(a)).inCall, false);
    await keepScreenshot(a, 'browser-phone-from-baresip-refused');
    assert.equal(await carol.quit(), 0, `baresip exit:\n${carol.process.tail()}`);
  });
});
