/**
 * Issue 16, voicemail with real softphones: three `p2psip up` peers (the built CLI) of a CLOSED overlay
 * (users alice and bob added through the API; every REGISTER, INVITE and SUBSCRIBE of the phones is
 * challenged and answered with digest), on loopback, with the media relay's ports (voicemail takes
 * its RTP port pairs there).
 *
 * 1. alice (baresip at peer A) calls bob, who is registered nowhere: A's voicemail answers (404 from
 *    the overlay → voicemail), plays its greeting and beep; alice's microphone is a wav file — a
 *    spoken sentence (espeak-ng, 8 kHz) after 3 s of silence — and baresip hangs up when it ends,
 *    so the message is recorded until that BYE and stored in the overlay.
 * 2. bob (baresip with the `mwi` module, `;mwi=yes`) registers at peer B: he is told that a message
 *    waits — B's message-summary NOTIFY of his subscription reaches baresip, which reports it as its
 *    MWI_NOTIFY event with the body (Messages-Waiting: yes, Voice-Message: 1/0). B sends no unsolicited
 *    NOTIFY besides (it waits 2 s after a REGISTER and skips subscribed users): baresip answered those 481
 *    (libre's sipevent takes only NOTIFYs of its own subscriptions) — checked in the capture.
 * 3. bob calls the voicemail number, sip:*98@p2psip.local, at B: B fetches the message from the overlay and plays it;
 *    baresip's sndfile dump of what it decoded must contain alice's sentence (harness/audio-check.ts,
 *    the threshold of nat-media.test.ts, see AUDIO_MATCH_THRESHOLD) and not an unrelated one. No key
 *    is pressed: the mailbox plays the count, the message, "end of messages", waits, says goodbye
 *    and hangs up (its BYE ends the call). A second call: bob presses 9 (baresip's `sndcode`, an
 *    RFC 4733 event) at once: goodbye and the BYE within a second, the message kept.
 * 4. B's API lists the message (from alice), serves it as a WAV that contains the sentence too (and
 *    that bob's recording contains), refuses a DELETE without the token (401) and one at peer C —
 *    neither the message's writer (A) nor where bob proved his password (B) — with 403, deletes it
 *    with the token at B; then no peer lists it, and bob's subscription gets Messages-Waiting: no.
 *
 * tshark captures the SIP ports on lo; Wireshark's SIP dissector must find nothing malformed. Timings
 * (answer, recording stored, MWI after registering, mailbox call, key → BYE) and the scores are
 * printed as diagnostics.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareAudio, parseWav, readWav } from '../../harness/audio-check.js';
import type { AudioComparison, PcmAudio } from '../../harness/audio-check.js';
import { withScope, type ProcessScope } from '../../harness/process-scope.js';
import { requireTools } from '../../harness/require-tools.js';
import { padded, speech, TEST_AUDIO_RATE } from './helpers/test-audio.js';
import { startSipCaptureCheck } from './helpers/sip-capture-check.js';
import { tsharkLines, decodeAsSip } from './helpers/tshark.js';
import { AudioBaresip, apiToken, apiUrl, startVoicemailPeers, voicemailStatus, VM_OVERLAY, type VoicemailPeer } from './helpers/voicemail-rig.js';

/**
 * The score (median segment NCC, harness/audio-check.ts) a recording must reach to contain the
 * sentence — the threshold of nat-media.test.ts, for the same reasons: a G.711 copy scores ≈ 0.9999
 * (µ-law keeps ~38 dB SNR on speech; here the audio crosses µ-law once — baresip encodes, the
 * voicemail keeps the µ-law bytes and plays them back — the sox self-check there measured 0.9999),
 * a lost packet or a jitter-buffer slip costs only the segments holding it (the median ignores them),
 * while unrelated sentences of the same synthetic voice scored 0.06–0.35 there. 0.6 lies far from
 * both; every comparison here also checks an unrelated sentence, which must stay below it.
 */
const AUDIO_MATCH_THRESHOLD = 0.6;
/** Voiced segments of the sentence the recording must cover (inside it at the found delay). */
const MIN_COVERAGE = 0.9;

