/**
 * The proxy's MediaHook (sip/core/media-hook.ts) that puts the media relay (media-relay.ts) in the
 * path of calls, by rewriting SDP as it passes (issue 13). Each SDP-bearing message (INVITE, 18x,
 * 2xx, ACK, UPDATE, re-INVITE, PRACK…) goes from one side of the call to the other; the sides are a
 * phone ("ua": a phone, or any SIP element that is not a peer) or another peer:
 *
 *   phone → peer   the phone's SDP is sent as it is, with our relay attributes (sdp-body.ts): per
 *                  stream the tag the other peer must put on media it sends us, and whether the
 *                  phone is on our network (`direct-ok`, for --media auto). Our phone-facing ports
 *                  are taken now, so the answer can name them.
 *   peer → phone   with relay attributes: the phone gets our ports in c=/m=/a=rtcp, the other peer's
 *                  tags are kept; the first such SDP of a call decides relay or direct (auto: direct
 *                  when both phones are on their peers' networks and the two peers' channel runs
 *                  host to host, i.e. they share a network). Without them: the other peer does not
 *                  relay, nor do we.
 *   phone → phone  both at this peer: bridged between two pairs of our ports (relay), or untouched.
 *   peer → peer    untouched.
 * BYE, and a failed or cancelled INVITE before any 2xx, end the session.
 *
 * WebRTC SDP (issue 17, the browser phone) is left alone in every mode: an m-line whose transport
 * is DTLS-SRTP (RFC 5764 §8: UDP/TLS/RTP/SAVP(F), RFC 7850: TCP/DTLS/RTP/SAVPF) comes from an ICE
 * agent (RFC 8839) that sends media to its peer's candidates, not to c=/m=, and encrypts it end to
 * end with keys bound to the `a=fingerprint`s. Rewriting c=/m= would only hold relay ports nothing
 * uses (or make an ICE agent that checks the default candidate see an ICE mismatch), and relaying
 * the packets would need the relay in the ICE exchange and, to reach a plain-RTP phone, a DTLS-SRTP
 * endpoint of its own — neither exists yet. So such an SDP creates no relay session, only loses our
 * attributes on its way to a phone, and is counted (`counts.webrtc`); the browsers' ICE connects them
 * directly, which works when they can reach each other's host candidates (one network, or no NAT
 * between them). A call where one side is WebRTC and the other plain RTP gets no help here: the
 * plain phone refuses the DTLS-SRTP offer (488), the browser phone refuses a plain-RTP offer (488).
 */
import { sameIp, unbracket } from '../lib/ip.js';
import { parseNameAddrList, isSipUri } from '../sip/message/index.js';
import type { SipRequest, SipResponse, Uri } from '../sip/message/sip-message.js';
import type { MediaHook, MediaRefusal } from '../sip/core/media-hook.js';
import type { TransportAddress } from '../sip/transport/sip-transport.js';
import { MediaError } from './media-error.js';
import type { MediaRelay, MediaSession, SideInfo, UdpAddr } from './media-relay.js';
import { annotateForPeer, DEFAULT_MAX_STREAMS, hasAnnotations, isNullAddress, parseSdpBody, rewriteForPhone, stripAnnotations, type ParsedSdp, type RelayAnnotation, type SdpStream, type UaRewrite } from './sdp-body.js';

export type MediaMode = 'auto' | 'relay' | 'direct';

/** What the hook needs to know of other peers. */
export interface PeerDirectory {
  /** The Node-ID (hex) of the peer whose SIP channel serves `addr` (its remote address or an alias). */
  channelNode(addr: TransportAddress): string | undefined;
  /** True when the SIP channel with `node` runs host candidate to host candidate (one network). */
  directPath(node: string): boolean;
}

export interface SdpMediaHookOptions {
  mode: MediaMode;
  /** The address phones are told to send media to (our SIP front's address on their network). */
  mediaAddress(): string;
  /** True for a Request-URI that marks a request between peers (RFC 7904 target of another peer). */
  isPeerUri(uri: Uri): boolean;
  maxStreams?: number;
  /** Told once per reason when an SDP cannot be rewritten. */
  log?: (obj: object, msg: string) => void;
}

interface End {
  kind: 'ua' | 'peer';
  node: string | undefined;
}

const untouched = Symbol('untouched');

/** The hosts a new session compares with where SIP comes from: is each phone on our network. */
interface SessionHints {
  fromContactHost: string | undefined;
  toTargetHost: string | undefined;
}

