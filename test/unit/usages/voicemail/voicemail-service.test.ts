/**
 * Issue 16: the voicemail service on fakes (ManualClock, in-memory overlay running the guards, fake
 * media ports): a call to an absent user recorded and stored, the limits, the mailbox retrieval
 * with its keys, the message-summary counts and the unsolicited NOTIFY.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { SeededRandom } from '../../../../src/lib/random.js';
import { generatedPrompts } from '../../../../src/media/voicemail/greeting.js';
import { parseRtp } from '../../../../src/media/voicemail/rtp.js';
import { decodeWav } from '../../../../src/media/voicemail/wav.js';
import { g711Decode, g711Encode } from '../../../../src/media/voicemail/g711.js';
import { parseNameAddr, formatUri } from '../../../../src/sip/message/index.js';
import type { SipRequest, SipResponse } from '../../../../src/sip/message/sip-message.js';
import { VOICEMAIL_CHUNK_KIND_ID, VOICEMAIL_KIND_ID } from '../../../../src/usages/voicemail/voicemail-store.js';
import { UNSOLICITED_NOTIFY_DELAY_MS, VoicemailService, type VoicemailHost, type VoicemailOptions } from '../../../../src/usages/voicemail/voicemail-service.js';
import { FakeMediaPorts } from '../../../support/media/fake-media.js';
import { correlation, testSignal } from '../../media/voicemail/audio-helpers.js';
import { bodyText, serviceRequest, sipRequest } from '../presence/presence-fixtures.js';
import { ALICE, EPOCH, MemoryVoicemailStorage, NODE, OFFER, OPUS_ONLY, Phone, PHONE_RTP, until } from './voicemail-fixtures.js';



function rig(o: { options?: Partial<VoicemailOptions>; ports?: number; userExists?: VoicemailHost['userExists']; registered?: boolean; open?: boolean } = {}) {
  const clock = new ManualClock(0);
  const storage = new MemoryVoicemailStorage(() => EPOCH + clock.now(), NODE);
  const ports = new FakeMediaPorts(o.ports ?? 8);
  const sent: SipRequest[] = [];
  const originated: SipRequest[] = [];
  const warnings: string[] = [];
  const host: VoicemailHost = {
    clock,
    random: new SeededRandom(7),
    storage,
    selfNodeId: NODE,
    wallClock: () => EPOCH + clock.now(),
    domain: 'p2psip.local',
    inOverlay: (aor) => aor.endsWith('@p2psip.local'),
    ...(o.userExists === undefined ? {} : { userExists: o.userExists }),
    registeredHere: () => o.registered ?? true,
    openOverlay: o.open ?? false,
    contactUri: (user) => `sip:${user}@192.0.2.1:5060`,
    mediaAddress: () => '192.0.2.1',
    ports,
    send: (req) => {
      sent.push(req);
      return Promise.resolve(200);
    },
    originate: (req) => {
      originated.push(req);
      return Promise.resolve({ kind: 'response', status: 200, reason: 'OK', version: 'SIP/2.0', headers: req.headers.clone(), body: new Uint8Array(0) } as SipResponse);
    },
    logger: { warn: (_o, msg) => warnings.push(msg) },
  };
  const service = new VoicemailService(host, o.options);
  return { clock, storage, ports, sent, originated, warnings, service, host };
}

function invite(o: { uri?: string; body?: string; callId?: string } = {}) {
  return sipRequest({ method: 'INVITE', uri: o.uri ?? ALICE, from: 'sip:bob@p2psip.local', fromTag: 'caller1', callId: o.callId ?? 'call-vm-1', cseq: 7, contact: 'sip:bob@192.0.2.10:5062', headers: [['Content-Type', 'application/sdp']], body: o.body ?? OFFER });
}

/** The Contact URI of our 2xx. */
function contactOf(res: SipResponse): string {
  return formatUri(parseNameAddr(res.headers.get('contact')!, 'Contact').uri);
}

function inDialog(method: string, ok: SipResponse, toTag: string, o: { cseq?: number; callId?: string; body?: string } = {}): SipRequest {
  return sipRequest({ method, uri: contactOf(ok), from: 'sip:bob@p2psip.local', fromTag: 'caller1', to: ALICE, toTag, callId: o.callId ?? 'call-vm-1', cseq: o.cseq ?? 8, contact: 'sip:bob@192.0.2.10:5062', ...(o.body === undefined ? {} : { body: o.body, headers: [['Content-Type', 'application/sdp']] }) });
}

