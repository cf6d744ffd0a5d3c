/**
 * Issue 13: real audio between unmodified phones, across NATs, through the peers' media relay. In the
 * NAT lab every site has a p2psip peer (`--ice`, default `--media auto`) and phones on its LAN that
 * use it as registrar and outbound proxy; baresip (the caller) plays a spoken sentence from a wav
 * file, linphonec (auto-answer) plays another; each records what it decodes. Then:
 *
 * - the audio: each recording contains the far phone's sentence (harness/audio-check.ts: normalized
 *   cross-correlation per 500 ms segment, the unknown delay searched, median over the voiced
 *   segments) above AUDIO_MATCH_THRESHOLD, while an unrelated sentence (never sent) and the phone's
 *   own sentence (an echo) stay below it;
 * - the packets: RTP and RTCP on each phone's LAN leg, captured on the router's LAN bridge and
 *   decoded by tshark's heuristic dissectors: every stream without sequence gaps, received ≈ sent
 *   (baresip's own counts from rtcpsummary beside them);
 * - the SDP of every SIP message a phone receives is well-formed for tshark and names its own peer
 *   (the relay, a port in --media-ports) — never the far phone's private address — when relayed,
 *   the far phone itself when direct;
 * - the peers' /api/status `media` counters: relayed sessions across NATs, direct ones on one LAN
 *   (the relay untouched: no packet through it).
 *
 *   public:                  boot  peer (bootstrap; TURN for the NATed peers' ICE)
 *   home (port-restricted):  lan1, lan2 peers; lan3 baresip (at lan1), lan4 linphonec (at lan2)
 *   syma / symb (symmetric): sa1 / sb1 peer; sa2 baresip / sb2 linphonec
 *   pr (port-restricted):    pr1 peer; pr2 baresip
 *   fc (full cone):          fc1 peer; fc2 linphonec
 *
 * Without the relay (a `p2psip up` whose --help has no --media) the NAT cases are skipped.
 * P2PSIP_MEDIA_PEER_LOG=debug starts the peers with that --log-level; a failing case prints its peers'
 * last lines.
 *
 * @test-lane namespaces (runs beside the loopback lane: everything it starts is in its own namespaces)
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRoot, missingTools, requireTools } from '../../harness/require-tools.js';
import { ProcessScope, withScope } from '../../harness/process-scope.js';
import { P2PSIP_CLI } from '../../harness/paths.js';
import { NatLab, startLabPeer, LAB_SIP_PORT } from '../../harness/nat-lab/index.js';
import type { LabHost, LabPeer } from '../../harness/nat-lab/index.js';
import { labPeerStatus } from '../../harness/nat-lab/nat-softphone-status.js';
import { alignSignal, compareAudio, parseWav, readWav } from '../../harness/audio-check.js';
import type { AudioComparison, PcmAudio } from '../../harness/audio-check.js';
import { muLawRoundTrip, padded, speech, TEST_AUDIO_RATE } from './helpers/test-audio.js';
import { until } from './helpers/lab-until.js';
import { runMediaCall } from './helpers/media-call.js';
import type { MediaCallResult, MediaCounters } from './helpers/media-call.js';
import { describeRtp } from './helpers/media-capture-check.js';

/**
 * The score (median segment NCC, harness/audio-check.ts) a recording must reach to contain a sentence.
 * Why 0.6:
 * - a copy: G.711 µ-law keeps ~38 dB SNR on speech, NCC = 1/sqrt(1 + 1/SNR) ≈ 0.9999 (the self-check
 *   below measures sox's µ-law round trip: 0.9999). A lost 20 ms packet costs its 500 ms segment at
 *   most ≈ 4 % of its energy (NCC ≥ 0.98); a jitter-buffer slip inside a segment aligns only part of
 *   it (0.78 for linphone's 10 ms slip). The recordings of real calls here scored 0.9999; the median
 *   over the segments ignores the few that hold a slip.
 * - not a copy: unrelated sentences of the same synthetic voice scored medians of 0.06–0.35 (single
 *   segments up to ~0.45): a segment's best chance correlation over ±250 ms of lags is the maximum of
 *   ~4,000 nearly independent ~N(0, 1/N_eff) values, N_eff well below the segment's 4,000 samples for
 *   band-limited voiced speech.
 * 0.6 lies far from both: it fails a recording most of whose voiced segments are garbled, and no
 * unrelated speech came near it (each case also checks an unrelated sentence and the phone's own one).
 */
