/**
 * The little SDP the media tests and the media benchmark need (RFC 4566, offer/answer RFC 3264): an
 * audio offer or answer for one G.711 stream, and the RTP (and RTCP) address a received description
 * tells the other side to send to — the media-level c= over the session-level one, a=rtcp (RFC 3605)
 * or port+1.
 */

export interface MediaAddress {
  readonly host: string;
  readonly port: number;
  /** RTCP port: a=rtcp when present, else port + 1 (RFC 3550 §11). */
  readonly rtcpPort: number;
}

export interface AudioSdpOptions {
  readonly host: string;
  readonly port: number;
  /** o= session id (any number). */
  readonly sessionId: number | string;
  /** o= user name. Default "-". */
  readonly user?: string;
  /** RTP payload type: 0 PCMU (default) or 8 PCMA. */
  readonly payloadType?: 0 | 8;
}

/** An audio description of one G.711 stream, CRLF line ends. */
export function audioSdp(o: AudioSdpOptions): string {
  const pt = o.payloadType ?? 0;
  const ip = o.host.includes(':') ? 'IP6' : 'IP4';
  return [
    'v=0',
    `o=${o.user ?? '-'} ${o.sessionId} 1 IN ${ip} ${o.host}`,
    's=-',
    `c=IN ${ip} ${o.host}`,
    't=0 0',
    `m=audio ${o.port} RTP/AVP ${pt}`,
    `a=rtpmap:${pt} ${pt === 0 ? 'PCMU' : 'PCMA'}/8000`,
    'a=ptime:20',
    'a=sendrecv',
    '',
  ].join('\r\n');
}

/** Where the first audio stream of `sdp` wants its RTP, or undefined (no audio, port 0, no c=). */
export function audioAddress(sdp: string): MediaAddress | undefined {
  const lines = sdp.split(/\r?\n/);
  let sessionHost: string | undefined;
  let inAudio = false;
  let seenMedia = false;
  let port: number | undefined;
  let mediaHost: string | undefined;
  let rtcp: number | undefined;
  for (const line of lines) {
    if (line.startsWith('m=')) {
      if (inAudio) break;
      seenMedia = true;
      const m = /^m=audio (\d+)(?:\/\d+)? /.exec(line);
      if (m !== null && port === undefined) {
        inAudio = true;
        port = Number(m[1]);
      }
      continue;
    }
    const c = /^c=IN IP[46] ([^\s/]+)/.exec(line);
    if (c !== null) {
      if (!seenMedia) sessionHost = c[1];
      else if (inAudio) mediaHost = c[1];
      continue;
    }
    const r = /^a=rtcp:(\d+)/.exec(line);
    if (r !== null && inAudio) rtcp = Number(r[1]);
  }
  const host = mediaHost ?? sessionHost;
  if (port === undefined || port === 0 || host === undefined) return undefined;
  return { host, port, rtcpPort: rtcp ?? port + 1 };
}