/** A diverted call answered and ACKed; the phone's RTP port pair. */
function answeredCall(t: ReturnType<typeof rig>, status = 480) {
  const { r, tx } = serviceRequest(invite());
  assert.equal(t.service.divert(r, status), true);
  const ok = tx.final;
  assert.equal(ok.status, 200);
  const ack = sipRequest({ method: 'ACK', uri: contactOf(ok), from: 'sip:bob@p2psip.local', fromTag: 'caller1', to: ALICE, toTag: r.toTag, callId: 'call-vm-1', cseq: 7 });
  const pair = t.ports.pairs.at(-1)!;
  return { r, tx, ok, ack, pair, phone: new Phone(t.clock, (d) => pair.inject(0, d, PHONE_RTP)) };
}

describe('voicemail: recording a call to an absent user', () => {
  test('INVITE diverted → 200 with SDP → ACK → greeting, beep → RTP in → BYE → stored; the phone of the user is told', async () => {
    const t = rig();
    const { r, tx, ok, ack, pair, phone } = answeredCall(t);
    assert.match(ok.headers.get('content-type')!, /application\/sdp/);
    const sdp = bodyText(ok);
    assert.match(sdp, new RegExp(`m=audio ${pair.port} RTP/AVP 0 101`));
    assert.match(sdp, /c=IN IP4 192\.0\.2\.1/);
    assert.match(contactOf(ok), /^sip:vm-[a-z0-9]{16}@192\.0\.2\.1:5060$/);
    assert.match(ok.headers.get('to')!, new RegExp(`tag=${r.toTag}`));
    // the 2xx again until the ACK
    t.clock.advance(500);
    assert.equal(tx.responses.filter((x) => x.status === 200).length, 2);
    assert.equal(t.service.onAck(ack), true);
    t.clock.advance(4000);
    assert.equal(tx.responses.filter((x) => x.status === 200).length, 2, 'no more after the ACK');
    // greeting and beep went to the SDP's address
    const p = generatedPrompts();
    assert.ok(pair.sent.length >= Math.ceil((p.greeting.length + p.beep.length) / 160) - 1);
    assert.deepEqual(pair.sent[0]!.to, PHONE_RTP);
    assert.equal(parseRtp(pair.sent[0]!.data).payloadType, 0);
    const message = testSignal(3000);
    phone.talk(message);
    const bye = serviceRequest(inDialog('BYE', ok, r.toTag));
    assert.equal(t.service.claim(bye.r), true);
    assert.equal(bye.tx.final.status, 200);
    assert.equal(pair.closed, true, 'the port pair is given back');
    await until(() => t.service.stats.recorded === 1 && t.originated.length === 1, 'the message stored');
    assert.equal(t.storage.resourcesWith(VOICEMAIL_CHUNK_KIND_ID).length, 10, '3 s = 24,000 bytes = 10 chunks');
    assert.equal(t.storage.live('alice@p2psip.local', VOICEMAIL_KIND_ID).length, 1);
    const listed = await t.service.list(ALICE);
    assert.ok(listed.ok);
    assert.equal(listed.voicemails.length, 1);
    assert.equal(listed.voicemails[0]!.durationMs, 3000);
    assert.match(listed.voicemails[0]!.from, /sip:bob@p2psip\.local/);
    const wav = await t.service.download(ALICE, listed.voicemails[0]!.id);
    assert.ok(wav.ok);
    const pcm = decodeWav(wav.wav).pcm;
    assert.equal(pcm.length, 24_000);
    assert.ok(correlation(g711Decode('pcmu', g711Encode('pcmu', message)), pcm) > 0.99);
    // the unsolicited NOTIFY (RFC 3842)
    const n = t.originated[0]!;
    assert.equal(n.method, 'NOTIFY');
    assert.equal(formatUri(n.uri), ALICE);
    assert.equal(n.headers.get('event'), 'message-summary');
    assert.equal(n.headers.get('content-type'), 'application/simple-message-summary');
    assert.match(bodyText(n), /Messages-Waiting: yes\r\nMessage-Account: sip:alice@p2psip.local\r\nVoice-Message: 1\/0/);
    assert.equal(t.clock.pendingTimers, 0);
    assert.equal(t.service.active, 0);
  });

  test('the caller sends no ACK: BYE after ackTimeoutMs, nothing stored', async () => {
    const t = rig();
    const { pair } = answeredCall(t);
    t.clock.advance(32_000);
    assert.equal(t.service.stats.noAck, 1);
    assert.equal(t.sent.length, 1);
    const bye = t.sent[0]!;
    assert.equal(bye.method, 'BYE');
    assert.equal(formatUri(bye.uri), 'sip:bob@192.0.2.10:5062');
    assert.match(bye.headers.get('from')!, /tag=/);
    assert.match(bye.headers.get('to')!, /tag=caller1/);
    assert.equal(bye.headers.get('call-id'), 'call-vm-1');
    assert.equal(pair.closed, true);
    await until(() => true, 'nothing');
    assert.equal(t.storage.stores.length, 0);
    assert.equal(t.clock.pendingTimers, 0);
  });

  test('the longest message reached: we send the BYE, the message is stored; # ends it too', async () => {
    const t = rig({ options: { maxRecordMs: 2000 } });
    const { ack, phone } = answeredCall(t);
    t.service.onAck(ack);
    t.clock.advance(2000); // greeting + beep
    phone.talk(testSignal(2500));
    assert.equal(t.sent.length, 1);
    assert.equal(t.sent[0]!.method, 'BYE');
    await until(() => t.service.stats.recorded === 1, 'stored');
    const listed = await t.service.list(ALICE);
    assert.equal(listed.ok && listed.voicemails[0]!.durationMs, 2000);

    const t2 = rig();
    const c2 = answeredCall(t2);
    t2.service.onAck(c2.ack);
    t2.clock.advance(2000);
    c2.phone.talk(testSignal(1500));
    c2.phone.key('#');
    assert.equal(t2.sent[0]?.method, 'BYE');
    await until(() => t2.service.stats.recorded === 1, 'stored');
  });

  test('a message under minRecordMs is not stored; in-dialog re-INVITE 488, INFO, OPTIONS; an ended call 481', async () => {
    const t = rig();
    const { r, ok, ack, phone } = answeredCall(t);
    t.service.onAck(ack);
    const reinvite = serviceRequest(inDialog('INVITE', ok, r.toTag, { body: OFFER }));
    assert.equal(t.service.claim(reinvite.r), true);
    assert.equal(reinvite.tx.final.status, 488);
    const info = serviceRequest(inDialog('INFO', ok, r.toTag, { cseq: 9 }));
    t.service.claim(info.r);
    assert.equal(info.tx.final.status, 200);
    const options = serviceRequest(inDialog('OPTIONS', ok, r.toTag, { cseq: 10 }));
    t.service.claim(options.r);
    assert.equal(options.tx.final.status, 200);
    const wrongCall = serviceRequest(inDialog('BYE', ok, r.toTag, { callId: 'other' }));
    t.service.claim(wrongCall.r);
    assert.equal(wrongCall.tx.final.status, 481);
    t.clock.advance(2000);
    phone.talk(testSignal(400));
    const bye = serviceRequest(inDialog('BYE', ok, r.toTag, { cseq: 11 }));
    t.service.claim(bye.r);
    assert.equal(bye.tx.final.status, 200);
    const again = serviceRequest(inDialog('BYE', ok, r.toTag, { cseq: 12 }));
    assert.equal(t.service.claim(again.r), true);
    assert.equal(again.tx.final.status, 481);
    await until(() => true, 'nothing');
    assert.equal(t.service.stats.tooShort, 1);
    assert.equal(t.storage.stores.length, 0);
  });

  test('an unusable offer is not taken (the caller gets the failure as it was); 503 with Retry-After when no port pair is free', () => {
    const t = rig({ ports: 1 });
    const bad = serviceRequest(invite({ body: OPUS_ONLY }));
    assert.equal(t.service.divert(bad.r, 486), false, 'a busy callee stays busy for a caller voicemail cannot hear');
    const none = serviceRequest(invite({ body: '' }));
    assert.equal(t.service.divert(none.r, 404), false);
    assert.equal(t.service.stats.refusedSdp, 2);
    answeredCall(t);
    const noPort = serviceRequest(invite({ callId: 'call-2' }));
    assert.equal(t.service.divert(noPort.r, 486), true);
    assert.equal(noPort.tx.final.status, 503);
    assert.equal(noPort.tx.final.headers.get('retry-after'), '10');
  });

  test('what is not diverted: other methods and statuses, calls from other peers, unknown users, the limit of calls', async () => {
    const t = rig({ options: { maxCalls: 1 } });
    const msg = serviceRequest(sipRequest({ method: 'MESSAGE', uri: ALICE }));
    assert.equal(t.service.divert(msg.r, 404), false);
    assert.equal(t.service.divert(serviceRequest(invite()).r, 503), false);
    assert.equal(t.service.divert(serviceRequest(invite(), { fromPeer: true }).r, 404), false);
    assert.equal(t.service.divert(serviceRequest(invite({ uri: 'sip:alice@elsewhere.example' }), { aor: 'sip:alice@elsewhere.example' }).r, 404), false);
    answeredCall(t);
    assert.equal(t.service.divert(serviceRequest(invite({ callId: 'c2' })).r, 480), false, 'past maxCalls the failure goes upstream unchanged');
    assert.equal(t.service.stats.refusedBusy, 1);

    const unknown = rig({ userExists: () => false });
    assert.equal(unknown.service.divert(serviceRequest(invite()).r, 404), false);
    const later = rig({ userExists: () => Promise.resolve(false) });
    const l = serviceRequest(invite());
    assert.equal(later.service.divert(l.r, 404), true);
    await until(() => l.tx.finalResponse !== undefined, 'the answer');
    assert.equal(l.tx.final.status, 404, 'the failure as it was');
    const yes = rig({ userExists: () => Promise.resolve(true) });
    const y = serviceRequest(invite());
    assert.equal(yes.service.divert(y.r, 404), true);
    await until(() => y.tx.finalResponse !== undefined, 'the answer');
    assert.equal(y.tx.final.status, 200);
  });

  test('noAnswerMs: the configured ringing time for INVITEs from our phones to users of the overlay', () => {
    const t = rig({ options: { noAnswerMs: 15_000 } });
    assert.equal(t.service.noAnswerMs(serviceRequest(invite()).r), 15_000);
    assert.equal(t.service.noAnswerMs(serviceRequest(invite(), { fromPeer: true }).r), undefined);
    assert.equal(t.service.noAnswerMs(serviceRequest(sipRequest({ method: 'MESSAGE', uri: ALICE })).r), undefined);
    assert.equal(t.service.noAnswerMs(serviceRequest(invite({ uri: 'sip:*98@p2psip.local' })).r), undefined);
    assert.equal(rig({ options: { noAnswerMs: 0 } }).service.noAnswerMs(serviceRequest(invite()).r), undefined);
    assert.throws(() => rig({ options: { noAnswerMs: 10 } }), RangeError);
    assert.throws(() => rig({ options: { maxRecordMs: 200_000 } }), RangeError);
    assert.throws(() => rig({ options: { numberUser: 'vm-x' } }), RangeError);
  });
});

