/**
 * Issue 16: the user's own greeting in the voicemail service — played to callers (the default when
 * the user has none, the fetch fails or takes longer than greetingWaitMs), recorded from the mailbox
 * with key 8, and the API's greeting methods.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { SeededRandom } from '../../../../src/lib/random.js';
import { g711Decode, g711Encode } from '../../../../src/media/voicemail/g711.js';
import { generatedPrompts } from '../../../../src/media/voicemail/greeting.js';
import { parseRtp } from '../../../../src/media/voicemail/rtp.js';
import { decodeWav } from '../../../../src/media/voicemail/wav.js';
import { parseNameAddr, formatUri } from '../../../../src/sip/message/index.js';
import type { SipRequest, SipResponse } from '../../../../src/sip/message/sip-message.js';
import { GREETING_KIND_ID } from '../../../../src/usages/voicemail/greeting-store.js';
import { VoicemailService, type VoicemailHost, type VoicemailOptions } from '../../../../src/usages/voicemail/voicemail-service.js';
import { FakeMediaPorts } from '../../../support/media/fake-media.js';
import { correlation, testSignal } from '../../media/voicemail/audio-helpers.js';
import { serviceRequest, sipRequest } from '../presence/presence-fixtures.js';
import { MemoryGreetingStorage } from './greeting-fixtures.js';
import { ALICE, EPOCH, NODE, OFFER, Phone, PHONE_RTP, until } from './voicemail-fixtures.js';



function rig(o: { options?: Partial<VoicemailOptions>; greetings?: boolean; grant?: boolean } = {}) {
  const clock = new ManualClock(0);
  const storage = new MemoryGreetingStorage(() => EPOCH + clock.now(), NODE, { closed: true });
  if (o.grant ?? true) storage.grant('alice@p2psip.local', NODE, EPOCH + 86_400_000);
  const ports = new FakeMediaPorts(4);
  const warnings: string[] = [];
  const host: VoicemailHost = {
    clock,
    random: new SeededRandom(7),
    storage,
    selfNodeId: NODE,
    wallClock: () => EPOCH + clock.now(),
    domain: 'p2psip.local',
    greetings: o.greetings ?? true,
    inOverlay: (aor) => aor.endsWith('@p2psip.local'),
    registeredHere: () => false,
    openOverlay: false,
    contactUri: (user) => `sip:${user}@192.0.2.1:5060`,
    mediaAddress: () => '192.0.2.1',
    ports,
    send: () => Promise.resolve(200),
    originate: (req) => Promise.resolve({ kind: 'response', status: 200, reason: 'OK', version: 'SIP/2.0', headers: req.headers.clone(), body: new Uint8Array(0) } as SipResponse),
    logger: { warn: (_o, msg) => warnings.push(msg) },
  };
  return { clock, storage, ports, warnings, service: new VoicemailService(host, o.options) };
}

function invite(uri = ALICE): SipRequest {
  return sipRequest({ method: 'INVITE', uri, from: 'sip:bob@p2psip.local', fromTag: 'caller1', callId: 'call-g-1', cseq: 7, contact: 'sip:bob@192.0.2.10:5062', headers: [['Content-Type', 'application/sdp']], body: OFFER });
}

function contactOf(res: SipResponse): string {
  return formatUri(parseNameAddr(res.headers.get('contact')!, 'Contact').uri);
}

/** Diverts a call to alice, waits for the 200, ACKs it: the RTP the voicemail sends. */
async function call(t: ReturnType<typeof rig>, afterDivert: () => void = () => undefined) {
  const { r, tx } = serviceRequest(invite());
  assert.equal(t.service.divert(r, 480), true);
  afterDivert();
  await until(() => tx.finalResponse !== undefined, 'the answer');
  const ok = tx.final;
  assert.equal(ok.status, 200);
  const ack = sipRequest({ method: 'ACK', uri: contactOf(ok), from: 'sip:bob@p2psip.local', fromTag: 'caller1', to: ALICE, toTag: r.toTag, callId: 'call-g-1', cseq: 7 });
  assert.equal(t.service.onAck(ack), true);
  const pair = t.ports.pairs.at(-1)!;
  return { pair, r, ok };
}

