import type { DecodeResult } from './codec-error.js';
import type { CodecOptions } from './codec-options.js';
import { decodeBody, encodeBody, nodeIdLengthOf, readNodeId, writeNodeId } from './method-body.js';
import type { Reader } from './reader.js';
import type { Writer } from './writer.js';

/** RFC 6940 §6.4.2.1 JoinReq (CHORD-RELOAD §10.6 adds no overlay-specific data). */
export interface JoinReq {
  joiningPeerId: Uint8Array;
  overlaySpecificData: Uint8Array;
}

/** RFC 6940 §6.4.2.1 JoinAns. */
export interface JoinAns {
  overlaySpecificData: Uint8Array;
}

/** RFC 6940 §6.4.2.2 LeaveReq; for CHORD-RELOAD the data is a ChordLeaveData (§10.9). LeaveAns is empty. */
export interface LeaveReq {
  leavingPeerId: Uint8Array;
  overlaySpecificData: Uint8Array;
}

export function readJoinReq(r: Reader, options: CodecOptions): JoinReq {
  const len = nodeIdLengthOf(options, (d) => r.fail('', d));
  return { joiningPeerId: readNodeId(r, len, 'joining_peer_id'), overlaySpecificData: r.opaque(2, 'overlay_specific_data') };
}

export function writeJoinReq(w: Writer, v: JoinReq, options: CodecOptions): void {
  writeNodeId(w, v.joiningPeerId, nodeIdLengthOf(options, (d) => w.fail('', d)), 'joining_peer_id');
  w.opaque(2, v.overlaySpecificData, 'overlay_specific_data');
}

export function readLeaveReq(r: Reader, options: CodecOptions): LeaveReq {
  const len = nodeIdLengthOf(options, (d) => r.fail('', d));
  return { leavingPeerId: readNodeId(r, len, 'leaving_peer_id'), overlaySpecificData: r.opaque(2, 'overlay_specific_data') };
}

export function writeLeaveReq(w: Writer, v: LeaveReq, options: CodecOptions): void {
  writeNodeId(w, v.leavingPeerId, nodeIdLengthOf(options, (d) => w.fail('', d)), 'leaving_peer_id');
  w.opaque(2, v.overlaySpecificData, 'overlay_specific_data');
}

export function encodeJoinReq(v: JoinReq, options: CodecOptions = {}): Uint8Array {
  return encodeBody('JoinReq', v, options, (w, x) => writeJoinReq(w, x, options));
}

export function decodeJoinReq(bytes: Uint8Array, options: CodecOptions = {}): DecodeResult<JoinReq> {
  return decodeBody('JoinReq', bytes, options, (r) => readJoinReq(r, options));
}

export function encodeJoinAns(v: JoinAns, options: CodecOptions = {}): Uint8Array {
  return encodeBody('JoinAns', v, options, (w, x) => w.opaque(2, x.overlaySpecificData, 'overlay_specific_data'));
}

export function decodeJoinAns(bytes: Uint8Array, options: CodecOptions = {}): DecodeResult<JoinAns> {
  return decodeBody('JoinAns', bytes, options, (r) => ({ overlaySpecificData: r.opaque(2, 'overlay_specific_data') }));
}

export function encodeLeaveReq(v: LeaveReq, options: CodecOptions = {}): Uint8Array {
  return encodeBody('LeaveReq', v, options, (w, x) => writeLeaveReq(w, x, options));
}

export function decodeLeaveReq(bytes: Uint8Array, options: CodecOptions = {}): DecodeResult<LeaveReq> {
  return decodeBody('LeaveReq', bytes, options, (r) => readLeaveReq(r, options));
}