const TEST_TIMEOUT_MS = 240_000;
const STEP_MS = 20_000;
/** The mailbox without a key: count, "message follows", message, 4 s wait, "end of messages", 10 s wait, goodbye. */
const RETRIEVAL_LIMIT_MS = 60_000;
const USERS = { alice: 'alice-secret', bob: 'bob-secret' } as const;

const MESSAGE = 'Hello Bob, this is Alice. Please call me back about the concert tickets tonight.';
const UNRELATED = 'A cold wind blew across the empty harbour all night long.';

const describeMatch = (c: AudioComparison): string =>
  `score ${c.score.toFixed(4)} (${c.segments.length} segments, coverage ${(c.coverage * 100).toFixed(0)} %, min ${c.segments.length === 0 ? '-' : Math.min(...c.segments.map((s) => s.ncc)).toFixed(3)}), ` +
  `found at ${(c.global.lagMs / 1000).toFixed(2)} s, whole-signal NCC ${c.global.ncc.toFixed(4)}`;

/** A 16-bit PCM mono wav of `seconds` of silence at 8 kHz (bob's microphone). */
function silenceWav(file: string, seconds: number): string {
  const n = seconds * TEST_AUDIO_RATE;
  const b = Buffer.alloc(44 + n * 2);
  b.write('RIFF', 0);
  b.writeUInt32LE(36 + n * 2, 4);
  b.write('WAVEfmt ', 8);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(TEST_AUDIO_RATE, 24);
  b.writeUInt32LE(TEST_AUDIO_RATE * 2, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36);
  b.writeUInt32LE(n * 2, 40);
  writeFileSync(file, b);
  return file;
}

interface PhonePorts {
  readonly sipPort: number;
  readonly ctrlPort: number;
  readonly consPort: number;
  readonly rtpPorts: readonly [number, number];
}

async function phonePorts(scope: ProcessScope): Promise<PhonePorts> {
  const rtp = await scope.port({ span: 8 });
  return { sipPort: await scope.port({ span: 2 }), ctrlPort: await scope.port(), consPort: await scope.port(), rtpPorts: [rtp, rtp + 7] };
}

function phone(scope: ProcessScope, dir: string, user: keyof typeof USERS, ports: PhonePorts, peer: VoicemailPeer, source: string, mwi: boolean): Promise<AudioBaresip> {
  const d = join(dir, user);
  mkdirSync(d, { recursive: true });
  return AudioBaresip.start(scope, { user, dir: d, ...ports, proxyPort: peer.port, domain: VM_OVERLAY, password: USERS[user], source, mwi, lifetimeMs: TEST_TIMEOUT_MS });
}

interface Listed {
  readonly aor: string;
  readonly voicemails: Array<{ id: string; from: string; date: string; durationMs: number; bytes: number }>;
}

async function list(peer: VoicemailPeer, user: string): Promise<Listed> {
  // a user's voicemail is read with the API token too (api-guard.ts: personal data, even on loopback)
  const res = await fetch(apiUrl(peer, `/api/voicemail?user=${user}`), { headers: { authorization: `Bearer ${apiToken(peer)}` }, signal: AbortSignal.timeout(10_000) });
  assert.equal(res.status, 200, `GET /api/voicemail?user=${user} at ${peer.name}: ${res.status} ${res.status === 200 ? '' : await res.text()}`);
  return (await res.json()) as Listed;
}

