/**
 * The SDP offer/answer (RFC 3264) of a voicemail call leg: what the phone offers, what we take,
 * and our answer. We take the first audio stream on RTP/AVP (or RTP/AVPF) with a port, and in it
 * the first G.711 payload the phone lists (its preference, RFC 3264 §6.1): static 0 (PCMU) or 8
 * (PCMA, RFC 3551 §6), or a dynamic type mapped to PCMU/8000 or PCMA/8000 by `a=rtpmap`; and
 * `telephone-event/8000` (RFC 4733 §7) when offered. Secure profiles (RTP/SAVP, UDP/TLS/…) are not
 * taken: the voicemail does not do SRTP.
 *
 * The answer has one m-line per offered one (RFC 3264 §6): ours, and the others refused with port 0.
 * Its direction mirrors the offer's (sendonly ↔ recvonly), `a=ptime` is the offer's when it is one
 * the player takes (10..60 ms in steps of 10), else 20.
 */
import { parse as parseSdp } from 'sdp-transform';
import type { G711Law } from './g711.js';
import { VoicemailError } from './voicemail-error.js';

export type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

export interface NegotiatedAudio {
  /** Index of the taken m-line in the offer. */
  readonly mLine: number;
  readonly payloadType: number;
  readonly law: G711Law;
  /** The telephone-event payload type, when offered. */
  readonly telephoneEvent: number | undefined;
  readonly ptimeMs: number;
  /** Where the phone wants our RTP (the lead latches to the actual source, symmetric RTP). */
  readonly remote: { readonly address: string; readonly port: number };
  /** Our direction in the answer. */
  readonly direction: Direction;
  /** The offer's m-lines (media, protocol, formats), to refuse the others. */
  readonly offered: readonly { readonly media: string; readonly proto: string; readonly formats: string }[];
}

export interface LocalMedia {
  /** Our address for RTP (IPv4 or IPv6). */
  readonly address: string;
  /** Our RTP port (RTCP on port + 1). */
  readonly port: number;
  /** o= session id and version (decimal digits). */
  readonly sessionId: string;
  readonly sessionVersion?: string;
}

/** Largest SDP taken, in bytes. */
export const MAX_SDP_BYTES = 16 * 1024;
const PROTOS = new Set(['RTP/AVP', 'RTP/AVPF']);

const bad = (why: string): VoicemailError => new VoicemailError('VM_SDP_MALFORMED', `SDP offer: ${why}`);

/** Picks our audio from an offer; throws VoicemailError VM_SDP_MALFORMED or VM_SDP_NO_CODEC (both: 488). */
export function negotiateAudio(offer: Uint8Array | string): NegotiatedAudio {
  const text = typeof offer === 'string' ? offer : Buffer.from(offer.buffer, offer.byteOffset, offer.byteLength).toString('utf8');
  if (text.length > MAX_SDP_BYTES) throw bad(`${text.length} bytes, over ${MAX_SDP_BYTES}`);
  if (!text.startsWith('v=0')) throw bad('does not start with v=0');
  let sdp;
  try {
    sdp = parseSdp(text);
  } catch (err) {
    throw bad(`does not parse: ${String(err)}`);
  }
  const media = sdp.media ?? [];
  const offered = media.map((m) => ({ media: String(m.type), proto: String(m.protocol), formats: String(m.payloads ?? '') }));
  for (const [k, m] of media.entries()) {
    if (m.type !== 'audio' || !PROTOS.has(m.protocol) || !(m.port > 0 && m.port <= 65535)) continue;
    const formats = String(m.payloads ?? '').trim().split(/\s+/).filter((f) => /^\d{1,3}$/.test(f)).map(Number).filter((n) => n <= 127);
    const map = new Map<number, string>();
    for (const r of m.rtp ?? []) map.set(r.payload, `${r.codec.toLowerCase()}/${r.rate ?? ''}`);
    let chosen: { pt: number; law: G711Law } | undefined;
    let te: number | undefined;
    for (const pt of formats) {
      const name = map.get(pt);
      const law: G711Law | undefined = name === 'pcmu/8000' || (name === undefined && pt === 0) ? 'pcmu' : name === 'pcma/8000' || (name === undefined && pt === 8) ? 'pcma' : undefined;
      if (law !== undefined && chosen === undefined) chosen = { pt, law };
      if (name === 'telephone-event/8000' && te === undefined) te = pt;
    }
    if (chosen === undefined) continue;
    const address = m.connection?.ip ?? sdp.connection?.ip;
    if (address === undefined) throw bad(`audio m-line ${k + 1} has no connection address (c=)`);
    const ptime = m.ptime;
    const dir = m.direction ?? sdp.direction ?? 'sendrecv';
    const direction: Direction = dir === 'sendonly' ? 'recvonly' : dir === 'recvonly' ? 'sendonly' : dir === 'inactive' ? 'inactive' : 'sendrecv';
    return {
      mLine: k,
      payloadType: chosen.pt,
      law: chosen.law,
      telephoneEvent: te,
      ptimeMs: ptime !== undefined && Number.isInteger(ptime) && ptime >= 10 && ptime <= 60 && ptime % 10 === 0 ? ptime : 20,
      remote: { address, port: m.port },
      direction,
      offered,
    };
  }
  throw new VoicemailError('VM_SDP_NO_CODEC', 'SDP offer has no RTP/AVP audio stream with PCMU or PCMA');
}

/** Our answer to the offer `n` came from (CRLF line ends). */
export function buildAnswerSdp(n: NegotiatedAudio, local: LocalMedia): string {
  if (!/^\d{1,20}$/.test(local.sessionId) || (local.sessionVersion !== undefined && !/^\d{1,20}$/.test(local.sessionVersion))) {
    throw new VoicemailError('VM_INVALID_OPTION', 'o= session id and version are decimal digits');
  }
  if (!Number.isInteger(local.port) || local.port < 1 || local.port > 65535) throw new VoicemailError('VM_INVALID_OPTION', `RTP port ${local.port}`);
  if (!/^[0-9A-Fa-f:.]+$/.test(local.address)) throw new VoicemailError('VM_INVALID_OPTION', `RTP address ${local.address} is not an IP address`);
  const ip = local.address.includes(':') ? 'IP6' : 'IP4';
  const lines = [
    'v=0',
    `o=- ${local.sessionId} ${local.sessionVersion ?? local.sessionId} IN ${ip} ${local.address}`,
    's=-',
    `c=IN ${ip} ${local.address}`,
    't=0 0',
  ];
  for (const [k, o] of n.offered.entries()) {
    if (k !== n.mLine) {
      lines.push(`m=${o.media} 0 ${o.proto} ${o.formats.trim() || '0'}`); // RFC 3264 §6: refused
      continue;
    }
    const fmts = n.telephoneEvent === undefined ? `${n.payloadType}` : `${n.payloadType} ${n.telephoneEvent}`;
    lines.push(`m=audio ${local.port} ${o.proto} ${fmts}`);
    lines.push(`a=rtpmap:${n.payloadType} ${n.law === 'pcmu' ? 'PCMU' : 'PCMA'}/8000`);
    if (n.telephoneEvent !== undefined) {
      lines.push(`a=rtpmap:${n.telephoneEvent} telephone-event/8000`);
      lines.push(`a=fmtp:${n.telephoneEvent} 0-15`);
    }
    lines.push(`a=ptime:${n.ptimeMs}`);
    lines.push(`a=${n.direction}`);
  }
  return lines.join('\r\n') + '\r\n';
}