const AUDIO_MATCH_THRESHOLD = 0.6;
/** Voiced segments of the sentence the recording must cover (inside it at the found delay). */
const MIN_COVERAGE = 0.9;
/** RTP received by a phone / sent by the other, at least (a relay may drop the first packets before both legs are known). */
const MIN_DELIVERED = 0.95;
/** The relay's phone-facing ports (`--media-ports` default). */
const MEDIA_PORTS: readonly [number, number] = [20000, 29999];

const DOMAIN = 'p2psip.local';
const LAB_LIFETIME_MS = 170_000;
const TOOLS = ['ip', 'nft', 'tshark', 'bash', 'baresip', 'linphonec', 'sox', 'espeak-ng'];
const PEER_HOSTS = ['boot', 'lan1', 'lan2', 'sa1', 'sb1', 'pr1', 'fc1'] as const;

const SENTENCE_A = 'The quick brown fox jumps over the lazy dog near the river bank.';
const SENTENCE_B = 'Seven silver spoons were placed beside a yellow teapot.';
const SENTENCE_C = 'A cold wind blew across the empty harbour all night long.';

/** The test audio: A (baresip's, padded: 1 s before, 1.5 s after — the call lasts as long), B (linphonec's), C (never sent). */
interface Sentences {
  readonly a: string;
  readonly aPadded: string;
  readonly b: string;
  readonly c: string;
}

function makeSentences(dir: string): Sentences {
  const a = speech(dir, 'sentence-a', SENTENCE_A);
  return { a, aPadded: padded(a, join(dir, 'sentence-a-padded.wav'), 1, 1.5), b: speech(dir, 'sentence-b', SENTENCE_B), c: speech(dir, 'sentence-c', SENTENCE_C) };
}

const describeMatch = (c: AudioComparison): string =>
  `score ${c.score.toFixed(4)} (${c.segments.length} segments, coverage ${(c.coverage * 100).toFixed(0)} %, min ${c.segments.length === 0 ? '-' : Math.min(...c.segments.map((s) => s.ncc)).toFixed(3)}, ` +
  `drift ${[...new Set(c.segments.map((s) => Math.round(s.driftMs)))].join('/')} ms), whole-signal NCC ${c.global.ncc.toFixed(4)} at ${c.global.lagMs.toFixed(1)} ms`;

test('the audio check finds a sentence through G.711 µ-law, lost packets and a jitter-buffer slip, and not an unrelated one', async (t) => {
  if (!requireTools(t, ['sox', 'espeak-ng'])) return;
  await withScope(async (scope) => {
    const dir = scope.tempDir('p2psip-audio-check-');
    const s = makeSentences(dir);
    const a = readWav(s.a);
    const ulaw = readWav(muLawRoundTrip(s.a, join(dir, 'a-ulaw.wav')));
    const rate = TEST_AUDIO_RATE;
    assert.equal(a.sampleRate, rate);
    // the µ-law copy alone, 370 ms late: the delay found to the sample, NCC ≈ 1
    const late = withSilence(ulaw.samples, 0.37 * rate, 0.5 * rate);
    const exact = alignSignal(a, { sampleRate: rate, samples: late });
    t.diagnostic(`µ-law round trip (sox), 370 ms late: whole-signal NCC ${exact.ncc.toFixed(5)} at ${exact.lagMs} ms over ${exact.lagsSearched} lags`);
    assert.equal(exact.lagSamples, 0.37 * rate);
    assert.ok(exact.ncc > 0.999, `µ-law copy NCC ${exact.ncc}`);
    // what a receiving phone makes of it: three 20 ms packets lost (silence), 10 ms dropped by its jitter buffer at 1.2 s
    const damaged = Float64Array.from(late);
    for (const at of [0.9, 2.1, 3.3]) damaged.fill(0, Math.round((0.37 + at) * rate), Math.round((0.37 + at) * rate) + 160);
    const slipAt = Math.round((0.37 + 1.2) * rate);
    const recording: PcmAudio = { sampleRate: rate, samples: Float64Array.from([...damaged.subarray(0, slipAt), ...damaged.subarray(slipAt + 80)]) };
    const own = compareAudio(a, recording);
    const unrelated = compareAudio(readWav(s.c), recording);
    const other = compareAudio(readWav(s.b), recording);
    t.diagnostic(`sentence A in its damaged µ-law copy: ${describeMatch(own)}`);
    t.diagnostic(`unrelated sentence C in it: ${describeMatch(unrelated)}; sentence B: ${describeMatch(other)}`);
    assert.ok(own.score >= 0.99, `the copy scores ≥ 0.99: ${describeMatch(own)}`);
    assert.ok(own.coverage === 1);
    const drifts = own.segments.map((x) => Math.round(x.driftMs));
    assert.equal(Math.max(...drifts) - Math.min(...drifts), 10, `the slip is seen as a 10 ms drift between the segments before and after it (${drifts.join(', ')})`);
    for (const u of [unrelated, other]) assert.ok(u.score < AUDIO_MATCH_THRESHOLD / 2, `unrelated speech scores < ${AUDIO_MATCH_THRESHOLD / 2}: ${describeMatch(u)}`);
    // silence and a recording shorter than a segment contain nothing
    assert.equal(compareAudio(a, { sampleRate: rate, samples: new Float64Array(5 * rate) }).score, 0);
    assert.equal(compareAudio(a, { sampleRate: rate, samples: ulaw.samples.subarray(0, 100) }).score, 0);
    // a WAV whose data size a killed recorder left at 0 is read to the file's end
    const wav = readFileSync(s.a);
    wav.writeUInt32LE(0, wav.indexOf('data') + 4);
    assert.equal(parseWav(wav).samples.length, a.samples.length);
  });
});

