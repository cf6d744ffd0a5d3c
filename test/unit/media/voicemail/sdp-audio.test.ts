import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'sdp-transform';
import { buildAnswerSdp, negotiateAudio } from '../../../../src/media/voicemail/sdp-audio.js';
import { VoicemailError } from '../../../../src/media/voicemail/voicemail-error.js';
import { BARESIP, bytes, IPV6, LINPHONE, sdp, SIPP, SRTP } from '../../../support/media/sdp-samples.js';

const LOCAL = { address: '192.0.2.5', port: 40000, sessionId: '123' };

describe('negotiateAudio / buildAnswerSdp', () => {
  test("SIPp: PCMU, no telephone-event", () => {
    const n = negotiateAudio(bytes(SIPP));
    assert.deepEqual([n.payloadType, n.law, n.telephoneEvent, n.ptimeMs, n.remote, n.direction], [0, 'pcmu', undefined, 20, { address: '127.0.0.1', port: 6000 }, 'sendrecv']);
  });

  test("baresip: the first G.711 in its order (PCMU) and telephone-event 101", () => {
    const n = negotiateAudio(BARESIP);
    assert.equal(n.payloadType, 0);
    assert.equal(n.telephoneEvent, 101);
    const a = parse(buildAnswerSdp(n, LOCAL));
    assert.equal(a.media.length, 1);
    assert.equal(a.media[0]!.payloads, '0 101');
    assert.equal(a.media[0]!.port, 40000);
    assert.deepEqual(a.media[0]!.rtp.map((r) => `${r.payload} ${r.codec}/${r.rate}`), ['0 PCMU/8000', '101 telephone-event/8000']);
    assert.equal(a.connection?.ip, '192.0.2.5');
  });

  test('linphone: audio plus video; the video is refused with port 0', () => {
    const n = negotiateAudio(LINPHONE);
    assert.equal(n.payloadType, 0);
    const ans = buildAnswerSdp(n, LOCAL);
    const a = parse(ans);
    assert.equal(a.media.length, 2);
    assert.equal(a.media[1]!.type, 'video');
    assert.equal(a.media[1]!.port, 0);
    assert.ok(ans.endsWith('\r\n'));
  });

  test('dynamic PCMA, ptime, direction mirrored, IPv6', () => {
    const offer = sdp(['v=0', 'o=- 1 1 IN IP6 2001:db8::1', 's=-', 'c=IN IP6 2001:db8::1', 't=0 0', 'm=audio 5004 RTP/AVP 97 98', 'a=rtpmap:97 PCMA/8000', 'a=rtpmap:98 telephone-event/8000', 'a=ptime:30', 'a=sendonly']);
    const n = negotiateAudio(offer);
    assert.deepEqual([n.payloadType, n.law, n.telephoneEvent, n.ptimeMs, n.direction], [97, 'pcma', 98, 30, 'recvonly']);
    const ans = buildAnswerSdp(n, { address: '2001:db8::2', port: 5006, sessionId: '9', sessionVersion: '10' });
    assert.match(ans, /^o=- 9 10 IN IP6 2001:db8::2\r$/m);
    assert.match(ans, /^a=recvonly\r$/m);
    assert.match(ans, /^a=ptime:30\r$/m);
    assert.equal(negotiateAudio(IPV6).remote.address.includes(':'), true);
  });

  test('no G.711 or only SRTP: VM_SDP_NO_CODEC; garbage: VM_SDP_MALFORMED', () => {
    const opusOnly = sdp(['v=0', 'o=- 1 1 IN IP4 1.2.3.4', 's=-', 'c=IN IP4 1.2.3.4', 't=0 0', 'm=audio 5004 RTP/AVP 96', 'a=rtpmap:96 opus/48000/2']);
    for (const o of [opusOnly, SRTP]) assert.throws(() => negotiateAudio(o), (e: unknown) => e instanceof VoicemailError && e.code === 'VM_SDP_NO_CODEC');
    const noC = sdp(['v=0', 'o=- 1 1 IN IP4 1.2.3.4', 's=-', 't=0 0', 'm=audio 5004 RTP/AVP 0']);
    for (const o of ['hello', noC, 'v=0\r\n'.repeat(5000)]) assert.throws(() => negotiateAudio(o), (e: unknown) => e instanceof VoicemailError && e.code === 'VM_SDP_MALFORMED');
    assert.throws(() => buildAnswerSdp(negotiateAudio(SIPP), { ...LOCAL, sessionId: 'x' }), VoicemailError);
    assert.throws(() => buildAnswerSdp(negotiateAudio(SIPP), { ...LOCAL, address: 'a b\r\nc=' }), VoicemailError);
  });
});
