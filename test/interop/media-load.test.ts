/**
 * Issue 13 under load, on loopback: 200 concurrent SIPp calls with RTP in both directions through two
 * `p2psip up --media relay` peers of one overlay, for 60 s of media. The caller SIPp (UAC, user alice)
 * is registered at peer A and sends its INVITEs there; the callee SIPp (UAS, user bob) is registered at
 * peer B. Each SIPp streams G.711 (rtp_stream: 172-byte RTP packets, 20 ms, one SSRC per call) to the
 * relay port of the SDP its peer rewrote, so every packet crosses two relays: phone → A's phone-facing
 * port → (A–B ICE path) → B's phone-facing port → phone.
 *
 * Asserted: 0 failed calls on both SIPps; RTP seen entering and leaving the relay path in both
 * directions with mid-call loss < 0.1 % (capture; a packet still inside the relays 2 s after it entered counts as lost, a later one is only delay) and whole-run loss within the bound below (the peers'
 * counters); every relay port released at the end (media.portsInUse 0 on both peers, and per `ss -uanp`
 * no UDP socket left in either --media-ports range but the relay's trunk port and the pairs it keeps
 * bound ready for the next calls, media.ports.ready). Measured and reported, not asserted: the added one-way
 * delay per relay hop (median and p99, from a 10 s loopback capture matched by SSRC and sequence
 * number), and the peers' memory per relayed call (RSS before, during, after).
 *
 * Whole-run loss bound: the peers count packets from and to the phones over the whole call, so the
 * edges of a call count too: the UAS keeps streaming until the BYE reaches it, while the relays may
 * already have released the call's ports — at most about one 20 ms packet per direction and call.
 * Allowed: 0.1 % of what the phones sent (the loopback target) + 2 packets per call.
 *
 * @test-lane alone (a load measured against a bound (loss, failed calls))
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withScope } from '../../harness/process-scope.js';
import { P2PSIP_CLI, scenario } from '../../harness/paths.js';
import { requireTools } from '../../harness/require-tools.js';
import { startP2psip } from '../../harness/sip-server.js';
import type { SipServer } from '../../harness/sip-server.js';
import { waitJoined } from '../../harness/overlay-peers.js';
import { assertAllCallsPassed, assertUasCalls, runSipp, startSipp, writeInjectionFile } from '../../harness/sipp-runner.js';
import { droppedPackets, findInTree, idleRelaySockets, peerStatus, rssBytes, udpDropsInRange, udpSocketsInRange, untilMedia } from '../../harness/rtp-relay-status.js';
import type { MediaStatus } from '../../harness/rtp-relay-status.js';
import { captureWindow, pathFilter, pathStats, rtpSightings } from '../../harness/rtp-hop-delay.js';
import type { PathSpec } from '../../harness/rtp-hop-delay.js';

const CALLS = 200;
const CALL_RATE = 40;
const MEDIA_MS = 60_000;
const CAPTURE_S = 10;
/** A packet that entered the relay path counts as lost only when it has not left it this long after (the last seconds of the capture are not judged): a delay is reported, never counted as loss. */
const LATE_S = 2;
const TEST_TIMEOUT_MS = 240_000;
/** Phone-facing relay ports of peer A and B: below the harness's port ranges, apart from the benchmark's. */
const PORTS_A: readonly [number, number] = [19000, 19499];
const PORTS_B: readonly [number, number] = [19500, 19999];
const MAX_LOSS = 0.001;
const OVERLAY = `media${process.pid}.test`;

