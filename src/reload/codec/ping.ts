import type { DecodeResult } from './codec-error.js';
import type { CodecOptions } from './codec-options.js';
import { decodeBody, encodeBody } from './method-body.js';
import type { Reader } from './reader.js';
import type { Writer } from './writer.js';

/** RFC 6940 §6.5.3.1 PingReq: up to 65535 bytes of padding (for path MTU discovery). */
export interface PingReq {
  padding: Uint8Array;
}

/** RFC 6940 §6.5.3.2 PingAns: a pseudo-random response_id and the responder's time (ms since 1970). */
export interface PingAns {
  responseId: bigint;
  time: bigint;
}

export function readPingReq(r: Reader): PingReq {
  return { padding: r.opaque(2, 'padding') };
}

export function writePingReq(w: Writer, v: PingReq): void {
  w.opaque(2, v.padding, 'padding');
}

export function readPingAns(r: Reader): PingAns {
  return { responseId: r.u64('response_id'), time: r.u64('time') };
}

export function writePingAns(w: Writer, v: PingAns): void {
  w.u64(v.responseId, 'response_id');
  w.u64(v.time, 'time');
}

export function encodePingReq(v: PingReq, options: CodecOptions = {}): Uint8Array {
  return encodeBody('PingReq', v, options, writePingReq);
}

export function decodePingReq(bytes: Uint8Array, options: CodecOptions = {}): DecodeResult<PingReq> {
  return decodeBody('PingReq', bytes, options, readPingReq);
}

export function encodePingAns(v: PingAns, options: CodecOptions = {}): Uint8Array {
  return encodeBody('PingAns', v, options, writePingAns);
}

export function decodePingAns(bytes: Uint8Array, options: CodecOptions = {}): DecodeResult<PingAns> {
  return decodeBody('PingAns', bytes, options, readPingAns);
}