/** The PCM the voicemail sent, in order. */
function heard(pair: { sent: Array<{ data: Uint8Array }> }): Int16Array {
  const parts = pair.sent.map((s) => g711Decode('pcmu', parseRtp(s.data).payload));
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

describe('voicemail: the user\'s own greeting', () => {
  test('a caller hears the user\'s greeting, then the beep', async () => {
    const t = rig();
    const own = testSignal(2000);
    const saved = await t.service.saveGreeting(ALICE, own);
    assert.deepEqual(saved, { ok: true, durationMs: 2000 });
    const { pair } = await call(t);
    assert.equal(t.service.stats.ownGreetings, 1);
    t.clock.advance(2000 + 700);
    const out = heard(pair);
    const beep = generatedPrompts().beep;
    assert.ok(Math.abs(out.length - (own.length + beep.length)) < 320, `${out.length} samples sent`);
    assert.ok(correlation(out.subarray(0, own.length), g711Decode('pcmu', g711Encode('pcmu', own))) > 0.99);
    t.service.stop();
  });

  test('none, a failing fetch, or one slower than greetingWaitMs: the default greeting, never a hang', async () => {
    const def = generatedPrompts().greeting;
    const none = rig();
    const a = await call(none);
    none.clock.advance(1200);
    assert.ok(correlation(heard(a.pair).subarray(0, def.length), def) > 0.99, 'no greeting of its own: the chime');
    assert.equal(none.service.stats.greetingFallbacks, 0);
    none.service.stop();

    const failing = rig();
    failing.storage.failFetch = (kind) => (kind === GREETING_KIND_ID ? { ok: false, errorCode: 0, info: 'unreachable' } : undefined);
    const b = await call(failing);
    failing.clock.advance(1200);
    assert.ok(correlation(heard(b.pair).subarray(0, def.length), def) > 0.99);
    assert.equal(failing.service.stats.greetingFallbacks, 1);
    failing.service.stop();

    const slow = rig();
    assert.ok((await slow.service.saveGreeting(ALICE, testSignal(1500))).ok);
    slow.storage.gate = new Promise<void>(() => undefined); // the pointer's Fetch never answers
    const c = await call(slow, () => {
      assert.equal(slow.service.active, 1, 'a slot is held while the greeting is fetched');
      slow.clock.advance(1500);
    });
    assert.equal(slow.clock.now(), 1500, 'answered at greetingWaitMs');
    slow.clock.advance(1200);
    assert.ok(correlation(heard(c.pair).subarray(0, def.length), def) > 0.99);
    assert.equal(slow.service.stats.greetingFallbacks, 1);
    assert.ok(slow.warnings.some((w) => /not fetched in time/.test(w)));
    slow.service.stop();
  });

  test('the mailbox: 8, the beep, the user speaks, # — stored, and the next caller hears it', async () => {
    const t = rig();
    const { r, tx } = serviceRequest(invite('sip:*98@p2psip.local'), { user: ALICE });
    assert.equal(t.service.claim(r), true);
    await until(() => tx.finalResponse !== undefined, 'the answer');
    const ok = tx.final;
    const pair = t.ports.pairs.at(-1)!;
    const phone = new Phone(t.clock, (d) => pair.inject(0, d, PHONE_RTP));
    assert.equal(t.service.onAck(sipRequest({ method: 'ACK', uri: contactOf(ok), from: 'sip:bob@p2psip.local', fromTag: 'caller1', to: 'sip:*98@p2psip.local', toTag: r.toTag, callId: 'call-g-1', cseq: 7 })), true);
    t.clock.advance(1300); // "no messages", then the wait for a key
    phone.key('8');
    t.clock.advance(700); // the beep
    const spoken = testSignal(2500);
    phone.talk(spoken);
    phone.key('#');
    await until(() => t.service.stats.greetingsSaved === 1, 'the greeting stored');
    const g = await t.service.greeting(ALICE);
    assert.ok(g.ok);
    const pcm = decodeWav(g.wav).pcm;
    assert.ok(Math.abs(pcm.length - spoken.length) <= 320);
    assert.ok(correlation(pcm.subarray(0, spoken.length - 320), spoken.subarray(0, spoken.length - 320)) > 0.95);
    t.service.stop();
  });

  test('the API methods: a closed overlay without the user\'s grant here refuses; remove goes back to the default; off', async () => {
    const t = rig({ grant: false });
    const refused = await t.service.saveGreeting(ALICE, testSignal(1000));
    assert.ok(!refused.ok && refused.reason === 'forbidden' && /write grant/.test(refused.info));
    assert.equal(t.service.stats.greetingSaveFailed, 1);
    assert.deepEqual((await t.service.greeting(ALICE)).ok, false);
    const tooLong = await t.service.saveGreeting(ALICE, new Int16Array(20_001 * 8));
    assert.ok(!tooLong.ok && tooLong.reason === 'too-long');
    const u = rig();
    assert.ok((await u.service.saveGreeting(ALICE, testSignal(1000))).ok);
    assert.deepEqual(await u.service.removeGreeting(ALICE), { ok: true });
    const gone = await u.service.greeting(ALICE);
    assert.ok(!gone.ok && gone.reason === 'not-found');
    assert.equal((await u.service.removeGreeting(ALICE)).ok, false);
    const off = rig({ greetings: false });
    const o = await off.service.saveGreeting(ALICE, testSignal(1000));
    assert.ok(!o.ok && o.reason === 'off');
    assert.equal(off.service.greetings, undefined);
    assert.throws(() => rig({ options: { greetingWaitMs: 50 } }), RangeError);
  });
});
