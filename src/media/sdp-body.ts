/**
 * SDP (RFC 4566) as the media relay needs it: validated with sdp-transform, and rewritten line by
 * line so that everything the relay does not own — codecs, `a=crypto` (SDES keys pass untouched: the
 * relay never decrypts), `a=rtpmap` for RFC 4733 telephone-event, direction attributes, ICE lines of
 * phones that have them — stays exactly as the phone wrote it.
 *
 * What the relay owns: the `c=` lines, the address of `o=` (topology hiding: the far phone's private
 * address stays behind its peer), the port of each `m=` line, `a=rtcp` (RFC 3605), and its own
 * attributes between peers:
 *   session level  `a=p2psip-media:direct-ok|nat` — the sender's phone is (not) on its peer's network
 *   media level    `a=p2psip-relay:<tag> [<host> <port>]` — send this stream's media to me tagged
 *                  <tag> (8 hex digits), inside our SIP channel, or to the UDP trunk <host>:<port>
 *                  `a=p2psip-relay:bundle` — this relay takes bundles (several frames in one datagram,
 *                  see media-relay.ts). A relay that predates it finds no tag in the value and keeps
 *                  the tag line's meaning, and strips the line like its other attributes.
 * A phone never sees these: they are removed before an SDP is handed to a phone.
 *
 * Limits: at most `maxStreams` m-lines (default 16); an SDP past it, or one that does not parse,
 * is a MediaError with the SIP answer to give (488).
 */
import { parse as parseSdp } from 'sdp-transform';
import { MediaError } from './media-error.js';

export const RELAY_ATTR = 'p2psip-relay';
export const HINT_ATTR = 'p2psip-media';
/** Most m-lines in an SDP the relay takes (default). */
export const DEFAULT_MAX_STREAMS = 16;

export type MediaHint = 'direct-ok' | 'nat';

export interface RelayAnnotation {
  tag: number;
  trunk?: { host: string; port: number };
  /** The relay takes bundles of frames (`a=p2psip-relay:bundle`). */
  bundles?: boolean;
}

/** The value of the media-level line that says a relay takes bundles. */
export const RELAY_BUNDLE_VALUE = 'bundle';

/** One m-line as the relay sees it. */
export interface SdpStream {
  media: string;
  /** 0: a disabled stream (RFC 3264 §6), never relayed. */
  port: number;
  proto: string;
  /** The connection address in effect for the stream (media level, else session level). */
  address: string | undefined;
  /** RFC 3605 `a=rtcp` port, and its address when given. */
  rtcpPort: number | undefined;
  rtcpAddress: string | undefined;
  rtcpMux: boolean;
  relay: RelayAnnotation | undefined;
}

export interface ParsedSdp {
  /** The lines, without line ends. */
  readonly lines: string[];
  /** Index of each m-line in `lines`. */
  readonly mLines: number[];
  readonly streams: SdpStream[];
  readonly hint: MediaHint | undefined;
}

/** True for a `c=` address that means "no media here" (RFC 3264 §8.4 hold, RFC 2543 style). */
export function isNullAddress(a: string | undefined): boolean {
  return a === '0.0.0.0' || a === '::';
}

export function parseSdpBody(body: Uint8Array, maxStreams = DEFAULT_MAX_STREAMS): ParsedSdp {
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const mLines: number[] = [];
  for (let i = 0; i < lines.length; i++) if (lines[i]!.startsWith('m=')) mLines.push(i);
  if (mLines.length > maxStreams) throw new MediaError('SDP_TOO_MANY_STREAMS', `SDP has ${mLines.length} m-lines, at most ${maxStreams} are taken`, 488, 'Not Acceptable Here');
  if (lines[0] !== 'v=0') throw new MediaError('SDP_MALFORMED', 'SDP does not start with v=0', 488, 'Not Acceptable Here');
  for (const [i, l] of lines.entries()) {
    if (!/^[a-z]=/.test(l)) throw new MediaError('SDP_MALFORMED', `SDP line ${i + 1} is not <type>=<value>`, 488, 'Not Acceptable Here');
  }
  let described;
  try {
    described = parseSdp(text);
  } catch (err) {
    throw new MediaError('SDP_MALFORMED', `SDP does not parse: ${String(err)}`, 488, 'Not Acceptable Here');
  }
  if (described.origin === undefined) throw new MediaError('SDP_MALFORMED', 'SDP has no o= line', 488, 'Not Acceptable Here');
  const media = described.media ?? [];
  if (media.length !== mLines.length) throw new MediaError('SDP_MALFORMED', 'SDP has a malformed m= line', 488, 'Not Acceptable Here');
  const sessionAddr = described.connection?.ip;
  let hint: MediaHint | undefined;
  for (let i = 0; i < (mLines[0] ?? lines.length); i++) {
    const v = attrValue(lines[i]!, HINT_ATTR);
    if (v === 'direct-ok' || v === 'nat') hint = v;
  }
  const streams: SdpStream[] = media.map((m, k) => {
    if (!Number.isInteger(m.port) || m.port < 0 || m.port > 65535 || typeof m.protocol !== 'string' || m.protocol === '') {
      throw new MediaError('SDP_MALFORMED', `SDP m-line ${k + 1} has no valid port and protocol`, 488, 'Not Acceptable Here');
    }
    const address = m.connection?.ip ?? sessionAddr;
    if (m.port !== 0 && address === undefined) throw new MediaError('SDP_MALFORMED', `SDP m-line ${k + 1} has no connection address (c=)`, 488, 'Not Acceptable Here');
    const end = mLines[k + 1] ?? lines.length;
    let relay: RelayAnnotation | undefined;
    let bundles = false;
    for (let i = mLines[k]! + 1; i < end; i++) {
      const v = attrValue(lines[i]!, RELAY_ATTR);
      if (v === RELAY_BUNDLE_VALUE) bundles = true;
      else if (v !== undefined) relay = parseRelay(v) ?? relay;
    }
    if (relay !== undefined && bundles) relay = { ...relay, bundles: true };
    const rtcp = m.rtcp;
    return {
      media: m.type,
      port: m.port,
      proto: m.protocol,
      address,
      rtcpPort: rtcp !== undefined && Number.isInteger(rtcp.port) && rtcp.port > 0 && rtcp.port <= 65535 ? rtcp.port : undefined,
      rtcpAddress: rtcp?.address,
      rtcpMux: m.rtcpMux !== undefined,
      relay,
    };
  });
  return { lines, mLines, streams, hint };
}

