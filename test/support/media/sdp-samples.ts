/**
 * SDP bodies as real phones write them (shapes taken from baresip, linphone, SIPp's default
 * scenario, an SDES-SRTP softphone), for the media relay's tests.
 */

export function sdp(lines: string[]): string {
  return `${lines.join('\r\n')}\r\n`;
}

export function bytes(text: string): Uint8Array {
  return Buffer.from(text, 'utf8');
}

export function text(b: Uint8Array): string {
  return Buffer.from(b).toString('utf8');
}

/** SIPp's default uac SDP (`[media_ip]` = 127.0.0.1, `[media_port]` = 6000). */
export const SIPP = sdp([
  'v=0',
  'o=user1 53655765 2353687637 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 6000 RTP/AVP 0',
  'a=rtpmap:0 PCMU/8000',
]);

/** baresip 3.x offer: opus, G.711, RFC 4733 events, no a=rtcp. */
export const BARESIP = sdp([
  'v=0',
  'o=- 1811466377 3287564231 IN IP4 192.168.1.10',
  's=-',
  'c=IN IP4 192.168.1.10',
  't=0 0',
  'a=tool:baresip 3.10.1',
  'm=audio 10786 RTP/AVP 96 0 8 101',
  'b=AS:96',
  'a=rtpmap:96 opus/48000/2',
  'a=fmtp:96 stereo=1;sprop-stereo=1',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  'a=sendrecv',
  'a=label:1',
  'a=ssrc:1405839207 cname:a4b3c2d1-0000-4000-8000-000000000001',
  'a=rtcp-rsize',
]);

/** linphone: audio + video, a=rtcp without and with address, rtcp-fb. */
export const LINPHONE = sdp([
  'v=0',
  'o=bob 2163 1234 IN IP4 192.168.1.20',
  's=Talk',
  'c=IN IP4 192.168.1.20',
  't=0 0',
  'a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics',
  'm=audio 7078 RTP/AVP 96 97 0 8 101',
  'a=rtpmap:96 opus/48000/2',
  'a=fmtp:96 useinbandfec=1',
  'a=rtpmap:97 speex/16000',
  'a=rtpmap:101 telephone-event/8000',
  'a=rtcp:7079',
  'a=rtcp-fb:* trr-int 1000',
  'a=rtcp-fb:* ccm tmmbr',
  'm=video 9078 RTP/AVP 96',
  'a=rtpmap:96 VP8/90000',
  'a=rtcp:9079 IN IP4 192.168.1.20',
  'a=rtcp-fb:* trr-int 1000',
  'a=rtcp-fb:96 nack pli',
]);

export const CRYPTO_LINE = 'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4';

/** SDES-SRTP with telephone-event, media-level c=. */
export const SRTP = sdp([
  'v=0',
  'o=alice 2890844526 2890844526 IN IP4 10.0.0.5',
  's=call',
  't=0 0',
  'm=audio 49170 RTP/SAVP 0 101',
  'c=IN IP4 10.0.0.5',
  CRYPTO_LINE,
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=ptime:20',
]);

/** rtcp-mux (RFC 5761) with a=rtcp naming the RTP port, as RFC 5761 §5.1.3 suggests. */
export const RTCP_MUX = sdp([
  'v=0',
  'o=- 4611731400430051336 2 IN IP4 192.168.1.30',
  's=-',
  'c=IN IP4 192.168.1.30',
  't=0 0',
  'm=audio 40000 RTP/AVP 111',
  'a=rtcp:40000',
  'a=rtcp-mux',
  'a=rtpmap:111 opus/48000/2',
]);

/** rtcp-mux without a=rtcp. */
export const RTCP_MUX_ONLY = sdp([
  'v=0',
  'o=- 1 2 IN IP4 192.168.1.31',
  's=-',
  'c=IN IP4 192.168.1.31',
  't=0 0',
  'm=audio 40100 RTP/AVP 0',
  'a=rtcp-mux',
]);

/** IPv6 session and a=rtcp with an IPv6 address. */
export const IPV6 = sdp([
  'v=0',
  'o=- 7 7 IN IP6 2001:db8::10',
  's=-',
  'c=IN IP6 2001:db8::10',
  't=0 0',
  'm=audio 5004 RTP/AVP 0',
  'a=rtcp:5005 IN IP6 2001:db8::10',
]);

/** A stream on hold the RFC 2543 way, and a disabled (port 0) video stream. */
export const HOLD_AND_DISABLED = sdp([
  'v=0',
  'o=- 9 10 IN IP4 192.168.1.40',
  's=-',
  'c=IN IP4 192.168.1.40',
  't=0 0',
  'm=audio 30000 RTP/AVP 0',
  'c=IN IP4 0.0.0.0',
  'a=sendonly',
  'm=video 0 RTP/AVP 96',
  'a=rtpmap:96 H264/90000',
]);

/** A phone's SDP with its address and port (one audio stream). */
export function phoneSdp(host: string, port: number, extra: string[] = []): string {
  const ip = host.includes(':') ? 'IP6' : 'IP4';
  return sdp(['v=0', `o=- 100 1 IN ${ip} ${host}`, 's=-', `c=IN ${ip} ${host}`, 't=0 0', `m=audio ${port} RTP/AVP 0 101`, 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', ...extra]);
}

/** The same, audio and video. */
export function phoneSdpAv(host: string, audio: number, video: number): string {
  return sdp(['v=0', `o=- 100 1 IN IP4 ${host}`, 's=-', `c=IN IP4 ${host}`, 't=0 0', `m=audio ${audio} RTP/AVP 0`, `m=video ${video} RTP/AVP 96`, 'a=rtpmap:96 VP8/90000']);
}

/** An SDP with `n` audio m-lines. */
export function manyStreams(n: number): string {
  const lines = ['v=0', 'o=- 1 1 IN IP4 192.168.1.50', 's=-', 'c=IN IP4 192.168.1.50', 't=0 0'];
  for (let i = 0; i < n; i++) lines.push(`m=audio ${20000 + 2 * i} RTP/AVP 0`);
  return sdp(lines);
}