export class SdpMediaHook implements MediaHook {
  readonly counts = { rewritten: 0, refused: 0, responseSdpUnusable: 0, stripped: 0, webrtc: 0 };
  private readonly maxStreams: number;

  constructor(
    private readonly relay: MediaRelay,
    private readonly peers: PeerDirectory,
    private readonly options: SdpMediaHookOptions,
  ) {
    this.maxStreams = options.maxStreams ?? DEFAULT_MAX_STREAMS;
  }

  /** Before an SDP-bearing request is rewritten: the ports it may need (two sides per m-line) are bound. */
  async prepare(out: SipRequest): Promise<void> {
    if (this.options.mode === 'direct' || !isSdp(out)) return;
    const text = Buffer.from(out.body.buffer, out.body.byteOffset, out.body.byteLength).toString('latin1');
    // WebRTC SDP is never relayed (see the header): no ports for it
    if (DTLS_SRTP_MLINE.test(text)) return;
    const streams = Math.min(text.split(/\r?\nm=/).length - 1, this.maxStreams);
    await this.relay.reservePorts(2 * streams);
  }

  request(out: SipRequest, received: SipRequest, from: TransportAddress, to: TransportAddress): MediaRefusal | undefined {
    const callId = out.headers.get('call-id');
    if (callId === undefined) return undefined;
    if (out.method === 'BYE') {
      this.relay.release(callId, 'bye');
      return undefined;
    }
    if (out.method === 'CANCEL') return undefined;
    const existing = this.relay.get(callId);
    if (existing !== undefined) this.relay.touch(existing);
    // which side each end is, and what the phones' own addresses say, for a new session
    const ends = (): { fromEnd: End; toEnd: End; hints: SessionHints } => ({
      fromEnd: this.endpoint(from, received.uri),
      toEnd: this.endpoint(to, out.uri),
      hints: { fromContactHost: contactHost(received), toTargetHost: isSipUri(out.uri) ? out.uri.host : undefined },
    });
    try {
      if (!isSdp(out)) {
        // an INVITE without an offer (the offer comes in the 2xx, the answer in the ACK): the session and
        // its sides are known now, so the offer in the response can be relayed
        if (out.method === 'INVITE' && existing === undefined && this.options.mode !== 'direct' && out.body.length === 0) {
          const { fromEnd, toEnd, hints } = ends();
          if (fromEnd.kind === 'ua' || toEnd.kind === 'ua') this.newSession(callId, fromEnd, from, toEnd, to, hints);
        }
        return undefined;
      }
      const parsed = parseSdpBody(out.body, this.maxStreams);
      const { fromEnd, toEnd, hints } = ends();
      if (isWebRtcSdp(parsed)) {
        const body = this.webRtc(callId, parsed, toEnd);
        if (body !== untouched) out.body = body;
        return undefined;
      }
      const body = this.transform(callId, parsed, fromEnd, from, toEnd, to, hints);
      if (body !== untouched) out.body = body;
      return undefined;
    } catch (err) {
      if (!(err instanceof MediaError)) throw err;
      return this.refusal(callId, err);
    }
  }

  private refusal(callId: string, err: MediaError): MediaRefusal {
    this.counts.refused++;
    this.options.log?.({ callId, code: err.code, err: err.message }, 'media: request refused');
    return {
      status: err.status,
      reason: `${err.reason} - ${err.message}`,
      headers: [['Warning', `399 p2psip "${err.message.replace(/"/g, "'")}"`], ...(err.retryAfter === undefined ? [] : [['Retry-After', String(err.retryAfter)] as [string, string]])],
    };
  }

  private newSession(callId: string, fromEnd: End, from: TransportAddress, toEnd: End, to: TransportAddress, hints: SessionHints): MediaSession {
    const side = (e: End, a: TransportAddress, sigHost: string | undefined): SideInfo => ({
      kind: e.kind,
      node: e.node,
      addrs: [key(a)],
      onOurNetwork: e.kind === 'ua' && sigHost !== undefined && sameIp(sigHost, a.host),
    });
    return this.relay.create(callId, [side(fromEnd, from, hints.fromContactHost), side(toEnd, to, hints.toTargetHost)]);
  }

