/**
 * Issue 16 on real sockets in one process: voicemail across peers (an open overlay of three peers).
 * Carol, at A, calls bob, whose phone at B is busy (486): A's voicemail answers, plays its greeting
 * and beep, and records 2 s of a known signal carol sends as PCMU RTP, until her BYE; the recording is
 * stored in the overlay. Bob registers a second phone at B: it gets an unsolicited message-summary
 * NOTIFY (1 new). (An open overlay has no user directory: a call to a name nobody registered stays a
 * 404, so the absent user here is a busy one; the closed overlay's 404 case is the interop test's.) He calls the voicemail number, sip:*98@p2psip.local, at B: B fetches the message from the overlay and plays
 * it; what bob's phone receives matches the signal (cross-correlation). B's API lists it, serves the
 * WAV (the same signal) and deletes it.
 *
 * The same again in an ENROLLED overlay (an enrollment server process; A is carol's peer, B bob's):
 * the voicemail is sealed to bob's certificate at A, the storing peers hold an envelope and
 * ciphertext (checked through the storage API), and only B, enrolled as bob, opens and plays it.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPeer, type RunningPeer } from '../../src/node/run-peer.js';
import { g711Decode, g711Encode } from '../../src/media/voicemail/g711.js';
import { encodeWav } from '../../src/media/voicemail/wav.js';
import { compareAudio, parseWav, type PcmAudio } from '../../harness/audio-check.js';
import type { EnrollServerProcess } from './helpers/enroll-server-process.js';
import { startEnrollment, type Enrollment } from './helpers/enrolled-overlay.js';
import { loopbackPeerConfig } from './helpers/loopback-peer-config.js';
import { until } from './helpers/until.js';
import { SdpPhone } from './helpers/sdp-phone.js';

const OVERLAY = 'p2psip.local';
const quiet = { info: () => {}, warn: () => {} };

/** 2 s of a voice-like test signal at 8 kHz: a gliding tone with a syllable rhythm. */
function testSignal(): Int16Array {
  const out = new Int16Array(16_000);
  let phase = 0;
  for (let i = 0; i < out.length; i++) {
    const t = i / 8000;
    const f = 300 + 500 * (0.5 + 0.5 * Math.sin(2 * Math.PI * 0.7 * t));
    phase += (2 * Math.PI * f) / 8000;
    const envelope = 0.5 + 0.5 * Math.sin(2 * Math.PI * 3 * t);
    out[i] = Math.round(9000 * envelope * Math.sin(phase));
  }
  return out;
}

/** 1.5 s of a greeting: a falling two-tone pattern unlike the message signal. */
function greetingSignal(): Int16Array {
  const out = new Int16Array(12_000);
  for (let i = 0; i < out.length; i++) {
    const t = i / 8000;
    const f = t < 0.75 ? 880 - 400 * t : 500 + 200 * Math.sin(2 * Math.PI * 2 * t);
    out[i] = Math.round(7000 * Math.sin(2 * Math.PI * f * t));
  }
  return out;
}

const pcmAudio = (pcm: Int16Array): PcmAudio => ({ sampleRate: 8000, samples: Float64Array.from(pcm, (x) => x / 32768) });

/** Resolves once `phone` has received RTP and none for `quietMs` (the far end stopped playing). */
async function untilQuiet(phone: SdpPhone, atLeast: number, quietMs: number, limitMs: number): Promise<void> {
  const end = Date.now() + limitMs;
  await phone.waitRtp(atLeast, limitMs);
  for (;;) {
    const n = phone.rtpIn.length;
    await new Promise((r) => setTimeout(r, quietMs));
    if (phone.rtpIn.length === n) return;
    if (Date.now() > end) throw new Error(`RTP still flowing after ${limitMs} ms`);
  }
}

