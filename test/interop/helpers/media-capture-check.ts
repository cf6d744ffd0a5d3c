/**
 * A call's phone-side legs as Wireshark sees them (a capture of a NAT lab LAN, helpers/lab-capture.ts):
 * RTP and RTCP decoded with the heuristic dissectors (`rtp.heuristic_rtp`, `rtcp.heuristic_rtcp`: the
 * ports come from SDP Wireshark may not have seen), each RTP stream's packets and sequence gaps, the
 * SDP of every SIP message sent to a phone (its c= and o= addresses, m= ports), and every SIP, SDP,
 * RTP or RTCP frame tshark calls malformed or warns about. ICMP errors quoting a datagram (RTP to a
 * phone that already hung up) are left out: they are not the stream; so are the STUN Binding requests
 * linphone sends to the far RTP port at the start (Wireshark shows them as RTP version 0 in the
 * conversation the SDP set up).
 */
import type { ProcessScope } from '../../../harness/process-scope.js';
import { tsharkLines } from './tshark.js';

export interface RtpStreamStats {
  /** `ip:port` */
  readonly src: string;
  readonly dst: string;
  /** `0x…` as tshark prints it. */
  readonly ssrc: string;
  readonly payloadTypes: readonly number[];
  readonly packets: number;
  /** Jumps forward by more than one sequence number, and the numbers they skipped. */
  readonly gaps: number;
  readonly missing: number;
  /** Packets whose sequence number was not above the last one (duplicates, reordering). */
  readonly outOfOrder: number;
}

export interface RtcpFlow {
  readonly src: string;
  readonly dst: string;
  readonly packets: number;
  /** Packet types inside the compound packets (200 SR, 201 RR, 202 SDES, 203 BYE, 204 APP) and counts. */
  readonly types: ReadonlyMap<number, number>;
}

export interface SdpToPhone {
  readonly frame: number;
  readonly dst: string;
  /** `INVITE`, `200 (INVITE)`, … */
  readonly message: string;
  /** Every c= address (session and media level). */
  readonly connection: readonly string[];
  /** The o= address. */
  readonly owner: readonly string[];
  readonly mediaPorts: readonly number[];
}

export interface MediaDissection {
  readonly rtp: readonly RtpStreamStats[];
  readonly rtcp: readonly RtcpFlow[];
  readonly sdpToPhones: readonly SdpToPhone[];
  /** SIP frames seen from or to the phones. */
  readonly sipFrames: number;
  /** `frame<TAB>protocols<TAB>info<TAB>expert` of malformed or warned SIP/SDP/RTP/RTCP frames. */
  readonly problems: readonly string[];
}

const PROBLEMS = '(sip || sdp || rtp || rtcp) && (_ws.malformed || _ws.expert.severity >= warning)';

/** The tshark options every pass uses: heuristic RTP/RTCP, SIP on the phones' own SIP ports too. */
export function mediaDecodeOptions(sipPorts: readonly number[]): string[] {
  return ['-n', '-o', 'rtp.heuristic_rtp:TRUE', '-o', 'rtcp.heuristic_rtcp:TRUE', ...sipPorts.flatMap((p) => ['-d', `udp.port==${p},sip`])];
}

/** Decodes `file` (a capture of the phones' LAN) for the phones at `phones` (their addresses). */
export async function dissectMedia(scope: ProcessScope, file: string, phones: readonly string[], sipPorts: readonly number[]): Promise<MediaDissection> {
  const base = ['-r', file, ...mediaDecodeOptions(sipPorts)];
  // tshark's stderr comes with its stdout: its note about running as root is not a frame
  const fields = async (filter: string, names: readonly string[]): Promise<string[]> =>
    (await tsharkLines(scope, [...base, '-Y', filter, '-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=a', '-E', 'aggregator=,', ...names.flatMap((n) => ['-e', n])]))
      .filter((l) => !/^Running as user /.test(l));
  const anyPhone = `(${phones.map((p) => `ip.addr == ${p}`).join(' || ')})`;
  const toPhone = `(${phones.map((p) => `ip.dst == ${p}`).join(' || ')})`;
  const [rtpLines, rtcpLines, sdpLines, sipLines, problemLines] = await Promise.all([
    // version 2 only: a phone's STUN keepalive to the far RTP port rides the SDP's RTP conversation as "RTP version 0"
    fields(`rtp.version == 2 && !icmp && ${anyPhone}`, ['ip.src', 'udp.srcport', 'ip.dst', 'udp.dstport', 'rtp.ssrc', 'rtp.seq', 'rtp.p_type']),
    fields(`rtcp && !icmp && ${anyPhone}`, ['ip.src', 'udp.srcport', 'ip.dst', 'udp.dstport', 'rtcp.pt']),
    fields(`sip && sdp && !icmp && ${toPhone}`, ['frame.number', 'ip.dst', 'sip.Method', 'sip.Status-Code', 'sip.CSeq.method', 'sdp.connection_info.address', 'sdp.owner.address', 'sdp.media.port']),
    fields(`sip && !icmp && ${anyPhone}`, ['frame.number']),
    fields(PROBLEMS, ['frame.number', 'frame.protocols', '_ws.col.Info', '_ws.expert.message']),
  ]);
  return { rtp: rtpStreams(rtpLines), rtcp: rtcpFlows(rtcpLines), sdpToPhones: sdpLines.map(parseSdpLine), sipFrames: sipLines.length, problems: problemLines };
}