  response(res: SipResponse, to: TransportAddress, from?: TransportAddress): SipResponse {
    const callId = res.headers.get('call-id');
    if (callId === undefined) return res;
    const method = cseqMethod(res);
    const s = this.relay.get(callId);
    if (s !== undefined) {
      this.relay.touch(s);
      if (method === 'INVITE' && res.status >= 300) {
        if (!s.established) this.relay.release(callId, res.status === 487 ? 'cancelled' : 'failed');
        return res;
      }
      if (method === 'INVITE' && res.status >= 200) s.established = true;
    }
    if (!isSdp(res) || res.status < 101 || res.status >= 300) return res;
    try {
      const parsed = parseSdpBody(res.body, this.maxStreams);
      if (isWebRtcSdp(parsed)) {
        const body = this.webRtc(callId, parsed, this.endpoint(to, undefined, s));
        return body === untouched ? res : { ...res, body };
      }
      if (s === undefined) {
        // no session (media direct here): a phone never sees our attributes
        if (!hasAnnotations(parsed) || this.endpoint(to, undefined).kind === 'peer') return res;
        this.counts.stripped++;
        return { ...res, body: stripAnnotations(parsed) };
      }
      const toEnd = this.endpoint(to, undefined, s);
      const t = this.sideOf(s, toEnd, to);
      if (t === undefined) return res;
      const f: 0 | 1 = t === 0 ? 1 : 0;
      // a call forked to several peers: the peer this answer came from is the one media goes to
      const fromNode = from === undefined ? undefined : this.peers.channelNode(from);
      if (fromNode !== undefined && s.sides[f].kind === 'peer') this.addNode(s.sides[f], fromNode);
      const body = this.apply(s, parsed, f, undefined, t, to, fromNode);
      return body === untouched ? res : { ...res, body };
    } catch (err) {
      if (!(err instanceof MediaError)) throw err;
      // an answer cannot be refused: it goes as it is (its media may not reach the phone)
      this.counts.responseSdpUnusable++;
      this.options.log?.({ callId, status: res.status, err: err.message }, 'media: SDP of a response left as it is');
      return res;
    }
  }

  private transform(callId: string, parsed: ParsedSdp, fromEnd: End, from: TransportAddress, toEnd: End, to: TransportAddress, hints: SessionHints): Uint8Array | typeof untouched {
    if (this.options.mode === 'direct') return this.strippedFor(parsed, toEnd);
    let s = this.relay.get(callId);
    if (s === undefined) {
      if (fromEnd.kind === 'peer' && toEnd.kind === 'peer') return untouched;
      // a peer that does not relay sends no attributes, and neither do we then (its phone gets the SDP as it is)
      if (fromEnd.kind === 'peer' && !hasAnnotations(parsed)) return untouched;
      s = this.newSession(callId, fromEnd, from, toEnd, to, hints);
    }
    const f = this.sideOf(s, fromEnd, from);
    const t0 = this.sideOf(s, toEnd, to);
    if (f === undefined) return this.strippedFor(parsed, toEnd);
    const t: 0 | 1 = t0 !== undefined && t0 !== f ? t0 : f === 0 ? 1 : 0;
    return this.apply(s, parsed, f, from, t, to, fromEnd.node);
  }

  /** The SDP going from side `f` to side `t` of `s` (`fromAddr`: where it came from, when known). */
  private apply(s: MediaSession, parsed: ParsedSdp, f: 0 | 1, fromAddr: TransportAddress | undefined, t: 0 | 1, toAddr: TransportAddress, fromNode?: string): Uint8Array | typeof untouched {
    const a = s.sides[f];
    const b = s.sides[t];
    if (a.kind === 'peer' && b.kind === 'peer') return untouched;
    if (a.kind === 'ua' && b.kind === 'peer') return this.exportSdp(s, parsed, f, fromAddr, t);
    if (a.kind === 'peer' && b.kind === 'ua') return this.importSdp(s, parsed, f, t, toAddr, fromNode);
    return this.bridge(s, parsed, f, fromAddr, t, toAddr);
  }

  private exportSdp(s: MediaSession, parsed: ParsedSdp, f: 0 | 1, fromAddr: TransportAddress | undefined, t: 0 | 1): Uint8Array | typeof untouched {
    if (s.mode === 'direct') return hasAnnotations(parsed) ? stripAnnotations(parsed) : untouched;
    const ua = s.sides[f];
    const sig = fromAddr?.host ?? firstHost(ua);
    if (sig !== undefined && parsed.streams.some((st) => st.port !== 0 && !isNullAddress(st.address) && !sameIp(st.address ?? '', sig))) ua.onOurNetwork = false;
    const trunk = s.sides[t].node === undefined ? this.relayTrunk() : undefined;
    const tags = parsed.streams.map((st, k): RelayAnnotation | undefined => {
      if (st.port === 0) return undefined;
      this.setPhone(s, k, f, st, sig);
      const leg = this.relay.peerLeg(s, k, t);
      // every relay takes bundles (it sends them only where it has the host's afterTurn)
      return trunk === undefined ? { tag: leg.localTag, bundles: true } : { tag: leg.localTag, trunk, bundles: true };
    });
    s.exported = true;
    this.counts.rewritten++;
    return annotateForPeer(parsed, this.options.mode === 'auto' && ua.onOurNetwork ? 'direct-ok' : 'nat', tags);
  }