for (const mode of ['open', 'enrolled'] as const)
describe(`voicemail across peers (${mode} overlay): recorded at the caller\'s peer, heard at the callee\'s`, { timeout: 180_000 }, () => {
  const peers: RunningPeer[] = [];
  const dirs: string[] = [];
  const phones: SdpPhone[] = [];
  let server: EnrollServerProcess | undefined;
  let enrollment: Enrollment | undefined;
  after(async () => {
    for (const ph of phones) ph.close();
    for (const p of peers) await p.stop().catch(() => {});
    await server?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /** A peer: in the enrolled overlay enrolled as `user` (carol at A, bob at B, alice at C). */
  async function peer(bootstrap: Array<{ host: string; port: number }>, base: number, user: string, http = false): Promise<RunningPeer> {
    const dataDir = mkdtempSync(join(tmpdir(), 'p2psip-vm-'));
    dirs.push(dataDir);
    const extra = { overlay: OVERLAY, media: { mode: 'auto' as const, range: [base, base + 199] as [number, number], timeoutMs: 60_000 }, ...(http ? { http: { host: '127.0.0.1', port: 0 } } : {}) };
    const e = enrollment;
    const reload =
      e === undefined
        ? { open: true }
        : {
            open: false,
            configSource: e.server.configUrl,
            configCa: readFileSync(e.caFile, 'utf8'),
            credentials: { username: user, password: e.password(user) },
            ...(bootstrap.length === 0 ? { listen: { host: '127.0.0.1', port: e.bootstrapPort } } : {}),
          };
    const p = await startPeer(loopbackPeerConfig(dataDir, bootstrap, extra, reload), quiet);
    peers.push(p);
    return p;
  }
  const udp = (p: RunningPeer): { host: string; port: number } => p.sipAddresses.find((x) => x.protocol === 'udp')!;
  const sdpTarget = (sip: string): { host: string; port: number } => ({ host: /\r\nc=IN IP4 ([0-9.]+)/.exec(sip)![1]!, port: Number(/\r\nm=audio (\d+)/.exec(sip)![1]) });

  test('record at A, message waiting at B, play back at B, list / download / delete through the API', async () => {
    if (mode === 'enrolled') {
      const dir = mkdtempSync(join(tmpdir(), 'p2psip-vm-ca-'));
      dirs.push(dir);
      enrollment = await startEnrollment(dir, OVERLAY, ['carol', 'bob', 'alice']);
      server = enrollment.server;
    }
    const portBase = mode === 'open' ? 16_000 : 16_600;
    const a = await peer([], portBase, 'carol', true);
    const boot = [{ host: a.overlay!.listen!.host, port: a.overlay!.listen!.port }];
    const b = await peer(boot, portBase + 200, 'bob', true);
    await peer(boot, portBase + 400, 'alice');
    await until('joined', 30_000, () => (peers.every((p) => p.overlay!.node.state === 'joined') ? undefined : 'joining'));
    const carol = await SdpPhone.open('carol', udp(a), OVERLAY);
    phones.push(carol);
    assert.match(await carol.register(), /^SIP\/2\.0 200/);

    // bob's phone at B is busy: carol's call goes to voicemail at A (its own SDP and Contact)
    const busyPhone = await SdpPhone.open('bob', udp(b), OVERLAY);
    phones.push(busyPhone);
    assert.match(await busyPhone.register(), /^SIP\/2\.0 200/);
    // bob records his own greeting through B's API (a WAV upload): callers' peers play it
    const greetingApi = `http://${b.http!.host}:${b.http!.port}/api/voicemail/greeting?user=bob`;
    const auth = { authorization: `Bearer ${b.apiToken!.token}` };
    const put = await fetch(greetingApi, { method: 'PUT', headers: { ...auth, 'content-type': 'audio/wav' }, body: encodeWav(greetingSignal(), 8000) });
    assert.equal(put.status, 200, await put.clone().text());
    assert.equal((await fetch(greetingApi, { headers: auth })).status, 200);
    const tooLong = await fetch(greetingApi, { method: 'PUT', headers: auth, body: encodeWav(new Int16Array(8000 * 21), 8000) });
    assert.equal(tooLong.status, 413, 'a greeting over 20 s');
    const ringing = carol.invite('bob', carol.sdp());
    busyPhone.answer(await busyPhone.waitRequest('INVITE', 15_000), 486, 'Busy Here');
    const { final } = await ringing;
    assert.match(final, /^SIP\/2\.0 200/);
    assert.match(final, /\r\nContact: <sip:vm-/);
    carol.inDialog('ACK', final);
    const vmRtp = sdpTarget(final);
    // bob's greeting and the beep come first; the recording starts after them
    await untilQuiet(carol, 50, 400, 20_000);
    const greetingHeard = pcmAudio(g711Decode('pcmu', new Uint8Array(Buffer.concat(carol.rtpIn.map((p) => p.payload)))));
    const greetingScore = compareAudio(pcmAudio(greetingSignal()), greetingHeard);
    console.log(`# ${mode}: bob's own greeting heard by carol: score ${greetingScore.score.toFixed(3)}`);
    assert.ok(greetingScore.score > 0.9, `carol hears bob's recorded greeting (score ${greetingScore.score})`);
    const source = testSignal();
    const codes = g711Encode('pcmu', source);
    for (let i = 0; i * 160 < codes.length; i++) {
      const p = Buffer.alloc(12 + 160);
      p[0] = 0x80;
      p[1] = i === 0 ? 0x80 : 0;
      p.writeUInt16BE(1000 + i, 2);
      p.writeUInt32BE(5000 + i * 160, 4);
      p.writeUInt32BE(0xc0ffee, 8);
      Buffer.from(codes.subarray(i * 160, i * 160 + 160)).copy(p, 12);
      carol.rtp.send(p, vmRtp.port, vmRtp.host);
      await new Promise((r) => setTimeout(r, 20)); // real-time pacing of the media, not a synchronisation
    }
    carol.inDialog('BYE', final);
    assert.match(await carol.sip.waitFor((m) => /^SIP\/2\.0 200/.test(m) && /CSeq: \d+ BYE/.test(m), 10_000, 'the 200 to the BYE'), /^SIP\/2\.0 200/);

    // the recording is stored once the call ended (chunks, then the index): wait until B sees it
    const api = `http://${b.http!.host}:${b.http!.port}/api/voicemail`;
    // a user's voicemail is read with the API token too, even on loopback
    const token = { authorization: `Bearer ${b.apiToken!.token}` };
    assert.equal((await fetch(`${api}?user=bob`)).status, 401);
    await until('the voicemail in the overlay', 20_000, async () => {
      const l = (await (await fetch(`${api}?user=bob`, { headers: token })).json()) as { voicemails?: unknown[] };
      return l.voicemails?.length === 1 ? undefined : JSON.stringify(l);
    });
    if (mode === 'enrolled') {
      // what the storing peers hold: an envelope for the index, ciphertext for the audio; A (carol's peer,
      // which recorded it) cannot list it any more than anyone else but bob
      const storage = `http://${a.http!.host}:${a.http!.port}/api/storage/fetch`;
      const index = (await (await fetch(`${storage}?kind=${0xf0000106}&name=bob@${OVERLAY}`)).json()) as { values: Array<{ exists: boolean; key: string; hex: string; value: string }> };
      const entry = index.values.find((v) => v.exists)!;
      assert.ok(entry.hex.startsWith(Buffer.from('P2SB').toString('hex')), 'the index entry is sealed');
      assert.doesNotMatch(entry.value, /carol/, 'the caller is not readable at the storing peers');
      const chunk = (await (await fetch(`${storage}?kind=${0xf0000107}&name=vm:bob@${OVERLAY}:${entry.key}:3`)).json()) as { values: Array<{ hex: string }> };
      const stored = Buffer.from(chunk.values[0]!.hex, 'hex');
      assert.equal(stored.length, 16 + 12 + 2400 + 16, "a full chunk: writer, IV, 0.3 s of audio, tag");
      // the same 0.3 s as bob's peer opens it (its WAV), against what the storing peer holds
      const wav = parseWav(Buffer.from(await (await fetch(`${api}/bob/${entry.key}.wav`, { headers: token })).arrayBuffer()), 'the WAV at B');
      const plain = g711Encode('pcmu', Int16Array.from(wav.samples.subarray(3 * 2400, 4 * 2400), (x) => Math.round(x * 32768)));
      const cipher = stored.subarray(16 + 12, 16 + 12 + 2400);
      const same = plain.reduce((n, b, i) => n + (b === cipher[i] ? 1 : 0), 0);
      console.log(`# enrolled: ${same} of 2400 bytes of a stored chunk equal the audio bob's peer opens (chance: about 9)`);
      assert.ok(same < 100, `the stored chunk is ciphertext: ${same} of 2400 bytes equal to the audio`);
      const atA = (await (await fetch(`http://${a.http!.host}:${a.http!.port}/api/voicemail?user=bob`, { headers: { authorization: `Bearer ${a.apiToken!.token}` } })).json()) as { voicemails?: unknown[] };
      assert.deepEqual(atA.voicemails, [], 'only a peer enrolled as bob reads his voicemail');
    }
    // bob registers another phone at B: message waiting
    const bob = await SdpPhone.open('bob', udp(b), OVERLAY);
    phones.push(bob);
    assert.match(await bob.register(), /^SIP\/2\.0 200/);
    const mwi = await bob.sip.waitFor((m) => m.startsWith('NOTIFY ') && /Event: message-summary/i.test(m), 20_000, 'a message-summary NOTIFY at bob');
    bob.answer(mwi, 200);
    assert.match(mwi, /Messages-Waiting: yes/i);
    assert.match(mwi, /Voice-Message: 1\/0/i);

    // bob calls his voicemail at B: the message, fetched from the overlay, is played
    const before = bob.rtpIn.length;
    const call = await bob.invite('*98', bob.sdp());
    assert.match(call.final, /^SIP\/2\.0 200/);
    bob.inDialog('ACK', call.final);
    await untilQuiet(bob, before + 100, 1_500, 40_000);
    const heard = Buffer.concat(bob.rtpIn.slice(before).map((p) => p.payload));
    const recording = pcmAudio(g711Decode('pcmu', new Uint8Array(heard)));
    const played = compareAudio(pcmAudio(source), recording);
    console.log(`# voicemail heard at B: score ${played.score.toFixed(3)}, ${(played.fractionAbove * 100).toFixed(0)} % of segments above 0.5, lag ${played.global.lagMs} ms`);
    assert.ok(played.score > 0.9, `the message played matches the signal (score ${played.score})`);
    bob.inDialog('BYE', call.final);

    // the API at B: list, download the WAV (the same signal), delete
    const base = api;
    const listed = (await (await fetch(`${base}?user=bob`, { headers: token })).json()) as { voicemails: Array<{ id: string; from: string; durationMs: number }> };
    assert.equal(listed.voicemails.length, 1);
    const vm = listed.voicemails[0]!;
    assert.match(vm.from, /carol/);
    const wav = await fetch(`${base}/bob/${vm.id}.wav`, { headers: token });
    assert.equal(wav.status, 200);
    assert.equal(wav.headers.get('content-type'), 'audio/wav');
    const file = parseWav(Buffer.from(await wav.arrayBuffer()), 'downloaded voicemail');
    const downloaded = compareAudio(pcmAudio(source), file);
    console.log(`# downloaded WAV: ${file.samples.length / 8000} s, score ${downloaded.score.toFixed(3)}`);
    assert.ok(downloaded.score > 0.9, `the WAV matches the signal (score ${downloaded.score})`);
    const del = await fetch(`${base}/bob/${vm.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${b.apiToken!.token}` } });
    assert.equal(del.status, 200);
    const after = (await (await fetch(`${base}?user=bob`, { headers: token })).json()) as { voicemails: unknown[] };
    assert.equal(after.voicemails.length, 0);
  });
});