/** Streams (src, dst, SSRC) from tshark field lines `src sport dst dport ssrc seq pt`, in capture order. */
export function rtpStreams(lines: readonly string[]): RtpStreamStats[] {
  interface Acc { src: string; dst: string; ssrc: string; pts: Set<number>; packets: number; gaps: number; missing: number; outOfOrder: number; last: number | undefined }
  const streams = new Map<string, Acc>();
  for (const line of lines) {
    const [src, sport, dst, dport, ssrc, seqText, pt] = line.split('\t');
    if (ssrc === undefined || seqText === undefined) continue;
    const key = `${src}:${sport}>${dst}:${dport}/${ssrc}`;
    let s = streams.get(key);
    if (s === undefined) {
      s = { src: `${src}:${sport}`, dst: `${dst}:${dport}`, ssrc, pts: new Set(), packets: 0, gaps: 0, missing: 0, outOfOrder: 0, last: undefined };
      streams.set(key, s);
    }
    const seq = Number(seqText);
    s.packets++;
    s.pts.add(Number(pt));
    if (s.last !== undefined) {
      const delta = (seq - s.last + 65536) % 65536;
      if (delta === 0 || delta >= 32768) {
        s.outOfOrder++;
        continue;
      }
      if (delta > 1) {
        s.gaps++;
        s.missing += delta - 1;
      }
    }
    s.last = seq;
  }
  return [...streams.values()].map((s) => ({ src: s.src, dst: s.dst, ssrc: s.ssrc, payloadTypes: [...s.pts], packets: s.packets, gaps: s.gaps, missing: s.missing, outOfOrder: s.outOfOrder }));
}

function rtcpFlows(lines: readonly string[]): RtcpFlow[] {
  const flows = new Map<string, { src: string; dst: string; packets: number; types: Map<number, number> }>();
  for (const line of lines) {
    const [src, sport, dst, dport, pts] = line.split('\t');
    const key = `${src}:${sport}>${dst}:${dport}`;
    let f = flows.get(key);
    if (f === undefined) {
      f = { src: `${src}:${sport}`, dst: `${dst}:${dport}`, packets: 0, types: new Map() };
      flows.set(key, f);
    }
    f.packets++;
    for (const t of (pts ?? '').split(',').filter((x) => x !== '')) f.types.set(Number(t), (f.types.get(Number(t)) ?? 0) + 1);
  }
  return [...flows.values()];
}

function parseSdpLine(line: string): SdpToPhone {
  const [frame, dst, method, status, cseqMethod, conn, owner, ports] = line.split('\t');
  const list = (x: string | undefined): string[] => (x ?? '').split(',').filter((v) => v !== '');
  return {
    frame: Number(frame),
    dst: dst ?? '',
    message: method !== undefined && method !== '' ? method : `${status ?? '?'} (${cseqMethod ?? '?'})`,
    connection: list(conn),
    owner: list(owner),
    mediaPorts: list(ports).map(Number),
  };
}

/** One line per stream for diagnostics. */
export function describeRtp(s: RtpStreamStats): string {
  return `${s.src} → ${s.dst} ssrc ${s.ssrc} pt ${s.payloadTypes.join('/')}: ${s.packets} packets, ${s.gaps} gaps (${s.missing} missing), ${s.outOfOrder} out of order`;
}