test(`media relay under load: ${CALLS} concurrent SIPp calls with RTP through two --media relay peers for ${MEDIA_MS / 1000} s`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
  if (!requireTools(t, ['sipp', 'tshark', 'dumpcap', 'ss'])) return;
  const help = execFileSync(process.execPath, [P2PSIP_CLI, 'up', '--help'], { encoding: 'utf8', timeout: 20_000 });
  assert.match(help, /--media\b/, '`p2psip up --help` lists --media (the media relay, issue 13): build first');

  await withScope(async (scope) => {
    const started = Date.now();
    const dir = scope.tempDir('p2psip-media-load-');
    writeFileSync(join(dir, 'media-load.pcmu'), randomBytes(8000)); // 1 s of PCMU, looped by rtp_stream

    // 1. Two peers of one overlay, both relaying media.
    const linkPort = await scope.port();
    const peer = (own: readonly string[], ports: readonly [number, number]): Promise<SipServer> =>
      startP2psip(scope, {
        lifetimeMs: TEST_TIMEOUT_MS,
        logLevel: 'warn',
        readyTimeoutMs: 60_000,
        extraArgs: ['--overlay', OVERLAY, ...own, '--media', 'relay', '--media-ports', `${ports[0]}-${ports[1]}`, '--media-timeout', '30'],
      });
    const a = await peer(['--listen', `127.0.0.1:${linkPort}`], PORTS_A);
    const b = await peer(['--bootstrap', `127.0.0.1:${linkPort}`], PORTS_B);
    await waitJoined([a, b], 2, 60_000);
    const pids = [a, b].map((s) => findInTree(s.process.pid, /main\.js/));
    assert.ok(pids.every((p) => p !== undefined), 'found both peer processes under their timeout wrappers');
    const httpA = a.httpPort ?? 0;
    const httpB = b.httpPort ?? 0;

    // 2. alice at A (the UAC), bob at B (the UAS).
    const [uacPort, uasPort, regA, regB] = [await scope.port(), await scope.port(), await scope.port(), await scope.port()];
    const mediaA = await scope.port({ span: 4 });
    const mediaB = await scope.port({ span: 4 });
    const register = async (name: string, user: string, at: SipServer, regPort: number, contactPort: number): Promise<void> => {
      const file = join(dir, `${name}.csv`);
      writeInjectionFile(file, [[user]]);
      const r = await runSipp(scope, {
        name, scenario: scenario('overlay-register.xml'), workDir: dir, localPort: regPort, remote: { host: '127.0.0.1', port: at.port },
        calls: 1, timeoutS: 30, recvTimeoutMs: 15_000, injectionFile: file, keys: { domain: OVERLAY, contact_host: '127.0.0.1', contact_port: String(contactPort) },
      });
      assertAllCallsPassed(t, r, 1);
    };
    await register('register-alice', 'alice', a, regA, uacPort);
    await register('register-bob', 'bob', b, regB, uasPort);

    const rss = (): (number | undefined)[] => pids.map((p) => (p === undefined ? undefined : rssBytes(p)));
    const rssBefore = rss();
    // kernel drops at each relay's trunk socket (the range's first port: frames between the two peers)
    const trunkDrops = (): number[] => [udpDropsInRange(PORTS_A[0], PORTS_A[0], pids[0]), udpDropsInRange(PORTS_B[0], PORTS_B[0], pids[1])];
    const trunkBefore = trunkDrops();
    const before = await Promise.all([peerStatus(httpA), peerStatus(httpB)]);

    // 3. The calls: every SIPp call streams for MEDIA_MS, both ways.
    const uas = startSipp(scope, {
      name: 'uas', scenario: scenario('media-uas.xml'), workDir: dir, localPort: uasPort, calls: CALLS,
      timeoutS: 170, recvTimeoutMs: MEDIA_MS + 30_000, extraArgs: ['-mi', '127.0.0.1', '-mp', String(mediaB)],
    });
    const calls = join(dir, 'calls.csv');
    writeInjectionFile(calls, [['bob', 'alice']]);
    const callStart = Date.now();
    const uacRun = startSipp(scope, {
      name: 'uac', scenario: scenario('media-uac.xml'), workDir: dir, localPort: uacPort, remote: { host: '127.0.0.1', port: a.port },
      calls: CALLS, rate: CALL_RATE, maxConcurrent: CALLS, timeoutS: 160, recvTimeoutMs: 20_000, injectionFile: calls,
      keys: { domain: OVERLAY }, extraArgs: ['-mi', '127.0.0.1', '-mp', String(mediaA), '-d', String(MEDIA_MS)],
    });

    // 4. All calls up at both peers, then a capture window of the four RTP legs.
    const allUp = (m: MediaStatus | undefined): boolean => (m?.activeSessions ?? 0) >= CALLS;
    const upA = await untilMedia(httpA, allUp, 40_000);
    const upB = await untilMedia(httpB, allUp, 10_000);
    const trunkAllUp = trunkDrops();
    t.diagnostic(`active sessions ${upA.media?.activeSessions}/${upB.media?.activeSessions} after ${((Date.now() - callStart) / 1000).toFixed(1)} s`);
    const paths: PathSpec[] = [
      { name: 'alice→bob', entry: { src: [mediaA, mediaA], dst: PORTS_A }, exit: { src: PORTS_B, dst: [mediaB, mediaB] } },
      { name: 'bob→alice', entry: { src: [mediaB, mediaB], dst: PORTS_B }, exit: { src: PORTS_A, dst: [mediaA, mediaA] } },
    ];
    const pcap = join(dir, 'rtp.pcapng');
    await new Promise((r) => setTimeout(r, 2000));
    const cap = captureWindow(scope, { file: pcap, filter: pathFilter(paths, [PORTS_A[0], PORTS_B[0]]), durationS: CAPTURE_S, maxPackets: 4 * CALLS * 50 * (CAPTURE_S + 5) });
    await cap.started;
    await new Promise((r) => setTimeout(r, (CAPTURE_S * 1000) / 2));
    const rssDuring = rss();
    const phonePortDropsDuring = [udpDropsInRange(PORTS_A[0] + 1, PORTS_A[1], pids[0]), udpDropsInRange(PORTS_B[0] + 1, PORTS_B[1], pids[1])];
    const during = await Promise.all([peerStatus(httpA), peerStatus(httpB)]);
    const capture = await cap.done;
    const trunkAfterCapture = trunkDrops();

    // 5. The calls end by themselves (BYE after MEDIA_MS): none may fail.
    const uac = await uacRun.done;
    // the UAS ends with the last BYE; if calls failed it would wait for them until its own timeout
    let uasTimer: NodeJS.Timeout | undefined;
    const uasResult = await Promise.race([uas.done, new Promise<void>((r) => (uasTimer = setTimeout(r, 15_000))).then(() => uas.stop())]);
    clearTimeout(uasTimer);
    const trunkCallsDone = trunkDrops();
    const callWallS = (Date.now() - callStart) / 1000;
    assertAllCallsPassed(t, uac, CALLS);
    assertUasCalls(t, uasResult, CALLS, true);

    // 6. Every relay port released: the counters, then the sockets themselves.
    const idle = (m: MediaStatus | undefined): boolean => m?.portsInUse === 0 && (m.activeSessions ?? 0) === 0;
    const after = [await untilMedia(httpA, idle, 20_000), await untilMedia(httpB, idle, 20_000)];
    // a relay keeps its trunk port and a few pairs ready for the next calls bound: no more may be left
    const sockets = [udpSocketsInRange(PORTS_A[0], PORTS_A[1], pids[0]), udpSocketsInRange(PORTS_B[0], PORTS_B[1], pids[1])];
    const idleSockets = after.map((s) => idleRelaySockets(s.media));
    const rssAfter = rss();
    const trunkLost = trunkDrops().map((d, i) => d - (trunkBefore[i] ?? 0));

    // 7. The capture, matched by SSRC and sequence number.
    const analysisStart = Date.now();
    const stats = pathStats(await rtpSightings(scope, pcap, [PORTS_A, PORTS_B]), paths, 200_000, LATE_S * 1_000_000);
    const analysisS = (Date.now() - analysisStart) / 1000;

    // 8. Report.
    const pk = (s: { media: MediaStatus | undefined }): { fromPhones: number; toPhones: number; fromPeers: number; toPeers: number; dropped: number } => ({
      fromPhones: s.media?.packets?.fromPhones ?? 0, toPhones: s.media?.packets?.toPhones ?? 0, fromPeers: s.media?.packets?.fromPeers ?? 0,
      toPeers: s.media?.packets?.toPeers ?? 0, dropped: droppedPackets(s.media),
    });
    const delta = (i: number): ReturnType<typeof pk> => {
      const x = pk(after[i] as { media: MediaStatus | undefined });
      const y = pk(before[i] as { media: MediaStatus | undefined });
      return { fromPhones: x.fromPhones - y.fromPhones, toPhones: x.toPhones - y.toPhones, fromPeers: x.fromPeers - y.fromPeers, toPeers: x.toPeers - y.toPeers, dropped: x.dropped - y.dropped };
    };
    const [pa, pb] = [delta(0), delta(1)];
    const fromPhones = pa.fromPhones + pb.fromPhones;
    const toPhones = pa.toPhones + pb.toPhones;
    const counterLost = fromPhones - toPhones;
    const mb = (v: number | undefined): string => (v === undefined ? '?' : (v / 1048576).toFixed(1));
    const perCall = (i: number): string => {
      const d = rssDuring[i];
      const bf = rssBefore[i];
      return d === undefined || bf === undefined ? '?' : `${((d - bf) / CALLS / 1024).toFixed(1)} KiB`;
    };
    const us = (v: number): string => (Number.isFinite(v) ? v.toFixed(0) : '–');
    const lines = [
      `| measure | alice→bob | bob→alice |`,
      `|---|---:|---:|`,
      `| RTP entering / leaving the relay path (capture, ${CAPTURE_S} s, mid-call; entries of its last ${LATE_S} s not judged) | ${stats.map((s) => `${s.entered} / ${s.matched}`).join(' | ')} |`,
      `| lost (capture) | ${stats.map((s) => `${s.lost} (${(s.lossRatio * 100).toFixed(4)} %)`).join(' | ')} |`,
      `| two-hop delay p50 / p90 / p99 / max µs | ${stats.map((s) => `${us(s.delayUs.p50)} / ${us(s.delayUs.p90)} / ${us(s.delayUs.p99)} / ${us(s.delayUs.max)}`).join(' | ')} |`,
      `| **added delay per relay hop** p50 / p99 µs (two-hop ÷ 2) | ${stats.map((s) => `**${us(s.delayUs.p50 / 2)} / ${us(s.delayUs.p99 / 2)}**`).join(' | ')} |`,
      `| streams seen (SSRCs) | ${stats.map((s) => s.streams).join(' | ')} |`,
      `| lost packets sent elsewhere by the relay (dst port: packets) | ${stats.map((s) => `${s.strayed}${s.strayDestinations.length === 0 ? '' : ` (${s.strayDestinations.map((d) => `${d.dst}: ${d.packets}`).join(', ')})`}`).join(' | ')} |`,
      `| streams with loss (SSRC lost/entered) | ${stats.map((s) => s.lossByStream.map((x) => `${x.ssrc} ${x.lost}/${x.entered}`).join(', ') || '–').join(' | ')} |`,
      ``,
      `| measure | peer A | peer B |`,
      `|---|---:|---:|`,
      `| packets from phones / to phones | ${pa.fromPhones} / ${pa.toPhones} | ${pb.fromPhones} / ${pb.toPhones} |`,
      `| packets from peers / to peers | ${pa.fromPeers} / ${pa.toPeers} | ${pb.fromPeers} / ${pb.toPeers} |`,
      `| frames to the other peer sent in bundles (bundles, frames a bundle on average) | ${[after[0], after[1]].map((x) => bundleLine(x?.media)).join(' | ')} |`,
      `| dropped (relay's own counter) | ${pa.dropped} | ${pb.dropped} |`,
      `| kernel drops at the trunk socket (receive buffer full) | ${trunkLost[0]} | ${trunkLost[1]} |`,
      `| … of which during set-up (until all ${CALLS} up) / mid-call (until the capture ended) / rest of the calls / hang-up | ` +
        [0, 1].map((i) => [trunkAllUp, trunkAfterCapture, trunkCallsDone].map((x, k, all) => (x[i] ?? 0) - ((k === 0 ? trunkBefore : all[k - 1])?.[i] ?? 0)).concat([(trunkLost[i] ?? 0) - ((trunkCallsDone[i] ?? 0) - (trunkBefore[i] ?? 0))]).join(' / ')).join(' | ') + ' |',
      `| kernel drops at phone-facing sockets (mid-run, cumulative) | ${phonePortDropsDuring[0]} | ${phonePortDropsDuring[1]} |`,
      `| RSS before / during / after (MiB) | ${mb(rssBefore[0])} / ${mb(rssDuring[0])} / ${mb(rssAfter[0])} | ${mb(rssBefore[1])} / ${mb(rssDuring[1])} / ${mb(rssAfter[1])} |`,
      `| RSS per relayed call (during − before) / ${CALLS} | ${perCall(0)} | ${perCall(1)} |`,
      `| active sessions / ports in use, mid-run | ${during[0]?.media?.activeSessions} / ${during[0]?.media?.portsInUse} | ${during[1]?.media?.activeSessions} / ${during[1]?.media?.portsInUse} |`,
      `| ports in use after the calls | ${after[0]?.media?.portsInUse} | ${after[1]?.media?.portsInUse} |`,
      ``,
      `whole run: phones → relays ${fromPhones}, relays → phones ${toPhones}, ` +
        `lost ${counterLost} (${fromPhones === 0 ? '–' : ((counterLost / fromPhones) * 100).toFixed(4)} %); ${CALLS} calls in ${callWallS.toFixed(1)} s; ` +
        `capture: ${capture.captured} packets, ${capture.dropped} dropped by the capture; analysis ${analysisS.toFixed(1)} s; ` +
        `UDP sockets bound in ${PORTS_A.join('-')} / ${PORTS_B.join('-')} after the calls: ${sockets[0]?.length} / ${sockets[1]?.length} ` +
        `(trunk + ready pool: ${idleSockets.join(' / ')}); whole test ${((Date.now() - started) / 1000).toFixed(0)} s`,
    ];
    lines.push(`media status after the calls: A ${JSON.stringify(after[0]?.media?.packets)} ${JSON.stringify(after[0]?.media?.refused ?? {})}; B ${JSON.stringify(after[1]?.media?.packets)} ${JSON.stringify(after[1]?.media?.refused ?? {})}`);
    for (const line of lines) t.diagnostic(line);
    process.stdout.write(`\n${lines.join('\n')}\n\n`);

    // 9. Assertions.
    for (const i of [0, 1]) {
      assert.ok((sockets[i]?.length ?? 0) <= (idleSockets[i] ?? 0), `peer ${'AB'[i]}: ${sockets[i]?.length} UDP sockets left in its port range (ss -uanp), only its trunk and ready pool (${idleSockets[i]}) may stay`);
    }
    for (const [i, s] of after.entries()) {
      assert.equal(s.media?.portsInUse, 0, `peer ${'AB'[i]}: media.portsInUse back to 0 (${JSON.stringify(s.media)})`);
      assert.equal(s.media?.activeSessions ?? 0, 0, `peer ${'AB'[i]}: no media session left`);
    }
    for (const s of stats) {
      assert.ok(s.entered >= CALLS * 50 * (CAPTURE_S - 1 - LATE_S) * 0.9, `${s.name}: RTP entered the relay path in the capture (${s.entered} packets)`);
      assert.ok(s.streams >= CALLS * 0.95, `${s.name}: the capture saw the streams of (nearly) every call (${s.streams})`);
      if (capture.dropped === 0) assert.ok(s.lossRatio < MAX_LOSS, `${s.name}: mid-call loss ${(s.lossRatio * 100).toFixed(4)} % < ${MAX_LOSS * 100} %`);
    }
    assert.ok(fromPhones > 0, `the peers counted RTP from the phones (${JSON.stringify({ pa, pb })})`);
    const allowed = Math.ceil(MAX_LOSS * fromPhones) + 2 * CALLS;
    assert.ok(counterLost <= allowed, `whole-run loss ${counterLost} packets ≤ ${allowed} (0.1 % + 2 per call); kernel drops at the trunk sockets A ${trunkLost[0]}, B ${trunkLost[1]}`);
  });
});

/** How much of what a relay sent to the other peer went in bundles. */
function bundleLine(m: MediaStatus | undefined): string {
  const b = m?.bundles;
  const toPeers = m?.packets?.toPeers ?? 0;
  if (b?.out === undefined || b.framesOut === undefined || toPeers === 0) return '–';
  return `${((100 * b.framesOut) / toPeers).toFixed(1)} % (${b.out}, ${b.out === 0 ? '–' : (b.framesOut / b.out).toFixed(1)})`;
}