async function del(peer: VoicemailPeer, user: string, id: string, token: string | undefined): Promise<{ status: number; body: string }> {
  const res = await fetch(apiUrl(peer, `/api/voicemail/${user}/${id}`), {
    method: 'DELETE',
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: await res.text() };
}

/** The body of an MWI_NOTIFY event (baresip: the NOTIFY's body as `param`). */
const mwiBody = (e: { readonly [key: string]: unknown }): string => String(e['param'] ?? '');

/** Polls `f` until it returns true or `what` (bounded), returning the ms it took. */
async function until(what: string, timeoutMs: number, f: () => Promise<true | string>): Promise<number> {
  const t0 = Date.now();
  let last = '';
  for (;;) {
    const r = await f();
    if (r === true) return Date.now() - t0;
    last = r;
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms (${last})`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

test('voicemail with baresip: a message left at one peer, waiting (MWI), heard and managed at another', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  if (!requireTools(t, ['baresip', 'sox', 'espeak-ng'])) return;
  await withScope(async (scope) => {
    const t0 = Date.now();
    const at = (): string => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
    const dir = scope.tempDir('p2psip-vm-phones-');
    const sentenceFile = speech(dir, 'message', MESSAGE);
    const sentence = readWav(sentenceFile);
    const unrelated = readWav(speech(dir, 'unrelated', UNRELATED));
    // 3 s of silence first: the greeting (1.05 s) and the beep (0.6 s) play before the recording starts
    const aliceSource = padded(sentenceFile, join(dir, 'alice-microphone.wav'), 3, 1.5);
    const sourceMs = (readWav(aliceSource).samples.length / TEST_AUDIO_RATE) * 1000;
    // bob says nothing; the file outlasts the mailbox call (the voicemail hangs up)
    const bobSource = silenceWav(join(dir, 'bob-microphone.wav'), 120);
    t.diagnostic(`the message: "${MESSAGE}" (${(sentence.samples.length / TEST_AUDIO_RATE).toFixed(2)} s; alice's file ${(sourceMs / 1000).toFixed(2)} s)`);

    const peers = await startVoicemailPeers(scope, 3, USERS, TEST_TIMEOUT_MS);
    const [a, b, c] = [peers[0]!, peers[1]!, peers[2]!];
    t.diagnostic(`peers A (SIP ${a.port}), B (SIP ${b.port}) and C joined, users alice and bob added, at ${at()}`);
    assert.ok((await voicemailStatus(a)) !== null, 'peer A runs voicemail (/api/status services.voicemail)');
    assert.ok((await voicemailStatus(b)) !== null, 'peer B runs voicemail');

    const alicePorts = await phonePorts(scope);
    const bobPorts = await phonePorts(scope);
    const capture = await startSipCaptureCheck(t, scope, { dir, name: 'voicemail-sip', ports: [a.port, b.port, alicePorts.sipPort, bobPorts.sipPort], lifetimeMs: TEST_TIMEOUT_MS });
    const check = async (step: string, f: () => Promise<void>): Promise<void> => {
      try {
        await f();
      } catch (e) {
        for (const p of peers) t.diagnostic(`peer ${p.name} last lines:\n${p.process.tail(30)}`);
        t.diagnostic(`${step} failed; peers' voicemail: A ${JSON.stringify(await voicemailStatus(a).catch(() => null))}, B ${JSON.stringify(await voicemailStatus(b).catch(() => null))}`);
        throw e;
      }
    };

    // 1. alice leaves a message for bob, who is registered nowhere
    const alice = await phone(scope, dir, 'alice', alicePorts, a, aliceSource, false);
    assert.match(await alice.waitRegistered(STEP_MS), /200 OK/, 'alice registered (digest) at A');
    await check('leaving the message', async () => {
      const ev = alice.eventCount();
      const c0 = Date.now();
      const dial = await alice.command('dial', `sip:bob@${VM_OVERLAY}`);
      assert.ok(dial.ok, `baresip dial: ${dial.data}`);
      const est = await alice.waitEvent('CALL_ESTABLISHED', { timeoutMs: STEP_MS, since: ev });
      const answerMs = Date.now() - c0;
      const closed = await alice.waitEvent('CALL_CLOSED', { timeoutMs: sourceMs + STEP_MS, since: ev });
      t.diagnostic(`alice → bob: answered by A's voicemail after ${answerMs} ms (peer ${String(est['peeruri'])}); alice's file ended the call after ${closed.at - est.at} ms (${String(closed['param'] ?? '')}), at ${at()}`);
      const storedMs = await until('A stored the recording', STEP_MS, async () => {
        const s = (await voicemailStatus(a)) as { recorded?: number } | null;
        return (s?.recorded ?? 0) >= 1 ? true : JSON.stringify(s);
      });
      t.diagnostic(`A: recorded and stored ${storedMs} ms after the call closed: ${JSON.stringify(await voicemailStatus(a))}`);
    });
    assert.equal(await alice.quit(), 0, `alice's baresip exit:\n${alice.process.tail()}`);

    // 2. bob registers at B: message waiting
    const r0 = Date.now();
    const bob = await phone(scope, dir, 'bob', bobPorts, b, bobSource, true);
    assert.match(await bob.waitRegistered(STEP_MS), /200 OK/, 'bob registered (digest) at B');
    const regMs = Date.now() - r0;
    let waiting!: Listed['voicemails'][number];
    await check('message waiting', async () => {
      const mwi = await bob.waitEvent('MWI_NOTIFY', { timeoutMs: STEP_MS, where: (e) => /Messages-Waiting:\s*yes/i.test(mwiBody(e)) });
      t.diagnostic(`bob: registered ${regMs} ms after baresip started; MWI_NOTIFY ${mwi.at - r0} ms after start: ${JSON.stringify(mwiBody(mwi))}`);
      assert.match(mwiBody(mwi), /Voice-Message:\s*1\/0/i);
      const listed = await list(b, 'bob');
      t.diagnostic(`B lists: ${JSON.stringify(listed)}`);
      assert.equal(listed.aor, `sip:bob@${VM_OVERLAY}`);
      assert.equal(listed.voicemails.length, 1, 'one voicemail for bob');
      waiting = listed.voicemails[0]!;
      assert.match(waiting.from, /alice/);
      // what was recorded: from the beep to alice's BYE — her file less the greeting and the beep
      assert.ok(waiting.durationMs >= sentence.samples.length / 8 && waiting.durationMs <= sourceMs, `the message lasts ${waiting.durationMs} ms: the sentence (${sentence.samples.length / 8} ms) at least, alice's file (${sourceMs} ms) at most`);
    });

    // 3. bob calls his voicemail at B and listens (no key): the mailbox hangs up at the end
    let heard!: PcmAudio;
    await check('listening to the message', async () => {
      const ev = bob.eventCount();
      const c0 = Date.now();
      const dial = await bob.command('dial', `sip:*98@${VM_OVERLAY}`);
      assert.ok(dial.ok, `baresip dial: ${dial.data}`);
      const est = await bob.waitEvent('CALL_ESTABLISHED', { timeoutMs: STEP_MS, since: ev });
      const answerMs = Date.now() - c0;
      const closed = await bob.waitEvent('CALL_CLOSED', { timeoutMs: RETRIEVAL_LIMIT_MS, since: ev });
      t.diagnostic(`bob → voicemail: answered after ${answerMs} ms; the mailbox hung up after ${closed.at - est.at} ms (${String(closed['param'] ?? '')}), at ${at()}`);
      const rec = bob.recordings().at(-1);
      assert.ok(rec !== undefined, `baresip wrote a decoded-audio dump in ${bob.recordDir}`);
      heard = readWav(rec);
      // baresip's dump holds what it decoded, packet by packet: the mailbox's waits for a key send no RTP
      t.diagnostic(`bob decoded ${(heard.samples.length / heard.sampleRate).toFixed(2)} s of audio in a ${((closed.at - est.at) / 1000).toFixed(2)} s call (no RTP while the mailbox waits for a key)`);
    });
    const inCall = compareAudio(sentence, heard);
    const inCallUnrelated = compareAudio(unrelated, heard);
    t.diagnostic(`bob's recording (${(heard.samples.length / heard.sampleRate).toFixed(2)} s), alice's sentence: ${describeMatch(inCall)}`);
    t.diagnostic(`  an unrelated sentence: ${describeMatch(inCallUnrelated)}`);
    assert.equal(heard.sampleRate, TEST_AUDIO_RATE);
    assert.ok(inCall.score >= AUDIO_MATCH_THRESHOLD, `bob heard alice's message: ${describeMatch(inCall)}`);
    assert.ok(inCall.coverage >= MIN_COVERAGE, `bob's recording covers the message: ${describeMatch(inCall)}`);
    assert.ok(inCallUnrelated.score < AUDIO_MATCH_THRESHOLD, `an unrelated sentence stays below the threshold: ${describeMatch(inCallUnrelated)}`);

    // 3b. again, and bob presses 9 (baresip `sndcode`: an RFC 4733 event): goodbye and hang up at once
    await check('a key', async () => {
      const ev = bob.eventCount();
      const dial = await bob.command('dial', `sip:*98@${VM_OVERLAY}`);
      assert.ok(dial.ok, `baresip dial: ${dial.data}`);
      const est = await bob.waitEvent('CALL_ESTABLISHED', { timeoutMs: STEP_MS, since: ev });
      const sdp = await bob.command('sndcode', '9');
      assert.ok(sdp.ok, `baresip sndcode: ${sdp.data}`);
      const k0 = Date.now();
      const closed = await bob.waitEvent('CALL_CLOSED', { timeoutMs: STEP_MS, since: ev });
      t.diagnostic(`bob → voicemail, key 9 ${k0 - est.at} ms after the answer: the mailbox hung up ${closed.at - k0} ms after the key (${String(closed['param'] ?? '')})`);
      // goodbye (0.45 s) and the BYE; the message (9 s) was not played to its end
      assert.ok(closed.at - k0 < 5_000, `the key ended the call (${closed.at - k0} ms)`);
      assert.equal((await list(b, 'bob')).voicemails.length, 1, 'the message is kept');
    });

    // 4. the API at B: the WAV, then DELETE
    await check('the API', async () => {
      const wavNoToken = await fetch(apiUrl(b, `/api/voicemail/bob/${waiting.id}.wav`), { signal: AbortSignal.timeout(STEP_MS) });
      assert.equal(wavNoToken.status, 401, 'no WAV without the API token');
      const res = await fetch(apiUrl(b, `/api/voicemail/bob/${waiting.id}.wav`), { headers: { authorization: `Bearer ${apiToken(b)}` }, signal: AbortSignal.timeout(STEP_MS) });
      assert.equal(res.status, 200, `GET …/${waiting.id}.wav: ${res.status}`);
      assert.equal(res.headers.get('content-type'), 'audio/wav');
      const wav = parseWav(Buffer.from(await res.arrayBuffer()), 'the downloaded voicemail');
      const file = compareAudio(sentence, wav);
      const fileUnrelated = compareAudio(unrelated, wav);
      const fileInCall = compareAudio(wav, heard);
      t.diagnostic(`downloaded WAV (${(wav.samples.length / wav.sampleRate).toFixed(2)} s, ${wav.sampleRate} Hz), alice's sentence: ${describeMatch(file)}`);
      t.diagnostic(`  an unrelated sentence: ${describeMatch(fileUnrelated)}; the WAV in bob's recording: ${describeMatch(fileInCall)}`);
      assert.equal(wav.sampleRate, 8000);
      assert.ok(Math.abs((wav.samples.length / 8) - waiting.durationMs) <= 20, `the WAV lasts the listed ${waiting.durationMs} ms`);
      assert.ok(file.score >= AUDIO_MATCH_THRESHOLD && file.coverage >= MIN_COVERAGE, `the WAV holds alice's message: ${describeMatch(file)}`);
      assert.ok(fileUnrelated.score < AUDIO_MATCH_THRESHOLD, `an unrelated sentence stays below the threshold: ${describeMatch(fileUnrelated)}`);
      assert.ok(fileInCall.score >= AUDIO_MATCH_THRESHOLD, `bob heard the stored message: ${describeMatch(fileInCall)}`);

      const noToken = await del(b, 'bob', waiting.id, undefined);
      t.diagnostic(`DELETE without the token at B: ${noToken.status} ${noToken.body.slice(0, 160)}`);
      assert.equal(noToken.status, 401);
      const elsewhere = await del(c, 'bob', waiting.id, apiToken(c));
      t.diagnostic(`DELETE at C (neither the writer nor where bob registered): ${elsewhere.status} ${elsewhere.body.replace(/\s+/g, ' ').slice(0, 200)}`);
      assert.equal(elsewhere.status, 403);
      assert.equal((await list(b, 'bob')).voicemails.length, 1, 'both refused: still there');
      const ev = bob.eventCount();
      const d0 = Date.now();
      const ok = await del(b, 'bob', waiting.id, apiToken(b));
      t.diagnostic(`DELETE at B with the token: ${ok.status} ${ok.body.replace(/\s+/g, ' ').slice(0, 200)} (${Date.now() - d0} ms)`);
      assert.equal(ok.status, 200);
      assert.deepEqual((await list(b, 'bob')).voicemails, [], 'B lists nothing');
      assert.deepEqual((await list(a, 'bob')).voicemails, [], 'neither does A (the overlay)');
      const again = await del(b, 'bob', waiting.id, apiToken(b));
      assert.equal(again.status, 404, `a second DELETE: ${again.status} ${again.body}`);
      const none = await fetch(apiUrl(b, `/api/voicemail/bob/${waiting.id}.wav`), { headers: { authorization: `Bearer ${apiToken(b)}` }, signal: AbortSignal.timeout(STEP_MS) });
      assert.equal(none.status, 404, 'the WAV is gone');
      const cleared = await bob.waitEvent('MWI_NOTIFY', { timeoutMs: STEP_MS, since: ev, where: (e) => /Messages-Waiting:\s*no/i.test(mwiBody(e)) });
      t.diagnostic(`bob's subscription after the DELETE (${cleared.at - d0} ms): ${JSON.stringify(mwiBody(cleared))}`);
      assert.match(mwiBody(cleared), /Voice-Message:\s*0\/0/i);
    });
    t.diagnostic(`voicemail counters: A ${JSON.stringify(await voicemailStatus(a))}; B ${JSON.stringify(await voicemailStatus(b))}`);
    assert.equal(await bob.quit(), 0, `bob's baresip exit:\n${bob.process.tail()}`);

    // the SIP on the wire: nothing malformed; every SUBSCRIBE / NOTIFY and its answer
    const d = await capture.finish(20);
    if (d !== undefined && capture.file !== undefined) {
      const fields = ['frame.time_relative', 'udp.srcport', 'udp.dstport', 'sip.Request-Line', 'sip.Status-Line', 'sip.Call-ID', 'sip.CSeq', 'sip.Event', 'sip.Subscription-State'];
      const rows = (await tsharkLines(scope, [
        '-r', capture.file, '-n', ...decodeAsSip([a.port, b.port, alicePorts.sipPort, bobPorts.sipPort]),
        '-Y', 'sip.Method == "NOTIFY" || sip.CSeq.method == "NOTIFY" || sip.Method == "SUBSCRIBE" || sip.CSeq.method == "SUBSCRIBE"',
        '-T', 'fields', '-E', 'separator=|', ...fields.flatMap((f) => ['-e', f]),
      ]))
        .map((l) => l.split('|'))
        .filter((r) => r.length === fields.length)
        .map(([time, src, dst, request, status, callId, cseq, event, state]) => ({ time: Number(time), src: Number(src), dst: Number(dst), request: request!, status: status!, callId: callId!, cseq: cseq!, event: event!, state: state! }));
      for (const r of rows) t.diagnostic(`capture ${r.time.toFixed(3)} s ${r.src} → ${r.dst}: ${r.request || r.status} (Call-ID ${r.callId}, CSeq ${r.cseq}${r.event === '' ? '' : `, Event ${r.event}`}${r.state === '' ? '' : `, Subscription-State ${r.state}`})`);
      const notifies = rows.filter((r) => r.request.startsWith('NOTIFY ') && r.dst === bobPorts.sipPort);
      const answerOf = (n: (typeof rows)[number]): string => rows.find((r) => r.callId === n.callId && r.cseq === n.cseq && r.status !== '' && r.time >= n.time)?.status ?? 'none';
      // no unsolicited NOTIFY besides bob's own subscription (baresip 1.0, libre's sipevent, answers a NOTIFY
      // outside its subscriptions 481): B waits 2 s after the REGISTER and sees bob subscribed
      const subscribed = new Set(rows.filter((r) => r.request.startsWith('SUBSCRIBE ')).map((r) => r.callId));
      const unsolicited = notifies.filter((n) => !subscribed.has(n.callId));
      const inSubscription = notifies.filter((n) => subscribed.has(n.callId));
      assert.equal(unsolicited.length, 0, `no unsolicited message-summary NOTIFY to a subscribed phone: ${unsolicited.map((n) => answerOf(n)).join(', ')}`);
      assert.equal(((await voicemailStatus(b).catch(() => null)) as { notifyFailed?: number } | null)?.notifyFailed ?? 0, 0);
      assert.ok(inSubscription.length >= 3, `NOTIFYs of bob's subscription: at its start, after the DELETE, at its end (${inSubscription.length})`);
      for (const n of inSubscription) assert.match(answerOf(n), /^SIP\/2\.0 200 /, `bob answers his subscription's NOTIFYs 200: ${answerOf(n)}`);
      assert.ok(unsolicited.every((n) => n.event === 'message-summary') && inSubscription.every((n) => n.event === 'message-summary'));
    }
  });
});