/** What the phone-facing side of one stream is: our address and RTP port (RTCP on port + 1). */
export interface UaRewrite {
  port: number;
}

/**
 * The SDP a phone gets: every non-null `c=` names `address`, each relayed m-line names our port,
 * `a=rtcp` our RTCP port; our attributes are gone. `streams[k]` undefined leaves m-line k as it is.
 */
export function rewriteForPhone(sdp: ParsedSdp, address: string, streams: ReadonlyArray<UaRewrite | undefined>): Uint8Array {
  const family = address.includes(':') ? 'IP6' : 'IP4';
  const out: string[] = [];
  let k = -1;
  for (let i = 0; i < sdp.lines.length; i++) {
    const line = sdp.lines[i]!;
    if (k + 1 < sdp.mLines.length && sdp.mLines[k + 1] === i) k++;
    if (isOwnAttr(line)) continue;
    const s = k >= 0 ? streams[k] : undefined;
    const anyRelayed = streams.some((x) => x !== undefined);
    if (line.startsWith('o=') && anyRelayed) {
      // the origin's address is the far phone's (often private): ours instead, the rest as it was
      const f = line.slice(2).split(' ');
      if (f.length === 6) {
        out.push(`o=${f[0]} ${f[1]} ${f[2]} IN ${family} ${address}`);
        continue;
      }
    } else if (line.startsWith('c=')) {
      const addr = line.split(' ')[2];
      // session-level c= when any stream is relayed; media-level c= of a relayed stream; hold stays
      if (!isNullAddress(addr) && (k < 0 ? anyRelayed : s !== undefined)) {
        out.push(`c=IN ${family} ${address}`);
        continue;
      }
    } else if (line.startsWith('m=') && s !== undefined) {
      const parts = line.slice(2).split(' ');
      parts[1] = String(s.port);
      out.push(`m=${parts.join(' ')}`);
      continue;
    } else if (s !== undefined && line.startsWith('a=rtcp:')) {
      out.push(`a=rtcp:${s.port + 1}${/\sIN\s/.test(line) ? ` IN ${family} ${address}` : ''}`);
      continue;
    }
    out.push(line);
  }
  return encode(out);
}

/** The SDP another peer gets: the phone's SDP as it is, with our relay attributes. */
export function annotateForPeer(sdp: ParsedSdp, hint: MediaHint, tags: ReadonlyArray<RelayAnnotation | undefined>): Uint8Array {
  const out: string[] = [];
  const firstM = sdp.mLines[0] ?? sdp.lines.length;
  for (let i = 0; i < sdp.lines.length; i++) {
    const line = sdp.lines[i]!;
    if (i === firstM) out.push(`a=${HINT_ATTR}:${hint}`);
    const k = sdp.mLines.indexOf(i);
    if (k > 0) pushRelay(out, tags[k - 1]);
    if (!isOwnAttr(line)) out.push(line);
  }
  if (sdp.mLines.length === 0) out.push(`a=${HINT_ATTR}:${hint}`);
  else pushRelay(out, tags[sdp.mLines.length - 1]);
  return encode(out);
}

/** The SDP without our attributes (to a phone when the media goes direct). */
export function stripAnnotations(sdp: ParsedSdp): Uint8Array {
  return encode(sdp.lines.filter((l) => !isOwnAttr(l)));
}

export function hasAnnotations(sdp: ParsedSdp): boolean {
  return sdp.hint !== undefined || sdp.streams.some((s) => s.relay !== undefined);
}

function pushRelay(out: string[], a: RelayAnnotation | undefined): void {
  if (a === undefined) return;
  const tag = a.tag.toString(16).padStart(8, '0');
  out.push(a.trunk === undefined ? `a=${RELAY_ATTR}:${tag}` : `a=${RELAY_ATTR}:${tag} ${a.trunk.host} ${a.trunk.port}`);
  if (a.bundles === true) out.push(`a=${RELAY_ATTR}:${RELAY_BUNDLE_VALUE}`);
}

function isOwnAttr(line: string): boolean {
  return line.startsWith(`a=${RELAY_ATTR}:`) || line.startsWith(`a=${HINT_ATTR}:`);
}

function attrValue(line: string, name: string): string | undefined {
  const prefix = `a=${name}:`;
  return line.startsWith(prefix) ? line.slice(prefix.length).trim() : undefined;
}

function parseRelay(v: string): RelayAnnotation | undefined {
  const m = /^([0-9a-f]{8})(?:\s+([0-9a-fA-F.:]+)\s+(\d{1,5}))?$/.exec(v);
  if (m === null) return undefined;
  const tag = parseInt(m[1]!, 16);
  if (m[2] === undefined) return { tag };
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return { tag };
  return { tag, trunk: { host: m[2], port } };
}

function encode(lines: string[]): Uint8Array {
  return Buffer.from(`${lines.join('\r\n')}\r\n`, 'utf8');
}
