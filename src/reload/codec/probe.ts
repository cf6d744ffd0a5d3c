import type { DecodeResult } from './codec-error.js';
import type { CodecOptions } from './codec-options.js';
import { checkObject, decodeBody, encodeBody, writeList } from './method-body.js';
import type { Reader } from './reader.js';
import type { Writer } from './writer.js';

/** RFC 6940 §6.4.2.5.1 ProbeInformationType codes (0 is invalid). */
export const ProbeInformationType = { responsible_set: 1, num_resources: 2, uptime: 3 } as const;

/** RFC 6940 §6.4.2.5.1 ProbeReq: the requested ProbeInformationType codes (1..255). */
export interface ProbeReq {
  requestedInfo: number[];
}

/**
 * RFC 6940 §6.4.2.5.2 ProbeInformation. The three defined types carry a uint32 (`length` 4);
 * `unknown` keeps a type this code does not know with its `length` bytes (the structure is extensible).
 */
export type ProbeInformation =
  | { type: 'responsible_set'; responsiblePpb: number }
  | { type: 'num_resources'; numResources: number }
  | { type: 'uptime'; uptime: number }
  | { type: 'unknown'; code: number; value: Uint8Array };

/** RFC 6940 §6.4.2.5.2 ProbeAns. */
export interface ProbeAns {
  probeInfo: ProbeInformation[];
}

export function readProbeReq(r: Reader): ProbeReq {
  const requestedInfo = r.sub(1, 'requested_info').items((it) => {
    const at = it.offset;
    const t = it.u8('');
    if (t === 0) it.fail('', 'invalidProbeInformationType (0)', at);
    return t;
  });
  return { requestedInfo };
}

export function writeProbeReq(w: Writer, v: ProbeReq): void {
  writeList(w, v.requestedInfo, 1, 'requested_info', (t) => {
    if (t === 0) w.fail('', 'invalidProbeInformationType (0)');
    w.u8(t, '');
  });
}

export function readProbeInformation(r: Reader): ProbeInformation {
  const at = r.offset;
  const code = r.u8('type');
  if (code === 0) r.fail('type', 'invalidProbeInformationType (0)', at);
  const lengthAt = r.offset;
  const v = r.take(r.u8('length'), 'value', 'length', lengthAt);
  let info: ProbeInformation;
  switch (code) {
    case ProbeInformationType.responsible_set:
      info = { type: 'responsible_set', responsiblePpb: v.u32('responsible_ppb') };
      break;
    case ProbeInformationType.num_resources:
      info = { type: 'num_resources', numResources: v.u32('num_resources') };
      break;
    case ProbeInformationType.uptime:
      info = { type: 'uptime', uptime: v.u32('uptime') };
      break;
    default:
      info = { type: 'unknown', code, value: v.bytes(v.remaining, '') };
  }
  v.expectEnd();
  return info;
}

export function writeProbeInformation(w: Writer, p: ProbeInformation): void {
  checkObject(w, p, 'ProbeInformation');
  switch (p.type) {
    case 'responsible_set':
      w.u8(ProbeInformationType.responsible_set, 'type');
      w.prefixed(1, 'length', () => w.u32(p.responsiblePpb, 'responsible_ppb'));
      return;
    case 'num_resources':
      w.u8(ProbeInformationType.num_resources, 'type');
      w.prefixed(1, 'length', () => w.u32(p.numResources, 'num_resources'));
      return;
    case 'uptime':
      w.u8(ProbeInformationType.uptime, 'type');
      w.prefixed(1, 'length', () => w.u32(p.uptime, 'uptime'));
      return;
    case 'unknown':
      if (!Number.isInteger(p.code) || p.code < 4 || p.code > 255) w.fail('type', `unknown ProbeInformationType ${String(p.code)} must be 4..255`);
      w.u8(p.code, 'type');
      w.opaque(1, p.value, 'value');
      return;
    default:
      w.fail('type', 'not a ProbeInformation');
  }
}

export function readProbeAns(r: Reader): ProbeAns {
  return { probeInfo: r.sub(2, 'probe_info').items(readProbeInformation) };
}

export function writeProbeAns(w: Writer, v: ProbeAns): void {
  writeList(w, v.probeInfo, 2, 'probe_info', (p) => writeProbeInformation(w, p));
}

export function encodeProbeReq(v: ProbeReq, options: CodecOptions = {}): Uint8Array {
  return encodeBody('ProbeReq', v, options, writeProbeReq);
}

export function decodeProbeReq(bytes: Uint8Array, options: CodecOptions = {}): DecodeResult<ProbeReq> {
  return decodeBody('ProbeReq', bytes, options, readProbeReq);
}

export function encodeProbeAns(v: ProbeAns, options: CodecOptions = {}): Uint8Array {
  return encodeBody('ProbeAns', v, options, writeProbeAns);
}

export function decodeProbeAns(bytes: Uint8Array, options: CodecOptions = {}): DecodeResult<ProbeAns> {
  return decodeBody('ProbeAns', bytes, options, readProbeAns);
}