const skipReason = ((): string | false => {
  if (isRoot()) return false;
  const missing = missingTools(TOOLS);
  return `network namespaces need root${missing.length > 0 ? `; missing program(s): ${missing.join(', ')}` : ''}`;
})();

/** Whether the built CLI has the media relay (issue 13): `p2psip up --help` lists --media. */
function cliHasMediaRelay(): boolean {
  try {
    return /--media\b/.test(execFileSync(process.execPath, [P2PSIP_CLI, 'up', '--help'], { encoding: 'utf8', timeout: 20_000 }));
  } catch {
    return false;
  }
}

describe('real audio between phones across NATs through the peers (NAT lab)', { skip: skipReason, timeout: 180_000 }, () => {
  let scope: ProcessScope;
  let lab: NatLab;
  let dir: string;
  let sentences: Sentences;
  const relay = cliHasMediaRelay();
  const peers = new Map<string, LabPeer>();
  const t0 = Date.now();
  const since = (): string => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
  const host = (name: string): LabHost => lab.host(name);

  before(async () => {
    const missing = missingTools(TOOLS);
    if (missing.length > 0) throw new Error(`missing program(s): ${missing.join(', ')} — run .ci/install-interop.sh`);
    scope = new ProcessScope();
    dir = scope.tempDir('p2psip-nat-media-');
    sentences = makeSentences(dir);
    lab = await NatLab.builder(scope)
      .options({ stunHost: false })
      .publicHost('boot')
      .site('home', 'port-restricted', ['lan1', 'lan2', 'lan3', 'lan4'])
      .site('syma', 'symmetric', ['sa1', 'sa2'])
      .site('symb', 'symmetric', ['sb1', 'sb2'])
      .site('pr', 'port-restricted', ['pr1', 'pr2'])
      .site('fc', 'full-cone', ['fc1', 'fc2'])
      .build();
    const logLevel = process.env['P2PSIP_MEDIA_PEER_LOG'];
    const extraArgs = logLevel === undefined || logLevel === '' ? [] : ['--log-level', logLevel];
    const boot = await startLabPeer(host('boot'), { lifetimeMs: LAB_LIFETIME_MS, extraArgs });
    peers.set('boot', boot);
    await Promise.all(
      PEER_HOSTS.filter((n) => n !== 'boot').map(async (n) => {
        peers.set(n, await startLabPeer(host(n), { bootstrap: boot.overlayAddress, lifetimeMs: LAB_LIFETIME_MS, extraArgs }));
      }),
    );
    await until('all peers joined', 60_000, async () => {
      const s = await Promise.all(PEER_HOSTS.map((n) => labPeerStatus(host(n))));
      return s.every((x) => x['state'] === 'joined') ? s : s.map((x, i) => `${PEER_HOSTS[i]}=${String(x['state'])}`).join(' ');
    });
    process.stderr.write(`# nat-media: lab built, ${peers.size} peers joined after ${since()}; media relay in the CLI: ${relay}\n`);
  });

  after(async () => {
    await scope?.dispose();
  });

  /**
   * Runs the call, prints what it showed, checks what every case must show; returns it for the case's
   * own checks. When that fails, the two peers' last output lines follow (P2PSIP_MEDIA_PEER_LOG=debug).
   */
  const call = async (t: { diagnostic(m: string): void }, name: string, caller: [phone: string, peer: string], callee: [phone: string, peer: string]): Promise<MediaCallResult> => {
    try {
      return await checkedCall(t, name, caller, callee);
    } catch (e) {
      for (const p of [caller[1], callee[1]]) t.diagnostic(`peer ${p} last lines:\n${peers.get(p)?.proc.tail(60) ?? ''}`);
      throw e;
    }
  };
  const checkedCall = async (t: { diagnostic(m: string): void }, name: string, caller: [phone: string, peer: string], callee: [phone: string, peer: string]): Promise<MediaCallResult> => {
    const c0 = Date.now();
    const r = await runMediaCall({
      scope, lab, dir: join(dir, name), domain: DOMAIN, sentences,
      caller: { host: host(caller[0]), peer: host(caller[1]) },
      callee: { host: host(callee[0]), peer: host(callee[1]) },
      proxyPort: LAB_SIP_PORT,
    });
    t.diagnostic(`${name}: call set up in ${r.setupMs} ms, lasted ${r.callMs} ms; case ${Date.now() - c0} ms, at ${since()}`);
    t.diagnostic(`linphonec's recording, sentence A (baresip's): ${describeMatch(r.audio.atCallee.sent)}`);
    t.diagnostic(`  unrelated sentence C: ${describeMatch(r.audio.atCallee.unrelated)}; its own sentence B: ${describeMatch(r.audio.atCallee.own)}`);
    t.diagnostic(`baresip's recording, sentence B (linphonec's): ${describeMatch(r.audio.atCaller.sent)}`);
    t.diagnostic(`  unrelated sentence C: ${describeMatch(r.audio.atCaller.unrelated)}; its own sentence A: ${describeMatch(r.audio.atCaller.own)}`);
    t.diagnostic(`baresip rtcpsummary (as of its last RTCP report): sent ${r.baresipRtp.sent}, received ${r.baresipRtp.received}, lost ${r.baresipRtp.lost.join('/')}; ${r.baresipRtp.line}`);
    for (const [leg, d] of r.legs) {
      for (const s of d.rtp) t.diagnostic(`${leg} leg RTP ${describeRtp(s)}`);
      for (const f of d.rtcp) t.diagnostic(`${leg} leg RTCP ${f.src} → ${f.dst}: ${f.packets} packets, types ${[...f.types].map(([k, v]) => `${k}×${v}`).join(' ')}`);
      for (const s of d.sdpToPhones) t.diagnostic(`${leg} leg SDP to ${s.dst} in ${s.message} (frame ${s.frame}): c=${s.connection.join(',')} o=${s.owner.join(',')} m= port ${s.mediaPorts.join(',')}`);
      t.diagnostic(`${leg} leg: ${d.sipFrames} SIP frames; ${d.problems.length} malformed/warned ${d.problems.slice(0, 5).join(' | ')}`);
    }
    t.diagnostic(`RTP caller → callee: sent ${r.rtp.callerToCallee.sent?.packets ?? 0}, received ${r.rtp.callerToCallee.received?.packets ?? 0}; callee → caller: sent ${r.rtp.calleeToCaller.sent?.packets ?? 0}, received ${r.rtp.calleeToCaller.received?.packets ?? 0}`);
    for (const [p, m] of [[caller[1], r.media.caller], [callee[1], r.media.callee]] as const) t.diagnostic(`peer ${p} media: ${describeCounters(m)}`);

    // the audio, both ways
    for (const [what, m] of [['linphonec (callee)', r.audio.atCallee], ['baresip (caller)', r.audio.atCaller]] as const) {
      assert.ok(m.sent.score >= AUDIO_MATCH_THRESHOLD, `${what} recorded the far phone's sentence: ${describeMatch(m.sent)}`);
      assert.ok(m.sent.coverage >= MIN_COVERAGE, `${what}'s recording covers the sentence: ${describeMatch(m.sent)}`);
      assert.ok(m.unrelated.score < AUDIO_MATCH_THRESHOLD, `${what}: an unrelated sentence stays below the threshold: ${describeMatch(m.unrelated)}`);
      assert.ok(m.own.score < AUDIO_MATCH_THRESHOLD, `${what} does not hear itself (echo): ${describeMatch(m.own)}`);
    }
    // the packets on the LAN legs: decoded, no gaps, delivered
    for (const [leg, d] of r.legs) {
      assert.deepEqual(d.problems, [], `${leg} leg: tshark finds nothing malformed in SIP/SDP/RTP/RTCP`);
      for (const s of d.rtp) assert.equal(s.gaps, 0, `${leg} leg: no sequence gaps: ${describeRtp(s)}`);
    }
    for (const [dirn, x] of [['caller → callee', r.rtp.callerToCallee], ['callee → caller', r.rtp.calleeToCaller]] as const) {
      assert.ok(x.sent !== undefined && x.received !== undefined, `${dirn}: an RTP stream leaves the one phone and reaches the other`);
      assert.ok(x.received.packets >= MIN_DELIVERED * x.sent.packets, `${dirn}: ${x.received.packets} of ${x.sent.packets} RTP packets delivered`);
    }
    assert.ok(r.rtcpFrom.caller > 0 && r.rtcpFrom.callee > 0, `both phones' RTCP decoded (caller ${r.rtcpFrom.caller}, callee ${r.rtcpFrom.callee})`);
    assert.ok(r.rtcpTo.caller > 0 && r.rtcpTo.callee > 0, `RTCP reaches both phones (caller ${r.rtcpTo.caller}, callee ${r.rtcpTo.callee})`);
    assert.ok(r.sdpToCaller.length > 0 && r.sdpToCallee.length > 0, 'each phone received SDP (INVITE / 200)');
    // rtcpsummary's counts are those of baresip's last RTCP report (they lag the capture's); its loss count must be 0
    assert.ok(r.baresipRtp.sent > 0 && r.baresipRtp.received > 0, `baresip counted RTP both ways: ${r.baresipRtp.line}`);
    assert.equal(r.baresipRtp.lost[0], 0, `baresip lost no RTP packet: ${r.baresipRtp.line}`);
    return r;
  };

  test('same LAN, two peers, auto: media flows directly between the phones, the relay is not used, audio both ways', async (t) => {
    const r = await call(t, 'same-lan', ['lan3', 'lan1'], ['lan4', 'lan2']);
    const [a, b] = [host('lan3').address, host('lan4').address];
    // direct: each phone's SDP names the other phone, RTP goes phone to phone
    for (const s of r.sdpToCaller) assert.deepEqual(new Set(s.connection), new Set([b]), `SDP to the caller names the callee (${s.message})`);
    for (const s of r.sdpToCallee) assert.deepEqual(new Set(s.connection), new Set([a]), `SDP to the callee names the caller (${s.message})`);
    assert.equal(hostOf(r.rtp.callerToCallee.sent!.dst), b, 'RTP from the caller goes to the callee');
    assert.equal(hostOf(r.rtp.calleeToCaller.sent!.dst), a, 'RTP from the callee goes to the caller');
    if (r.media.caller === undefined || r.media.callee === undefined) {
      t.diagnostic('no `media` in /api/status (no relay in this build): the relay counters are not checked');
      return;
    }
    const direct = (r.media.caller.delta.directSessionsTotal ?? 0) + (r.media.callee.delta.directSessionsTotal ?? 0);
    assert.ok(direct >= 1, 'auto chose direct media (directSessionsTotal counted the call)');
    for (const m of [r.media.caller, r.media.callee]) {
      assert.equal(m.delta.relayedSessionsTotal ?? 0, 0, 'no relayed session');
      assert.equal(m.delta.fromPhones ?? 0, 0, 'no packet from a phone through the relay');
      assert.equal(m.delta.toPhones ?? 0, 0, 'no packet to a phone through the relay');
    }
  });

  const relayed = (name: string, caller: [string, string], callee: [string, string]) => async (t: { diagnostic(m: string): void; skip(m?: string): void }) => {
    if (!relay) {
      t.skip('the built p2psip has no media relay (`p2psip up --help` lists no --media)');
      return;
    }
    const r = await call(t, name, caller, callee);
    const [callerPeer, calleePeer] = [host(caller[1]).address, host(callee[1]).address];
    const [a, b] = [host(caller[0]).address, host(callee[0]).address];
    // each phone's SDP names its own peer's relay port, never the far phone (c=: where media goes; the
    // o= line is the session's identifier, RFC 4566 §5.2 — reported, not judged)
    for (const [who, sdps, own, far] of [['caller', r.sdpToCaller, callerPeer, b], ['callee', r.sdpToCallee, calleePeer, a]] as const) {
      for (const s of sdps) {
        if (s.owner.includes(far)) t.diagnostic(`SDP to the ${who} (${s.message}): o= still names the far phone's private address ${far}`);
        assert.deepEqual(new Set(s.connection), new Set([own]), `SDP to the ${who} (${s.message}) names its peer ${own}, not ${s.connection.join(',')}`);
        assert.ok(!s.connection.includes(far), `SDP to the ${who} does not name the far phone's private address ${far}`);
        for (const p of s.mediaPorts) assert.ok(p >= MEDIA_PORTS[0] && p <= MEDIA_PORTS[1], `SDP to the ${who}: media port ${p} in --media-ports ${MEDIA_PORTS.join('-')}`);
      }
    }
    // RTP between each phone and its own peer
    assert.equal(hostOf(r.rtp.callerToCallee.sent!.dst), callerPeer, "the caller's RTP goes to its peer");
    assert.equal(hostOf(r.rtp.callerToCallee.received!.src), calleePeer, "the callee's RTP comes from its peer");
    assert.equal(hostOf(r.rtp.calleeToCaller.sent!.dst), calleePeer);
    assert.equal(hostOf(r.rtp.calleeToCaller.received!.src), callerPeer);
    // both peers relayed the call
    for (const [p, m] of [[caller[1], r.media.caller], [callee[1], r.media.callee]] as const) {
      assert.ok(m !== undefined, `peer ${p}: /api/status has media`);
      assert.equal(m.mode, 'auto', `peer ${p} runs the default --media auto`);
      assert.ok((m.delta.relayedSessionsTotal ?? 0) >= 1, `peer ${p} relayed the call (auto across NATs): ${describeCounters(m)}`);
      assert.ok((m.delta.fromPhones ?? 0) > 0 && (m.delta.toPhones ?? 0) > 0 && (m.delta.fromPeers ?? 0) > 0 && (m.delta.toPeers ?? 0) > 0, `peer ${p}: packets both ways on both sides: ${describeCounters(m)}`);
    }
    await until('relay sessions closed after the BYE', 10_000, async () => {
      const open = await Promise.all([caller[1], callee[1]].map(async (p) => ((await labPeerStatus(host(p)))['media'] as { activeSessions?: number } | undefined)?.activeSessions ?? 0));
      return open.every((n) => n === 0) ? true : `active sessions ${open.join(', ')}`;
    });
  };

  test('two symmetric NATs: baresip calls linphonec through both peers\' relays, audio both ways', relayed('symmetric', ['sa2', 'sa1'], ['sb2', 'sb1']));
  test('port-restricted ↔ full cone: relayed, audio both ways', relayed('pr-fc', ['pr2', 'pr1'], ['fc2', 'fc1']));
});

function hostOf(addr: string): string {
  return addr.slice(0, addr.lastIndexOf(':'));
}

function describeCounters(m: MediaCounters | undefined): string {
  if (m === undefined) return 'no media in /api/status';
  return `mode ${m.mode}; during the call ${JSON.stringify(m.delta)}; now ${JSON.stringify(m.after)}`;
}

function withSilence(x: Float64Array, before: number, after: number): Float64Array {
  const out = new Float64Array(before + x.length + after);
  out.set(x, before);
  return out;
}