describe('voicemail: the mailbox', () => {
  async function withMessages(t: ReturnType<typeof rig>, n: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      t.clock.advance(1000);
      const s = await t.service.store.save(ALICE, { from: `<sip:caller${i}@p2psip.local>`, durationMs: 2000, audio: g711Encode('pcmu', testSignal(2000)) });
      assert.ok(s.ok);
      ids.push(s.entry.id);
    }
    return ids;
  }

  test('the user calls the voicemail number: its messages play, 7 deletes the current one (index, then chunks), 9 hangs up', async () => {
    const t = rig();
    const ids = await withMessages(t, 2);
    const { r, tx } = serviceRequest(invite({ uri: 'sip:*98@p2psip.local' }), { user: ALICE });
    assert.equal(t.service.claim(r), true);
    await until(() => tx.finalResponse !== undefined, 'the answer');
    assert.equal(tx.responses[0]!.status, 100);
    const ok = tx.final;
    assert.equal(ok.status, 200);
    const pair = t.ports.pairs.at(-1)!;
    const phone = new Phone(t.clock, (d) => pair.inject(0, d, PHONE_RTP));
    const ack = sipRequest({ method: 'ACK', uri: contactOf(ok), from: 'sip:bob@p2psip.local', fromTag: 'caller1', to: 'sip:*98@p2psip.local', toTag: r.toTag, callId: 'call-vm-1', cseq: 7 });
    assert.equal(t.service.onAck(ack), true);
    assert.equal(t.service.stats.retrievals, 1);
    phone.key('2'); // skip the count: "message follows", then message 1
    t.clock.advance(1000);
    phone.key('7'); // while message 1 plays
    await until(() => t.service.stats.deleted === 1, 'the deletion');
    const left = await t.service.list(ALICE);
    assert.deepEqual(left.ok && left.voicemails.map((v) => v.id), [ids[1]]);
    assert.equal(t.storage.live(`vm:alice@p2psip.local:${ids[0]}:0`, VOICEMAIL_CHUNK_KIND_ID).length, 0, 'its chunks are gone');
    phone.key('9');
    t.clock.advance(2000);
    assert.equal(t.sent.at(-1)?.method, 'BYE', 'goodbye, then we hang up');
    assert.equal(pair.closed, true);
    assert.equal(t.service.active, 0);
  });

  test('a retrieval loads at most maxRetrievalAudioMs of audio, oldest first', async () => {
    const t = rig({ options: { maxRetrievalAudioMs: 3000 } });
    await withMessages(t, 2); // 2 s each: 16,000 bytes = 7 chunks
    const before = t.storage.fetches;
    const { r, tx } = serviceRequest(invite({ uri: 'sip:*98@p2psip.local' }), { user: ALICE });
    t.service.claim(r);
    await until(() => tx.finalResponse !== undefined, 'the answer');
    assert.equal(tx.final.status, 200);
    assert.equal(t.storage.fetches - before, 2 + 7, 'both index entries, the chunks of the first message only');
  });

  test('403 without an authenticated user (closed overlay); an open overlay opens the From AoR\'s mailbox', async () => {
    const t = rig();
    const anon = serviceRequest(invite({ uri: 'sip:*98@p2psip.local' }));
    assert.equal(t.service.claim(anon.r), true);
    await until(() => anon.tx.finalResponse !== undefined, 'the answer');
    assert.equal(anon.tx.final.status, 403);
    assert.equal(t.service.claim(serviceRequest(invite({ uri: 'sip:*98@p2psip.local' }), { user: ALICE, fromPeer: true }).r), false, 'from another peer: routed as usual');
    const open = rig({ open: true });
    const o = serviceRequest(invite({ uri: 'sip:*98@p2psip.local' }));
    open.service.claim(o.r);
    await until(() => o.tx.finalResponse !== undefined, 'the answer');
    assert.equal(o.tx.final.status, 200);
    const bad = serviceRequest(invite({ uri: 'sip:*98@p2psip.local', body: OPUS_ONLY }), { user: ALICE });
    t.service.claim(bad.r);
    await until(() => bad.tx.finalResponse !== undefined, 'the answer');
    assert.equal(bad.tx.final.status, 488);
  });

  test('message-summary: counts from the index, watchers told of our own changes; NOTIFY when a user with messages registers', async () => {
    const t = rig();
    assert.deepEqual(await t.service.messageSummary.summary(ALICE), { newMessages: 0, oldMessages: 0 });
    const changes: number[] = [];
    let unwatch = t.service.messageSummary.watch(ALICE, () => changes.push(1));
    await withMessages(t, 2);
    // a phone subscribed here gets its subscription's NOTIFYs: no unsolicited one besides (baresip answers those 481)
    t.service.onRegistered(ALICE, true);
    t.clock.advance(UNSOLICITED_NOTIFY_DELAY_MS);
    for (let i = 0; i < 500; i++) await new Promise<void>((r) => setImmediate(r)); // the count's Stat and the decision
    assert.equal(t.originated.length, 0);
    unwatch();
    t.service.onRegistered(ALICE, true);
    for (let i = 0; i < 50; i++) await new Promise<void>((r) => setImmediate(r));
    assert.equal(t.originated.length, 0, 'not before the delay (the phone may still subscribe)');
    t.clock.advance(UNSOLICITED_NOTIFY_DELAY_MS);
    await until(() => t.originated.length === 1, 'the NOTIFY');
    assert.match(t.originated[0]!.headers.get('contact') ?? '', /^<sip:/);
    unwatch = t.service.messageSummary.watch(ALICE, () => changes.push(1));
    assert.match(bodyText(t.originated[0]!), /Voice-Message: 2\/0/);
    t.service.onRegistered(ALICE, false); // a refresh soon after: no new check
    t.clock.advance(UNSOLICITED_NOTIFY_DELAY_MS);
    for (let i = 0; i < 200; i++) await new Promise<void>((r) => setImmediate(r));
    assert.equal(t.originated.length, 1);
    const listed = await t.service.list(ALICE);
    assert.ok(listed.ok);
    assert.deepEqual(await t.service.remove(ALICE, listed.voicemails[0]!.id), { ok: true });
    assert.deepEqual(await t.service.messageSummary.summary(ALICE), { newMessages: 1, oldMessages: 0 });
    assert.ok(changes.length >= 2);
    unwatch();
    const n = changes.length;
    await t.service.remove(ALICE, listed.voicemails[1]!.id);
    assert.equal(changes.length, n, 'unwatched');
    const nobody = rig();
    nobody.service.onRegistered(ALICE, true);
    nobody.clock.advance(UNSOLICITED_NOTIFY_DELAY_MS);
    for (let i = 0; i < 200; i++) await new Promise<void>((r) => setImmediate(r));
    assert.equal(nobody.originated.length, 0, 'no messages: no NOTIFY');
    const gone = await t.service.remove(ALICE, listed.voicemails[1]!.id);
    assert.deepEqual(gone.ok ? undefined : gone.reason, 'not-found');
  });
});