  private importSdp(s: MediaSession, parsed: ParsedSdp, f: 0 | 1, t: 0 | 1, toAddr: TransportAddress, fromNode?: string): Uint8Array | typeof untouched {
    const peer = s.sides[f];
    if (!hasAnnotations(parsed)) {
      // the other peer does not relay this call: the media goes direct
      if (s.mode !== 'direct') this.relay.decide(s, 'direct');
      return untouched;
    }
    if (s.mode === 'pending') {
      const direct =
        !s.exported &&
        this.options.mode === 'auto' &&
        parsed.hint === 'direct-ok' &&
        s.sides[t].onOurNetwork &&
        (peer.node === undefined || this.peers.directPath(peer.node));
      this.relay.decide(s, direct ? 'direct' : 'relay');
    }
    if (s.mode === 'direct') return stripAnnotations(parsed);
    const rewrites = parsed.streams.map((st, k): UaRewrite | undefined => {
      if (st.port === 0 || st.relay === undefined) return undefined;
      const pl = this.relay.peerLeg(s, k, f);
      pl.remoteTag = st.relay.tag;
      pl.remoteTrunk = peer.node === undefined ? st.relay.trunk : undefined;
      pl.remoteBundles = st.relay.bundles === true;
      if (fromNode !== undefined) pl.remoteNode = fromNode;
      const ua = this.relay.uaLeg(s, k, t);
      this.relay.allowSource(ua, toAddr.host);
      return { port: ua.pair.port };
    });
    this.counts.rewritten++;
    return rewriteForPhone(parsed, this.options.mediaAddress(), rewrites);
  }

  private bridge(s: MediaSession, parsed: ParsedSdp, f: 0 | 1, fromAddr: TransportAddress | undefined, t: 0 | 1, toAddr: TransportAddress): Uint8Array | typeof untouched {
    const sig = fromAddr?.host ?? firstHost(s.sides[f]);
    if (s.mode === 'pending') {
      const sdpLocal = sig !== undefined && parsed.streams.every((st) => st.port === 0 || isNullAddress(st.address) || sameIp(st.address ?? '', sig));
      const direct = this.options.mode === 'auto' && sdpLocal && s.sides[f].onOurNetwork && s.sides[t].onOurNetwork;
      this.relay.decide(s, direct ? 'direct' : 'relay');
    }
    if (s.mode === 'direct') return hasAnnotations(parsed) ? stripAnnotations(parsed) : untouched;
    const rewrites = parsed.streams.map((st, k): UaRewrite | undefined => {
      if (st.port === 0) return undefined;
      this.setPhone(s, k, f, st, sig);
      const other = this.relay.uaLeg(s, k, t);
      this.relay.allowSource(other, toAddr.host);
      return { port: other.pair.port };
    });
    this.counts.rewritten++;
    return rewriteForPhone(parsed, this.options.mediaAddress(), rewrites);
  }

  /** The phone on side `f` receives stream `k` where its SDP says (until it latches). */
  private setPhone(s: MediaSession, k: number, f: 0 | 1, st: SdpStream, sig: string | undefined): void {
    const leg = this.relay.uaLeg(s, k, f);
    const held = isNullAddress(st.address) || st.address === undefined;
    const rtp: UdpAddr | undefined = held ? undefined : { host: st.address!, port: st.port };
    const rtcpHost = st.rtcpAddress ?? st.address;
    const rtcp: UdpAddr | undefined = held || rtcpHost === undefined || isNullAddress(rtcpHost) ? undefined : { host: rtcpHost, port: st.rtcpPort ?? st.port + 1 };
    const allowed = [sig, held ? undefined : st.address].filter((x): x is string => x !== undefined);
    this.relay.setPhoneDestination(leg, rtp, st.rtcpMux && st.rtcpPort === undefined ? undefined : rtcp, st.rtcpMux, allowed);
  }

  private relayTrunk(): { host: string; port: number } | undefined {
    const a = this.relay.trunkAddress();
    return a === undefined ? undefined : { host: this.options.mediaAddress(), port: a.port };
  }

