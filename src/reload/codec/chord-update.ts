import type { DecodeResult } from './codec-error.js';
import type { CodecOptions } from './codec-options.js';
import { checkObject, decodeBody, encodeBody, nodeIdLengthOf, readNodeId, readNodeIdList, writeNodeId, writeNodeIdList } from './method-body.js';
import type { Reader } from './reader.js';
import type { Writer } from './writer.js';

/** RFC 6940 §10.7 ChordUpdateType codes (0 is invalid). */
export const ChordUpdateType = { peer_ready: 1, neighbors: 2, full: 3 } as const;

/** RFC 6940 §10.9 ChordLeaveType codes (0 is invalid). */
export const ChordLeaveType = { from_succ: 1, from_pred: 2 } as const;

/**
 * RFC 6940 §10.7 ChordUpdate, the CHORD-RELOAD UpdateReq body (the UpdateAns is empty). `uptime`
 * is in seconds; the lists are `NodeId <0..2^16-1>`.
 */
export type ChordUpdate =
  | { uptime: number; type: 'peer_ready' }
  | { uptime: number; type: 'neighbors'; predecessors: Uint8Array[]; successors: Uint8Array[] }
  | { uptime: number; type: 'full'; predecessors: Uint8Array[]; successors: Uint8Array[]; fingers: Uint8Array[] };

/** RFC 6940 §10.9 ChordLeaveData, the overlay_specific_data of a CHORD-RELOAD LeaveReq. */
export type ChordLeaveData = { type: 'from_succ'; successors: Uint8Array[] } | { type: 'from_pred'; predecessors: Uint8Array[] };

/** RFC 6940 §10.8 ChordRouteQueryAns: the peer the responder would route to next. */
export interface ChordRouteQueryAns {
  nextPeer: Uint8Array;
}

export function readChordUpdate(r: Reader, options: CodecOptions): ChordUpdate {
  const len = nodeIdLengthOf(options, (d) => r.fail('', d));
  const uptime = r.u32('uptime');
  const at = r.offset;
  const code = r.u8('type');
  switch (code) {
    case ChordUpdateType.peer_ready:
      return { uptime, type: 'peer_ready' };
    case ChordUpdateType.neighbors:
      return { uptime, type: 'neighbors', predecessors: readNodeIdList(r, 2, len, 'predecessors'), successors: readNodeIdList(r, 2, len, 'successors') };
    case ChordUpdateType.full: {
      const predecessors = readNodeIdList(r, 2, len, 'predecessors');
      const successors = readNodeIdList(r, 2, len, 'successors');
      return { uptime, type: 'full', predecessors, successors, fingers: readNodeIdList(r, 2, len, 'fingers') };
    }
    default:
      // no length follows the type, so an unknown type cannot be skipped
      return r.fail('type', `unknown ChordUpdateType ${code}`, at);
  }
}

export function writeChordUpdate(w: Writer, v: ChordUpdate, options: CodecOptions): void {
  const len = nodeIdLengthOf(options, (d) => w.fail('', d));
  checkObject(w, v, 'ChordUpdate');
  w.u32(v.uptime, 'uptime');
  switch (v.type) {
    case 'peer_ready':
      w.u8(ChordUpdateType.peer_ready, 'type');
      return;
    case 'neighbors':
      w.u8(ChordUpdateType.neighbors, 'type');
      writeNodeIdList(w, v.predecessors, 2, len, 'predecessors');
      writeNodeIdList(w, v.successors, 2, len, 'successors');
      return;
    case 'full':
      w.u8(ChordUpdateType.full, 'type');
      writeNodeIdList(w, v.predecessors, 2, len, 'predecessors');
      writeNodeIdList(w, v.successors, 2, len, 'successors');
      writeNodeIdList(w, v.fingers, 2, len, 'fingers');
      return;
    default:
      w.fail('type', 'not a ChordUpdateType');
  }
}

export function readChordLeaveData(r: Reader, options: CodecOptions): ChordLeaveData {
  const len = nodeIdLengthOf(options, (d) => r.fail('', d));
  const at = r.offset;
  const code = r.u8('type');
  if (code === ChordLeaveType.from_succ) return { type: 'from_succ', successors: readNodeIdList(r, 2, len, 'successors') };
  if (code === ChordLeaveType.from_pred) return { type: 'from_pred', predecessors: readNodeIdList(r, 2, len, 'predecessors') };
  return r.fail('type', `unknown ChordLeaveType ${code}`, at);
}

export function writeChordLeaveData(w: Writer, v: ChordLeaveData, options: CodecOptions): void {
  const len = nodeIdLengthOf(options, (d) => w.fail('', d));
  checkObject(w, v, 'ChordLeaveData');
  if (v.type === 'from_succ') {
    w.u8(ChordLeaveType.from_succ, 'type');
    writeNodeIdList(w, v.successors, 2, len, 'successors');
  } else if (v.type === 'from_pred') {
    w.u8(ChordLeaveType.from_pred, 'type');
    writeNodeIdList(w, v.predecessors, 2, len, 'predecessors');
  } else {
    w.fail('type', 'not a ChordLeaveType');
  }
}

export function encodeChordUpdate(v: ChordUpdate, options: CodecOptions = {}): Uint8Array {
  return encodeBody('ChordUpdate', v, options, (w, x) => writeChordUpdate(w, x, options));
}

export function decodeChordUpdate(bytes: Uint8Array, options: CodecOptions = {}): DecodeResult<ChordUpdate> {
  return decodeBody('ChordUpdate', bytes, options, (r) => readChordUpdate(r, options));
}

/** Encodes ChordLeaveData (to put in LeaveReq.overlaySpecificData). */
export function encodeChordLeaveData(v: ChordLeaveData, options: CodecOptions = {}): Uint8Array {
  return encodeBody('ChordLeaveData', v, options, (w, x) => writeChordLeaveData(w, x, options));
}

export function decodeChordLeaveData(bytes: Uint8Array, options: CodecOptions = {}): DecodeResult<ChordLeaveData> {
  return decodeBody('ChordLeaveData', bytes, options, (r) => readChordLeaveData(r, options));
}

export function encodeChordRouteQueryAns(v: ChordRouteQueryAns, options: CodecOptions = {}): Uint8Array {
  return encodeBody('ChordRouteQueryAns', v, options, (w, x) => writeNodeId(w, x.nextPeer, nodeIdLengthOf(options, (d) => w.fail('', d)), 'next_peer'));
}

export function decodeChordRouteQueryAns(bytes: Uint8Array, options: CodecOptions = {}): DecodeResult<ChordRouteQueryAns> {
  return decodeBody('ChordRouteQueryAns', bytes, options, (r) => ({ nextPeer: readNodeId(r, nodeIdLengthOf(options, (d) => r.fail('', d)), 'next_peer') }));
}