  /**
   * A WebRTC SDP (DTLS-SRTP m-line) going to `toEnd`: passed as it is, without our attributes to a
   * phone, and any relay session of the call (made for an INVITE without an offer) released.
   */
  private webRtc(callId: string, parsed: ParsedSdp, toEnd: End): Uint8Array | typeof untouched {
    this.counts.webrtc++;
    if (this.relay.get(callId) !== undefined) this.relay.release(callId, 'webrtc');
    return this.strippedFor(parsed, toEnd);
  }

  private strippedFor(parsed: ParsedSdp, toEnd: End): Uint8Array | typeof untouched {
    if (toEnd.kind === 'peer' || !hasAnnotations(parsed)) return untouched;
    this.counts.stripped++;
    return stripAnnotations(parsed);
  }

  private endpoint(addr: TransportAddress, uri: Uri | undefined, s?: MediaSession): End {
    const node = this.peers.channelNode(addr);
    if (node !== undefined) return { kind: 'peer', node };
    if (uri !== undefined && this.options.isPeerUri(uri)) return { kind: 'peer', node: undefined };
    if (s !== undefined) {
      const k = key(addr);
      const i = s.sides.findIndex((x) => x.addrs.includes(k));
      if (i >= 0) return { kind: s.sides[i]!.kind, node: s.sides[i]!.node };
    }
    return { kind: 'ua', node: undefined };
  }

  /** Another peer of a side (a fork reached phones at several peers); at most 8. */
  private addNode(side: SideInfo, node: string): void {
    if (side.node === node) return;
    side.nodes ??= new Set(side.node === undefined ? [] : [side.node]);
    if (side.nodes.size < 8) side.nodes.add(node);
  }

  private sideOf(s: MediaSession, e: End, addr: TransportAddress): 0 | 1 | undefined {
    const k = key(addr);
    for (const i of [0, 1] as const) {
      const side = s.sides[i];
      if (e.node !== undefined && (side.node === e.node || side.nodes?.has(e.node) === true)) return i;
      if (side.addrs.includes(k)) return i;
    }
    const same = ([0, 1] as const).filter((i) => s.sides[i].kind === e.kind && (e.kind === 'ua' || (s.sides[i].node === undefined) === (e.node === undefined)));
    if (same.length === 1 && e.node !== undefined) this.addNode(s.sides[same[0]!], e.node);
    if (same.length !== 1) return undefined;
    const i = same[0]!;
    // another phone of the same side (a fork), or a peer reached at another of its addresses
    if (s.sides[i].addrs.length < 8 && !s.sides[i].addrs.includes(k)) s.sides[i].addrs.push(k);
    return i;
  }
}

/** An m-line whose transport is DTLS-SRTP (RFC 5764 §8, RFC 7850): what WebRTC endpoints offer. */
const DTLS_SRTP_MLINE = /^m=\S+ [1-9]\d* (UDP\/TLS|TCP\/DTLS|UDP\/DTLS|TCP\/TLS)\/RTP\/SAVPF?\b/im;
const DTLS_SRTP_PROTO = /^(UDP\/TLS|TCP\/DTLS|UDP\/DTLS|TCP\/TLS)\/RTP\/SAVPF?$/i;

/**
 * True for WebRTC SDP: some enabled m-line runs DTLS-SRTP. (ICE alone does not make an SDP WebRTC:
 * a plain-RTP phone with ICE, such as linphone, is still relayed.)
 */
export function isWebRtcSdp(parsed: ParsedSdp): boolean {
  return parsed.streams.some((st) => st.port !== 0 && DTLS_SRTP_PROTO.test(st.proto));
}

function isSdp(m: SipRequest | SipResponse): boolean {
  if (m.body.length === 0) return false;
  const ct = m.headers.get('content-type');
  return ct !== undefined && /^\s*application\/sdp\s*(;|$)/i.test(ct);
}

function cseqMethod(res: SipResponse): string | undefined {
  const v = res.headers.get('cseq');
  return v?.trim().split(/\s+/)[1]?.toUpperCase();
}

function contactHost(req: SipRequest): string | undefined {
  const v = req.headers.get('contact');
  if (v === undefined) return undefined;
  try {
    const u = parseNameAddrList(v)[0]?.uri;
    return u !== undefined && isSipUri(u) ? u.host : undefined;
  } catch {
    return undefined;
  }
}

function key(a: TransportAddress | UdpAddr): string {
  return `${unbracket(a.host)}:${a.port}`;
}

function firstHost(side: SideInfo): string | undefined {
  const a = side.addrs[0];
  return a === undefined ? undefined : a.slice(0, a.lastIndexOf(':'));
}

